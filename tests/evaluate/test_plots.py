"""Plots of predictions: known answers for the amino-acid precision–coverage curve and the peak
annotation, and `renovo plot` drawing each kind from real files."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from renovo.chem import fragment_ladder, parse_peptide
from renovo.cli import main
from renovo.data import read_spectra
from renovo.evaluate import PSM, write_mztab
from renovo.evaluate.plots import aa_precision_coverage, ion_annotations


def test_aa_precision_coverage_known_answer():
    # PEPK right (scores 0.9 each), GGK vs AAK: G,G wrong (0.1, 0.2), K right (0.8).
    coverage, precision = aa_precision_coverage(["PEPK", "GGK"], ["PEPK", "AAK"],
                                                [[0.9, 0.9, 0.9, 0.9], [0.1, 0.2, 0.8]])
    assert coverage.tolist() == pytest.approx([1 / 7, 2 / 7, 3 / 7, 4 / 7, 5 / 7, 6 / 7, 1.0])
    assert precision.tolist() == pytest.approx([1, 1, 1, 1, 1, 5 / 6, 5 / 7])


def test_ion_annotations_find_every_ion():
    peptide = "PEPTIDEK"
    ladder = fragment_ladder(parse_peptide(peptide))
    mz = np.sort(np.concatenate([ladder[("b", 1, "")], ladder[("y", 1, "")], [1234.5]]))
    ions, labels = ion_annotations(peptide, mz + 0.01, 2)
    assert len(ions) == 14 and sum(bool(x) for x in labels) == 14 and labels[-1] == ""
    assert {x for x in labels if x} == {f"b{i}" for i in range(1, 8)} | {f"y{i}" for i in range(1, 8)}


def test_plot_commands(tmp_path, shared_data, capsys):
    real = shared_data / "real" / "casanovo_mouse_128.mgf"
    records = list(read_spectra(real))[:10]
    psms = [PSM(source_file=str(real), index=r.index, peptide=r.peptide if i % 2 else "PEPTIDEK", score=0.1 * i,
                residue_scores=[0.5] * len(parse_peptide(r.peptide if i % 2 else "PEPTIDEK").residues),
                charge=r.precursor_charge, precursor_mz=r.precursor_mz, mass_error_ppm=float(i - 5))
            for i, r in enumerate(records)]
    predictions = tmp_path / "p.mztab"
    write_mztab(predictions, psms)
    assert main(["plot", "mirror", str(predictions), "--spectra", str(real), "--index", "3",
                 "-o", str(tmp_path / "mirror.png")]) == 0
    assert main(["plot", "coverage", str(predictions), "--labels", str(real), "-o", str(tmp_path / "cov.png")]) == 0
    assert main(["plot", "mass-error", str(predictions), "--tolerance-ppm", "3", "-o", str(tmp_path / "me.png")]) == 0
    printed = capsys.readouterr().out
    assert "10 rank-1 predictions with a mass error, 7 within 3 ppm" in printed
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "train/ce", "val/ce", "lr"])
        for step in range(20):
            writer.writerow([step, 3 - step * 0.1, "" if step % 10 else 3 - step * 0.05, 1e-3])
    assert main(["plot", "curves", str(run)]) == 0
    for png in (tmp_path / "mirror.png", tmp_path / "cov.png", tmp_path / "me.png", run / "learning_curves.png"):
        assert png.stat().st_size > 5000
    assert main(["plot", "mirror", str(predictions), "--spectra", str(real), "--index", "99"]) == 2
    assert main(["plot", "curves", str(tmp_path)]) == 2


def test_mass_error_zooms_to_the_tolerance_and_counts_outliers(tmp_path):
    """Two fallback PSMs at ±70,000 ppm made the axis span ±70,000 ppm, hiding the real distribution."""
    from renovo.evaluate import PSM
    from renovo.evaluate.plots import plot_mass_error

    psms = [PSM(source_file="a.mgf", index=i, peptide="PEPK", score=0.5, charge=2, precursor_mz=500.0,
                mass_error_ppm=float(i % 7 - 3)) for i in range(50)]
    psms += [PSM(source_file="a.mgf", index=50 + i, peptide="PEPK", score=0.1, charge=2, precursor_mz=500.0,
                 mass_error_ppm=e) for i, e in enumerate((70_000.0, -69_000.0))]
    _, counts = plot_mass_error(psms, tmp_path / "me.png", tolerance_ppm=10.0)
    assert counts["predictions"] == 52 and counts["within_tolerance"] == 50
    assert counts["outside_axis"] == 2 and counts["axis_ppm"] <= 20.0


def test_mass_error_of_a_casanovo_mztab_comes_from_its_mz_columns(tmp_path, capsys):
    """Casanovo writes exp/calc m/z but no opt_global_mass_error_ppm: the plot was empty."""
    from renovo.evaluate.io import PROFORMA_COLUMN

    header = ["sequence", "PSM_ID", "search_engine_score[1]", "charge", "exp_mass_to_charge", "calc_mass_to_charge",
              "spectra_ref", PROFORMA_COLUMN]
    lines = ["MTD\tmzTab-version\t1.0.0", "MTD\tms_run[1]-location\tfile:///x/a.mgf", "PSH\t" + "\t".join(header)]
    calc = 500.0
    for i, ppm in enumerate((-4.0, 2.0, 3.0)):
        lines.append("\t".join(["PSM", "PEPK", str(i), "0.9", "2", repr(calc * (1 + ppm * 1e-6)), repr(calc),
                                f"ms_run[1]:index={i}", "PEPK"]))
    # picked at the first isotope peak: corrected as Casanovo's default isotope range [0, 1] does
    lines.append("\t".join(["PSM", "PEPK", "3", "0.9", "2", repr(calc + 1.0033548 / 2), repr(calc),
                            "ms_run[1]:index=3", "PEPK"]))
    (tmp_path / "c.mztab").write_text("\n".join(lines) + "\n")
    assert main(["plot", "mass-error", str(tmp_path / "c.mztab"), "--tolerance-ppm", "10",
                 "-o", str(tmp_path / "me.png")]) == 0
    printed = capsys.readouterr().out
    assert "4 rank-1 predictions with a mass error (4 computed from exp/calc m/z, isotope-corrected), " \
           "4 within 10 ppm" in printed
