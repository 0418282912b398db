"""Precursor-mass losses on the predicted neutral peptide mass (Da).

The target is whichever neutral mass the caller chooses: the spectrum's
measured one (``batch["precursor_mass_da"]``) or the label's
(``batch["peptide_mass_da"]``). A measured precursor may be an isotope peak
(+n · 1.00336 Da) rather than the monoisotopic one, and a loss against it alone
teaches the model to hallucinate, e.g., deamidation (+0.984 Da); with
``isotope_offsets=k`` the loss compares with the nearest of
target - n · ISOTOPE_SPACING_DA, n = 0..k (a ``(lo, hi)`` pair gives
n = lo..hi, as Casanovo's isotope error range). Either becomes the offsets
tuple decoding uses too (`renovo.chem.isotope_offsets`).

Spectra whose target is not finite (NaN for unlabeled spectra) or, for the
ppm loss, not positive, get loss 0 and are left out of ``"mean"``.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from renovo.chem.mass import isotope_offsets as as_isotope_offsets
from renovo.chem.mass import isotope_shift_da
from renovo.losses.peaks import _compute_dtype
from renovo.losses.spectral import REDUCTIONS
from renovo.numerics import no_autocast


def _isotope_offsets(isotope_offsets: int | Sequence[int]) -> tuple[int, ...]:
    """The losses' spelling, k or a (lo, hi) pair (Casanovo's range, bounds included), as the offsets."""
    if isinstance(isotope_offsets, int):
        lo, hi = 0, isotope_offsets
    else:
        lo, hi = (int(n) for n in isotope_offsets)
    if hi < lo or (isinstance(isotope_offsets, int) and isotope_offsets < 0):
        raise ValueError(f"isotope_offsets must be k >= 0 or (lo, hi) with lo <= hi, got {isotope_offsets!r}")
    return as_isotope_offsets(range(lo, hi + 1))


class _PrecursorLoss(nn.Module):
    def __init__(self, isotope_offsets: int | Sequence[int] = 0) -> None:
        super().__init__()
        self.isotope_offsets = _isotope_offsets(isotope_offsets)
        self.isotope_range = (self.isotope_offsets[0], self.isotope_offsets[-1])  # (lo, hi), for the repr

    def _error_da(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """|pred - nearest isotope-corrected target| in Da, (batch,)."""
        if self.isotope_offsets == (0,):
            return (pred - target).abs()
        n = torch.tensor(self.isotope_offsets, dtype=pred.dtype, device=pred.device)  # (isotopes,)
        candidates = target.unsqueeze(-1) - isotope_shift_da(n)  # (batch, isotopes)
        return (pred.unsqueeze(-1) - candidates).abs().min(dim=-1).values

    def _valid(self, target: torch.Tensor) -> torch.Tensor:
        return torch.isfinite(target)

    def _per_spectrum(self, error_da: torch.Tensor, target: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred_mass_da: torch.Tensor, target_mass_da: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return self._loss(pred_mass_da, target_mass_da, reduction, None)

    def _loss(self, pred_mass_da, target_mass_da, reduction, extra):
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        dtype = _compute_dtype(pred_mass_da.dtype)
        with no_autocast(pred_mass_da.device):
            pred = pred_mass_da.to(dtype)  # (batch,)
            target = target_mass_da.to(device=pred.device, dtype=dtype)  # (batch,)
            valid = self._valid(target)
            # Replace invalid targets before any arithmetic: where() alone would
            # still send NaN gradients through the unselected branch.
            safe_target = torch.where(valid, target, torch.ones((), dtype=dtype, device=pred.device))
            if extra is not None:
                extra = extra.to(device=pred.device, dtype=dtype)  # (batch,)
            values = self._per_spectrum(self._error_da(pred, safe_target), safe_target, extra)
            values = torch.where(valid, values, torch.zeros((), dtype=dtype, device=pred.device))
            if reduction == "none":
                return values
            if reduction == "sum":
                return values.sum()
            return values.sum() / valid.sum().clamp_min(1).to(dtype)


class ScaledL1PrecursorLoss(_PrecursorLoss):
    """scale_factor · |pred - target| (Da): constant gradient scale_factor per Da (default 0.004)."""

    def __init__(self, scale_factor: float = 0.004, *, isotope_offsets: int | Sequence[int] = 0) -> None:
        super().__init__(isotope_offsets)
        self.scale_factor = float(scale_factor)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, isotope_range={self.isotope_range}"

    def _per_spectrum(self, error_da, target, extra):
        return self.scale_factor * error_da


class Log1pPPMPrecursorLoss(_PrecursorLoss):
    """The proposal's old loss: log1p(ppm / ppm_scale), ppm = |pred - target| / target · 1e6.

    Its gradient, (1e6 / target / ppm_scale) / (1 + ppm / ppm_scale) per Da,
    falls as the error grows (0.003 per Da at 200 Da on a 1.2 kDa peptide).
    """

    def __init__(self, ppm_scale: float = 1e5, *, isotope_offsets: int | Sequence[int] = 0) -> None:
        super().__init__(isotope_offsets)
        self.ppm_scale = float(ppm_scale)

    def extra_repr(self) -> str:
        return f"ppm_scale={self.ppm_scale}, isotope_range={self.isotope_range}"

    def _valid(self, target):
        return torch.isfinite(target) & (target > 0)

    def _per_spectrum(self, error_da, target, extra):
        error_ppm = error_da / target * 1e6
        return torch.log1p(error_ppm / self.ppm_scale)


class ExpectedSquaredPrecursorLoss(_PrecursorLoss):
    """scale_factor · E[(M - target)²] = scale_factor · ((E[M] - target)² + Var[M]) in Da².

    Unlike a loss on the expected mass, it does not reward hedging between
    residues whose average mass is right (56.6% G + 43.4% W has the mass of
    L): the variance term is zero only for a confident prediction. Call with
    ``pred_mass_var_da2`` from `theoretical_fragments`.
    """

    def __init__(self, scale_factor: float = 1e-4, *, isotope_offsets: int | Sequence[int] = 0) -> None:
        super().__init__(isotope_offsets)
        self.scale_factor = float(scale_factor)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, isotope_range={self.isotope_range}"

    def forward(self, pred_mass_da, target_mass_da, reduction="mean", *, pred_mass_var_da2=None):
        return self._loss(pred_mass_da, target_mass_da, reduction, pred_mass_var_da2)

    def _per_spectrum(self, error_da, target, extra):
        squared = error_da.square()
        if extra is not None:
            squared = squared + extra.clamp_min(0.0)
        return self.scale_factor * squared
