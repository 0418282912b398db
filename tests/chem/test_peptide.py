"""Parsing the notations found in real files, and the canonical form."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.chem import (
    PeptideParseError,
    UnknownModificationError,
    canonical_proforma,
    default_vocabulary,
    parse_peptide,
    peptide_mass_da,
)


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("PEPTIDE", "PEPTIDE"),
        ("HQGVM[UNIMOD:35]VGM[UNIMOD:35]GQK", "HQGVM[Oxidation]VGM[Oxidation]GQK"),
        ("C[UNIMOD:4]GHK", "C[Carbamidomethyl]GHK"),
        ("M+15.995PEPC+57.021K", "M[Oxidation]PEPC[Carbamidomethyl]K"),
        ("M[+15.9949]K", "M[Oxidation]K"),
        ("+42.011PEPTIDE", "[Acetyl]-PEPTIDE"),
        ("+43.006PEPTIDE", "[Carbamyl]-PEPTIDE"),
        ("[UNIMOD:1]-PEPTIDE", "[Acetyl]-PEPTIDE"),
        ("[Acetyl]-PEPN[Deamidated]K", "[Acetyl]-PEPN[Deamidated]K"),
        ("Q[Gln->pyro-Glu]PEK", "[Gln->pyro-Glu]-QPEK"),
        ("E[Glu->pyro-Glu]PEK", "[Glu->pyro-Glu]-EPEK"),
        ("N[Deamidation]K", "N[Deamidated]K"),
        ("PEPCK", "PEPC[Carbamidomethyl]K"),
        ("  PEPTIDE\n", "PEPTIDE"),
    ],
)
def test_notations_parse_to_canonical_proforma(text, canonical):
    assert canonical_proforma(text) == canonical


def test_unknown_modification_names_it_and_lists_known():
    with pytest.raises(UnknownModificationError) as error:
        parse_peptide("PEPS[Phospho]K")
    assert "Phospho" in str(error.value)
    assert "Oxidation" in str(error.value)
    assert error.value.modification == "Phospho"


@pytest.mark.parametrize("text", ["", "PEPXK", "pep", "PEP[", "[Gln->pyro-Glu]-PEK", "PE[Acetyl]PK", "M+abcK", "[Acetyl]-"])
def test_unreadable_labels_are_parse_errors(text):
    with pytest.raises(PeptideParseError):
        parse_peptide(text)


def test_extra_modification_from_config():
    vocabulary = default_vocabulary(
        variable_mods=("M[Oxidation]", "S[Phospho]"),
        extra_modifications=[{"name": "Phospho", "unimod_id": 21, "delta_da": 79.966331, "targets": ["S", "T", "Y"]}],
    )
    peptide = parse_peptide("PEPS[UNIMOD:21]K", vocabulary)
    assert peptide.proforma == "PEPS[Phospho]K"
    assert peptide_mass_da(peptide, vocabulary) == pytest.approx(peptide_mass_da("PEPSK") + 79.966331, abs=1e-9)


ALPHABET = st.text(alphabet="ACDEFGHIKLMNPQRSTVWY[]+-.0123456789:UNIMODabcx ", max_size=40)


@settings(max_examples=500, deadline=None)
@given(ALPHABET)
def test_parser_raises_only_documented_errors(text):
    try:
        peptide = parse_peptide(text)
    except PeptideParseError:
        return
    # Whatever parses re-parses to itself.
    assert parse_peptide(peptide.proforma) == peptide
