"""Physical constants for the losses, taken from `renovo.chem.constants`.

`renovo.chem` is the single home of constants; until it is importable (it is
built in parallel) the same values are derived from pyteomics' NIST table,
which is where `renovo.chem.constants` takes them from too.
"""
from __future__ import annotations

try:  # pragma: no cover - depends on which packages have landed
    from renovo.chem.constants import H2O_MASS_DA, ISOTOPE_SPACING_DA, PROTON_MASS_DA
except ImportError:  # pragma: no cover
    from pyteomics.mass import nist_mass

    PROTON_MASS_DA = float(nist_mass["H+"][0][0])
    H2O_MASS_DA = float(2 * nist_mass["H"][0][0] + nist_mass["O"][0][0])
    # 13C - 12C: spacing of a peptide's isotope envelope
    ISOTOPE_SPACING_DA = float(nist_mass["C"][13][0] - nist_mass["C"][12][0])

__all__ = ["PROTON_MASS_DA", "H2O_MASS_DA", "ISOTOPE_SPACING_DA"]
