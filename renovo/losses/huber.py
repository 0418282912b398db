"""The proposal's old spectrum loss: Huber of each theoretical peak's distance to its nearest observed peak."""
from __future__ import annotations

import torch
from torch import nn

from renovo.losses.peaks import _compute_dtype
from renovo.losses.spectral import REDUCTIONS, _reduce
from renovo.numerics import no_autocast


class HuberPeakDistanceLoss(nn.Module):
    """Masked mean over predicted peaks of huber(min_j |pred_i - obs_j|).

    Args:
        delta: Huber threshold in m/z (default 1.0): quadratic (0.5 d²) below,
            linear (delta · (d - delta/2)) above, so the gradient is d for
            d < 1 and ±1 beyond — the distance at which a fragment is
            "clearly wrong" is about one residue-mass rounding error.
        empty_distance_mz: distance given to every predicted peak of a spectrum
            with no observed peaks (default 10.0 m/z). It is a constant, so such
            spectra give a finite loss and zero gradient.

    Intensities are accepted for a uniform call signature but unused, as in the
    proposal. A spectrum with no predicted peaks (zero-length peptide) has loss 0.
    The loss lies in [0, huber(max distance)]: it is unbounded above.
    """

    def __init__(self, delta: float = 1.0, *, empty_distance_mz: float = 10.0) -> None:
        super().__init__()
        if delta <= 0:
            raise ValueError(f"delta must be positive, got {delta}")
        self.delta = float(delta)
        self.empty_distance_mz = float(empty_distance_mz)

    def extra_repr(self) -> str:
        return f"delta={self.delta}, empty_distance_mz={self.empty_distance_mz}"

    def forward(
        self,
        pred_mz: torch.Tensor,
        pred_mask: torch.Tensor,
        obs_mz: torch.Tensor,
        obs_intensity: torch.Tensor | None,
        obs_mask: torch.Tensor,
        reduction: str = "mean",
    ) -> torch.Tensor:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        dtype = _compute_dtype(pred_mz.dtype)
        with no_autocast(pred_mz.device):
            pred_mz = pred_mz.to(dtype)  # (batch, P)
            obs_mz = obs_mz.to(dtype)  # (batch, Q)
            pred_mask = pred_mask.bool()
            obs_mask = obs_mask.bool()
            distance = (pred_mz.unsqueeze(-1) - obs_mz.unsqueeze(-2)).abs()  # (batch, P, Q)
            # Masked peaks sit beyond every real one (finite, so min's gradient stays finite).
            far = torch.tensor(torch.finfo(dtype).max / 4, dtype=dtype, device=pred_mz.device)
            distance = torch.where(obs_mask.unsqueeze(-2), distance, far)
            nearest = distance.min(dim=-1).values if distance.shape[-1] else torch.full_like(pred_mz, float(far))
            has_obs = obs_mask.any(dim=-1, keepdim=True)  # (batch, 1)
            empty = torch.tensor(self.empty_distance_mz, dtype=dtype, device=pred_mz.device)
            nearest = torch.where(has_obs, nearest, empty)  # (batch, P)
            huber = nn.functional.huber_loss(nearest, torch.zeros_like(nearest), reduction="none", delta=self.delta)
            huber = torch.where(pred_mask, huber, torch.zeros((), dtype=dtype, device=pred_mz.device))
            count = pred_mask.sum(dim=-1).clamp_min(1).to(dtype)
            loss = huber.sum(dim=-1) / count  # (batch,)
        return _reduce(loss, reduction)
