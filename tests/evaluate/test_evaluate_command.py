"""`renovo evaluate`: join predictions to labelled spectra by file and index; known answers."""
from __future__ import annotations

import json

import numpy as np

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
    assert (out / "accuracy_by_length.png").stat().st_size > 1000
    assert "peptide recall" in (out / "evaluate.log").read_text()
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


def _casanovo_mztab(path, mgf, rows):
    """An mzTab as Casanovo 5.2 writes it: bare `sequence`, ProForma in the opt column, no rank column."""
    from renovo.evaluate.io import PROFORMA_COLUMN

    header = ["sequence", "PSM_ID", "accession", "unique", "database", "database_version", "search_engine",
              "search_engine_score[1]", "modifications", "retention_time", "charge", "exp_mass_to_charge",
              "calc_mass_to_charge", "spectra_ref", "pre", "post", "start", "end", "opt_global_aa_scores",
              PROFORMA_COLUMN]
    lines = ["MTD\tmzTab-version\t1.0.0", "MTD\tmzTab-mode\tSummary", "MTD\tmzTab-type\tIdentification",
             "MTD\tsoftware[1]\t[MS, MS:1003281, Casanovo, 5.2.0]", f"MTD\tms_run[1]-location\t{mgf.resolve().as_uri()}",
             "PSH\t" + "\t".join(header)]
    from renovo.evaluate.io import bare_sequence

    for i, (index, peptide, score) in enumerate(rows, start=1):
        try:
            bare = bare_sequence(peptide)
        except ValueError:  # a peptide renovo cannot read: Casanovo writes its letters all the same
            bare = peptide
        values = [bare, str(i)] + ["null"] * 5 + [str(score), "null", "null", "2", "500.0", "500.0",
                  f"ms_run[1]:index={index}", "null", "null", "null", "null", "0.9", peptide]
        lines.append("PSM\t" + "\t".join(values))
    path.write_text("\n".join(lines) + "\n")


def test_evaluate_casanovo_mztab_scores_modifications(tmp_path, labelled):
    path, peptides = labelled
    modified = [i for i, p in enumerate(peptides) if "[" in p]
    assert modified, "the simulated labels should carry modifications"
    # Right peptides for every spectrum: the score must see the modifications in the ProForma column.
    _casanovo_mztab(tmp_path / "casanovo.mztab", path, [(i, p, 0.9) for i, p in enumerate(peptides)])
    assert main(["evaluate", str(tmp_path / "casanovo.mztab"), "--labels", str(path), "-o", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["peptide_recall"] == 1.0 and metrics["n_predicted"] == 8
    assert (tmp_path / "e" / "accuracy_by_length.png").stat().st_size > 1000
    assert sum(v["spectra"] for v in metrics["by_length"].values()) == 8


def test_evaluate_instanovo_csv(tmp_path, labelled):
    path, peptides = labelled
    records = list(read_spectra(path))
    # InstaNovo names spectra by experiment (file stem) and scan number; the simulated MGF has
    # SCANS= headers, so the join goes through them.
    assert all(r.scan for r in records)
    lines = ["experiment_name,scan_number,spectrum_id,precursor_mz,precursor_charge,predictions,log_probs,delta_mass_ppm"]
    for i, record in enumerate(records[:6]):
        prediction = record.peptide if i < 4 else "GGGGGGK"
        unimod = prediction.replace("[Oxidation]", "[UNIMOD:35]").replace("[Carbamidomethyl]", "[UNIMOD:4]")
        lines.append(f"{path.stem},{record.scan},{path.stem}:{record.scan},{record.precursor_mz},"
                     f"{record.precursor_charge},{unimod},{-0.1 if i < 4 else -5.0},1.0")
    (tmp_path / "instanovo.csv").write_text("\n".join(lines) + "\n")
    assert main(["evaluate", str(tmp_path / "instanovo.csv"), "--labels", str(path), "-o", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["n_predicted"] == 6 and metrics["n_peptides_correct"] == 4
    assert metrics["predictions_without_labelled_spectrum"] == 0


def test_evaluate_refuses_duplicate_predictions(tmp_path, labelled, capsys):
    path, peptides = labelled
    psms = [PSM(source_file=str(path), index=0, peptide=peptides[0], score=0.9),
            PSM(source_file=str(path), index=0, peptide=peptides[1], score=0.8)]
    write_csv(tmp_path / "dup.csv", psms)
    assert main(["evaluate", str(tmp_path / "dup.csv"), "--labels", str(path), "-o", str(tmp_path / "e")]) == 2
    assert "two rank-1 predictions" in capsys.readouterr().err


def test_evaluate_phospho_predictions_with_the_labels_vocabulary(tmp_path):
    """Labels with S[Phospho] are read with --vocabulary; predictions outside the default vocabulary still score."""
    import yaml

    from renovo.data import SpectrumRecord

    peptides = ["PEPS[Phospho]K", "AT[Phospho]LR", "GGYK"]
    records = [SpectrumRecord(np.array([100.0, 200.0]), np.array([1.0, 2.0]), 400.0 + i, 2, p, "x", i, title=f"t{i}")
               for i, p in enumerate(peptides)]
    spectra = tmp_path / "phospho.mgf"
    write_mgf(records, spectra)
    config = tmp_path / "phospho.yaml"
    config.write_text(yaml.safe_dump({"vocabulary": {"variable": ["S[Phospho]", "T[UNIMOD:21]", "M[Oxidation]"]}}))
    predictions = ["PEPS[Phospho]K", "ATLR", "GGYK"]
    write_csv(tmp_path / "p.csv", [PSM(source_file=str(spectra), index=i, peptide=p, score=0.9 - 0.1 * i)
                                   for i, p in enumerate(predictions)])
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(spectra), "--vocabulary", str(config),
                 "-o", str(tmp_path / "e")]) == 0
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert metrics["n_spectra"] == 3 and metrics["n_peptides_correct"] == 2 and metrics["predictions_unreadable"] == 0


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


@pytest.mark.parametrize("n_terminal", ["[+25.980265]-", "+43.006-17.027", "[Carbamyl][Ammonia-loss]-"])
def test_casanovo_n_terminal_notations_are_read(n_terminal):
    """Casanovo 5.2's own N-terminal token (carbamylation and NH3 loss) and 4.x's two deltas are one modification."""
    from renovo.evaluate.io import peptide_or_none

    assert peptide_or_none(n_terminal + "PEPTIDEK") == "[Carbamyl+Ammonia-loss]-PEPTIDEK"


@pytest.mark.parametrize("text, canonical", [
    ("PEPM(ox)K", "PEPM[Oxidation]K"), ("PEPC(+57.02)K", "PEPC[Carbamidomethyl]K"),
    ("PEPN(+.98)K", "PEPN[Deamidated]K"), ("(+42.01)PEPTIDEK", "[Acetyl]-PEPTIDEK"),
    ("(+43.01)PEPK", "[Carbamyl]-PEPK"), ("(-17.03)PEPK", "[Ammonia-loss]-PEPK"),
    ("(+25.98)PEPK", "[Carbamyl+Ammonia-loss]-PEPK"), ("PEPM(+15.99)K", "PEPM[Oxidation]K"),
])
def test_instanovo_1_0_notations_are_read(text, canonical):
    from renovo.evaluate.io import peptide_or_none

    assert peptide_or_none(text) == canonical


def test_unreadable_predictions_count_as_wrong_and_are_reported(tmp_path, labelled, capsys):
    """A prediction renovo cannot read is a prediction that is wrong, not a spectrum without one:
    dropping it from the precision denominator inflated peptide precision."""
    path, peptides = labelled
    # 4 right, 4 that renovo cannot read (unknown residue letters): precision 4/8, not 4/4.
    rows = [(i, peptides[i], 0.9) for i in range(4)] + [(i, "PEPXZK", 0.95) for i in range(4, 8)]
    _casanovo_mztab(tmp_path / "casanovo.mztab", path, rows)
    out = tmp_path / "e"
    assert main(["evaluate", str(tmp_path / "casanovo.mztab"), "--labels", str(path), "-o", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_predicted"] == 8 and metrics["n_peptides_correct"] == 4
    assert metrics["peptide_precision"] == pytest.approx(0.5)
    assert metrics["predictions_unreadable"] == 4 and metrics["predictions_unreadable_example"] == "PEPXZK"
    assert metrics["aa_precision"] < 1.0  # the unreadable ones' residues count as predicted, unmatched
    assert metrics["auc"] < 0.5  # ranked first by score, and wrong
    printed = capsys.readouterr().out
    assert "4 prediction(s) could not be read" in printed and "PEPXZK" in printed and "count as wrong" in printed


def test_evaluate_out_that_is_a_file_is_a_one_line_error(tmp_path, labelled, capsys):
    path, peptides = labelled
    write_csv(tmp_path / "p.csv", [PSM(source_file=str(path), index=i, peptide=p, score=0.5) for i, p in enumerate(peptides)])
    (tmp_path / "taken").write_text("mine")
    assert main(["evaluate", str(tmp_path / "p.csv"), "--labels", str(path), "-o", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "taken" in err and "not a folder" in err
    assert (tmp_path / "taken").read_text() == "mine"


def test_evaluate_of_an_empty_mztab_is_an_error(tmp_path, labelled, capsys):
    path, _ = labelled
    _casanovo_mztab(tmp_path / "none.mztab", path, [])
    assert main(["evaluate", str(tmp_path / "none.mztab"), "--labels", str(path), "-o", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "none.mztab" in err and "no predictions" in err and not (tmp_path / "e").exists()
