"""Input encoders: sinusoidal m/z and mass features, peaks, precursor, positions.

The sinusoids of an m/z are computed in float64 and only then cast to the
model's dtype: in float32, ``mz / wavelength`` at the shortest wavelength
(0.001) and m/z 2000 is 2e6 radians, whose float32 rounding (0.125 rad) would
already blur the finest features; bf16 would be useless (4 Da spacing at 1000).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from renovo.numerics import no_autocast


class SinusoidalMassEncoder(nn.Module):
    """sin/cos features of a mass or m/z at wavelengths spaced geometrically.

    As depthcharge/Casanovo: ``d_model / 2`` sines and ``d_model / 2`` cosines
    with wavelengths from ``min_wavelength`` to ``max_wavelength`` (in the
    input's unit, Da or m/z). Computed in float64, returned in ``dtype``.
    """

    def __init__(self, d_model: int, min_wavelength: float = 0.001, max_wavelength: float = 10000.0):
        super().__init__()
        if d_model % 2:
            raise ValueError(f"d_model must be even, got {d_model}")
        n = d_model // 2
        exponent = torch.arange(n, dtype=torch.float64) / max(n - 1, 1)
        wavelengths = min_wavelength * (max_wavelength / min_wavelength) ** exponent  # (n,)
        # Buffer kept float64: module.to(dtype) casts only floating *parameters and
        # buffers*, so we restore float64 at use time rather than trusting the buffer.
        self.register_buffer("angular", 2.0 * math.pi / wavelengths, persistent=False)

    def forward(self, values: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """values (...,) in Da or m/z -> (..., d_model) features in ``dtype``."""
        with no_autocast(values.device):
            x = values.to(torch.float64).unsqueeze(-1) * self.angular.to(torch.float64)  # (..., n)
            features = torch.cat([torch.sin(x), torch.cos(x)], dim=-1)  # (..., d_model)
        return features.to(dtype)


class PeakEncoder(nn.Module):
    """Embeds each peak from its m/z (sinusoidal, float64) and intensity (learned).

    peak = W_mz · sin/cos(m/z) + W_int · intensity
    """

    def __init__(self, d_model: int, min_wavelength: float = 0.001, max_wavelength: float = 10000.0):
        super().__init__()
        self.mz_encoder = SinusoidalMassEncoder(d_model, min_wavelength, max_wavelength)
        self.mz_proj = nn.Linear(d_model, d_model)
        self.intensity_proj = nn.Linear(1, d_model)

    def forward(self, mz: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
        """mz (B, P) float64 m/z, intensity (B, P) -> (B, P, d_model)."""
        dtype = self.mz_proj.weight.dtype
        features = self.mz_encoder(mz, dtype)  # (B, P, D)
        return self.mz_proj(features) + self.intensity_proj(intensity.to(dtype).unsqueeze(-1))


class PrecursorEncoder(nn.Module):
    """Casanovo's decoder conditioning: sinusoidal neutral mass (Da) + charge embedding."""

    def __init__(self, d_model: int, max_charge: int = 10):
        super().__init__()
        self.max_charge = max_charge
        self.mass_encoder = SinusoidalMassEncoder(d_model, min_wavelength=0.001, max_wavelength=10000.0)
        self.mass_proj = nn.Linear(d_model, d_model)
        self.charge_embedding = nn.Embedding(max_charge + 1, d_model)

    def forward(self, precursor_mass_da: torch.Tensor, precursor_charge: torch.Tensor) -> torch.Tensor:
        """(B,) Da, (B,) int -> (B, 1, d_model)."""
        dtype = self.mass_proj.weight.dtype
        mass = self.mass_proj(self.mass_encoder(precursor_mass_da, dtype))  # (B, D)
        # NaN/garbage masses (unlabeled, malformed) must not poison the whole batch.
        mass = torch.nan_to_num(mass)
        charge = precursor_charge.long().clamp(0, self.max_charge)  # (B,)
        return (mass + self.charge_embedding(charge)).unsqueeze(1)


class PositionalEncoding(nn.Module):
    """Standard sinusoidal position encoding (Vaswani et al.), added to token embeddings."""

    def __init__(self, d_model: int, max_wavelength: float = 10000.0):
        super().__init__()
        n = d_model // 2
        inv = torch.exp(-math.log(max_wavelength) * torch.arange(n, dtype=torch.float64) / max(n, 1))
        self.register_buffer("inv_freq", inv, persistent=False)
        self.d_model = d_model

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """x (B, T, D) -> x + PE[offset:offset+T]."""
        positions = torch.arange(offset, offset + x.shape[1], device=x.device, dtype=torch.float64)
        angles = positions.unsqueeze(-1) * self.inv_freq.to(torch.float64)  # (T, n)
        pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)  # (T, 2n)
        if pe.shape[-1] < self.d_model:
            pe = nn.functional.pad(pe, (0, self.d_model - pe.shape[-1]))
        return x + pe.to(x.dtype).unsqueeze(0)
