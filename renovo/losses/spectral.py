"""Gaussian spectral rendering loss: 1 - cosine(predicted spectrum, observed spectrum).

Both spectra are sums of Gaussians: unit height at each predicted fragment m/z,
and height = intensity at each observed peak. ``render="grid"`` evaluates them
on the proposal's m/z grid (``bin_size``, ``max_mz``) and takes the cosine of the
two vectors — the proposal's formula, kept as the reference. ``render="analytic"``
(default) takes the cosine of the continuous functions in closed form: the
inner product of two Gaussians of variances v1 and v2 centred Δ apart is
N(Δ; 0, v1 + v2) (times the peaks' areas), so

    cos = aᵀ K_po b / sqrt(aᵀ K_pp a · bᵀ K_oo b)

with K_ij ∝ exp(-Δ_ij² / (2(v_i + v_j))) / sqrt(v_i + v_j). It costs
batch × P × Q instead of batch × P × bins and has no aliasing.

Because both spectra are non-negative, the cosine lies in [0, 1] and so does
the loss (1 for an empty predicted or observed spectrum).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from renovo.losses.peaks import _compute_dtype
from renovo.numerics import no_autocast

RENDERS = ("analytic", "grid")
REDUCTIONS = ("mean", "sum", "none")

# Added under the square root of the cosine's denominator: keeps sqrt's gradient
# finite when a spectrum is empty (the numerator is then 0, so cos = 0).
_EPS = 1e-20


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean":
        return values.mean() if values.numel() else values.sum()
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _safe_cosine(dot: torch.Tensor, norm_a2: torch.Tensor, norm_b2: torch.Tensor) -> torch.Tensor:
    """dot / sqrt(|a|² |b|²), 0 where either is empty, finite gradient everywhere."""
    cos = dot / torch.sqrt(norm_a2 * norm_b2 + _EPS)
    # Non-negative spectra: cos ∈ [0, 1] up to rounding; clamp the rounding only.
    return cos.clamp(0.0, 1.0)


def _exp_floor(dtype: torch.dtype) -> float:
    """Exponents below this give kernel entries treated as exactly 0: 0.9 · log(smallest normal).

    -78.6 in float32 (exp = 7e-35), -637 in float64. Vectorised exp is also
    ~10x slower on arguments whose result is subnormal.
    """
    return 0.9 * math.log(torch.finfo(dtype).tiny)


def _overlap_quadratic_form(x, y, u, w, v_ref: float, vx=None, vy=None, x_mask=None, y_mask=None) -> torch.Tensor:
    """Σ_ij u_i w_j K_ij with K_ij = sqrt(v_ref / V_ij) · exp(-Δ_ij² / (2 V_ij)); (batch,).

    K_ij is the overlap ∫N(x_i, vx_i) N(y_j, vy_j) of unit-area Gaussians,
    V_ij = vx_i + vy_j, scaled by sqrt(2π v_ref) (so with vx = vy = v_ref / 2,
    the default when None, K_ij = exp(-Δ_ij² / (2 v_ref))).
    x, u: (batch, P); y, w: (batch, Q); vx: (batch, P); vy: (batch, Q).

    Only pairs within reach are evaluated: beyond Δ² = -2 V_max · floor the
    exponent is below `_exp_floor` and K_ij < 7e-35 (float32) is taken as 0.
    y is sorted once; each x_i sees the window of sorted y within ±reach
    (found by searchsorted), padded to the widest window in the batch. The cost
    is batch · P · window instead of batch · P · Q — the window is a few peaks
    for σ = 0.05 and grows to Q for very wide kernels, where this is the dense
    sum. Entries outside ``x_mask`` / ``y_mask`` (padding; bool, True = real)
    must have weight 0; they are parked at distinct far-away slots so they
    widen no window. Gradients flow by autograd through the gathers.
    """
    batch, p, q = x.shape[0], x.shape[1], y.shape[1]
    floor = _exp_floor(x.dtype)

    def max_var(v):
        return v_ref / 2 if v is None or v.numel() == 0 else max(float(v.detach().max()), 0.0)

    reach = math.sqrt(-2.0 * (max_var(vx) + max_var(vy)) * floor)
    spacing = 2.0 * reach + 1.0
    if x_mask is not None:
        x = torch.where(x_mask, x, -spacing * torch.arange(1, p + 1, dtype=x.dtype, device=x.device))
    if y_mask is not None:
        y = torch.where(y_mask, y, -spacing * torch.arange(1, q + 1, dtype=y.dtype, device=y.device))

    y_sorted, order = torch.sort(y, dim=1)  # (batch, Q)
    keys = y_sorted.detach().contiguous()
    x_keys = x.detach().contiguous()
    lo = torch.searchsorted(keys, x_keys - reach)  # (batch, P) first y within reach
    hi = torch.searchsorted(keys, x_keys + reach, right=True)  # one past the last
    width = int((hi - lo).max()) if lo.numel() else 0
    index = lo.unsqueeze(-1) + torch.arange(width, device=x.device)  # (batch, P, window)
    inside = index < hi.unsqueeze(-1)
    flat = index.clamp_max(max(q - 1, 0)).reshape(batch, p * width)

    def window(values):  # (batch, Q) in y's order -> (batch, P, window) near each x_i
        return values.gather(1, order).gather(1, flat).view(batch, p, width)

    y_win = y_sorted.gather(1, flat).view(batch, p, width)
    w_win = torch.where(inside, window(w), torch.zeros((), dtype=w.dtype, device=w.device))
    delta2 = (x.unsqueeze(-1) - y_win).square()  # (batch, P, window)
    if vx is None and vy is None:
        # Pairs outside the window (inside False) have weight 0; flooring keeps their exp fast.
        kernel = torch.exp((delta2 * (-0.5 / v_ref)).clamp_min(floor))
    else:
        vx_ = torch.full_like(x, v_ref / 2) if vx is None else vx
        total_var = vx_.unsqueeze(-1) + (v_ref / 2 if vy is None else window(vy))  # (batch, P, window)
        kernel = torch.exp((-delta2 / (2.0 * total_var)).clamp_min(floor)) * torch.sqrt(v_ref / total_var)
    return (u.unsqueeze(-1) * kernel * w_win).sum(dim=(1, 2))


def gaussian_cosine(pred_mz: torch.Tensor, pred_weight: torch.Tensor, obs_mz: torch.Tensor,
                    obs_intensity: torch.Tensor, sigma: float, pred_mask: torch.Tensor | None = None,
                    obs_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The analytic Gaussian spectral cosine of two peak lists, each peak a Gaussian of width ``sigma`` (m/z):
    aᵀK_po b / √(aᵀK_pp a · bᵀK_oo b), K_ij = exp(−(x_i − y_j)² / 4σ²); in [0, 1], 0 for an empty side.
    pred_* (batch, P), obs_* (batch, Q) -> (batch,). What the spectrum loss is 1 minus, and what the reranker
    reads on exact masses."""
    return GaussianSpectralLoss._cosine_analytic(pred_mz, pred_weight, obs_mz, obs_intensity, sigma, None,
                                                 pred_mask, obs_mask)


class GaussianSpectralLoss(nn.Module):
    """1 - cosine similarity of Gaussian-rendered predicted and observed spectra.

    Args:
        sigma: Gaussian width (standard deviation) in m/z; a sequence of widths
            gives the multi-scale loss, the weighted sum of the per-width losses.
        bin_size: grid spacing in m/z (``render="grid"`` only).
        max_mz: grid end in m/z (``render="grid"`` only); the grid is
            ``arange(0, max_mz, bin_size)``.
        render: ``"analytic"`` (closed form, default) or ``"grid"`` (the proposal's).
        sigma_weights: weights of the widths; normalised to sum to 1 (default
            equal), so the loss stays in [0, 1].
        variance_aware: widen each predicted peak by its mass variance: a peak
            with m/z variance s² is rendered as the Gaussian of variance σ² + s²
            with the same area (the expected rendering of a peak at an
            uncertain position). Requires ``pred_variance`` in the call.

    Call: ``loss(pred_mz, pred_mask, obs_mz, obs_intensity, obs_mask,
    reduction="mean", pred_variance=None)`` with pred_mz/pred_mask
    (batch, P), obs_* (batch, Q). Negative intensities are clamped to 0.
    ``reduction="none"`` returns (batch,) losses, each in [0, 1]. ``pred_weight``
    (batch, P), optional: the height of each predicted peak (default 1; the
    marginal rendering weighs each candidate ion by its probability).
    """

    def __init__(
        self,
        sigma: float | Sequence[float] = 0.05,
        bin_size: float = 0.1,
        max_mz: float = 2000.0,
        render: str = "analytic",
        *,
        sigma_weights: Sequence[float] | None = None,
        variance_aware: bool = False,
    ) -> None:
        super().__init__()
        sigmas = [float(sigma)] if isinstance(sigma, (int, float)) else [float(s) for s in sigma]
        if not sigmas or min(sigmas) <= 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        if render not in RENDERS:
            raise ValueError(f"render must be one of {RENDERS}, got {render!r}")
        if sigma_weights is None:
            weights = [1.0] * len(sigmas)
        else:
            weights = [float(w) for w in sigma_weights]
            if len(weights) != len(sigmas) or min(weights) < 0 or sum(weights) <= 0:
                raise ValueError("sigma_weights must be non-negative, one per sigma, not all zero")
        total = sum(weights)
        if bin_size <= 0 or max_mz <= 0:
            raise ValueError("bin_size and max_mz must be positive")
        self.sigmas = sigmas
        self.sigma_weights = [w / total for w in weights]
        self.bin_size = float(bin_size)
        self.max_mz = float(max_mz)
        self.render = render
        self.variance_aware = bool(variance_aware)

    def extra_repr(self) -> str:
        return (
            f"sigma={self.sigmas}, weights={self.sigma_weights}, render={self.render!r}, "
            f"bin_size={self.bin_size}, max_mz={self.max_mz}, variance_aware={self.variance_aware}"
        )

    def forward(
        self,
        pred_mz: torch.Tensor,
        pred_mask: torch.Tensor,
        obs_mz: torch.Tensor,
        obs_intensity: torch.Tensor,
        obs_mask: torch.Tensor,
        reduction: str = "mean",
        *,
        pred_variance: torch.Tensor | None = None,
        pred_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if self.variance_aware and pred_variance is None:
            raise ValueError("variance_aware=True needs pred_variance (batch, peaks) in (m/z)^2")
        dtype = _compute_dtype(pred_mz.dtype)
        with no_autocast(pred_mz.device):
            pred_mz = pred_mz.to(dtype)  # (batch, P)
            obs_mz = obs_mz.to(dtype)  # (batch, Q)
            zero = torch.zeros((), dtype=dtype, device=pred_mz.device)
            heights = torch.ones_like(pred_mz) if pred_weight is None else pred_weight.to(dtype).clamp_min(0.0)
            a = torch.where(pred_mask.bool(), heights, zero)  # (batch, P) peak areas/heights
            b = torch.where(obs_mask.bool(), obs_intensity.to(dtype).clamp_min(0.0), zero)  # (batch, Q)
            # Padded entries may hold garbage; park them at 0 so exp() stays finite (the
            # closed form re-parks them out of every window).
            pred_mz = torch.where(pred_mask.bool(), pred_mz, zero)
            obs_mz = torch.where(obs_mask.bool(), obs_mz, zero)
            extra_var = None
            if self.variance_aware and pred_variance is not None:
                extra_var = torch.where(pred_mask.bool(), pred_variance.to(dtype).clamp_min(0.0), zero)

            loss = torch.zeros(pred_mz.shape[0], dtype=dtype, device=pred_mz.device)
            for sigma, weight in zip(self.sigmas, self.sigma_weights):
                if self.render == "analytic":
                    cos = self._cosine_analytic(pred_mz, a, obs_mz, b, sigma, extra_var, pred_mask.bool(), obs_mask.bool())
                else:
                    cos = self._cosine_grid(pred_mz, a, obs_mz, b, sigma, extra_var)
                loss = loss + weight * (1.0 - cos)
        return _reduce(loss, reduction)

    @staticmethod
    def _cosine_analytic(pred_mz, a, obs_mz, b, sigma, extra_var, pred_mask, obs_mask):
        v_ref = 2 * sigma * sigma  # two peaks of width σ
        v_pred = None if extra_var is None else sigma * sigma + extra_var  # (batch, P)
        dot = _overlap_quadratic_form(pred_mz, obs_mz, a, b, v_ref, vx=v_pred, x_mask=pred_mask, y_mask=obs_mask)
        pp = _overlap_quadratic_form(pred_mz, pred_mz, a, a, v_ref, vx=v_pred, vy=v_pred, x_mask=pred_mask, y_mask=pred_mask)
        oo = _overlap_quadratic_form(obs_mz, obs_mz, b, b, v_ref, x_mask=obs_mask, y_mask=obs_mask)
        return _safe_cosine(dot, pp, oo)

    def _cosine_grid(self, pred_mz, a, obs_mz, b, sigma, extra_var):
        # The proposal's rendering: both spectra materialised on the m/z grid.
        grid = torch.arange(0.0, self.max_mz, self.bin_size, dtype=pred_mz.dtype, device=pred_mz.device)  # (bins,)
        base = sigma * sigma
        if extra_var is None:
            pred_var = torch.full_like(pred_mz, base)
            height = a
        else:
            pred_var = base + extra_var  # (batch, P)
            height = a * torch.sqrt(base / pred_var)  # same area as the unit-height σ peak
        pred_spec = (
            height.unsqueeze(-1) * torch.exp(-(grid - pred_mz.unsqueeze(-1)).square() / (2.0 * pred_var.unsqueeze(-1)))
        ).sum(1)  # (batch, bins)
        obs_spec = (b.unsqueeze(-1) * torch.exp(-(grid - obs_mz.unsqueeze(-1)).square() / (2.0 * base))).sum(1)
        dot = (pred_spec * obs_spec).sum(-1)
        return _safe_cosine(dot, pred_spec.square().sum(-1), obs_spec.square().sum(-1))

