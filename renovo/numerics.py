"""Numerics shared by every package: the one way to switch autocast off.

Mass arithmetic must not run in bf16/fp16 (bf16 spacing at m/z 1000 is 4 Da),
so code that computes masses or m/z features wraps it in ``no_autocast``.
"""
from __future__ import annotations

from contextlib import nullcontext

import torch


def no_autocast(device: torch.device):
    """A context with autocast disabled on ``device`` (a no-op where the device type has no autocast)."""
    try:
        return torch.autocast(device_type=device.type, enabled=False)
    except RuntimeError:  # device type without autocast support
        return nullcontext()
