"""Which remaining masses a peptide can still fill: the precursor-mass constraint.

The decoder knows the measured neutral precursor mass and the mass of the
residues it has emitted; a residue is allowed only if the mass left after it
can still be made of residues (within the tolerance), and the stop token only
when nothing is left. "Can be made of residues" is a knapsack question; below
``exact_below_da`` (800 Da) renovo answers it exactly from the sorted set of
every sum of residue masses (plus at most one N-terminal modification), above
it the remaining mass is assumed fillable — achievable sums are dense there
(99% of gaps between them are < 0.011 Da at 700–800 Da with the default
vocabulary, the widest 0.73 Da).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

#: Sums are built on an integer grid of this step (Da); the rounding error per
#: residue is at most half of it, far below any ppm tolerance at these masses.
_GRID_DA = 1e-4


@lru_cache(maxsize=8)
def _achievable_masses(residue_masses_da: tuple[float, ...], n_terminal_da: tuple[float, ...], limit_da: float) -> np.ndarray:
    step = np.round(np.asarray(residue_masses_da) / _GRID_DA).astype(np.int64)
    step = np.unique(step[step > 0])
    limit = int(limit_da / _GRID_DA)
    # Membership in a bitmap over the grid (8 MB at 800 Da): each round is linear in the frontier,
    # where sorting-based set operations made the table cost ~1 s before the first spectrum.
    reached = np.zeros(limit + 1, dtype=bool)  # (grid,)
    reached[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    while len(frontier):  # each round adds one residue to every sum
        candidates = (frontier[:, None] + step[None, :]).ravel()
        candidates = candidates[candidates <= limit]
        candidates = candidates[~reached[candidates]]
        fresh = np.zeros(limit + 1, dtype=bool)  # (grid,)
        fresh[candidates] = True
        frontier = np.flatnonzero(fresh)
        reached |= fresh
    sums = np.flatnonzero(reached) * _GRID_DA
    with_mods = [sums] + [sums + delta for delta in n_terminal_da]
    return np.unique(np.concatenate(with_mods))


class MassFeasibility:
    """Answers "can this remaining mass (Da) still be filled?" for a tokenizer's residues.

    ``feasible(remaining_da, tolerance_da)`` is vectorised over any shape;
    remaining masses above ``exact_below_da`` count as fillable.
    """

    def __init__(self, tokenizer, exact_below_da: float = 800.0):
        masses = tokenizer.residue_masses_da.tolist()
        n_terminal = set(tokenizer.n_terminal_ids)
        residues = tuple(m for i, m in enumerate(masses) if i > tokenizer.EOS and i not in n_terminal)
        n_terminal_da = tuple(sorted({masses[i] for i in n_terminal}))
        self.exact_below_da = exact_below_da
        self.achievable_da = torch.from_numpy(_achievable_masses(residues, n_terminal_da, exact_below_da))  # (sums,) float64

    def feasible(self, remaining_da: torch.Tensor, tolerance_da: torch.Tensor) -> torch.Tensor:
        """True where some achievable sum lies within ``tolerance_da`` of ``remaining_da`` (broadcast, float64)."""
        achievable = self.achievable_da.to(remaining_da.device)
        remaining_da, tolerance_da = torch.broadcast_tensors(remaining_da, tolerance_da)
        low = (remaining_da - tolerance_da).contiguous()
        index = torch.searchsorted(achievable, low.reshape(-1)).reshape(low.shape)
        found = achievable[index.clamp(max=len(achievable) - 1)]
        hit = (index < len(achievable)) & (found <= remaining_da + tolerance_da)
        return hit | (remaining_da - tolerance_da > self.exact_below_da)
