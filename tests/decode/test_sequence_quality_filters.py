"""Spectra the model cannot sensibly sequence are skipped and counted, never given a PSM with an ordinary score:
no peak left after preprocessing, fewer than ``min_peaks`` peaks, a charge above ``max_charge`` or above the
model's largest charge embedding."""
from __future__ import annotations

import json

import numpy as np

from renovo.cli import main
from renovo.data import SpectrumRecord, write_mgf
from renovo.data.simulate import simulate_records
from renovo.evaluate import read_csv


def _records():
    good = list(simulate_records(2, seed=1))
    far = SpectrumRecord(np.full(30, 1e30) + np.arange(30), np.ones(30), 500.0, 2, title="far")
    outside = SpectrumRecord(np.concatenate([np.linspace(1, 40, 15), np.linspace(2600, 3000, 15)]), np.ones(30),
                             500.0, 2, title="outside")
    sparse = SpectrumRecord(np.linspace(200, 900, 12), np.ones(12), 600.0, 2, title="sparse")
    high = SpectrumRecord(good[0].mz, good[0].intensity, 300.0, 11, title="z11")
    return [good[0], far, outside, sparse, high, good[1]]


def test_unusable_spectra_are_skipped_and_counted(tmp_path, checkpoint, capsys):
    spectra = tmp_path / "mixed.mgf"
    write_mgf(_records(), spectra)
    out = tmp_path / "pred.csv"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "5", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.index for p in read_csv(out)) == [0, 5]
    assert "skipped 4" in printed
    assert "3  fewer than 20 peaks after preprocessing" in printed
    assert "1  precursor charge above 10" in printed
    counts = json.loads((tmp_path / "pred.sequence.json").read_text())
    assert counts["min_peaks"] == 20 and counts["counts"]["sequenced"] == 2


def test_min_peaks_and_max_charge_flags(tmp_path, checkpoint, capsys):
    spectra = tmp_path / "mixed.mgf"
    write_mgf(_records(), spectra)
    out = tmp_path / "pred.csv"
    # min-peaks 1 still never sequences a spectrum left with no peaks; max-charge 1 skips the charge-2 ones
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "5", "--no-progress", "--min-peaks", "1"]) == 0
    assert sorted(p.index for p in read_csv(out)) == [0, 3, 5]
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "5", "--no-progress", "--max-charge", "1", "--min-peaks", "1", "-f"]) == 0
    assert read_csv(out) == [] or len(read_csv(out)) == 0
    capsys.readouterr()
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--min-peaks", "0", "-f"]) == 2
    assert "min-peaks" in capsys.readouterr().err
