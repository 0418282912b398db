"""One training step's arithmetic, shared by the Lightning module and the benchmarks.

`training_step` is the forward pass and the objective; `optimizer_step` is
what Lightning does after it (backward, gradient clipping by norm, AdamW
step, zero_grad), for callers that run steps without Lightning;
`build_optimizer` is the AdamW both use.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Mapping

import torch


def training_step(model, objective, batch: Mapping, weights: tuple[float, float],
                  autocast_dtype: torch.dtype | None = None, *,
                  compute_zero_weight: bool | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(logits (B, T, vocab), the objective's components) of a teacher-forced step.

    The model runs under autocast in ``autocast_dtype`` when one is given (none:
    whatever autocast the caller set, e.g. Lightning's precision plugin); the
    objective runs outside that autocast and keeps its own float32/float64 physics.
    ``compute_zero_weight`` overrides the objective's ``loss.compute_zero_weight``
    for this step (None: the config's).
    """
    if autocast_dtype is None:
        context = nullcontext()
    else:
        context = torch.autocast(batch["mz"].device.type, dtype=autocast_dtype)
    with context:
        logits = model(batch)  # (B, T, vocab)
    return logits, objective(logits, batch, weights, compute_zero_weight=compute_zero_weight)


FUSED_DEVICES = ("cpu", "cuda")


def build_optimizer(parameters, optim_config: Mapping) -> torch.optim.AdamW:
    """AdamW with ``optim.lr``, ``betas`` and ``weight_decay``.

    Fused (one kernel over all parameters) where PyTorch has a fused AdamW for
    the parameters' device: per-parameter Python loops cost about 5% of a
    small model's step on CPU. Fused and unfused agree to float rounding.
    """
    parameters = list(parameters)
    fused = bool(parameters) and all(p.device.type in FUSED_DEVICES and p.is_floating_point() for p in parameters)
    return torch.optim.AdamW(
        parameters, lr=optim_config["lr"], betas=tuple(optim_config["betas"]),
        weight_decay=optim_config["weight_decay"], fused=fused or None,
    )


def optimizer_step(parameters, optimizer: torch.optim.Optimizer, loss: torch.Tensor, gradient_clip: float) -> None:
    """Backward, clip the gradient norm at ``gradient_clip`` (0: no clipping), step, zero_grad."""
    loss.backward()
    if gradient_clip:
        torch.nn.utils.clip_grad_norm_(list(parameters), gradient_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
