"""Readers on the shared real files and on a corpus of broken MGF snippets."""
from __future__ import annotations

import numpy as np
import pytest

from renovo.chem import PROTON_MASS_DA, UnknownModificationError, default_vocabulary, peptide_mass_da
from renovo.data import MalformedFileError, SkipCounter, read_spectra
from renovo.data import records as R

# ---------------------------------------------------------------- real files

REAL = {
    # name: (spectra, labelled, profile spectra centroided)
    "casanovo_mouse_128.mgf": (128, 128, 1),
    "winnow_hela_profile_100.mgf": (100, 100, 27),
    "massivekb_500.mgf": (500, 500, 0),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file_loads_with_expected_counts(real_dir, name):
    spectra, labelled, centroided = REAL[name]
    skips = SkipCounter()
    records = list(read_spectra(real_dir / name, skips=skips))
    assert len(records) == spectra
    assert sum(r.peptide is not None for r in records) == labelled
    assert skips.total == 0 and skips.kept == spectra
    assert skips.centroided == centroided
    for record in records:
        assert record.mz.dtype == np.float64 and record.intensity.dtype == np.float32
        assert np.all(np.diff(record.mz) >= 0)
        assert np.all(record.intensity > 0)
        assert record.precursor_charge >= 1
    assert [r.index for r in records] == list(range(spectra))


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_labels_match_precursor_mass(real_dir, name):
    """The label (and, for massivekb, the peprec join) is right: most precursors within 0.03 Da."""
    records = list(read_spectra(real_dir / name))
    error = np.array([(r.precursor_mz - PROTON_MASS_DA) * r.precursor_charge - peptide_mass_da(r.peptide) for r in records])
    assert np.mean(np.abs(error) < 0.03) > 0.95


def test_massivekb_labels_come_from_sibling_peprec(real_dir):
    records = list(read_spectra(real_dir / "massivekb_500.mgf", labels=False))
    assert len(records) == 500 and all(r.peptide is None for r in records)
    explicit = list(read_spectra(real_dir / "massivekb_500.mgf", labels=real_dir / "massivekb_500.peprec"))
    auto = {r.title: r.peptide for r in read_spectra(real_dir / "massivekb_500.mgf")}
    assert {r.title: r.peptide for r in explicit} == auto
    assert auto["massive_hcd_930799"] == "LIHDGC[Carbamidomethyl]LLWK"
    assert auto["massive_hcd_1996776"] == "[Gln->pyro-Glu]-QKPPEGFMAPK"
    assert auto["massive_hcd_2023245"] == "[Carbamyl]-KWQDEDGKK"
    # massivekb writes "CHARGE=4" without a sign
    assert {r.precursor_charge for r in explicit} == {2, 3, 4}


def test_winnow_unimod_labels_are_canonical(real_dir):
    first = next(iter(read_spectra(real_dir / "winnow_hela_profile_100.mgf")))
    assert first.peptide == "HQGVM[Oxidation]VGM[Oxidation]GQK"


def test_profile_spectra_skipped_when_not_centroiding(real_dir):
    skips = SkipCounter()
    records = list(read_spectra(real_dir / "winnow_hela_profile_100.mgf", centroid=False, skips=skips))
    assert len(records) == 73 and skips[R.PROFILE] == 27
    assert "profile" in skips.report()


def test_centroided_profile_spectrum_is_sparse(real_dir):
    from renovo.data.centroid import is_profile

    records = list(read_spectra(real_dir / "winnow_hela_profile_100.mgf"))
    assert not any(is_profile(r.mz, r.intensity) for r in records)
    assert max(r.n_peaks for r in records) < 400  # raw profile spectra hold up to ~800 points


def test_vocabulary_without_a_modification_skips_those_labels(real_dir):
    vocabulary = default_vocabulary(variable_mods=("N[Deamidated]", "Q[Deamidated]"))
    skips = SkipCounter()
    records = list(read_spectra(real_dir / "casanovo_mouse_128.mgf", vocabulary=vocabulary, skips=skips))
    assert skips[R.UNKNOWN_MOD] == 3  # the three labels with M[Oxidation]
    assert len(records) == 125
    with pytest.raises(UnknownModificationError):
        list(read_spectra(real_dir / "casanovo_mouse_128.mgf", vocabulary=vocabulary, on_unknown_mod="error"))


# ---------------------------------------------------------- broken MGF corpus

GOOD = "BEGIN IONS\nTITLE=ok\nPEPMASS=500.25\nCHARGE=2+\nSEQ=PEPTIDEK\n100.0 10\n200.0 20\n300.0 5\nEND IONS\n"


def _block(headers: str, peaks: str = "100.0 10\n200.0 20\n300.0 5\n") -> str:
    return f"BEGIN IONS\n{headers}{peaks}END IONS\n"


# (name, text, expected skip reason) — each snippet holds GOOD plus one bad spectrum.
SKIP_CORPUS = [
    ("no charge", _block("TITLE=a\nPEPMASS=500.2\n"), R.NO_CHARGE),
    ("two charges", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+ and 3+\n"), R.BAD_CHARGE),
    ("negative mode", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2-\n"), R.BAD_CHARGE),
    ("zero charge", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=0\n"), R.BAD_CHARGE),
    ("no pepmass", _block("TITLE=a\nCHARGE=2+\n"), R.NO_PRECURSOR),
    ("pepmass text", _block("TITLE=a\nPEPMASS=abc\nCHARGE=2+\n"), R.NO_PRECURSOR),
    ("pepmass nan", _block("TITLE=a\nPEPMASS=nan\nCHARGE=2+\n"), R.NO_PRECURSOR),
    ("no peaks", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\n", ""), R.NO_PEAKS),
    ("all zero", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\n", "100 0\n200 0\n"), R.NO_PEAKS),
    ("nan intensity", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\n", "100 nan\n200 5\n"), R.BAD_VALUES),
    ("negative intensity", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\n", "100 -3\n200 5\n"), R.BAD_VALUES),
    ("inf m/z", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\n", "inf 3\n200 5\n"), R.BAD_VALUES),
    ("bad residue", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\nSEQ=PEPXIDE\n"), R.BAD_LABEL),
    ("bad bracket", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\nSEQ=PEP[Oxidation\n"), R.BAD_LABEL),
    ("unknown mod", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\nSEQ=PEPS[Phospho]K\n"), R.UNKNOWN_MOD),
    ("unknown unimod", _block("TITLE=a\nPEPMASS=500.2\nCHARGE=2+\nSEQ=PEPS[UNIMOD:21]K\n"), R.UNKNOWN_MOD),
]


@pytest.mark.parametrize("name,text,reason", SKIP_CORPUS, ids=[c[0] for c in SKIP_CORPUS])
def test_bad_spectrum_is_skipped_and_counted(tmp_path, name, text, reason):
    path = tmp_path / "bad.mgf"
    path.write_text(GOOD + text + GOOD.replace("TITLE=ok", "TITLE=ok2"))
    skips = SkipCounter()
    records = list(read_spectra(path, skips=skips))
    assert [r.title for r in records] == ["ok", "ok2"]
    assert [r.index for r in records] == [0, 2]
    assert dict(skips.counts) == {reason: 1}
    assert reason in skips.report() and "bad.mgf:10" in skips.report()


# (name, text, 1-based line named in the error, words in the message)
ERROR_CORPUS = [
    ("garbage peak line", GOOD.replace("200.0 20", "200.0 twenty"), 7, "not a number"),
    ("one column", GOOD.replace("200.0 20", "200.0"), 7, "expected"),
    ("four columns", GOOD.replace("200.0 20", "200.0 20 1 2"), 7, "expected"),
    ("text line", GOOD.replace("200.0 20", "hello world"), 7, "not a number"),
    ("end without begin", GOOD + "END IONS\n", 10, "without BEGIN"),
    ("begin inside", GOOD.replace("END IONS\n", "") + GOOD, 9, "missing END IONS"),
    ("truncated", GOOD + "BEGIN IONS\nTITLE=x\n100 1\n", 10, "no END IONS"),
    ("peaks outside", "100.0 10\n" + GOOD, 1, "outside"),
]


@pytest.mark.parametrize("name,text,line,words", ERROR_CORPUS, ids=[c[0] for c in ERROR_CORPUS])
def test_malformed_mgf_names_file_and_line(tmp_path, name, text, line, words):
    path = tmp_path / "broken.mgf"
    path.write_text(text)
    with pytest.raises(MalformedFileError) as caught:
        list(read_spectra(path))
    assert caught.value.line == line
    assert f"broken.mgf:{line}" in str(caught.value)
    assert words in str(caught.value)


def test_mgf_tolerates_comments_globals_third_column_and_unsorted(tmp_path):
    text = (
        "# exported by a tool\nCHARGE=3+\n\n"
        "BEGIN IONS\nTITLE=t\nPEPMASS=500.25 12345.6\nRTINSECONDS=12.5\n300.0 5 1+\n100.0 10 1+\n200.0 20 2+\nEND IONS\n"
    )
    path = tmp_path / "odd.mgf"
    path.write_text(text)
    (record,) = read_spectra(path)
    assert record.precursor_charge == 3  # from the global CHARGE
    assert record.precursor_mz == 500.25 and record.retention_time_s == 12.5
    assert record.mz.tolist() == [100.0, 200.0, 300.0]
    assert record.intensity.tolist() == [10.0, 20.0, 5.0]
    assert record.peptide is None


def test_label_table_fills_missing_charge_and_overrides_seq(tmp_path):
    path = tmp_path / "x.mgf"
    path.write_text(_block("TITLE=a\nPEPMASS=500.2\nSEQ=PEPTIDEK\n"))
    (tmp_path / "labels.tsv").write_text("title\tpeptide\tcharge\na\tAC[Carbamidomethyl]DEK\t3\n")
    (record,) = read_spectra(path, labels=tmp_path / "labels.tsv")
    assert record.peptide == "AC[Carbamidomethyl]DEK" and record.precursor_charge == 3
    skips = SkipCounter()
    assert list(read_spectra(path, skips=skips)) == [] and skips[R.NO_CHARGE] == 1


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(MalformedFileError, match="unknown spectrum format"):
        read_spectra(tmp_path / "x.txt")
    with pytest.raises(MalformedFileError, match="no such file"):
        read_spectra(tmp_path / "missing.mgf")
