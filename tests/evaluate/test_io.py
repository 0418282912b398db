"""Prediction files: mzTab that pyteomics reads, CSV, and the round trip back to PSMs."""
from __future__ import annotations

import math

import pytest
from pyteomics import mztab

from renovo.evaluate import PSM, read_csv, read_mztab, read_predictions, write_csv, write_mztab
from renovo.evaluate.io import calc_mz


def _psms(tmp_path):
    a, b = str(tmp_path / "run a.mgf"), str(tmp_path / "b.mgf")
    return [a, b], [
        PSM(source_file=a, index=3, peptide="[Acetyl]-PEM[Oxidation]C[Carbamidomethyl]K", score=0.8,
            residue_scores=[0.5, 0.9, 0.8, 0.7, 0.6], charge=2, precursor_mz=500.2, calc_mz=500.21,
            mass_error_ppm=1.5, precursor_match=True, title="t1", scan="17", retention_time_s=12.5),
        PSM(source_file=a, index=3, peptide="PEMCK", score=0.4, residue_scores=[0.1] * 5, rank=2, charge=2),
        PSM(source_file=b, index=0, peptide="PEK", score=0.3, residue_scores=[0.2, 0.3, 0.4], charge=3, precursor_match=False),
    ]


def test_mztab_loads_in_pyteomics(tmp_path):
    runs, psms = _psms(tmp_path)
    path = tmp_path / "out.mztab"
    assert write_mztab(path, psms, runs) == 3
    table = mztab.MzTab(str(path), table_format="dict")
    assert (table.version, table.mode, table.type) == ("1.0.0", "Summary", "Identification")
    rows = table.spectrum_match_table["rows"]
    assert [r["sequence"] for r in rows] == [p.peptide for p in psms]
    assert rows[0]["spectra_ref"] == "ms_run[1]:index=3" and rows[2]["spectra_ref"] == "ms_run[2]:index=0"
    assert rows[0]["modifications"] == "0-UNIMOD:1,3-UNIMOD:35,4-UNIMOD:4"
    assert rows[0]["search_engine_score[1]"] == pytest.approx(0.8)
    assert rows[0]["opt_global_aa_scores"] == "0.50000,0.90000,0.80000,0.70000,0.60000"
    assert rows[1]["opt_global_rank"] == 2


def test_mztab_round_trip(tmp_path):
    runs, psms = _psms(tmp_path)
    path = tmp_path / "out.mztab"
    write_mztab(path, psms, runs)
    back = read_mztab(path)
    assert [(p.source_file, p.index, p.peptide, p.rank) for p in back] == [(p.source_file, p.index, p.peptide, p.rank) for p in psms]
    assert back[0].residue_scores == pytest.approx(psms[0].residue_scores)
    assert back[0].precursor_match is True and back[2].precursor_match is False and back[1].precursor_match is None
    assert back[0].retention_time_s == pytest.approx(12.5) and back[0].scan == "17"
    assert read_predictions(path)[0].peptide == psms[0].peptide


def test_csv_round_trip(tmp_path):
    runs, psms = _psms(tmp_path)
    path = tmp_path / "out.csv"
    assert write_csv(path, psms) == 3
    back = read_csv(path)
    assert [(p.source_file, p.index, p.peptide, p.rank, p.charge) for p in back] == [
        (p.source_file, p.index, p.peptide, p.rank, p.charge) for p in psms
    ]
    assert back[2].residue_scores == pytest.approx([0.2, 0.3, 0.4])
    assert math.isnan(back[1].mass_error_ppm)


def test_write_rejects_psm_from_unknown_run(tmp_path):
    runs, psms = _psms(tmp_path)
    with pytest.raises(ValueError):
        write_mztab(tmp_path / "x.mztab", psms, runs[:1])


def test_calc_mz():
    assert calc_mz(1000.0, 2) == pytest.approx((1000.0 + 2 * 1.007276467) / 2)
    assert math.isnan(calc_mz(1000.0, 0))
