"""NIST MSP and SpectraST sptxt libraries: labels from every modification
notation, precursor masses that agree with the labels, skip accounting and
structural errors with file:line."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.chem import (
    AMINO_ACID_MASS_DA,
    PeptideParseError,
    UnknownModificationError,
    default_vocabulary,
    parse_peptide,
    precursor_mz,
)
from renovo.data import MalformedFileError, SkipCounter, read_spectra
from renovo.data import records as R
from renovo.data.library import library_label, parse_comment, parse_msp_mods

LIBRARIES = Path(__file__).parent / "corpus" / "libraries"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- labels, every notation

@pytest.mark.parametrize(
    ("name", "mods", "expected"),
    [
        # NIST MSP, modifications in Comment Mods= (0-based positions)
        ("PEPCMK/2", "2/3,C,Carbamidomethyl/4,M,Oxidation", "PEPC[Carbamidomethyl]M[Oxidation]K"),
        ("PEPCK/2", "1/3,C,CAM", "PEPC[Carbamidomethyl]K"),
        ("AGCDK/3", "2/0,A,Acetyl/2,C,CAM", "[Acetyl]-AGC[Carbamidomethyl]DK"),
        ("KPEPR/2", "1/0,K,Carbamyl", "[Carbamyl]-KPEPR"),
        ("QPEPK/2", "1/0,Q,Gln->pyro-Glu", "[Gln->pyro-Glu]-QPEPK"),
        ("QPEPK/2", "1/0,Q,Pyro-glu", "[Gln->pyro-Glu]-QPEPK"),
        ("EPEPK/2", "1/0,E,Pyro-glu", "[Glu->pyro-Glu]-EPEPK"),
        ("EPEPK/2", "1/0,E,Glu->pyro-Glu", "[Glu->pyro-Glu]-EPEPK"),
        ("SNGQK/2", "2/1,N,Deamidated/3,Q,Deamidation", "SN[Deamidated]GQ[Deamidated]K"),
        ("PEPTIDEK/2", "0", "PEPTIDEK"),
        ("PEPTIDEK/2", None, "PEPTIDEK"),
        # Protein Prospector writes an N-terminal modification at position -1
        ("APEPK/2", "1/-1,A,Acetyl", "[Acetyl]-APEPK"),
        # MS2PIP's writer: 1-based positions (only used when 0-based does not fit)
        ("ACDEK/2", "1/2,C,Carbamidomethyl", "AC[Carbamidomethyl]DEK"),
        # NIST, modifications on the Name line (they win over Comment Mods=)
        ("AAAACALTPGPLADLAAR/2_1(4,C,CAM)", "0", "AAAAC[Carbamidomethyl]ALTPGPLADLAAR"),
        ("QPEPCK/2_2(0,Q,Gln->pyro-Glu)(4,C,CAM)_35eV", None, "[Gln->pyro-Glu]-QPEPC[Carbamidomethyl]K"),
        ("PEPTIDEK/2_0", None, "PEPTIDEK"),
        # SpectraST: nominal mass of the modified residue / terminus
        ("n[43]PEPC[160]M[147]K/2", None, "[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K"),
        ("n[44]PEPTIDEK/2", None, "[Carbamyl]-PEPTIDEK"),
        ("Q[111]PEPC[160]K/2", None, "[Gln->pyro-Glu]-QPEPC[Carbamidomethyl]K"),
        ("E[111]PEPK/2", None, "[Glu->pyro-Glu]-EPEPK"),
        ("SN[115]GQ[129]K/2", None, "SN[Deamidated]GQ[Deamidated]K"),
        ("C[160.03]PEPK/2", None, "C[Carbamidomethyl]PEPK"),
        ("PEPC[160]Kc[17]/2", None, "PEPC[Carbamidomethyl]K"),
        ("n[1]PEPK/2", None, "PEPK"),
        # ProForma names in a Name line
        ("[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K/2", None, "[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K"),
        ("PEPM[UNIMOD:35]K/2", None, "PEPM[Oxidation]K"),
    ],
)
def test_library_label_notations(name, mods, expected):
    text, charge = library_label(name, mods)
    assert parse_peptide(text).proforma == expected
    assert charge == name.split("/")[1].split("_")[0]


@pytest.mark.parametrize(
    ("name", "mods", "error", "mentions"),
    [
        ("LCK/2", "0", UnknownModificationError, "unmodified C"),  # C is fixed Carbamidomethyl in the default vocabulary
        ("LCK/2", None, UnknownModificationError, "unmodified C"),
        ("LC[103]K/2", None, UnknownModificationError, "unmodified C"),
        ("PEPS[150]K/2", None, UnknownModificationError, "S[150]"),
        ("n[230]PEPK/2", None, UnknownModificationError, "n[230]"),
        ("PEPKc[16]/2", None, UnknownModificationError, "c[16]"),
        ("PEPTIDEK/2", "1/-1,K,Amidated", UnknownModificationError, "C-terminal"),
        ("PEPKK/2", "1/3,K,Acetyl", UnknownModificationError, "Acetyl on K"),
        ("PEPK/2", "1/9,K,Oxidation", PeptideParseError, "does not fit"),
        ("PEPK/2", "2/1,E,Oxidation", PeptideParseError, "says 2"),
        ("PEPK/2", "x/1,E,Oxidation", PeptideParseError, "count"),
        ("PEPK/2", "1/1,E", PeptideParseError, "position,residue,name"),
        ("PEPK/2", "1/a,E,Oxidation", PeptideParseError, "position"),
        ("PEPK/2", "2/0,P,Acetyl/0,P,Carbamyl", PeptideParseError, "two N-terminal"),
        ("PEPK/2", "2/1,E,Oxidation/1,E,Deamidated", PeptideParseError, "two modifications"),
        ("PEPK/2_2(1,E,Oxidation)", None, PeptideParseError, "Name says 2"),
        ("PEXK/2", None, PeptideParseError, "unknown residue"),
        ("PEPK", None, PeptideParseError, "SEQUENCE/charge"),
        ("PE]PK/2", None, PeptideParseError, "cannot read"),
        ("PEnPK/2", None, PeptideParseError, "misplaced 'n'"),
        ("c[17]PEPK/2", None, PeptideParseError, "misplaced 'c'"),
        ("PEPKc[17]A/2", None, PeptideParseError, "after the C-terminus"),
        ("n[43]/2", None, PeptideParseError, "no residues"),
    ],
)
def test_library_label_errors(name, mods, error, mentions):
    with pytest.raises(error, match=None) as info:
        library_label(name, mods)
    assert mentions in str(info.value)


def test_unmodified_cysteine_is_fine_without_a_fixed_modification():
    vocabulary = default_vocabulary(fixed_mods=(), variable_mods=("C[Carbamidomethyl]", "M[Oxidation]"))
    assert library_label("LCK/2", "0", vocabulary)[0] == "LCK"
    assert library_label("LC[160]K/2", None, vocabulary)[0] == "LC[Carbamidomethyl]K"


def test_parse_helpers():
    assert parse_msp_mods("2/4,C,CAM/7,M,Oxidation") == [(4, "C", "CAM"), (7, "M", "Oxidation")]
    assert parse_msp_mods("(4,C,CAM)(7,M,Oxidation)") == [(4, "C", "CAM"), (7, "M", "Oxidation")]
    assert parse_msp_mods("0") == []
    comment = parse_comment('Spec=Consensus Mods=1/4,C,CAM Parent=855.4538 Protein="sp|P1|X a protein" Empty=')
    assert comment == {"Spec": "Consensus", "Mods": "1/4,C,CAM", "Parent": "855.4538", "Protein": "sp|P1|X a protein", "Empty": ""}


# ----------------------------------------------------------------------------- files

@pytest.mark.parametrize(
    ("file", "kept", "skipped"),
    [("nist_style.msp", 8, {R.UNKNOWN_MOD: 2}), ("spectrast_style.sptxt", 6, {R.UNKNOWN_MOD: 1})],
)
def test_library_files_labels_and_masses_agree(file, kept, skipped):
    skips = SkipCounter()
    records = list(read_spectra(LIBRARIES / file, skips=skips))
    assert len(records) == kept == skips.kept
    assert dict(skips.counts) == skipped
    for record in records:
        assert record.peptide is not None
        assert record.title is not None and record.peptide  # title is the Name line
        expected_mz = precursor_mz(record.peptide, record.precursor_charge)
        # The file's precursor m/z was computed with pyteomics from the intended modifications.
        assert abs(record.precursor_mz - expected_mz) / expected_mz * 1e6 < 2.0, record.title
        assert record.n_peaks == 6
        assert (record.mz[1:] >= record.mz[:-1]).all()
    assert [r.index for r in records] == sorted(r.index for r in records)


def test_msp_fields():
    records = {r.title: r for r in read_spectra(LIBRARIES / "nist_style.msp")}
    first = records["AAAACALTPGPLADLAAR/2_1(4,C,CAM)"]
    assert first.retention_time_s == 1234.5
    assert first.precursor_mz == 855.4538
    assert first.source_file.endswith("nist_style.msp")
    # precursor from a PrecursorMZ: line when Comment has no Parent=
    assert records["LMMK/2_1(2,M,Oxidation)_35eV"].peptide == "LMM[Oxidation]K"
    sptxt = list(read_spectra(LIBRARIES / "spectrast_style.sptxt"))
    assert [r.scan for r in sptxt] == ["0", "1", "2", "3", "4", "5"]  # LibID
    assert {r.precursor_charge for r in sptxt} == {2, 3}


def test_on_unknown_mod_error_stops():
    with pytest.raises(UnknownModificationError):
        list(read_spectra(LIBRARIES / "nist_style.msp", on_unknown_mod="error"))


def test_label_table_overrides_name(tmp_path):
    skips = SkipCounter()
    records = list(read_spectra(LIBRARIES / "nist_style.msp", labels={"LCK/2": "LC[Carbamidomethyl]K"}, skips=skips))
    assert "LC[Carbamidomethyl]K" in [r.peptide for r in records]
    assert skips[R.UNKNOWN_MOD] == 1


ENTRY = "Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 2\n100.0 10.0\n200.0 20.0 \"y1\"\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Name: PEPK\nComment: Parent=236.6\nNum peaks: 1\n100 1\n", R.NO_CHARGE),
        ("Name: PEPK/0\nComment: Parent=236.6\nNum peaks: 1\n100 1\n", R.BAD_CHARGE),
        ("Name: PEPK/-2\nComment: Parent=236.6\nNum peaks: 1\n100 1\n", R.BAD_CHARGE),
        ("Name: PEPK/2\nNum peaks: 1\n100 1\n", R.NO_PRECURSOR),
        ("Name: PEPK/2\nComment: Parent=nan\nNum peaks: 1\n100 1\n", R.NO_PRECURSOR),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 0\n", R.NO_PEAKS),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 1\n100 0\n", R.NO_PEAKS),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 2\n100 1\ninf 1\n", R.BAD_VALUES),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 1\n100 -1e30\n", R.BAD_VALUES),
        ("Name: PEXK/2\nComment: Parent=236.6\nNum peaks: 1\n100 1\n", R.BAD_LABEL),
    ],
)
def test_bad_entries_are_counted_skips(tmp_path, text, reason):
    path = _write(tmp_path, "lib.msp", ENTRY + "\n" + text + "\n" + ENTRY.replace("PEPK", "PEPR"))
    skips = SkipCounter()
    records = list(read_spectra(path, skips=skips))
    assert [r.peptide for r in records] == ["PEPK", "PEPR"]
    assert dict(skips.counts) == {reason: 1}
    assert [r.index for r in records] == [0, 2]


def test_charge_from_charge_line_when_name_has_none(tmp_path):
    path = _write(tmp_path, "lib.msp", "Name: PEPK\nCharge: 2\nPrecursorMZ: 236.6\nNum peaks: 1\n100 1\n")
    (record,) = read_spectra(path, labels={"PEPK": "PEPK"})
    assert record.precursor_charge == 2 and record.peptide == "PEPK"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("Comment: x\n" + ENTRY, 1, "before the first 'Name:'"),
        (ENTRY + "100 1\n", 6, "more than its 2 peaks"),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 3\n100 1\n200 2\n", 1, "ends after 2"),
        ("Name: PEPK/2\nComment: Parent=236.6\nNum peaks: 3\n100 1\n\n200 2\n", 5, "declares 3 peaks but has 1"),
        ("Name: PEPK/2\nComment: Parent=236.6\n", 1, "no 'Num peaks:'"),
        ("Name: PEPK/2\nComment: Parent=236.6\n" + ENTRY, 1, "no 'Num peaks:'"),
        ("Name: PEPK/2\nthis is not a header\nNum peaks: 1\n100 1\n", 2, "Key: value"),
        ("Name: PEPK/2\nNum peaks: two\n", 2, "bad peak count"),
        ("Name: PEPK/2\nNum peaks: -1\n", 2, "negative peak count"),
        ("Name: PEPK/2\nNum peaks: 2\n100 1\n200 abc\n", 4, "not a number"),
        ("Name: PEPK/2\nNum peaks: 1\n100\n", 3, "m/z intensity"),
    ],
)
def test_structural_errors_name_file_and_line(tmp_path, text, line, message):
    path = _write(tmp_path, "bad.sptxt", text)
    with pytest.raises(MalformedFileError) as info:
        list(read_spectra(path))
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_crlf_and_tabs_and_comments(tmp_path):
    text = "### header\r\n\r\n" + ENTRY.replace("\n", "\r\n").replace(" ", "\t", 1)
    path = _write(tmp_path, "lib.sptxt", text)
    (record,) = read_spectra(path)
    assert record.peptide == "PEPK" and record.n_peaks == 2


# ----------------------------------------------------------------------------- round trip (property)

_MODS = {  # residue -> (NIST name, delta, ProForma token)
    "C": ("CAM", 57.021464, "C[Carbamidomethyl]"),
    "M": ("Oxidation", 15.994915, "M[Oxidation]"),
    "N": ("Deamidated", 0.984016, "N[Deamidated]"),
    "Q": ("Deamidated", 0.984016, "Q[Deamidated]"),
}
_N_TERM = {"Acetyl": 42.010565, "Carbamyl": 43.005814}


@st.composite
def modified_peptides(draw):
    residues = draw(st.lists(st.sampled_from("ACDEFGHIKLMNPQRSTVWY"), min_size=1, max_size=20))
    modified = [r == "C" or (r in _MODS and draw(st.booleans())) for r in residues]
    n_term = draw(st.sampled_from([None, "Acetyl", "Carbamyl"]))
    charge = draw(st.integers(1, 4))
    return residues, modified, n_term, charge


@given(modified_peptides())
@settings(max_examples=60, deadline=None)
def test_msp_and_sptxt_round_trip(tmp_path_factory, example):
    residues, modified, n_term, charge = example
    sequence = "".join(residues)
    proforma = (f"[{n_term}]-" if n_term else "") + "".join(_MODS[r][2] if m else r for r, m in zip(residues, modified))
    expected = parse_peptide(proforma).proforma
    mz = precursor_mz(expected, charge)
    mods = ([f"0,{residues[0]},{n_term}"] if n_term else []) + [
        f"{i},{r},{_MODS[r][0]}" for i, (r, m) in enumerate(zip(residues, modified)) if m
    ]
    msp = f"Name: {sequence}/{charge}\nComment: Mods={len(mods)}{''.join('/' + m for m in mods)} Parent={mz!r}\nNum peaks: 1\n100 1\n"
    spectrast = ("n[%d]" % round(1.007825 + _N_TERM[n_term]) if n_term else "") + "".join(
        f"{r}[{round(AMINO_ACID_MASS_DA[r] + _MODS[r][1])}]" if m else r for r, m in zip(residues, modified)
    )
    sptxt = f"Name: {spectrast}/{charge}\nPrecursorMZ: {mz!r}\nNumPeaks: 1\n100 1\n"
    folder = tmp_path_factory.mktemp("roundtrip")
    for name, text in (("a.msp", msp), ("a.sptxt", sptxt)):
        (record,) = read_spectra(_write(folder, name, text))
        assert record.peptide == expected
        assert record.precursor_charge == charge
        assert abs(precursor_mz(record.peptide, charge) - record.precursor_mz) < 1e-6


@pytest.mark.parametrize(
    ("name", "mods", "expected"),
    [
        # NIST's tagged Names: the tag marks the residue, Mods= names the modification
        ("IETM(O)R/2", "1/3,M,Oxidation", "IETM[Oxidation]R"),
        ("AC(Cam)DM(O)K/2", "2/1,C,CAM/3,M,Oxidation", "AC[Carbamidomethyl]DM[Oxidation]K"),
        ("A(ac)PEPK/2", "1/0,A,Acetyl", "[Acetyl]-APEPK"),
        # NIST's BSA library: the Name tags only M(O), Mods= also lists the carbamidomethyl Cs (Mods= wins)
        ("CCTKPESERM(O)PCTEDYLSLILNR/3", "4/0,C,CAM/1,C,CAM/9,M,Oxidation/11,C,CAM",
         "C[Carbamidomethyl]C[Carbamidomethyl]TKPESERM[Oxidation]PC[Carbamidomethyl]TEDYLSLILNR"),
        # no Mods=: short tags are read
        ("IETM(O)R/2", None, "IETM[Oxidation]R"),
        ("AC(Cam)K/2", None, "AC[Carbamidomethyl]K"),
        ("M(Oxidation)PEK/3", None, "M[Oxidation]PEK"),
    ],
)
def test_nist_tagged_names(name, mods, expected):
    assert parse_peptide(library_label(name, mods)[0]).proforma == expected


def test_nist_tags_must_agree_with_mods():
    with pytest.raises(PeptideParseError, match="not among those its Mods= lists"):
        library_label("IETM(O)R/2", "1/2,T,Oxidation")
    with pytest.raises(PeptideParseError, match="not among those its Mods= lists"):  # a tag Mods= does not list
        library_label("C(Cam)IETM(O)R/2", "1/4,M,Oxidation")


def test_msp_file_with_tagged_names_and_plain_cysteine(tmp_path):
    """A NIST library: tagged Names with Mods=, and unalkylated cysteine, read with a plain-C vocabulary."""
    from renovo.chem.vocabulary import vocabulary_from_config
    from renovo.data import SkipCounter, read_spectra

    text = ("Name: IETM(O)R/2\nComment: Mods=1/3,M,Oxidation Parent=332.1623\nNum peaks: 2\n100.1 10\n200.2 20\n\n"
            "Name: LCK/2\nComment: Mods=0 Parent=175.5\nNum peaks: 1\n101.1 5\n")
    path = _write(tmp_path, "lib.msp", text)
    skips = SkipCounter()
    default = list(read_spectra(path, skips=skips))
    assert [r.peptide for r in default] == ["IETM[Oxidation]R"] and skips.total == 1  # plain C refused: C is fixed
    plain_c = vocabulary_from_config({"fixed": [], "variable": ["M[Oxidation]", "C[Carbamidomethyl]"]})
    assert [r.peptide for r in read_spectra(path, vocabulary=plain_c)] == ["IETM[Oxidation]R", "LCK"]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.lists(st.tuples(st.sampled_from("GASPVTLNDKEHFRYWM"), st.booleans()), min_size=1, max_size=20))
def test_nist_tags_and_mods_agree_property(residues):
    """A tagged Name with its Mods= list reads as the same peptide as the plain Name with Mods=."""
    tagged = "".join(r + ("(O)" if t and r == "M" else "") for r, t in residues)
    plain = "".join(r for r, _ in residues)
    mods = [(i, "M", "Oxidation") for i, (r, t) in enumerate(residues) if t and r == "M"]
    comment = f"{len(mods)}" + "".join(f"/{i},M,Oxidation" for i, _, _ in mods)
    expected = "".join(r + ("[Oxidation]" if t and r == "M" else "") for r, t in residues)
    assert library_label(f"{tagged}/2", comment)[0] == expected
    assert library_label(f"{tagged}/2", None)[0] == expected
    assert library_label(f"{plain}/2", comment)[0] == expected
