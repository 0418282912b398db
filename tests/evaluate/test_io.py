"""Prediction files: mzTab that pyteomics reads, CSV, and the round trip back to PSMs."""
from __future__ import annotations

import math

import pytest
from pyteomics import mztab

from renovo.evaluate import PSM, read_csv, read_mztab, read_predictions, write_csv, write_mztab
from renovo.evaluate.io import CSV_COLUMNS, PROFORMA_COLUMN, SCAN_COLUMN, calc_mz


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
    # Casanovo 5.2's layout: bare residues in `sequence`, ProForma in the PSI-MS opt column.
    assert [r["sequence"] for r in rows] == ["PEMCK", "PEMCK", "PEK"]
    assert [r[PROFORMA_COLUMN] for r in rows] == [p.peptide for p in psms]
    assert rows[0][SCAN_COLUMN] == "ms_run[1]:scan=17" and rows[1][SCAN_COLUMN] is None
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


def test_mztab_full_precision_and_settings(tmp_path):
    path = tmp_path / "out.mztab"
    psm = PSM(source_file=str(tmp_path / "a.mgf"), index=0, peptide="PEPTIDEK", score=0.123456789012,
              charge=2, precursor_mz=1208.622610, calc_mz=1208.6225123456789, mass_error_ppm=-0.0812345678,
              isotope_offset=1, retention_time_s=3601.123456789)
    write_mztab(path, [psm], settings={"beam": 5, "model": {"preset": "tiny"}})
    table = mztab.MzTab(str(path), table_format="dict")
    row = table.spectrum_match_table["rows"][0]
    # Every float survives exactly, so the reported ppm can be recomputed from the file.
    assert row["exp_mass_to_charge"] == 1208.622610 and row["calc_mass_to_charge"] == 1208.6225123456789
    assert row["retention_time"] == 3601.123456789 and row["opt_global_mass_error_ppm"] == -0.0812345678
    assert row["opt_global_isotope_offset"] == 1
    settings = [line.split("\t")[2] for line in path.read_text().splitlines() if "software[1]-setting[" in line]
    assert settings == ["beam = 5", "model.preset = tiny"]
    back = read_mztab(path)[0]
    assert back.precursor_mz == 1208.622610 and back.isotope_offset == 1 and back.score == 0.123456789012


def test_csv_columns_follow_instanovo_names(tmp_path):
    runs, psms = _psms(tmp_path)
    path = tmp_path / "out.csv"
    write_csv(path, psms)
    import csv

    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == CSV_COLUMNS
    assert {"predictions", "precursor_mz", "precursor_charge", "scan_number", "delta_mass_ppm"} <= set(rows[0])
    assert [r["precursor_match"] for r in rows] == ["true", "", "false"]
    assert rows[0]["aa_scores"] == "0.50000,0.90000,0.80000,0.70000,0.60000"  # the mzTab separator
    assert rows[0]["scan_number"] == "17" and rows[1]["scan_number"] == ""


def test_old_renovo_csv_still_read(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("file,index,scan,title,rank,peptide,score,aa_scores,charge,precursor_mz,calc_mz,mass_error_ppm,"
                    "precursor_match,retention_time_s\na.mgf,4,,t,1,PEK,0.5,0.1;0.2;0.3,2,300.1,300.2,3.0,1,\n")
    psm = read_csv(path)[0]
    assert (psm.index, psm.peptide, psm.charge, psm.mass_error_ppm, psm.precursor_match) == (4, "PEK", 2, 3.0, True)
    assert psm.residue_scores == pytest.approx([0.1, 0.2, 0.3])


# Casanovo 5.2 writes this layout (MTD software settings, bare `sequence`, ProForma opt column, scan column).
CASANOVO_MZTAB = """MTD\tmzTab-version\t1.0.0
MTD\tmzTab-mode\tSummary
MTD\tmzTab-type\tIdentification
MTD\tdescription\tCasanovo identification file out
MTD\tsoftware[1]\t[MS, MS:1003281, Casanovo, 5.2.0]
MTD\tpsm_search_engine_score[1]\t[MS, MS:1001143, search engine specific score for PSMs, ]
MTD\tfixed_mod[1]\t[UNIMOD, UNIMOD:4, Carbamidomethyl, ]
MTD\tfixed_mod[1]-site\tC
MTD\tvariable_mod[1]\t[UNIMOD, UNIMOD:35, Oxidation, ]
MTD\tvariable_mod[1]-site\tM
MTD\tsoftware[1]-setting[1]\tprecursor_mass_tol = 50
MTD\tms_run[1]-location\tfile://{mgf}
PSH\tsequence\tPSM_ID\taccession\tunique\tdatabase\tdatabase_version\tsearch_engine\tsearch_engine_score[1]\tmodifications\tretention_time\tcharge\texp_mass_to_charge\tcalc_mass_to_charge\tspectra_ref\tpre\tpost\tstart\tend\topt_global_aa_scores\topt_global_cv_MS:1003169_proforma_peptidoform_sequence\topt_global_cv_MS:1003057_scan_number
PSM\tPEPMCK\t1\tnull\tnull\tnull\tnull\t[MS, MS:1003281, Casanovo, 5.2.0]\t0.9\t4-UNIMOD:35\tnull\t2\t400.1\t400.2\tms_run[1]:index=1\tnull\tnull\tnull\tnull\t0.9,0.9,0.9,0.9,0.9,0.9\tPEPM[Oxidation]C[Carbamidomethyl]K\tms_run[1]:scan=12
PSM\tPEPK\t2\tnull\tnull\tnull\tnull\t[MS, MS:1003281, Casanovo, 5.2.0]\t0.4\tnull\tnull\t2\t300.1\t300.2\tms_run[1]:index=0\tnull\tnull\tnull\tnull\t0.4,0.4,0.4,0.4\tPEPK\tnull
PSM\tPEAK\t3\tnull\tnull\tnull\tnull\t[MS, MS:1003281, Casanovo, 5.2.0]\t0.2\tnull\tnull\t2\t300.1\t300.2\tms_run[1]:index=0\tnull\tnull\tnull\tnull\t0.2,0.2,0.2,0.2\tPEAK\tnull
"""


def test_casanovo_mztab_read_with_modifications(tmp_path):
    path = tmp_path / "casanovo.mztab"
    path.write_text(CASANOVO_MZTAB.format(mgf=tmp_path / "spectra.mgf"))
    assert len(mztab.MzTab(str(path), table_format="dict").spectrum_match_table["rows"]) == 3
    psms = read_mztab(path)
    # The ProForma column, not the bare sequence: modifications are scored.
    assert psms[0].peptide == "PEPM[Oxidation]C[Carbamidomethyl]K" and psms[0].scan == "12"
    assert psms[0].source_file == str(tmp_path / "spectra.mgf") and psms[0].index == 1
    # No rank column: a spectrum's rows are ranked in file order (Casanovo's top_match).
    assert [(p.index, p.rank) for p in psms] == [(1, 1), (0, 1), (0, 2)]


def test_instanovo_csv_read(tmp_path):
    path = tmp_path / "instanovo.csv"
    path.write_text(
        "scan_number,precursor_mz,precursor_charge,experiment_name,spectrum_id,predictions,predictions_tokenised,"
        "log_probs,token_log_probs,delta_mass_ppm\n"
        '7,451.25,2,spectra,spectra:7,PEPM[UNIMOD:35]K,"P, E, P, M[UNIMOD:35], K",-0.5,"[-0.1, -0.1, -0.1, -0.1, -0.1]",1.5\n'
        '8,451.25,2,spectra,spectra:8,[UNIMOD:1]PEK,"[UNIMOD:1], P, E, K",-2.0,"[-0.5, -0.5, -0.5, -0.5]",-3.0\n')
    psms = read_predictions(path)
    assert [(p.source_file, p.index, p.scan) for p in psms] == [("spectra", None, "7"), ("spectra", None, "8")]
    assert psms[0].score == pytest.approx(math.exp(-0.5)) and psms[0].mass_error_ppm == 1.5
    assert psms[0].residue_scores == pytest.approx([math.exp(-0.1)] * 5)
    from renovo.chem import canonical_proforma

    assert canonical_proforma(psms[0].peptide) == "PEPM[Oxidation]K"
    assert canonical_proforma(psms[1].peptide) == "[Acetyl]-PEK"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@settings(max_examples=40, deadline=None)
@given(mz=st.floats(50, 5000), rt=st.floats(0, 1e5), score=st.floats(0, 1), ppm=_finite,
       peptide=st.sampled_from(["PEPTIDEK", "[Acetyl]-PEM[Oxidation]K", "C[Carbamidomethyl]AK"]),
       scan=st.one_of(st.none(), st.integers(0, 10**6).map(str)), match=st.sampled_from([None, True, False]))
def test_mztab_and_csv_round_trip_exactly(tmp_path_factory, mz, rt, score, ppm, peptide, scan, match):
    tmp = tmp_path_factory.mktemp("rt")
    psm = PSM(source_file=str(tmp / "a.mgf"), index=7, peptide=peptide, score=score, charge=2, precursor_mz=mz,
              calc_mz=mz + 1e-3, mass_error_ppm=ppm, retention_time_s=rt, scan=scan, precursor_match=match,
              residue_scores=[0.5] * 3)
    write_mztab(tmp / "x.mztab", [psm])
    write_csv(tmp / "x.csv", [psm])
    for back in (read_mztab(tmp / "x.mztab")[0], read_csv(tmp / "x.csv")[0]):
        assert (back.precursor_mz, back.calc_mz, back.mass_error_ppm, back.score) == (mz, mz + 1e-3, ppm, score)
        assert back.retention_time_s == rt and back.scan == scan and back.precursor_match is match
        assert back.peptide == peptide and back.index == 7


# ---- prediction files that cannot be what they claim: one line naming the file (and line), never 0 scored


def test_empty_predictions_file_is_an_error(tmp_path):
    from renovo.errors import RenovoError

    for name in ("empty.mztab", "empty.csv"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(RenovoError, match=f"{name}: empty predictions file"):
            read_predictions(tmp_path / name)


def test_space_delimited_mztab_is_an_error_naming_the_line(tmp_path):
    from renovo.errors import RenovoError

    path = tmp_path / "p.mztab"
    runs, psms = _psms(tmp_path)
    write_mztab(path, psms, runs)
    path.write_text(path.read_text().replace("\t", " "))
    with pytest.raises(RenovoError, match=r"p\.mztab:1: .*tab-separated"):
        read_mztab(path)


def test_truncated_mztab_row_is_an_error_naming_the_line(tmp_path):
    from renovo.errors import RenovoError

    path = tmp_path / "p.mztab"
    runs, psms = _psms(tmp_path)
    write_mztab(path, psms, runs)
    lines = path.read_text().splitlines()
    last = len(lines)
    lines[-1] = "\t".join(lines[-1].split("\t")[:9])  # cut mid-row
    path.write_text("\n".join(lines))
    with pytest.raises(RenovoError, match=rf"p\.mztab:{last}: PSM row has 8 fields, the PSH header \d+"):
        read_mztab(path)


def test_mztab_without_psm_section_is_an_error(tmp_path):
    from renovo.errors import RenovoError

    path = tmp_path / "p.mztab"
    path.write_text("MTD\tmzTab-version\t1.0.0\nMTD\tmzTab-mode\tSummary\n")
    with pytest.raises(RenovoError, match=r"p\.mztab: no PSM section"):
        read_mztab(path)


def test_truncated_csv_row_is_an_error_naming_the_line(tmp_path):
    from renovo.errors import RenovoError

    path = tmp_path / "p.csv"
    write_csv(path, _psms(tmp_path)[1])
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:4])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RenovoError, match=r"p\.csv:3: row has 4 fields, the header \d+"):
        read_csv(path)


@pytest.mark.parametrize("name", ["garbage.mztab", "garbage.csv"])
def test_binary_garbage_is_an_error_not_a_decode_traceback(tmp_path, name):
    import random

    from renovo.errors import RenovoError

    path = tmp_path / name
    path.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(4096)))
    with pytest.raises(RenovoError, match=rf"{name}.*not a text file"):
        read_predictions(path)


def test_bom_mztab_and_csv_are_read(tmp_path):
    runs, psms = _psms(tmp_path)
    write_csv(tmp_path / "p.csv", psms)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "p.csv").read_bytes())
    assert len(read_predictions(tmp_path / "bom.csv")) == len(psms)


def test_mztab_empty_title_is_null_and_only_numeric_scans_in_the_scan_column(tmp_path):
    """mzTab requires null for an empty cell (an empty title was written as ''), and Casanovo puts only
    numeric scans in the scan-number column (a scan like F1:2478 was written there)."""
    from renovo.evaluate.io import PSM_COLUMNS

    mgf = str(tmp_path / "a.mgf")
    psms = [PSM(source_file=mgf, index=0, peptide="PEK", score=0.5, charge=2, title="", scan="F1:2478"),
            PSM(source_file=mgf, index=1, peptide="PEK", score=0.5, charge=2, title="t", scan="17")]
    write_mztab(tmp_path / "x.mztab", psms)
    lines = (tmp_path / "x.mztab").read_text().splitlines()
    header = next(line for line in lines if line.startswith("PSH")).split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines if line.startswith("PSM\t")]
    assert all(value != "" for row in rows for value in row.values())
    assert rows[0]["opt_global_title"] == "null" and rows[0][SCAN_COLUMN] == "null"
    assert rows[0]["opt_global_scan"] == "F1:2478" and rows[1][SCAN_COLUMN] == "ms_run[1]:scan=17"
    back = read_mztab(tmp_path / "x.mztab")
    assert [p.scan for p in back] == ["F1:2478", "17"] and back[0].title is None
    assert "opt_global_scan" in PSM_COLUMNS
