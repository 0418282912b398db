"""`renovo sequence` end to end: a checkpoint, simulated and real spectra, mzTab that pyteomics reads."""
from __future__ import annotations

import json

import pytest
import torch
from pyteomics import mztab

from renovo.cli import main
from renovo.data import write_mgf
from renovo.data.simulate import simulate_records
from renovo.evaluate import read_csv


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny untrained model saved the way training saves it."""
    from renovo.train import RenovoModule, load_config

    torch.manual_seed(0)
    module = RenovoModule(load_config(None, ["model.preset=tiny"]))
    state = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(state)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save(state, path)
    return path


def test_sequence_simulated_file(tmp_path, checkpoint, capsys):
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(6, seed=1), spectra)
    out = tmp_path / "pred.mztab"
    code = main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--csv", str(tmp_path / "pred.csv"),
                 "--beam", "2", "--top-k", "2", "--max-length", "8", "--batch-size", "4"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "read 6 spectra" in printed and "sequenced 6 spectra" in printed
    rows = mztab.MzTab(str(out), table_format="dict").spectrum_match_table["rows"]
    refs = sorted({r["spectra_ref"] for r in rows})
    assert refs == [f"ms_run[1]:index={i}" for i in range(6)]
    for row in rows:
        assert row["opt_global_rank"] in (1, 2)
        assert len(row["opt_global_aa_scores"].split(",")) >= 1
    assert len(read_csv(tmp_path / "pred.csv")) == len(rows)
    settings = json.loads((tmp_path / "pred.sequence.json").read_text())
    assert settings["beam"] == 2 and settings["counts"]["read"] == 6 and settings["precursor_tolerance_ppm"] == 50.0


def test_sequence_real_file_reports_counts(tmp_path, checkpoint, shared_data, capsys):
    real = shared_data / "real" / "casanovo_mouse_128.mgf"
    out = tmp_path / "mouse.mztab"
    code = main(["sequence", str(real), "--model", str(checkpoint), "-o", str(out), "--beam", "1",
                 "--max-length", "6", "--no-mass-constraint", "--batch-size", "64"])
    assert code == 0
    rows = mztab.MzTab(str(out), table_format="dict").spectrum_match_table["rows"]
    assert len(rows) == 128
    assert "read 128 spectra" in capsys.readouterr().out


def test_sequence_errors_are_one_line(tmp_path, checkpoint, capsys):
    assert main(["sequence", str(tmp_path / "missing.mgf"), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab")]) == 2
    assert "no spectrum file" in capsys.readouterr().err
    spectra = tmp_path / "sim.mgf"
    write_mgf(simulate_records(1, seed=1), spectra)
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(tmp_path / "x.mztab"), "--beam", "2", "--top-k", "3"]) == 2
