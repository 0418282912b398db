"""One training step's arithmetic, shared by the Lightning module and the benchmarks.

`training_step` is the forward pass and the objective; `optimizer_step` is
what Lightning does after it (backward, gradient clipping by norm, AdamW
step, zero_grad), for callers that run steps without Lightning.
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Mapping

import torch


def training_step(model, objective, batch: Mapping, weights: tuple[float, float],
                  autocast_dtype: torch.dtype | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(logits (B, T, vocab), the objective's components) of a teacher-forced step.

    The model runs under autocast in ``autocast_dtype`` when one is given (none:
    whatever autocast the caller set, e.g. Lightning's precision plugin); the
    objective runs outside that autocast and keeps its own float32/float64 physics.
    """
    if autocast_dtype is None:
        context = nullcontext()
    else:
        context = torch.autocast(batch["mz"].device.type, dtype=autocast_dtype)
    with context:
        logits = model(batch)  # (B, T, vocab)
    return logits, objective(logits, batch, weights)


def optimizer_step(parameters, optimizer: torch.optim.Optimizer, loss: torch.Tensor, gradient_clip: float) -> None:
    """Backward, clip the gradient norm at ``gradient_clip`` (0: no clipping), step, zero_grad."""
    loss.backward()
    if gradient_clip:
        torch.nn.utils.clip_grad_norm_(list(parameters), gradient_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
