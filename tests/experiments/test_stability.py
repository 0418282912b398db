"""Spike detection on synthetic series; mean ± sd; Welch's t-test against known values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.experiments.stability import (compare_means, detect_spikes, mean_sd, regularized_incomplete_beta,
                                          t_two_sided_p, welch_t_test)


def noisy_decay(n=400, seed=0):
    rng = np.random.default_rng(seed)
    steps = np.arange(n)
    return 3.0 * np.exp(-steps / 150) + 0.5 + rng.normal(0, 0.02, n)


def test_smooth_decreasing_series_has_no_spikes():
    for seed in range(5):
        assert len(detect_spikes(noisy_decay(seed=seed))) == 0


def test_known_spikes_are_found():
    x = noisy_decay(seed=1)
    planted = [120, 250, 333]
    for i in planted:
        x[i] += 1.0
    assert detect_spikes(x).tolist() == planted


def test_spike_needs_history_and_ignores_nonfinite():
    x = noisy_decay(seed=2)
    x[3] += 5.0  # fewer than min_history values before it: not judged
    x[200] = np.nan
    x[201] = np.inf
    assert detect_spikes(x).tolist() == []


def test_flat_series_flags_a_jump():
    x = np.ones(100)
    x[60] = 1.001
    assert detect_spikes(x).tolist() == [60]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=0, max_size=80), st.floats(0.01, 10.0))
def test_shifting_and_scaling_does_not_change_spikes(values, scale):
    x = np.asarray(values)
    assert detect_spikes(x).tolist() == detect_spikes(x * scale + 7.0).tolist()


def test_mean_sd():
    mean, sd, n = mean_sd([1.0, 2.0, 3.0, float("nan")])
    assert (mean, n) == (2.0, 3)
    assert sd == pytest.approx(1.0)
    assert math.isnan(mean_sd([4.0])[1])
    assert mean_sd([])[2] == 0


def test_incomplete_beta_and_t_p_values():
    assert regularized_incomplete_beta(2.0, 3.0, 0.4) == pytest.approx(0.5248, abs=1e-4)
    # Student t, two-sided: t = 2.228 at 10 df is the 5% point; t = 12.706 at 1 df likewise.
    assert t_two_sided_p(2.228139, 10) == pytest.approx(0.05, abs=1e-5)
    assert t_two_sided_p(12.7062, 1) == pytest.approx(0.05, abs=1e-4)
    assert t_two_sided_p(0.0, 5) == pytest.approx(1.0)


def test_welch_t_test_known_example():
    a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    result = welch_t_test(a, b)
    # Reference values (Welch's original example, as computed by scipy.stats.ttest_ind(equal_var=False)).
    assert result["t"] == pytest.approx(-2.46, abs=0.01)
    assert result["df"] == pytest.approx(24.98, abs=0.05)
    assert result["p"] == pytest.approx(0.021, abs=0.001)


def test_compare_means_is_cautious():
    phrase, _ = compare_means([0.50, 0.52, 0.48], [0.51, 0.47, 0.49])
    assert phrase.startswith("no evidence")
    phrase, test = compare_means([0.90, 0.91, 0.92], [0.50, 0.51, 0.52])
    assert phrase.startswith("better") and test["p"] < 0.05
    phrase, _ = compare_means([0.1, 0.2], [0.9, 1.0], higher_is_better=True)
    assert phrase.startswith("worse")
    assert compare_means([0.5], [0.4])[0] == "too few runs to compare"
