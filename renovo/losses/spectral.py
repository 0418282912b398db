"""Gaussian spectral rendering loss: 1 - cosine(predicted spectrum, observed spectrum).

Both spectra are sums of Gaussians: unit height at each predicted fragment m/z,
and height = intensity at each observed peak. ``render="grid"`` evaluates them
on the seed's m/z grid (``bin_size``, ``max_mz``) and takes the cosine of the
two vectors — the seed's formula, kept as the reference. ``render="analytic"``
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

from renovo.losses.peaks import _compute_dtype, _no_autocast

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
    return 0.9 * math.log(torch.finfo(dtype).tiny)


def _gaussian(exponent: torch.Tensor) -> torch.Tensor:
    """exp(exponent) for exponent <= 0, flushed to 0 where it would be tiny anyway.

    Vectorised exp falls back to a much slower path for arguments whose result
    is subnormal or 0 (most peak pairs are hundreds of m/z apart), so the
    argument is clamped at 0.9 · log(smallest normal) (-78.6 in float32, -637
    in float64) and results below twice exp(that floor) (1.4e-34 in float32)
    are set to 0, value and gradient alike.
    """
    floor = _exp_floor(exponent.dtype)
    return nn.functional.threshold(torch.exp(exponent.clamp_min(floor)), 2 * math.exp(floor), 0.0)


def _pair_kernel(x: torch.Tensor, vx: torch.Tensor | None, y: torch.Tensor, vy: torch.Tensor | None, v_ref: float) -> torch.Tensor:
    """Overlap of unit-area Gaussians N(x_i, vx_i) and N(y_j, vy_j), scaled by sqrt(2π·v_ref).

    x: (batch, P), vx: (batch, P) or None; y: (batch, Q), vy: (batch, Q) or
    None, where None means a variance of v_ref / 2. Returns (batch, P, Q).
    With both None this is exp(-Δ²/(2 v_ref)), computed without the
    per-pair variance tensors.
    """
    delta2 = (x.unsqueeze(-1) - y.unsqueeze(-2)).square()  # (batch, P, Q)
    if vx is None and vy is None:
        return _gaussian(delta2 * (-0.5 / v_ref))
    half = x.new_tensor(v_ref / 2)
    vx = half.expand_as(x) if vx is None else vx
    vy = half.expand_as(y) if vy is None else vy
    total_var = vx.unsqueeze(-1) + vy.unsqueeze(-2)  # (batch, P, Q)
    return _gaussian(-delta2 / (2.0 * total_var)) * torch.sqrt(v_ref / total_var)


def _quadratic_form(u: torch.Tensor, kernel: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """uᵀ K w per spectrum: u (batch, P), K (batch, P, Q), w (batch, Q) -> (batch,)."""
    return torch.bmm(torch.bmm(u.unsqueeze(1), kernel), w.unsqueeze(-1)).view(-1)


# Spectra per block in the closed form: a block's (P, Q) kernels stay in cache
# (~1 MB), and memory stays O(block) instead of O(batch).
_BLOCK_ELEMENTS = 1 << 18


def _blocks(batch: int, pairs: int):
    step = max(1, _BLOCK_ELEMENTS // max(pairs, 1))
    return [slice(start, start + step) for start in range(0, batch, step)]


def _gaussian_block(x: torch.Tensor, y: torch.Tensor, c: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Δ_ij = x_i - y_j and K_ij = exp(-c Δ_ij²) (as `_gaussian`, in place), both (block, P, Q)."""
    delta = x.unsqueeze(-1) - y.unsqueeze(-2)
    floor = _exp_floor(delta.dtype)
    kernel = delta.square().mul_(-c).clamp_min_(floor).exp_()
    return delta, nn.functional.threshold_(kernel, 2 * math.exp(floor), 0.0)


class _GaussianQuadraticForm(torch.autograd.Function):
    """uᵀ K w with K_ij = exp(-c (x_i - y_j)²), blockwise, with a hand-written backward.

    Same value as `_quadratic_form(u, _pair_kernel(...), w)` for equal widths,
    but it never holds more than one block of kernels: the backward recomputes
    them (∂/∂x_i = -2c u_i Σ_j K_ij Δ_ij w_j, ∂/∂y_j = 2c w_j Σ_i u_i K_ij Δ_ij)
    instead of keeping autograd's (batch, P, Q) intermediates.
    """

    @staticmethod
    def forward(ctx, x, y, u, w, c):
        out = x.new_zeros(x.shape[0])  # (batch,)
        for block in _blocks(x.shape[0], x.shape[1] * y.shape[1]):
            _, kernel = _gaussian_block(x[block], y[block], c)
            out[block] = _quadratic_form(u[block], kernel, w[block])
        ctx.save_for_backward(x, y, u, w)
        ctx.c = c
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # grad: (batch,)
        x, y, u, w = ctx.saved_tensors
        need_x, need_y, need_u, need_w = ctx.needs_input_grad[:4]
        grad_x = torch.zeros_like(x) if need_x else None
        grad_y = torch.zeros_like(y) if need_y else None
        grad_u = torch.zeros_like(u) if need_u else None
        grad_w = torch.zeros_like(w) if need_w else None
        for block in _blocks(x.shape[0], x.shape[1] * y.shape[1]):
            delta, kernel = _gaussian_block(x[block], y[block], ctx.c)
            g = grad[block].unsqueeze(-1)  # (block, 1)
            ub, wb = u[block], w[block]
            if need_u:
                grad_u[block] = g * torch.bmm(kernel, wb.unsqueeze(-1)).squeeze(-1)
            if need_w:
                grad_w[block] = g * torch.bmm(ub.unsqueeze(1), kernel).squeeze(1)
            if need_x or need_y:
                weighted = kernel.mul_(delta)  # K∘Δ, (block, P, Q)
                scale = -2.0 * ctx.c * g
                if need_x:
                    grad_x[block] = scale * ub * torch.bmm(weighted, wb.unsqueeze(-1)).squeeze(-1)
                if need_y:
                    grad_y[block] = -scale * wb * torch.bmm(ub.unsqueeze(1), weighted).squeeze(1)
        return grad_x, grad_y, grad_u, grad_w, None


def _gaussian_quadratic_form(x, y, u, w, v_ref: float) -> torch.Tensor:
    """uᵀ K w with K_ij = exp(-(x_i - y_j)² / (2 v_ref)); (batch,)."""
    return _GaussianQuadraticForm.apply(x, y, u, w, 0.5 / v_ref)


class GaussianSpectralLoss(nn.Module):
    """1 - cosine similarity of Gaussian-rendered predicted and observed spectra.

    Args:
        sigma: Gaussian width (standard deviation) in m/z; a sequence of widths
            gives the multi-scale loss, the weighted sum of the per-width losses.
        bin_size: grid spacing in m/z (``render="grid"`` only).
        max_mz: grid end in m/z (``render="grid"`` only); the grid is
            ``arange(0, max_mz, bin_size)``.
        render: ``"analytic"`` (closed form, default) or ``"grid"`` (the seed's).
        sigma_weights: weights of the widths; normalised to sum to 1 (default
            equal), so the loss stays in [0, 1].
        variance_aware: widen each predicted peak by its mass variance: a peak
            with m/z variance s² is rendered as the Gaussian of variance σ² + s²
            with the same area (the expected rendering of a peak at an
            uncertain position). Requires ``pred_variance`` in the call.

    Call: ``loss(pred_mz, pred_mask, obs_mz, obs_intensity, obs_mask,
    reduction="mean", pred_variance=None)`` with pred_mz/pred_mask
    (batch, P), obs_* (batch, Q). Negative intensities are clamped to 0.
    ``reduction="none"`` returns (batch,) losses, each in [0, 1].
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
    ) -> torch.Tensor:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if self.variance_aware and pred_variance is None:
            raise ValueError("variance_aware=True needs pred_variance (batch, peaks) in (m/z)^2")
        dtype = _compute_dtype(pred_mz.dtype)
        with _no_autocast(pred_mz.device):
            pred_mz = pred_mz.to(dtype)  # (batch, P)
            obs_mz = obs_mz.to(dtype)  # (batch, Q)
            zero = torch.zeros((), dtype=dtype, device=pred_mz.device)
            a = torch.where(pred_mask.bool(), torch.ones_like(pred_mz), zero)  # (batch, P) peak areas/heights
            b = torch.where(obs_mask.bool(), obs_intensity.to(dtype).clamp_min(0.0), zero)  # (batch, Q)
            # Padded entries may hold garbage; park them at 0 so exp() stays finite.
            pred_mz = torch.where(pred_mask.bool(), pred_mz, zero)
            obs_mz = torch.where(obs_mask.bool(), obs_mz, zero)
            extra_var = None
            if self.variance_aware and pred_variance is not None:
                extra_var = torch.where(pred_mask.bool(), pred_variance.to(dtype).clamp_min(0.0), zero)

            loss = torch.zeros(pred_mz.shape[0], dtype=dtype, device=pred_mz.device)
            for sigma, weight in zip(self.sigmas, self.sigma_weights):
                if self.render == "analytic":
                    cos = self._cosine_analytic(pred_mz, a, obs_mz, b, sigma, extra_var)
                else:
                    cos = self._cosine_grid(pred_mz, a, obs_mz, b, sigma, extra_var)
                loss = loss + weight * (1.0 - cos)
        return _reduce(loss, reduction)

    @staticmethod
    def _cosine_analytic(pred_mz, a, obs_mz, b, sigma, extra_var):
        base = sigma * sigma
        oo = _gaussian_quadratic_form(obs_mz, obs_mz, b, b, 2 * base)
        if extra_var is None:
            dot = _gaussian_quadratic_form(pred_mz, obs_mz, a, b, 2 * base)
            pp = _gaussian_quadratic_form(pred_mz, pred_mz, a, a, 2 * base)
        else:
            v_pred = base + extra_var  # (batch, P)
            dot = _quadratic_form(a, _pair_kernel(pred_mz, v_pred, obs_mz, None, 2 * base), b)
            pp = _quadratic_form(a, _pair_kernel(pred_mz, v_pred, pred_mz, v_pred, 2 * base), a)
        return _safe_cosine(dot, pp, oo)

    def _cosine_grid(self, pred_mz, a, obs_mz, b, sigma, extra_var):
        # The seed's rendering: both spectra materialised on the m/z grid.
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

