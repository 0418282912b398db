"""Peptide and fragment masses, float64, Da and m/z."""
from __future__ import annotations

import numpy as np

from renovo.chem.constants import CO_MASS_DA, H2O_MASS_DA, NH3_MASS_DA, PROTON_MASS_DA
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
    return (mass_da + charge * PROTON_MASS_DA) / charge


def neutral_mass_da(precursor_mz_value: float, charge: int) -> float:
    """Neutral mass (Da) of a precursor measured at ``precursor_mz_value`` with ``charge``."""
    return (precursor_mz_value - PROTON_MASS_DA) * charge


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
        "a": prefix - CO_MASS_DA,
        "b": prefix,
        "y": suffix + H2O_MASS_DA,
    }
    ladders: dict[tuple[str, int, str], np.ndarray] = {}
    for ion in ion_types:
        if ion not in neutral:
            raise ValueError(f"unknown ion type {ion!r}; known: a, b, y")
        for loss in ("",) + tuple(neutral_losses):
            if loss not in _NEUTRAL_LOSS_DA:
                raise ValueError(f"unknown neutral loss {loss!r}; known: H2O, NH3")
            for charge in charges:
                ladders[(ion, charge, loss)] = (
                    neutral[ion] - _NEUTRAL_LOSS_DA[loss] + charge * PROTON_MASS_DA
                ) / charge
    return ladders
