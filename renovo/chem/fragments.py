"""Peptide and fragment masses, float64, Da and m/z."""
from __future__ import annotations

import numpy as np

from renovo.chem.constants import CO_MASS_DA, H2O_MASS_DA, NH3_MASS_DA
from renovo.chem.mass import mass_from_mz, mz_from_mass
from renovo.chem.peptide import Peptide, parse_peptide
from renovo.chem.vocabulary import Vocabulary, shared_default_vocabulary

_NEUTRAL_LOSS_DA = {"": 0.0, "H2O": H2O_MASS_DA, "NH3": NH3_MASS_DA}


def _peptide(peptide: Peptide | str, vocabulary: Vocabulary | None) -> tuple[Peptide, Vocabulary]:
    default = shared_default_vocabulary()
    vocabulary = vocabulary or default
    # The default vocabulary goes through parse_peptide's cache of parsed labels (vocabulary=None).
    return parse_peptide(peptide, vocabulary if vocabulary is not default else None), vocabulary


def residue_masses_da(peptide: Peptide | str, vocabulary: Vocabulary | None = None) -> np.ndarray:
    """Mass of each residue N→C (Da), an N-terminal modification folded into the first. # (residues,)"""
    peptide, vocabulary = _peptide(peptide, vocabulary)
    masses = [vocabulary.mass_da(t) for t in peptide.tokens]
    if peptide.tokens and Vocabulary.is_n_terminal(peptide.tokens[0]):
        masses = [masses[0] + masses[1]] + masses[2:]
    return np.asarray(masses, dtype=np.float64)


def peptide_mass_da(peptide: Peptide | str, vocabulary: Vocabulary | None = None) -> float:
    """Neutral monoisotopic mass of the peptide, Da."""
    return float(residue_masses_da(peptide, vocabulary).sum() + H2O_MASS_DA)


def precursor_mz(peptide_or_mass_da: Peptide | str | float, charge: int, vocabulary: Vocabulary | None = None) -> float:
    """m/z of the [M + zH]^z+ precursor, from a peptide or a neutral mass in Da."""
    if charge < 1:
        raise ValueError(f"charge must be ≥ 1, not {charge}")
    mass_da = (
        float(peptide_or_mass_da)
        if isinstance(peptide_or_mass_da, (int, float, np.floating))
        else peptide_mass_da(peptide_or_mass_da, vocabulary)
    )
    return mz_from_mass(mass_da, charge)


def neutral_mass_da(precursor_mz_value: float, charge: int) -> float:
    """Neutral mass (Da) of a precursor measured at ``precursor_mz_value`` with ``charge`` (`mass_from_mz`)."""
    return mass_from_mz(precursor_mz_value, charge)


# The ion types' neutral masses from the summed mass of the residues they hold (Da): the one definition
# of the ladders. Charge carriers are added by `mz_from_mass`. Plain expressions: floats, arrays, tensors.
def b_ion_mass_da(residues_da):
    """b ion: the residues alone (an acylium ion; its charge is the added proton). # like residues_da"""
    return residues_da


def y_ion_mass_da(residues_da):
    """y ion: the residues + H2O (the C-terminal OH and the amine's H). # like residues_da"""
    return residues_da + H2O_MASS_DA


def a_ion_mass_da(residues_da):
    """a ion: the b ion − CO. # like residues_da"""
    return residues_da - CO_MASS_DA


def cleavage_ions_mz(residue_masses_da: np.ndarray, charges) -> np.ndarray:
    """b and y ion m/z per cleavage: (ion type b/y, charge, cleavage i = after residue i + 1). # (2, Z, L-1)

    ``residue_masses_da`` (L,) N→C. The y ion of cleavage i holds the residues after it, taken as the
    complement (all residues − the b side), so b and y of one cleavage are complementary; the reranker
    features were fitted on these values. `fragment_ladder` sums the y side directly instead.
    """
    prefix = np.cumsum(residue_masses_da)[:-1]  # (L-1,) neutral residue sums
    total = float(residue_masses_da.sum())
    neutral = np.stack([b_ion_mass_da(prefix), y_ion_mass_da(total - prefix)])  # (2, L-1)
    z = np.asarray(charges, dtype=np.float64)[None, :, None]  # (1, Z, 1)
    return mz_from_mass(neutral[:, None, :], z)


def fragment_ladder(
    peptide: Peptide | str,
    ion_types: tuple[str, ...] = ("b", "y"),
    charges: tuple[int, ...] = (1,),
    neutral_losses: tuple[str, ...] = (),
    vocabulary: Vocabulary | None = None,
) -> dict[tuple[str, int, str], np.ndarray]:
    """Fragment m/z ladders.

    Keys are ``(ion_type, charge, loss)`` with ``loss`` "" (none), "H2O" or
    "NH3"; values are m/z arrays ordered by ion number 1..L−1 (``b1``, ``b2``…;
    ``y1``, ``y2``…). Ion types: a, b, y.
    """
    masses = residue_masses_da(peptide, vocabulary)
    prefix = np.cumsum(masses)[:-1]  # (L-1,) b-ion neutral residue sums
    suffix = np.cumsum(masses[::-1])[:-1]  # (L-1,) y-ion neutral residue sums
    neutral = {
        "a": a_ion_mass_da(prefix),
        "b": b_ion_mass_da(prefix),
        "y": y_ion_mass_da(suffix),
    }
    ladders: dict[tuple[str, int, str], np.ndarray] = {}
    for ion in ion_types:
        if ion not in neutral:
            raise ValueError(f"unknown ion type {ion!r}; known: a, b, y")
        for loss in ("",) + tuple(neutral_losses):
            if loss not in _NEUTRAL_LOSS_DA:
                raise ValueError(f"unknown neutral loss {loss!r}; known: H2O, NH3")
            for charge in charges:
                ladders[(ion, charge, loss)] = mz_from_mass(neutral[ion] - _NEUTRAL_LOSS_DA[loss], charge)
    return ladders
