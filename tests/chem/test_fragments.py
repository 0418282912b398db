"""Masses and fragment ladders agree with pyteomics to ≤ 1e-6 Da."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyteomics import mass as pyteomics_mass

from renovo.chem import (
    PROTON_MASS_DA,
    default_vocabulary,
    fragment_ladder,
    neutral_mass_da,
    parse_peptide,
    peptide_mass_da,
    precursor_mz,
    UnknownModificationError,
)

VOCABULARY = default_vocabulary()
RESIDUE_TOKENS = [t for t in VOCABULARY.tokens if not t.endswith("-")]
N_TERM_TOKENS = [t for t in VOCABULARY.tokens if t.endswith("-")]

# pyteomics labels for renovo tokens: a lowercase-prefixed label per modified residue.
PYTEOMICS_LABEL = {}
PYTEOMICS_AA_MASS = dict(pyteomics_mass.std_aa_mass)
for index, token in enumerate(VOCABULARY.tokens):
    if "[" in token and not token.endswith("-"):
        label = "mod" + "abcdefghijklmnopqrstuvwxyz"[index % 26] + "x" * (index // 26) + token[0]
        PYTEOMICS_LABEL[token] = label
        PYTEOMICS_AA_MASS[label] = VOCABULARY.mass_da(token)
    else:
        PYTEOMICS_LABEL[token] = token


@st.composite
def peptides(draw):
    residues = draw(st.lists(st.sampled_from(RESIDUE_TOKENS), min_size=2, max_size=30))
    n_term = draw(st.sampled_from([None] + [t for t in N_TERM_TOKENS if "pyro" not in t]))
    return ([n_term] if n_term else []) + residues


def _pyteomics_sequence(tokens):
    """pyteomics modX: an N-terminal group as 'label-' and modified residues as labels."""
    residues = [t for t in tokens if not t.endswith("-")]
    sequence = "".join(PYTEOMICS_LABEL[t] for t in residues)
    return sequence


def _n_term_delta(tokens):
    return VOCABULARY.mass_da(tokens[0]) if tokens[0].endswith("-") else 0.0


@settings(max_examples=200, deadline=None)
@given(peptides(), st.integers(min_value=1, max_value=6))
def test_peptide_and_precursor_mass_match_pyteomics(tokens, charge):
    proforma = "".join(tokens)
    sequence = _pyteomics_sequence(tokens)
    expected = pyteomics_mass.fast_mass2(sequence, aa_mass=PYTEOMICS_AA_MASS) + _n_term_delta(tokens)
    assert abs(peptide_mass_da(proforma) - expected) <= 1e-6
    expected_mz = pyteomics_mass.fast_mass2(sequence, charge=charge, aa_mass=PYTEOMICS_AA_MASS) + _n_term_delta(tokens) / charge
    assert abs(precursor_mz(proforma, charge) - expected_mz) <= 1e-6
    assert abs(neutral_mass_da(precursor_mz(proforma, charge), charge) - expected) <= 1e-6


@settings(max_examples=100, deadline=None)
@given(peptides(), st.sampled_from([1, 2, 3]))
def test_fragment_ladders_match_pyteomics(tokens, charge):
    proforma = "".join(tokens)
    residues = [t for t in tokens if not t.endswith("-")]
    delta = _n_term_delta(tokens)
    ladders = fragment_ladder(proforma, ion_types=("a", "b", "y"), charges=(charge,), neutral_losses=("H2O", "NH3"))
    for i in range(1, len(residues)):
        prefix = _pyteomics_sequence(residues[:i])
        suffix = _pyteomics_sequence(residues[i:])
        for ion in ("a", "b"):
            expected = pyteomics_mass.fast_mass2(prefix, ion_type=ion, charge=charge, aa_mass=PYTEOMICS_AA_MASS) + delta / charge
            assert abs(ladders[(ion, charge, "")][i - 1] - expected) <= 1e-6
        for loss in ("H2O", "NH3"):
            expected = pyteomics_mass.fast_mass2(prefix, ion_type=f"b-{loss}", charge=charge, aa_mass=PYTEOMICS_AA_MASS) + delta / charge
            assert abs(ladders[("b", charge, loss)][i - 1] - expected) <= 1e-6
        # y_i covers the last i residues: y ion number len-i for the suffix starting at i.
        expected_y = pyteomics_mass.fast_mass2(suffix, ion_type="y", charge=charge, aa_mass=PYTEOMICS_AA_MASS)
        assert abs(ladders[("y", charge, "")][len(residues) - i - 1] - expected_y) <= 1e-6


def test_fragment_ladder_known_values():
    ladders = fragment_ladder("PEPTIDE")
    # b2 of PEPTIDE = P + E + proton; y1 = E + H2O + proton.
    assert ladders[("b", 1, "")][1] == pytest.approx(97.05276384885 + 129.04259308797 + PROTON_MASS_DA, abs=1e-9)
    assert ladders[("y", 1, "")][0] == pytest.approx(148.06043424, abs=1e-6)
    assert len(ladders[("b", 1, "")]) == 6


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="ion type"):
        fragment_ladder("PEPTIDE", ion_types=("q",))
    with pytest.raises(ValueError, match="charge"):
        precursor_mz("PEPTIDE", 0)


def test_fixed_carbamidomethyl_applies_to_bare_cysteine():
    assert parse_peptide("PEPCK").proforma == "PEPC[Carbamidomethyl]K"
    assert peptide_mass_da("PEPCK") == pytest.approx(peptide_mass_da("PEPC[Carbamidomethyl]K"), abs=1e-12)
    without_fixed = default_vocabulary(fixed_mods=())
    assert peptide_mass_da("PEPCK", without_fixed) == pytest.approx(peptide_mass_da("PEPC[Carbamidomethyl]K") - 57.021464, abs=1e-5)
    with pytest.raises(UnknownModificationError, match="Carbamidomethyl"):
        parse_peptide("C[Carbamidomethyl]K", without_fixed)
