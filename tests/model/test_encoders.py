"""Sinusoidal m/z features are computed in float64 before the cast."""
from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.model import PeakEncoder, SinusoidalMassEncoder


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=50.0, max_value=2500.0))
def test_mass_features_match_float64_reference(mz):
    enc = SinusoidalMassEncoder(16)
    features = enc(torch.tensor([mz], dtype=torch.float64), dtype=torch.float64)[0]
    n = 8
    for i in range(n):
        wavelength = 0.001 * (10000.0 / 0.001) ** (i / (n - 1))
        angle = 2 * math.pi * mz / wavelength
        assert abs(features[i].item() - math.sin(angle)) < 1e-6
        assert abs(features[n + i].item() - math.cos(angle)) < 1e-6


def test_mass_features_resolve_millidalton_differences():
    enc = SinusoidalMassEncoder(64)
    a = enc(torch.tensor([1000.000], dtype=torch.float64))
    b = enc(torch.tensor([1000.001], dtype=torch.float64))
    assert a.dtype == torch.float32
    # Shortest wavelength is 0.001: a 1 mDa shift is a full turn for it but moves
    # the next wavelengths visibly. Computing in float32 would lose this entirely.
    assert (a - b).abs().max() > 1e-2


def test_features_computed_in_float64_even_from_float32_weights_and_autocast():
    enc = PeakEncoder(32)
    mz = torch.tensor([[1999.123456]], dtype=torch.float64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inner = enc.mz_encoder(mz)
    ref = enc.mz_encoder(mz, dtype=torch.float64).float()
    torch.testing.assert_close(inner, ref, rtol=0, atol=1e-6)
