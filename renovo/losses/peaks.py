"""Theoretical b/y fragment m/z from the decoder's token probabilities.

Each position's residue mass is the expectation of the residue masses under
that position's probabilities (``probs @ residue_masses_da``); prefix and suffix
sums over the positions inside each peptide's length give the b and y ladders.
All mass arithmetic runs in float64 when the probabilities are float64 and in
float32 otherwise, always with autocast disabled (bf16 spacing at m/z 1000 is
4 Da).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from renovo.chem.constants import H2O_MASS_DA
from renovo.chem.fragments import b_ion_mass_da, y_ion_mass_da
from renovo.chem.mass import mz_from_mass
from renovo.numerics import no_autocast

MASS_MODES = ("expected", "straight_through")


class TheoreticalFragments(NamedTuple):
    """b and y fragments of a batch of (soft) peptides.

    Peak layout along the last axis: for each charge in ``charges`` (in the
    order given), first the b ions b_1..b_{T-1}, then the y ions y_1..y_{T-1}
    (T = number of positions), so ``peaks = len(charges) * 2 * (T - 1)``. Ions
    with index ≥ the peptide's length are padding (``mask`` False).
    """

    mz: torch.Tensor  # (batch, peaks) fragment m/z
    mask: torch.Tensor  # (batch, peaks) bool, True = real fragment
    variance_mz2: torch.Tensor  # (batch, peaks) variance of each fragment's m/z, (m/z)^2
    peptide_mass_da: torch.Tensor  # (batch,) expected neutral mass: residues + H2O
    peptide_mass_var_da2: torch.Tensor  # (batch,) its variance, Da^2
    token_probs: torch.Tensor | None = None  # (batch, positions, vocab) the probabilities they came from


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


# long function: half of it is the docstring (shapes, mass modes, masking); the body is one vectorised pass.
def theoretical_fragments(
    token_probs: torch.Tensor,
    residue_masses_da: torch.Tensor,
    lengths: torch.Tensor,
    charges: Sequence[int] = (1,),
    mass_mode: str = "expected",
    *,
    reverse: bool = False,
    nterm_token_mask: torch.Tensor | None = None,
) -> TheoreticalFragments:
    """b/y fragment m/z, their mass variances and the peptide's neutral mass.

    Args:
        token_probs: (batch, positions, vocab) probabilities (rows sum to 1;
            one-hot for a hard sequence).
        residue_masses_da: (vocab,) monoisotopic residue mass of each token id
            in Da; special tokens (PAD/BOS/EOS) have mass 0.
        lengths: (batch,) number of residue positions of each peptide; the
            positions from ``lengths`` on contribute nothing.
        charges: fragment charges; m/z = (M + z * proton) / z.
        mass_mode: ``"expected"`` uses the expected residue mass;
            ``"straight_through"`` uses the argmax token's mass forward and the
            expected mass's gradient backward.
        reverse: True when positions run C→N (the tokenizer's default decoding
            order): the prefix sums over positions are then y-ion residues.
            Pass ``reverse=tokenizer.reverse``.
        nterm_token_mask: (vocab,) bool, True for tokens that are N-terminal
            modifications (``"[Acetyl]-"``): such a token is its own position
            but no bond separates it from the first residue, so when the
            N-terminal position's argmax token is one, b_1 (the modification
            alone) and y_{L-1} are masked; the other b ions carry its mass.

    Fragment i (i = 1..L-1): b_i = sum of the first i residues (N→C) + proton,
    y_i = sum of the last i residues + H2O + proton, both at charge 1. The
    variance of a fragment's mass is the sum over its residues of the variance
    of each position's residue mass under the probabilities (positions are
    independent), divided by z² for m/z.
    """
    if mass_mode not in MASS_MODES:
        raise ValueError(f"mass_mode must be one of {MASS_MODES}, got {mass_mode!r}")
    if token_probs.dim() != 3:
        raise ValueError(f"token_probs must be (batch, positions, vocab), got shape {tuple(token_probs.shape)}")
    charges = tuple(int(z) for z in charges)
    if not charges or min(charges) < 1:
        raise ValueError(f"charges must be positive integers, got {charges}")
    batch, positions, vocab = token_probs.shape
    if residue_masses_da.shape != (vocab,):
        raise ValueError(f"residue_masses_da must have shape ({vocab},), got {tuple(residue_masses_da.shape)}")

    dtype = _compute_dtype(token_probs.dtype)
    device = token_probs.device
    with no_autocast(device):
        probs = token_probs.to(dtype)  # (batch, positions, vocab)
        masses = residue_masses_da.to(device=device, dtype=dtype)  # (vocab,)
        lengths = lengths.to(device=device, dtype=torch.long).clamp(0, positions)  # (batch,)

        expected = probs @ masses  # (batch, positions)
        # Var = E[m^2] - E[m]^2, written as E[(m - E m)^2] to avoid cancellation at ~1e4 Da^2.
        centred = masses - expected.detach().unsqueeze(-1)  # (batch, positions, vocab)
        variance = (probs * centred.square()).sum(-1).clamp_min(0.0)  # (batch, positions)
        if mass_mode == "straight_through":
            hard = masses[probs.argmax(dim=-1)]  # (batch, positions)
            residue = hard + (expected - expected.detach())
        else:
            residue = expected

        pos = torch.arange(positions, device=device)
        inside = pos.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, positions)
        zero = torch.zeros((), dtype=dtype, device=device)
        residue = torch.where(inside, residue, zero)
        variance = torch.where(inside, variance, zero)

        peptide_mass_da = residue.sum(-1) + H2O_MASS_DA  # (batch,)
        peptide_mass_var_da2 = variance.sum(-1)  # (batch,)

        n_cuts = max(positions - 1, 0)
        k = torch.arange(1, n_cuts + 1, device=device)  # fragment index 1..T-1
        # first_k: sum of positions 0..k-1; last_k: sum of positions L-k..L-1. Both
        # are direct sums (no total - prefix subtraction, which loses float32 digits).
        first_m = residue.cumsum(-1)[:, :n_cuts]  # (batch, T-1)
        first_v = variance.cumsum(-1)[:, :n_cuts]
        rev_m = residue.flip(-1).cumsum(-1).flip(-1)  # (batch, positions): sum of positions j..end
        rev_v = variance.flip(-1).cumsum(-1).flip(-1)
        start = (lengths.unsqueeze(1) - k.unsqueeze(0)).clamp(0, max(positions - 1, 0))  # (batch, T-1)
        last_m = rev_m.gather(1, start) if n_cuts else first_m
        last_v = rev_v.gather(1, start) if n_cuts else first_v
        valid = k.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, T-1): i <= L-1
        b_valid = y_valid = valid
        if nterm_token_mask is not None:
            nterm_pos = (lengths - 1).clamp_min(0) if reverse else torch.zeros_like(lengths)  # (batch,)
            nterm_token = probs.argmax(dim=-1).gather(1, nterm_pos.clamp_max(max(positions - 1, 0)).unsqueeze(1))
            is_mod = nterm_token_mask.to(device=device, dtype=torch.bool)[nterm_token.squeeze(1)] & (lengths > 0)
            b_valid = valid & ~(is_mod.unsqueeze(1) & (k == 1).unsqueeze(0))
            y_valid = valid & ~(is_mod.unsqueeze(1) & (k.unsqueeze(0) == (lengths - 1).unsqueeze(1)))

        if reverse:  # positions C→N: leading positions are the C-terminal residues
            b_m, b_v, y_m, y_v = last_m, last_v, first_m, first_v
        else:
            b_m, b_v, y_m, y_v = first_m, first_v, last_m, last_v
        b_neutral = b_ion_mass_da(b_m)  # b ion: residues only (its charge carrier is added below)
        y_neutral = y_ion_mass_da(y_m)

        mz_parts, var_parts, mask_parts = [], [], []
        for z in charges:
            mz_parts += [mz_from_mass(b_neutral, z), mz_from_mass(y_neutral, z)]
            var_parts += [b_v / z**2, y_v / z**2]
            mask_parts += [b_valid, y_valid]
        mz = torch.cat(mz_parts, dim=-1)  # (batch, peaks)
        var = torch.cat(var_parts, dim=-1)
        mask = torch.cat(mask_parts, dim=-1)
        # Padded fragments keep finite values; callers must honour the mask.
    return TheoreticalFragments(mz, mask, var, peptide_mass_da, peptide_mass_var_da2, probs)


def theoretical_peaks(
    token_probs: torch.Tensor,
    residue_masses_da: torch.Tensor,
    lengths: torch.Tensor,
    charges: Sequence[int] = (1,),
    mass_mode: str = "expected",
    *,
    reverse: bool = False,
    nterm_token_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """b and y fragment m/z ``(batch, peaks)`` and their mask; see `theoretical_fragments`."""
    fragments = theoretical_fragments(
        token_probs, residue_masses_da, lengths, charges, mass_mode, reverse=reverse,
        nterm_token_mask=nterm_token_mask,
    )
    return fragments.mz, fragments.mask
