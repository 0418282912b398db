"""Bad input at volume: property-based fuzzing of every reader and of the
peptide parser. Whatever the input, a reader either yields valid records or
raises MalformedFileError; the peptide parser returns a Peptide or raises
PeptideParseError — no other exception, no hang (hypothesis deadline, 5 s per input of a few KB), no
memory out of proportion to the input (tracemalloc)."""
from __future__ import annotations

import os
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renovo.chem import Peptide, PeptideParseError, parse_peptide
from renovo.data import MalformedFileError, SkipCounter, read_spectra
from renovo.data.library import library_label, parse_comment
from renovo.errors import RenovoError

#: RENOVO_FUZZ_EXAMPLES=5000 fuzzes longer (e.g. nightly); the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("RENOVO_FUZZ_EXAMPLES", "150")), deadline=5000,
                suppress_health_check=[HealthCheck.too_slow])
#: Memory a reader may trace for a small input: fixed overhead (numpy, pyarrow, lxml buffers) + 200× the input.
MEMORY_OVERHEAD_BYTES = 32 * 2**20


def read_all(data: bytes, suffix: str) -> list:
    """Read ``data`` as a file with ``suffix``; only MalformedFileError may escape; records must be sane."""
    handle, name = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        skips = SkipCounter()
        tracemalloc.start()
        try:
            try:
                records = list(read_spectra(name, skips=skips))
            except MalformedFileError as error:
                assert Path(name).name in str(error)
                records = []
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < MEMORY_OVERHEAD_BYTES + 200 * len(data), f"{peak} bytes traced for {len(data)} bytes of input"
        assert skips.kept >= len(records)
        for record in records:
            assert 1 <= record.precursor_charge <= 100
            assert np.isfinite(record.precursor_mz) and record.precursor_mz > 0
            assert record.n_peaks > 0 and record.mz.shape == record.intensity.shape
            assert np.isfinite(record.mz).all() and np.isfinite(record.intensity).all()
            assert (record.intensity >= 0).all() and (np.diff(record.mz) >= 0).all()
            if record.peptide is not None:
                assert parse_peptide(record.peptide).proforma == record.peptide
        return records
    finally:
        os.unlink(name)


# ----------------------------------------------------------------------------- text formats from fragments

_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0", "1e-320", "100.0", "500.25", ""]),
)
_PEPTIDES = st.sampled_from([
    "PEPTIDEK", "PEPC[Carbamidomethyl]M[Oxidation]K", "[Acetyl]-PEPK", "M[UNIMOD:35]K", "PEPM+15.995K",
    "PEPS[Phospho]K", "PEP[", "Q[Gln->pyro-Glu]EK", "", "pep", "ÜÖ", "[Acetyl]-", "+42.011", "K[Acetyl]",
])
_TEXT = st.text(max_size=30)


@st.composite
def mgf_lines(draw):
    kinds = st.one_of(
        st.just("BEGIN IONS"), st.just("END IONS"), st.just(""),
        st.builds(lambda v: f"PEPMASS={v}", _NUMBERS),
        st.builds(lambda v: f"CHARGE={v}", st.one_of(_NUMBERS, st.sampled_from(["2+", "3-", "2+ and 3+", "+1", "0", "100000"]))),
        st.builds(lambda v: f"TITLE={v}", _TEXT),
        st.builds(lambda v: f"SEQ={v}", _PEPTIDES),
        st.builds(lambda v: f"RTINSECONDS={v}", _NUMBERS),
        st.builds(lambda a, b: f"{a} {b}", _NUMBERS, _NUMBERS),
        st.builds(lambda a, b, c: f"{a}\t{b}\t{c}", _NUMBERS, _NUMBERS, _TEXT),
        _TEXT,
    )
    return draw(st.lists(kinds, max_size=40))


@st.composite
def wellformed_mgf(draw):
    """Mostly-valid MGF: BEGIN/END balanced, headers and peaks drawn from nasty values."""
    blocks = []
    for _ in range(draw(st.integers(0, 4))):
        lines = ["BEGIN IONS"] + draw(mgf_lines()) + ["END IONS"]
        blocks.append([line for line in lines[1:-1] if line not in ("BEGIN IONS", "END IONS")])
    return "\n".join("BEGIN IONS\n" + "\n".join(b) + "\nEND IONS" for b in blocks)


_NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


@given(mgf_lines(), _NEWLINES)
@FUZZ
def test_mgf_any_lines(lines, newline):
    read_all(newline.join(lines).encode("utf-8", "surrogatepass"), ".mgf")


@given(wellformed_mgf())
@FUZZ
def test_mgf_balanced_blocks(text):
    read_all(text.encode("utf-8", "surrogatepass"), ".mgf")


@given(st.binary(max_size=2000))
@FUZZ
def test_mgf_bytes(data):
    read_all(data, ".mgf")


@st.composite
def library_text(draw):
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(
            st.builds(lambda p, z: f"{p}/{z}", _PEPTIDES, _NUMBERS),
            st.sampled_from(["n[43]PEPC[160]M[147]K/2", "PEPK/2_1(1,E,Oxidation)", "PEPK/2_9(", "Q[111]K/3",
                             "PEPK/2_1(2,P,Acetyl)", "n[x]K/2", "K[]/2", "c[17]/2", "PEPK"]),
            _TEXT,
        ))
        entry = [f"Name: {name}"]
        for header in draw(st.lists(st.one_of(
            st.builds(lambda v: f"Comment: Parent={v} Mods={draw(st.sampled_from(['0', '1/0,P,Acetyl', '2/1', 'x', '1/-1,K,Amidated', '1/99,K,Ox']))}", _NUMBERS),
            st.builds(lambda v: f"PrecursorMZ: {v}", _NUMBERS),
            st.builds(lambda v: f"Charge: {v}", _NUMBERS),
            st.builds(lambda v: f"Comment: {v}", _TEXT),
            _TEXT,
        ), max_size=4)):
            entry.append(header)
        peaks = draw(st.lists(st.builds(lambda a, b, c: f"{a}\t{b}\t{c}", _NUMBERS, _NUMBERS, _TEXT), max_size=6))
        count = draw(st.one_of(st.just(len(peaks)), st.integers(-2, 10).map(str), _TEXT))
        entry.append(f"{draw(st.sampled_from(['Num peaks', 'NumPeaks', 'num peaks']))}: {count}")
        entry.extend(peaks)
        lines.append("\n".join(entry))
    return "\n\n".join(lines)


@given(library_text(), st.sampled_from([".msp", ".sptxt"]), _NEWLINES)
@FUZZ
def test_library_entries(text, suffix, newline):
    read_all(text.replace("\n", newline).encode("utf-8", "surrogatepass"), suffix)


@given(st.binary(max_size=2000), st.sampled_from([".msp", ".sptxt"]))
@FUZZ
def test_library_bytes(data, suffix):
    read_all(data, suffix)


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=60)))
@FUZZ
def test_library_label_any_text(name, mods):
    try:
        text, _ = library_label(name, mods)
    except PeptideParseError:
        return
    try:
        parse_peptide(text)
    except PeptideParseError:
        pass


@given(st.text(max_size=300))
@FUZZ
def test_parse_comment_any_text(text):
    assert isinstance(parse_comment(text), dict)


# ----------------------------------------------------------------------------- binary formats by mutation

def _mutations(seed_bytes: bytes):
    """A valid file, then truncated, bit-flipped, spliced or overwritten."""
    n = len(seed_bytes)
    return st.one_of(
        st.integers(0, n).map(lambda k: seed_bytes[:k]),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 255)), min_size=1, max_size=8).map(
            lambda edits: _apply(seed_bytes, edits)),
        st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=64)).map(
            lambda t: seed_bytes[:t[0]] + t[1] + seed_bytes[t[0]:]),
        st.tuples(st.integers(0, n), st.integers(0, n)).map(
            lambda t: seed_bytes[:min(t)] + seed_bytes[max(t):]),
    )


def _apply(data: bytes, edits) -> bytes:
    mutable = bytearray(data)
    for position, value in edits:
        mutable[position] = value
    return bytes(mutable)


def _seed_mzml() -> bytes:
    import base64

    def array(values, accession, name):
        data = base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()
        return (f'<binaryDataArray encodedLength="{len(data)}"><cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>'
                f'<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/><cvParam cvRef="MS" accession="{accession}" name="{name}"/>'
                f"<binary>{data}</binary></binaryDataArray>")

    spectra = "".join(
        f'<spectrum index="{i}" id="scan={i + 1}" defaultArrayLength="3">'
        '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="2"/>'
        f'<cvParam cvRef="MS" accession="MS:1000796" name="spectrum title" value="t{i}"/>'
        '<precursorList count="1"><precursor><selectedIonList count="1"><selectedIon>'
        '<cvParam cvRef="MS" accession="MS:1000744" name="selected ion m/z" value="500.25"/>'
        '<cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="2"/>'
        '</selectedIon></selectedIonList></precursor></precursorList><binaryDataArrayList count="2">'
        + array([100.0, 200.0, 300.0], "MS:1000514", "m/z array") + array([1.0, 2.0, 3.0], "MS:1000515", "intensity array")
        + "</binaryDataArrayList></spectrum>\n"
        for i in range(2)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">\n'
        '<cvList count="1"><cv id="MS" fullName="PSI-MS" URI="https://www.ebi.ac.uk/ols/ontologies/ms"/></cvList>\n'
        f'<run id="r"><spectrumList count="2">\n{spectra}</spectrumList></run></mzML>\n'
    ).encode()


def _seed_parquet() -> bytes:
    from renovo.data import SpectrumRecord, write_parquet

    records = [
        SpectrumRecord(mz=[100.0, 200.0 + i], intensity=[1.0, 2.0], precursor_mz=500.25, precursor_charge=2,
                       peptide="PEPTIDEK", title=f"t{i}", index=i)
        for i in range(5)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.parquet"
        write_parquet(records, path, row_group_size=2)
        return path.read_bytes()


SEED_MZML = _seed_mzml()
SEED_PARQUET = _seed_parquet()
read_all(SEED_MZML, ".mzML")  # warm one-time loads (PSI-MS vocabulary) so the deadline measures reading only


def test_seeds_are_valid():
    assert len(read_all(SEED_MZML, ".mzML")) == 2
    assert len(read_all(SEED_PARQUET, ".parquet")) == 5


@given(_mutations(SEED_MZML))
@FUZZ
def test_mzml_mutations(data):
    read_all(data, ".mzML")


@given(_mutations(SEED_PARQUET))
@FUZZ
def test_parquet_mutations(data):
    read_all(data, ".parquet")


@given(st.binary(max_size=2000), st.sampled_from([".mzML", ".parquet"]))
@FUZZ
def test_binary_formats_bytes(data, suffix):
    read_all(data, suffix)


# ----------------------------------------------------------------------------- peptide parser

_PIECES = st.sampled_from([
    "A", "C", "M", "K", "Q", "E", "N", "X", "B", "a", "[", "]", "-", "+", "(", ")", "[Oxidation]", "[Carbamidomethyl]",
    "[Acetyl]-", "[UNIMOD:35]", "[UNIMOD:]", "[UNIMOD:x]", "[U:4]", "[+15.995]", "+15.995", "-17.027", "+42.011",
    "[Gln->pyro-Glu]", "[Deamidated]", "[Phospho]", "[]", "[[", "]]", "1e5", ".", " ", "\t", "Ü", "\x00",
])


@given(st.lists(_PIECES, max_size=30).map("".join))
@FUZZ
def test_parse_peptide_pieces(text):
    _check_parse(text)


@given(st.text(max_size=200))
@FUZZ
def test_parse_peptide_any_text(text):
    _check_parse(text)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=10), st.lists(st.text(max_size=3), max_size=3)))
@FUZZ
def test_parse_peptide_non_strings(value):
    with pytest.raises(PeptideParseError):
        parse_peptide(value)


def _check_parse(text: str) -> None:
    try:
        peptide = parse_peptide(text)
    except PeptideParseError as error:
        assert isinstance(error, (ValueError, RenovoError))
        return
    assert isinstance(peptide, Peptide) and len(peptide) >= 1
    assert parse_peptide(peptide.proforma) == peptide  # canonical form is a fixed point


# ----------------------------------------------------------------------------- optional: atheris (coverage-guided)

@pytest.mark.slow
def test_atheris_mgf_and_library(tmp_path):
    """Coverage-guided fuzzing of the MGF and library readers for a fixed number of runs (needs atheris)."""
    atheris = pytest.importorskip("atheris", reason="atheris not installed (pip install atheris)")
    import subprocess
    import sys

    script = tmp_path / "fuzz.py"
    script.write_text(
        "import sys, atheris\n"
        "with atheris.instrument_imports():\n"
        "    from tests.data.test_fuzz import read_all\n"
        "def one(data):\n"
        "    suffix = ('.mgf', '.msp', '.sptxt')[data[0] % 3] if data else '.mgf'\n"
        "    read_all(data[1:], suffix)\n"
        "atheris.Setup(sys.argv, one)\n"
        "atheris.Fuzz()\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(script), "-runs=20000", "-max_len=4096"], cwd=root,
                            capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-3000:]
    del atheris


def test_parquet_with_a_non_utf8_string_page_is_a_malformed_file():
    # Found by test_parquet_mutations: byte 472 of the seed file set to 0x80 lands in a string column's page,
    # which pyarrow reads but cannot decode to text.
    read_all(_apply(SEED_PARQUET, [(472, 128)]), ".parquet")
