"""The mass kernel: round trips, the ppm convention, the fragment-charge rule, isotope offsets, and the ion
ladder against pyteomics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyteomics import mass as pyteomics_mass

from renovo.chem import (
    ISOTOPE_SPACING_DA,
    PROTON_MASS_DA,
    a_ion_mass_da,
    b_ion_mass_da,
    cleavage_ions_mz,
    fragment_charge_allowed,
    fragment_charges,
    fragment_ladder,
    isotope_offsets,
    isotope_shift_da,
    mass_from_mz,
    mz_from_mass,
    ppm_error,
    precursor_mz,
    residue_masses_da,
    y_ion_mass_da,
)

masses = st.floats(min_value=50.0, max_value=10_000.0, allow_nan=False)
charges = st.integers(min_value=1, max_value=8)
sequences = st.text(alphabet="ACDEFGHIKLMNPQRSTVWY", min_size=2, max_size=30)
# renovo's default vocabulary carbamidomethylates C (a fixed modification, + C2H3NO).
AA_COMP = dict(pyteomics_mass.std_aa_comp, C=pyteomics_mass.std_aa_comp["C"] + pyteomics_mass.Composition("C2H3NO"))


def _pyteomics(sequence: str, ion_type: str, charge: int) -> float:
    return pyteomics_mass.calculate_mass(sequence=sequence, ion_type=ion_type, charge=charge, aa_comp=AA_COMP)


def _proforma(sequence: str) -> str:
    return sequence.replace("C", "C[Carbamidomethyl]")


@given(masses, charges)
def test_mz_and_mass_round_trip(mass_da, charge):
    mz = mz_from_mass(mass_da, charge)
    assert mass_from_mz(mz, charge) == pytest.approx(mass_da, rel=1e-13, abs=1e-9)
    assert mz_from_mass(mass_from_mz(mz, charge), charge) == pytest.approx(mz, rel=1e-13)
    # The reranker's order: equal in exact arithmetic, to the last bit for charges 1, 2 and 4.
    divided = mz_from_mass(mass_da, charge, divide_first=True)
    assert divided == pytest.approx(mz, rel=1e-14)
    if charge in (1, 2, 4):
        assert divided == mz


@given(st.lists(masses, min_size=1, max_size=20), charges)
def test_floats_arrays_and_tensors_agree_bit_for_bit(values, charge):
    array = np.asarray(values, dtype=np.float64)  # (n,)
    tensor = torch.tensor(values, dtype=torch.float64)
    scalar = [mz_from_mass(v, charge) for v in values]
    assert mz_from_mass(array, charge).tolist() == scalar
    assert mz_from_mass(tensor, charge).tolist() == scalar
    assert mass_from_mz(tensor, charge).tolist() == [mass_from_mz(v, charge) for v in values]
    assert ppm_error(tensor, tensor[0]).tolist() == [ppm_error(v, values[0]) for v in values]


def test_tensor_functions_keep_dtype_and_device_and_differentiate():
    mass_da = torch.tensor([1000.0, 2000.0], dtype=torch.float32, requires_grad=True)
    charge = torch.tensor([2.0, 3.0], dtype=torch.float32)
    mz = mz_from_mass(mass_da, charge)
    assert mz.dtype == torch.float32 and mz.device == mass_da.device
    mz.sum().backward()
    assert torch.allclose(mass_da.grad, 1 / charge)
    assert mass_from_mz(torch.zeros(3, 4, dtype=torch.float64), 2).shape == (3, 4)


@given(masses, st.floats(min_value=-500.0, max_value=500.0))
def test_ppm_sign_and_scale(reference, ppm):
    value = reference * (1 + ppm * 1e-6)
    error = ppm_error(value, reference)
    assert error == pytest.approx(ppm, abs=1e-6)
    assert math.copysign(1, error) == math.copysign(1, value - reference) or error == 0
    assert ppm_error(reference + reference * 1e-6, reference) == pytest.approx(1.0)  # 1 ppm above: +1
    assert ppm_error(reference, reference) == 0.0


def test_fragment_charge_rule():
    assert fragment_charges(1) == (1,) and fragment_charges(2) == (1,)
    assert fragment_charges(3) == (1, 2) and fragment_charges(5) == (1, 2)
    assert fragment_charges(4, (1, 2, 3, 4)) == (1, 2, 3)
    assert fragment_charges(0) == (1,)  # unknown charge: singly charged fragments only
    precursor = torch.tensor([1, 2, 3, 4])[:, None]
    fragment = torch.tensor([1, 2, 3])[None, :]
    allowed = fragment_charge_allowed(precursor, fragment)  # (4, 3)
    assert allowed.tolist() == [[z in fragment_charges(int(p), (1, 2, 3)) for z in (1, 2, 3)] for p in (1, 2, 3, 4)]


@given(st.integers(min_value=0, max_value=5))
def test_isotope_offsets_one_type(k):
    assert isotope_offsets(k) == tuple(range(k + 1))
    assert isotope_offsets(range(k + 1)) == isotope_offsets(k)
    assert isotope_offsets([k, 0]) == (k, 0)  # an explicit set keeps its order
    assert isotope_offsets(np.int64(k)) == isotope_offsets(k)
    assert isotope_shift_da(k) == k * ISOTOPE_SPACING_DA


@pytest.mark.parametrize("bad", [-1, [], [0.5], [True], "01"])
def test_isotope_offsets_reject(bad):
    with pytest.raises(ValueError):
        isotope_offsets(bad)


@settings(max_examples=40, deadline=None)
@given(sequences, charges)
def test_precursor_mz_against_pyteomics(sequence, charge):
    expected = _pyteomics(sequence, "M", charge)
    assert precursor_mz(_proforma(sequence), charge) == pytest.approx(expected, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(sequences, st.integers(min_value=1, max_value=3))
def test_ion_ladders_against_pyteomics(sequence, charge):
    proforma = _proforma(sequence)
    ladders = fragment_ladder(proforma, ("a", "b", "y"), (charge,))
    cleavages = cleavage_ions_mz(residue_masses_da(proforma), (charge,))  # (2, 1, L-1)
    n = len(sequence)
    for i in range(1, n):
        a, b, y = _pyteomics(sequence[:i], "a", charge), _pyteomics(sequence[:i], "b", charge), \
            _pyteomics(sequence[n - i:], "y", charge)
        assert ladders[("a", charge, "")][i - 1] == pytest.approx(a, abs=1e-6)
        assert ladders[("b", charge, "")][i - 1] == pytest.approx(b, abs=1e-6)
        assert ladders[("y", charge, "")][i - 1] == pytest.approx(y, abs=1e-6)
        # Per cleavage: b_i and its complement y_{n-i}.
        complement = _pyteomics(sequence[i:], "y", charge)
        assert cleavages[0, 0, i - 1] == pytest.approx(b, abs=1e-6)
        assert cleavages[1, 0, i - 1] == pytest.approx(complement, abs=1e-6)


def _formula(formula: str) -> float:
    return pyteomics_mass.calculate_mass(formula=formula)


@given(masses)
def test_ion_types(residues_da):
    assert b_ion_mass_da(residues_da) == residues_da
    assert y_ion_mass_da(residues_da) - residues_da == pytest.approx(_formula("H2O"), abs=1e-9)
    assert residues_da - a_ion_mass_da(residues_da) == pytest.approx(_formula("CO"), abs=1e-9)
    assert mz_from_mass(b_ion_mass_da(residues_da), 1) - residues_da == pytest.approx(PROTON_MASS_DA, abs=1e-9)
