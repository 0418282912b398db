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


def _quadratic_form(u: torch.Tensor, kernel: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """uᵀ K w per spectrum: u (block, P), K (block, P, Q), w (block, Q) -> (block,)."""
    return torch.bmm(torch.bmm(u.unsqueeze(1), kernel), w.unsqueeze(-1)).view(-1)


def _matvec(kernel: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """K w: (block, P, Q) @ (block, Q) -> (block, P)."""
    return torch.bmm(kernel, w.unsqueeze(-1)).squeeze(-1)


def _vecmat(u: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """uᵀ K: (block, P) @ (block, P, Q) -> (block, Q)."""
    return torch.bmm(u.unsqueeze(1), kernel).squeeze(1)


# Spectra per block in the closed form: a block's (P, Q) kernels stay in cache
# (about 1 MB), and memory is O(block · P · Q) instead of O(batch · P · Q).
_BLOCK_ELEMENTS = 1 << 18


def _blocks(batch: int, pairs: int) -> list[slice]:
    step = max(1, _BLOCK_ELEMENTS // max(pairs, 1))
    return [slice(start, start + step) for start in range(0, batch, step)]


def _overlap_block(x, y, vx, vy, v_ref):
    """Pairwise overlaps of one block of spectra.

    Returns (Δ, K, V): Δ_ij = x_i - y_j, V_ij = vx_i + vy_j (None when both
    widths are the default v_ref / 2) and K_ij = sqrt(v_ref / V_ij) ·
    exp(-Δ_ij² / (2 V_ij)), all (block, P, Q).

    Vectorised exp falls back to a much slower path where its result is
    subnormal or 0 — most peak pairs are hundreds of m/z apart — so the
    exponent is floored at 0.9 · log(smallest normal) (-78.6 in float32, -637
    in float64) and results below twice exp(floor) (1.4e-34 in float32) are
    set to exactly 0.
    """
    delta = x.unsqueeze(-1) - y.unsqueeze(-2)
    floor = _exp_floor(delta.dtype)
    if vx is None and vy is None:
        total_var = None
        kernel = delta.square().mul_(-0.5 / v_ref)
    else:
        vx = x.new_full(x.shape, v_ref / 2) if vx is None else vx
        vy = y.new_full(y.shape, v_ref / 2) if vy is None else vy
        total_var = vx.unsqueeze(-1) + vy.unsqueeze(-2)
        kernel = delta.square().div_(total_var).mul_(-0.5)
    kernel = nn.functional.threshold_(kernel.clamp_min_(floor).exp_(), 2 * math.exp(floor), 0.0)
    if total_var is not None:
        kernel = kernel.mul_(torch.sqrt(v_ref / total_var))
    return delta, kernel, total_var


def _exp_floor(dtype: torch.dtype) -> float:
    return 0.9 * math.log(torch.finfo(dtype).tiny)


class _OverlapQuadraticForm(torch.autograd.Function):
    """uᵀ K w for the Gaussian-overlap kernel of `_overlap_block`, blockwise.

    The backward recomputes each block's kernel instead of keeping autograd's
    (batch, P, Q) intermediates. With A_ij = u_i K_ij w_j:
    ∂/∂x_i = -Σ_j A_ij Δ_ij / V_ij, ∂/∂y_j = Σ_i A_ij Δ_ij / V_ij,
    ∂/∂vx_i = Σ_j A_ij (Δ_ij² / V_ij - 1) / (2 V_ij), and the same sum over i
    for ∂/∂vy_j; ∂/∂u = K w, ∂/∂w = Kᵀ u.
    """

    @staticmethod
    def forward(ctx, x, y, vx, vy, u, w, v_ref):
        out = x.new_zeros(x.shape[0])  # (batch,)
        for blk in _blocks(x.shape[0], x.shape[1] * y.shape[1]):
            _, kernel, _ = _overlap_block(
                x[blk], y[blk], None if vx is None else vx[blk], None if vy is None else vy[blk], v_ref
            )
            out[blk] = _quadratic_form(u[blk], kernel, w[blk])
        ctx.save_for_backward(x, y, vx, vy, u, w)
        ctx.v_ref = v_ref
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # grad: (batch,)
        x, y, vx, vy, u, w = ctx.saved_tensors
        need = ctx.needs_input_grad[:6]
        grads = [torch.zeros_like(t) if (n and t is not None) else None for t, n in zip((x, y, vx, vy, u, w), need)]
        grad_x, grad_y, grad_vx, grad_vy, grad_u, grad_w = grads
        for blk in _blocks(x.shape[0], x.shape[1] * y.shape[1]):
            delta, kernel, total_var = _overlap_block(
                x[blk], y[blk], None if vx is None else vx[blk], None if vy is None else vy[blk], ctx.v_ref
            )
            g = grad[blk].unsqueeze(-1)  # (block, 1)
            ub, wb = u[blk], w[blk]
            if grad_u is not None:
                grad_u[blk] = g * _matvec(kernel, wb)
            if grad_w is not None:
                grad_w[blk] = g * _vecmat(ub, kernel)
            inv_var = (1.0 / ctx.v_ref) if total_var is None else total_var.reciprocal()
            if grad_vx is not None or grad_vy is not None:
                # K (Δ²/V - 1) / (2V): computed before K is overwritten below
                dvar = kernel * (delta.square() * inv_var - 1.0) * (0.5 * inv_var)
                if grad_vx is not None:
                    grad_vx[blk] = g * ub * _matvec(dvar, wb)
                if grad_vy is not None:
                    grad_vy[blk] = g * wb * _vecmat(ub, dvar)
            if grad_x is not None or grad_y is not None:
                dpos = kernel.mul_(delta).mul_(inv_var)  # K Δ / V
                if grad_x is not None:
                    grad_x[blk] = -g * ub * _matvec(dpos, wb)
                if grad_y is not None:
                    grad_y[blk] = g * wb * _vecmat(ub, dpos)
        return grad_x, grad_y, grad_vx, grad_vy, grad_u, grad_w, None


def _overlap_quadratic_form(x, y, u, w, v_ref: float, vx=None, vy=None) -> torch.Tensor:
    """Σ_ij u_i w_j ∫N(x_i, vx_i) N(y_j, vy_j) scaled by sqrt(2π v_ref); (batch,).

    x, u: (batch, P); y, w: (batch, Q); vx, vy: variances (batch, P) / (batch, Q),
    None meaning v_ref / 2 (then K_ij = exp(-Δ_ij² / (2 v_ref))).
    """
    return _OverlapQuadraticForm.apply(x, y, vx, vy, u, w, v_ref)


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
        v_ref = 2 * sigma * sigma  # two peaks of width σ
        v_pred = None if extra_var is None else sigma * sigma + extra_var  # (batch, P)
        dot = _overlap_quadratic_form(pred_mz, obs_mz, a, b, v_ref, vx=v_pred)
        pp = _overlap_quadratic_form(pred_mz, pred_mz, a, a, v_ref, vx=v_pred, vy=v_pred)
        oo = _overlap_quadratic_form(obs_mz, obs_mz, b, b, v_ref)
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

