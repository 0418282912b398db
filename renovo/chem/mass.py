"""The mass kernel: m/z ⇄ neutral mass, ppm errors, the fragment charges a precursor allows, isotope offsets.

Every package converts between m/z and neutral mass, measures precursor errors in ppm, picks fragment
charges and reads isotope offsets through these functions, so each convention is written once
(``tests/test_architecture.py`` checks that no module outside ``renovo.chem`` adds or removes
``PROTON_MASS_DA`` itself).

The functions are plain operator expressions: they work on Python floats, numpy arrays and torch
tensors alike, broadcast like the operators do, keep a tensor's dtype and device and let autograd
through (the losses differentiate m/z). Give masses in float64; a float32 tensor stays float32 (the
losses' float32 mode). The operation order inside each function is part of its contract: another
order, equal in exact arithmetic, can change the last bit, and results written before (predictions,
a reranker fitted on features) would no longer be reproduced exactly.
"""
from __future__ import annotations

import numbers
from typing import Iterable

from renovo.chem.constants import ISOTOPE_SPACING_DA, PROTON_MASS_DA

#: Fragment charges looked at when nothing else is asked: 1, and 2 where the precursor allows it.
FRAGMENT_CHARGES: tuple[int, ...] = (1, 2)


def mz_from_mass(mass_da, charge, *, divide_first: bool = False):
    """m/z of the ion [M + zH]^z+ of neutral mass M (Da): (M + z·proton) / z. # broadcast(mass_da, charge)

    ``divide_first`` computes M / z + proton instead: equal in exact arithmetic and bit for bit for
    z = 1, 2, 4, but not always for z = 3. The reranker features were fitted on the precursor m/z of
    that order (renovo.decode.features), so they keep it.
    """
    if divide_first:
        return mass_da / charge + PROTON_MASS_DA
    return (mass_da + charge * PROTON_MASS_DA) / charge


def mass_from_mz(mz, charge):
    """Neutral mass (Da) of an ion seen at ``mz`` with ``charge``: (m/z − proton) · z. # broadcast(mz, charge)"""
    return (mz - PROTON_MASS_DA) * charge


def ppm_error(value, reference):
    """How far ``value`` lies from ``reference``, in ppm of ``reference``: (value − reference) / reference · 10⁶.

    Positive when ``value`` is above ``reference``. renovo's precursor errors pass the candidate
    peptide's mass as ``value`` and the measured precursor mass as ``reference`` (positive: the peptide
    is heavier than what was measured). # broadcast(value, reference)
    """
    return (value - reference) / reference * 1e6


def fragment_charge_allowed(precursor_charge, fragment_charge):
    """Whether a fragment of ``fragment_charge`` is looked for in a spectrum of ``precursor_charge``:
    charge 1 always, a higher charge z only when the precursor carries more than z charges (a fragment
    holds fewer protons than the whole peptide). Ints give a bool; arrays / tensors broadcast to a bool
    array. # broadcast(precursor_charge, fragment_charge)"""
    return (precursor_charge > fragment_charge) | (fragment_charge == 1)


def fragment_charges(precursor_charge: int, charges: Iterable[int] = FRAGMENT_CHARGES) -> tuple[int, ...]:
    """The ``charges`` (in their order) `fragment_charge_allowed` keeps for one precursor charge; with the
    default (1, 2): (1,) below precursor charge 3, (1, 2) from 3 up."""
    return tuple(z for z in charges if fragment_charge_allowed(precursor_charge, z))


def isotope_offsets(value: int | range | Iterable[int]) -> tuple[int, ...]:
    """Isotope offsets as one type: the isotope peaks (k · ISOTOPE_SPACING_DA above the monoisotopic
    mass) a measured precursor may have been picked at, as a tuple of ints.

    ``value``: a count k ≥ 0 (offsets 0..k), a ``range`` (its members), or the offsets themselves
    (kept in the order given: where two offsets fit equally well, the first wins). Raises ValueError
    for an empty set, a negative count or a non-integer offset.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"an isotope offset count must be ≥ 0, not {value!r}")
        return tuple(range(int(value) + 1))
    offsets = []
    for k in value:
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or int(k) != k:
            raise ValueError(f"isotope offsets must be integers, not {k!r}")
        offsets.append(int(k))
    if not offsets:
        raise ValueError("isotope offsets need at least one value")
    return tuple(offsets)


def isotope_shift_da(offset):
    """Mass (Da) an isotope pick at ``offset`` adds: offset · ISOTOPE_SPACING_DA. # like offset"""
    return offset * ISOTOPE_SPACING_DA


__all__ = ["FRAGMENT_CHARGES", "fragment_charge_allowed", "fragment_charges", "isotope_offsets", "isotope_shift_da",
           "mass_from_mz", "mz_from_mass", "ppm_error"]
