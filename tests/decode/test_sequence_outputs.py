"""`renovo sequence` never destroys its inputs or the model, never replaces an existing output without
--force, and checks every input file before sequencing any."""
from __future__ import annotations

from pathlib import Path

import pytest

from renovo.cli import main
from renovo.data import write_mgf
from renovo.data.simulate import simulate_records

NASTY = Path(__file__).resolve().parents[1] / "data" / "corpus" / "nasty"


@pytest.fixture
def spectra(tmp_path):
    path = tmp_path / "spectra.mgf"
    write_mgf(simulate_records(3, seed=1), path)
    return path


FAST = ["--beam", "1", "--max-length", "4"]


def one_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if "error:" in line]
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize("flag", ["-o", "--csv"])
@pytest.mark.parametrize("target", ["spectra", "model"])
def test_output_that_is_an_input_or_the_model_is_refused(tmp_path, checkpoint, spectra, capsys, flag, target):
    victim = spectra if target == "spectra" else checkpoint
    before = victim.read_bytes()
    outputs = ["-o", str(tmp_path / "p.mztab")] if flag == "--csv" else []
    assert main(["sequence", str(spectra), "--model", str(checkpoint), *outputs, flag, str(victim), "--force", *FAST]) == 2
    assert "is also an input" in one_error(capsys)
    assert victim.read_bytes() == before


def test_existing_outputs_need_force(tmp_path, checkpoint, spectra, capsys):
    out, csv = tmp_path / "p.mztab", tmp_path / "p.csv"
    argv = ["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--csv", str(csv), *FAST]
    assert main(argv) == 0
    before = out.read_bytes(), csv.read_bytes(), (tmp_path / "p.sequence.json").read_bytes()
    assert main(argv) == 2
    assert "already exists; use -f/--force" in one_error(capsys)
    assert (out.read_bytes(), csv.read_bytes(), (tmp_path / "p.sequence.json").read_bytes()) == before
    assert main(argv + ["--force"]) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("bad", ["garbage.mgf", "integer_peptide.parquet", "garbage.mzML"])
def test_bad_file_late_in_the_list_stops_before_sequencing(tmp_path, checkpoint, spectra, capsys, bad):
    out = tmp_path / "p.mztab"
    assert main(["sequence", str(spectra), str(NASTY / "bom.mgf"), str(NASTY / bad), "--model", str(checkpoint),
                 "-o", str(out), *FAST]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(lines) == 1 and bad in lines[0]
    assert "sequencing" not in captured.err  # no spectrum was sequenced
    assert not out.exists()


def test_parquet_with_unequal_peak_lists_is_sequenced_with_skips(tmp_path, checkpoint, capsys):
    out = tmp_path / "p.mztab"
    assert main(["sequence", str(NASTY / "unequal_peaks.parquet"), "--model", str(checkpoint), "-o", str(out), *FAST,
                 "--min-peaks", "1"]) == 0
    printed = capsys.readouterr().out
    assert "read 1 spectra" in printed and "m/z and intensity lists of different lengths" in printed
