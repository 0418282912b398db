"""Isotope-corrected precursor mass error of a PSM."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renovo.chem import ISOTOPE_SPACING_DA, peptide_mass_da, precursor_mz
from renovo.decode import isotope_corrected_error_ppm


def test_error_at_the_isotope_the_precursor_was_picked_at():
    mass = peptide_mass_da("PEPTIDEK")
    picked = precursor_mz(mass + ISOTOPE_SPACING_DA, 2)  # the second isotope peak was picked
    uncorrected, offset0 = isotope_corrected_error_ppm(mass, picked, 2, (0,))
    corrected, offset = isotope_corrected_error_ppm(mass, picked, 2, (0, 1))
    assert abs(uncorrected) > 1000 and offset0 == 0
    assert abs(corrected) < 1e-6 and offset == 1


@given(mass=st.floats(300, 6000), charge=st.integers(1, 6), ppm=st.floats(-40, 40), offset=st.integers(0, 2))
def test_recovers_the_error_it_was_given(mass, charge, ppm, offset):
    measured_monoisotopic = mass / (1 + ppm * 1e-6)
    mz = precursor_mz(measured_monoisotopic + offset * ISOTOPE_SPACING_DA, charge)
    error, found = isotope_corrected_error_ppm(mass, mz, charge, (0, 1, 2))
    assert found == offset
    assert error == pytest.approx(ppm, abs=1e-6)


@pytest.mark.parametrize("mz, charge", [(math.nan, 2), (500.0, 0), (math.inf, 2)])
def test_unusable_precursor_is_nan(mz, charge):
    error, offset = isotope_corrected_error_ppm(1000.0, mz, charge, (0, 1))
    assert math.isnan(error) and offset == 0
