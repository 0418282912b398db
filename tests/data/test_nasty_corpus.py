"""The committed corpus of nasty files (tests/data/corpus/nasty/): each has
one expected outcome — records kept and skips counted, or a
MalformedFileError at a given line — and nothing else may happen (no other
exception, no hang, no unbounded memory). The table is EXPECTED.md there."""
from __future__ import annotations

import signal
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from renovo.data import MalformedFileError, SkipCounter, read_spectra
from renovo.data import records as R

NASTY = Path(__file__).parent / "corpus" / "nasty"

BAD_CHARGE, BAD_VALUES, NO_PRECURSOR, BAD_LABEL = R.BAD_CHARGE, R.BAD_VALUES, R.NO_PRECURSOR, R.BAD_LABEL


def kept(n: int, **skips: int) -> tuple:
    """Outcome: ``n`` records and these skip counts (keys: names of renovo.data.records constants)."""
    return ("kept", n, {getattr(R, k): v for k, v in skips.items()})


def error(line: int | None, kept_before: int = 0, words: str = "") -> tuple:
    """Outcome: MalformedFileError naming ``line`` after ``kept_before`` records were yielded."""
    return ("error", line, kept_before, words)


EXPECTED = {
    # empty / whitespace: nothing to read is not an error for text formats
    "empty.mgf": kept(0),
    "empty.msp": kept(0),
    "empty.sptxt": kept(0),
    "whitespace_only.mgf": kept(0),
    "empty.mzML": error(0, words="cannot read mzML"),
    "empty.parquet": error(None, words="not a readable Parquet"),
    # binary garbage
    "garbage.mgf": error(1, words="outside BEGIN IONS"),
    "garbage.msp": error(1, words="before the first 'Name:'"),
    "garbage.sptxt": error(1, words="before the first 'Name:'"),
    "garbage.mzML": error(1, words="cannot read mzML"),
    "garbage.parquet": error(None, words="not a readable Parquet"),
    "nul_bytes.mgf": error(11, kept_before=1, words="outside BEGIN IONS"),
    # truncated
    "truncated.mgf": error(20, kept_before=2, words="no END IONS"),
    "truncated_mid_line.mgf": error(11, kept_before=1, words="no END IONS"),
    "truncated.msp": error(15, kept_before=2, words="file ends after 2"),
    "truncated.mzML": error(6, kept_before=1, words="malformed mzML"),
    "truncated.parquet": error(None, words="not a readable Parquet"),
    # compressed files and mzXML
    "truncated.mgf.gz": error(None, kept_before=2, words="compressed file is damaged or truncated"),
    "garbage.mgf.gz": error(None, words="compressed file is damaged or truncated"),
    "plain_named.mgf.gz": kept(1),
    "compressed.parquet.gz": error(None, words="cannot be gzip-compressed"),
    "garbage.mzXML": error(1, words="cannot read mzXML"),
    "truncated.mzXML": error(5, words="malformed mzXML"),
    # duplicated headers: the last value wins (as in every MGF reader); a second BEGIN IONS / Name: is structural
    "duplicated_headers.mgf": kept(1),
    "duplicated_headers.msp": kept(1),
    "duplicated_begin_ions.mgf": error(2, words="missing END IONS"),
    "duplicated_name.msp": error(1, words="no 'Num peaks:'"),
    # line endings and encodings
    "crlf.mgf": kept(3),
    "crlf.msp": kept(3),
    "cr_only.mgf": kept(1),
    "bom.mgf": kept(1),
    "utf16.mgf": kept(1),
    "utf16_no_bom.mgf": error(1, words="UTF-16 without a byte-order mark"),
    # missing END IONS
    "missing_end_ions.mgf": error(10, words="missing END IONS"),
    "missing_end_ions_at_eof.mgf": error(11, kept_before=1, words="no END IONS"),
    # NaN / Inf / overflow
    "nan_inf.mgf": kept(1, BAD_VALUES=4, NO_PRECURSOR=2),
    "nan_inf.msp": kept(1, NO_PRECURSOR=1, BAD_VALUES=1),
    "nan_inf.mzML": kept(1, BAD_VALUES=1, NO_PRECURSOR=1),
    "nan_inf.parquet": kept(1, BAD_VALUES=1, BAD_CHARGE=1),
    # negative, zero, absurd and non-numeric charges
    "negative_charge.mgf": kept(1, BAD_CHARGE=5),
    "negative_charge.msp": kept(1, BAD_CHARGE=2),
    "negative_charge.mzML": kept(1, BAD_CHARGE=1),
    # unicode titles (kept as written; invalid UTF-8 replaced), non-ASCII residue → bad label
    "unicode_titles.mgf": kept(2, BAD_LABEL=1),
    "unicode_titles.msp": kept(1, BAD_LABEL=1),
    # odd but legal
    "long_line.mgf": kept(2),
    "many_tiny_spectra.mgf": kept(400),
    # Parquet that is not renovo's
    "foreign_schema.parquet": error(None, words="lacks renovo columns"),
    "wrong_types.parquet": error(None, words="wrong type"),
    # renovo's column names, bad contents: bad rows are counted skips, a bad column is one error naming it
    "unequal_peaks.parquet": kept(1, PEAK_LENGTHS=2, NO_PRECURSOR=1),
    "integer_peptide.parquet": error(None, words="column 'peptide' is int64, expected string"),
    "wrong_optional_types.parquet": error(None, words="column 'title' is double, expected string"),
    # readable, but nothing to train on (training refuses them: tests/train/test_file_data.py)
    "unlabelled.parquet": kept(3),
    "zero_rows.parquet": kept(0),
    # a decimal comma is not a decimal point; a fractional charge is one bad spectrum, not a bad file
    "decimal_comma.mgf": kept(2, BAD_PRECURSOR=1),
    "fractional_charge.mzML": kept(2, BAD_CHARGE=1),
    "bad_binary.mzML": error(None, kept_before=1, words="spectrum 1, id scan=2): cannot decode its m/z array"),
    "unequal_arrays.mzML": kept(1, PEAK_LENGTHS=1),
}


@contextmanager
def hang_guard(seconds: int):
    """Fail instead of hanging forever (a guard, not a speed target)."""
    def _raise(signum, frame):
        raise AssertionError(f"reader still running after {seconds} s (hang?)")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def corpus_files() -> list[str]:
    return sorted(p.name for p in NASTY.iterdir() if p.suffix not in (".py", ".md") and p.is_file())


def test_every_file_has_an_expected_outcome_and_is_small():
    assert corpus_files() == sorted(EXPECTED)
    table = (NASTY / "EXPECTED.md").read_text()
    for name in EXPECTED:
        assert f"`{name}`" in table, f"{name} missing from EXPECTED.md"
        assert (NASTY / name).stat().st_size < 50_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nasty_file_outcome(name):
    expected = EXPECTED[name]
    skips = SkipCounter()
    records = []
    with hang_guard(60):
        if expected[0] == "kept":
            records.extend(read_spectra(NASTY / name, skips=skips))
            _, n, skipped = expected
            assert len(records) == n == skips.kept
            assert dict(skips.counts) == skipped
        else:
            _, line, kept_before, words = expected
            with pytest.raises(MalformedFileError) as info:
                for record in read_spectra(NASTY / name, skips=skips):
                    records.append(record)
            assert info.value.line == line
            assert words in str(info.value)
            assert name in str(info.value)  # names the file
            assert len(records) == kept_before
    for record in records:  # whatever comes out is usable
        assert record.precursor_charge >= 1 and np.isfinite(record.precursor_mz) and record.precursor_mz > 0
        assert record.n_peaks > 0 and np.isfinite(record.mz).all() and np.isfinite(record.intensity).all()
        assert (record.intensity >= 0).all() and (np.diff(record.mz) >= 0).all()


def test_specific_values():
    (record,) = read_spectra(NASTY / "duplicated_headers.mgf")
    assert (record.title, record.precursor_mz, record.precursor_charge, record.peptide) == ("second", 500.25, 2, "PEPTIDER")
    (record,) = read_spectra(NASTY / "duplicated_headers.msp")
    assert record.precursor_mz == 500.25
    first, second = read_spectra(NASTY / "unicode_titles.mgf")
    assert first.title == "肽段 ü Ωmega 🧪 \u202eevil" and first.peptide == "PEPTIDEK"
    assert second.title.startswith("latin1 ") and "\ufffd" in second.title
    crlf = list(read_spectra(NASTY / "crlf.mgf"))
    assert [r.title for r in crlf] == ["good", "b", "good"] and crlf[0].peptide == "PEPTIDEK"
    (bom,) = read_spectra(NASTY / "bom.mgf")
    assert bom.title == "good"
    (utf16,) = read_spectra(NASTY / "utf16.mgf")
    assert (utf16.title, utf16.peptide, utf16.precursor_mz) == ("good", "PEPTIDEK", 500.25)


@pytest.mark.parametrize("n", [100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_one_spectrum_with_a_million_peaks(tmp_path, n):
    """1e6 peaks in one spectrum (1e5 in the default run): read (centroided, as such
    a dense list looks like profile data) in bounded memory."""
    rng = np.random.default_rng(0)
    mz = np.sort(rng.uniform(100.0, 2000.0, n))
    intensity = rng.exponential(100.0, n)
    path = tmp_path / "million.mgf"
    with open(path, "w") as handle:
        handle.write("BEGIN IONS\nTITLE=million\nPEPMASS=800.4\nCHARGE=2+\nSEQ=PEPTIDEK\n")
        handle.write("\n".join(f"{a:.5f} {b:.2f}" for a, b in zip(mz.tolist(), intensity.tolist())))
        handle.write("\nEND IONS\n")
    skips = SkipCounter()
    tracemalloc.start()
    try:
        with hang_guard(120):
            (record,) = read_spectra(path, skips=skips)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record.title == "million" and record.peptide == "PEPTIDEK"
    assert 0 < record.n_peaks <= n
    assert np.isfinite(record.intensity).all()
    # The file is ~19 MB; the reader holds its lines and a few float arrays, never more than ~40× the peak data.
    assert peak_bytes < 40 * n * 16, f"{peak_bytes / 1e6:.0f} MB traced while reading one spectrum"
