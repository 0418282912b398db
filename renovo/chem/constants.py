"""Physical constants in Da (monoisotopic), taken from pyteomics so renovo and
pyteomics agree to the micro-dalton."""
from pyteomics import mass as _mass

#: Mass of a proton, Da.
PROTON_MASS_DA: float = _mass.nist_mass["H+"][0][0]
#: Monoisotopic masses of small neutral molecules, Da.
H2O_MASS_DA: float = _mass.calculate_mass(formula="H2O")
NH3_MASS_DA: float = _mass.calculate_mass(formula="NH3")
CO_MASS_DA: float = _mass.calculate_mass(formula="CO")
#: Spacing between isotope peaks of a peptide (13C - 12C), Da.
ISOTOPE_SPACING_DA: float = _mass.nist_mass["C"][13][0] - _mass.nist_mass["C"][12][0]
#: Monoisotopic residue masses of the 20 standard amino acids, Da.
AMINO_ACID_MASS_DA: dict[str, float] = {
    aa: _mass.std_aa_mass[aa] for aa in "GASPVTCLINDQKEMHFRYW"
}
