"""Chemistry: masses and the mass kernel (m/z ⇄ mass, ppm, fragment charges, isotope offsets),
modifications, vocabulary, peptide parsing, fragments, tokens."""
from renovo.chem.constants import (
    AMINO_ACID_MASS_DA,
    CO_MASS_DA,
    H2O_MASS_DA,
    ISOTOPE_SPACING_DA,
    NH3_MASS_DA,
    PROTON_MASS_DA,
)
from renovo.chem.fragments import (
    a_ion_mass_da,
    b_ion_mass_da,
    cleavage_ions_mz,
    fragment_ladder,
    neutral_mass_da,
    peptide_mass_da,
    precursor_mz,
    residue_masses_da,
    y_ion_mass_da,
)
from renovo.chem.mass import (
    FRAGMENT_CHARGES,
    fragment_charge_allowed,
    fragment_charges,
    isotope_offsets,
    isotope_shift_da,
    mass_from_mz,
    mz_from_mass,
    ppm_error,
)
from renovo.chem.modifications import KNOWN_MODIFICATIONS, Modification
from renovo.chem.errors import PeptideParseError, UnknownModificationError
from renovo.chem.peptide import Peptide, canonical_proforma, parse_peptide
from renovo.chem.tokenizer import Tokenizer
from renovo.chem.vocabulary import Vocabulary, default_vocabulary

__all__ = [
    "AMINO_ACID_MASS_DA", "CO_MASS_DA", "H2O_MASS_DA", "ISOTOPE_SPACING_DA", "NH3_MASS_DA", "PROTON_MASS_DA",
    "KNOWN_MODIFICATIONS", "Modification", "Peptide", "PeptideParseError", "Tokenizer",
    "UnknownModificationError", "Vocabulary", "canonical_proforma", "default_vocabulary",
    "fragment_ladder", "neutral_mass_da", "parse_peptide", "peptide_mass_da", "precursor_mz",
    "residue_masses_da", "y_ion_mass_da",
    # the mass kernel (renovo.chem.mass)
    "FRAGMENT_CHARGES", "a_ion_mass_da", "b_ion_mass_da", "cleavage_ions_mz", "fragment_charge_allowed",
    "fragment_charges", "isotope_offsets", "isotope_shift_da", "mass_from_mz", "mz_from_mass", "ppm_error",
]
