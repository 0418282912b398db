"""Profile-mode detection and centroiding."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.data.centroid import centroid, is_profile


def profile(centres, heights, width=0.004, step=0.001, pad=4):
    """A profile spectrum: Gaussian peaks sampled every ``step`` Da, zero-padded."""
    mz, intensity = [], []
    for centre, height in zip(centres, heights):
        grid = np.arange(centre - 4 * width - pad * step, centre + 4 * width + pad * step, step)
        values = height * np.exp(-0.5 * ((grid - centre) / width) ** 2)
        values[values < height * 1e-3] = 0.0
        mz.append(grid)
        intensity.append(values)
    return np.concatenate(mz), np.concatenate(intensity)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(100, 1500), min_size=1, max_size=30, unique=True), st.data())
def test_centroids_recover_gaussian_peaks(centres, data):
    centres = sorted(centres)
    centres = [c for i, c in enumerate(centres) if i == 0 or c - centres[i - 1] > 0.2]
    heights = data.draw(st.lists(st.floats(10, 1e6), min_size=len(centres), max_size=len(centres)))
    mz, intensity = profile(centres, heights)
    assert is_profile(mz, intensity)
    out_mz, out_intensity = centroid(mz, intensity)
    assert out_mz.shape[0] == len(centres)
    assert np.allclose(out_mz, centres, atol=5e-4)
    assert np.allclose(out_intensity, heights, rtol=0.05)
    assert not is_profile(out_mz, out_intensity)


def test_overlapping_peaks_split_at_the_valley():
    mz, intensity = profile([500.0], [100.0], width=0.004)
    mz2, intensity2 = profile([500.02], [60.0], width=0.004)
    grid = np.union1d(mz, mz2)
    total = np.interp(grid, mz, intensity, 0, 0) + np.interp(grid, mz2, intensity2, 0, 0)
    out_mz, out_intensity = centroid(grid, total)
    assert out_mz.shape[0] == 2
    assert abs(out_mz[0] - 500.0) < 0.003 and abs(out_mz[1] - 500.02) < 0.003


def test_centroided_spectra_are_not_profile():
    mz = np.array([100.0, 147.11, 175.12, 300.2, 400.7, 512.3, 600.1, 710.4, 800.9])
    assert not is_profile(mz, np.ones_like(mz))
    assert not is_profile(mz[:3], np.zeros(3))
    assert centroid(np.array([1.0, 2.0]), np.zeros(2))[0].shape == (0,)
