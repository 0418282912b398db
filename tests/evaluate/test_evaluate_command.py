"""`renovo evaluate`: join predictions to labelled spectra by file and index; known answers."""
from __future__ import annotations

import json

import pytest

from renovo.cli import main
from renovo.data import read_spectra, write_mgf
from renovo.data.simulate import simulate_records
from renovo.evaluate import PSM, write_csv, write_mztab


@pytest.fixture()
def labelled(tmp_path):
    path = tmp_path / "sim.mgf"
    write_mgf(simulate_records(8, seed=3), path)
    return path, [r.peptide for r in read_spectra(path)]


def test_evaluate_known_answer_from_mztab(tmp_path, labelled, capsys):
    path, peptides = labelled
    # 4 right (high score), 2 wrong (low score), 2 spectra without a prediction; one rank-2 decoy ignored.
    psms = [PSM(source_file=str(path), index=i, peptide=peptides[i], score=0.9) for i in range(4)]
    psms += [PSM(source_file=str(path), index=i, peptide="GGGGGGK", score=0.1) for i in (4, 5)]
    psms += [PSM(source_file=str(path), index=0, peptide="GGGGGGK", score=0.05, rank=2)]
    write_mztab(tmp_path / "p.mztab", psms, [str(path)])
    out = tmp_path / "eval"
    assert main(["evaluate", str(tmp_path / "p.mztab"), "--labels", str(path), "-o", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_spectra"] == 8 and metrics["n_predicted"] == 6
    assert metrics["peptide_recall"] == pytest.approx(4 / 8)
    assert metrics["peptide_precision"] == pytest.approx(4 / 6)
    # precision 1 up to coverage 0.5, then two wrong: trapezoids 0.5·1 + (1/8)(1+0.8)/2 + (1/8)(0.8+4/6)/2
    assert metrics["auc"] == pytest.approx(0.5 + 0.125 * 0.9 + 0.125 * (0.8 + 4 / 6) / 2)
    assert (out / "precision_coverage.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "peptide recall" in printed and "0.5000" in printed


def test_evaluate_csv_joined_by_file_name(tmp_path, labelled):
    path, peptides = labelled
    # A CSV written elsewhere names the file by a different path: joined by its name.
    write_csv(tmp_path / "p.csv", [PSM(source_file=f"/elsewhere/{path.name}", index=i, peptide=p, score=0.5) for i, p in enumerate(peptides)])
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path), "-o", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["peptide_recall"] == 1.0 and metrics["aa_precision"] == 1.0


def test_evaluate_without_labels_is_an_error(tmp_path, capsys):
    path = tmp_path / "nolabels.mgf"
    records = list(simulate_records(2, seed=0))
    for r in records:
        r.peptide = None
    write_mgf(records, path)
    write_csv(tmp_path / "p.csv", [PSM(source_file=str(path), index=0, peptide="PEK", score=0.5)])
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path)]) == 2
    assert "no labelled spectra" in capsys.readouterr().err


def test_labels_matching_no_prediction_is_an_error_naming_both_files(tmp_path, labelled, capsys):
    path, peptides = labelled
    other = tmp_path / "other.mgf"
    write_mgf(simulate_records(8, seed=4), other)
    write_csv(tmp_path / "p.csv", [PSM(source_file=str(path), index=i, peptide=p, score=0.5) for i, p in enumerate(peptides)])
    out = tmp_path / "e"
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(other), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "p.csv" in err and "other.mgf" in err and "none of the 8 predictions" in err
    assert not out.exists()  # no all-zero metrics written


def test_evaluate_outputs_are_guarded(tmp_path, labelled, capsys):
    path, peptides = labelled
    write_csv(tmp_path / "p.csv", [PSM(source_file=str(path), index=i, peptide=p, score=0.5) for i, p in enumerate(peptides)])
    out = tmp_path / "e"
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path), "-o", str(out)]) == 0
    before = (out / "metrics.json").read_bytes()
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path), "-o", str(out)]) == 2
    assert "metrics.json already exists; use -f/--force" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path), "-o", str(out), "--force"]) == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporaries left
