"""Preprocessing properties (hypothesis) against a plain reference implementation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from renovo.data import PreprocessConfig, preprocess


def reference(mz, intensity, precursor_mz, config):
    """Peak-by-peak version of the peers' pipeline, for comparison."""
    peaks = [(m, i) for m, i in zip(mz, intensity)
             if config.min_mz <= m <= config.max_mz and i > 0 and abs(m - precursor_mz) > config.remove_precursor_tol_da]
    if not peaks:
        return [], []
    base = max(i for _, i in peaks)
    peaks = [p for p in peaks if p[1] >= config.min_relative_intensity * base]
    peaks = sorted(peaks, key=lambda p: -p[1])[: config.max_peaks]
    peaks.sort()
    values = np.sqrt([i for _, i in peaks])
    values = values / np.linalg.norm(values)
    return [m for m, _ in peaks], list(values)


spectra = st.integers(0, 300).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=st.floats(0.0, 3000.0), unique=True),
    arrays(np.float64, n, elements=st.floats(0.0, 1e6)),
    st.floats(100.0, 2000.0),
    st.integers(1, 5),
))


@settings(max_examples=150, deadline=None)
@given(spectra, st.integers(1, 200), st.floats(0.0, 0.2))
def test_preprocess_properties(spectrum, max_peaks, min_relative):
    mz, intensity, precursor, charge = spectrum
    order = np.argsort(mz)
    mz, intensity = mz[order], intensity[order]
    config = PreprocessConfig(max_peaks=max_peaks, min_relative_intensity=min_relative)
    out_mz, out_intensity = preprocess(mz, intensity, precursor, charge, config)
    assert out_mz.dtype == np.float64 and out_intensity.dtype == np.float32
    assert out_mz.shape == out_intensity.shape
    assert out_mz.shape[0] <= max_peaks
    assert np.all(np.diff(out_mz) >= 0)
    assert np.all((out_mz >= 50) & (out_mz <= 2500))
    assert np.all(np.abs(out_mz - precursor) > 2.0)
    if out_mz.shape[0]:
        assert np.linalg.norm(out_intensity.astype(np.float64)) == pytest.approx(1.0, rel=1e-5)
    ref_mz, ref_intensity = reference(mz, intensity, precursor, config)
    # Ties at the top-k cut may pick different peaks; compare the kept intensities as multisets.
    assert len(ref_mz) == out_mz.shape[0]
    assert np.allclose(sorted(ref_intensity), sorted(out_intensity), rtol=1e-5, atol=1e-7)
    if len(set(intensity.tolist())) == len(intensity):
        assert np.array_equal(ref_mz, out_mz)


def test_all_peaks_removed_gives_empty_arrays():
    mz, intensity = preprocess(np.array([10.0, 500.0, 3000.0]), np.array([1.0, 2.0, 3.0]), 500.5, 2)
    assert mz.shape == (0,) and intensity.shape == (0,) and intensity.dtype == np.float32


def test_options_are_configurable():
    mz = np.array([60.0, 100.0, 200.0, 499.0, 900.0])
    intensity = np.array([1.0, 4.0, 16.0, 100.0, 0.5])
    out_mz, out = preprocess(mz, intensity, 500.0, 2, PreprocessConfig(
        min_mz=0, remove_precursor_tol_da=None, min_relative_intensity=0, max_peaks=None, scaling="none", normalize="max"))
    assert out_mz.tolist() == mz.tolist() and out.tolist() == pytest.approx((intensity / 100).tolist())
    out_mz, out = preprocess(mz, intensity, 500.0, 2, PreprocessConfig(max_peaks=2, scaling="log1p", normalize="none"))
    assert out_mz.tolist() == [100.0, 200.0] and out.tolist() == pytest.approx(np.log1p([4.0, 16.0]).tolist())
    with pytest.raises(ValueError):
        PreprocessConfig(scaling="cube")
