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


# --- paired statistics (reference values from scipy.stats: t.ppf, ttest_rel, binomtest) ---------------------

from renovo.experiments.stability import compare_paired, paired_test, sign_test_p, t_quantile  # noqa: E402


@pytest.mark.parametrize("upper_tail, df, expected", [(0.025, 4, 2.7764451051977934), (0.025, 1, 12.706204736174694),
                                                      (0.025, 9, 2.262157162798205), (0.005, 30, 2.7499956535672254)])
def test_t_quantile_known_values(upper_tail, df, expected):
    assert t_quantile(upper_tail, df) == pytest.approx(expected, rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.001, 0.49), st.floats(0.5, 200.0))
def test_t_quantile_inverts_the_tail(upper_tail, df):
    assert t_two_sided_p(t_quantile(upper_tail, df), df) == pytest.approx(2 * upper_tail, rel=1e-6)


@pytest.mark.parametrize("pos, neg, expected", [(10, 0, 0.001953125), (1, 8, 0.0390625), (3, 0, 0.25),
                                                (4, 3, 1.0), (0, 0, 1.0)])
def test_sign_test_known_values(pos, neg, expected):
    assert sign_test_p(pos, neg) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40))
def test_sign_test_is_symmetric_and_a_probability(pos, neg):
    p = sign_test_p(pos, neg)
    assert p == sign_test_p(neg, pos)
    assert 0.0 < p <= 1.0
    if pos + neg and pos != neg:
        assert p <= sign_test_p(min(pos, neg) + 1, max(pos, neg) - 1) + 1e-15  # a more even split is less surprising


def test_paired_test_matches_scipy_ttest_rel():
    a = dict(enumerate([0.52, 0.61, 0.48, 0.55, 0.60]))
    b = dict(enumerate([0.50, 0.57, 0.49, 0.51, 0.55]))
    r = paired_test(a, b)
    assert r["n"] == 5 and r["df"] == 4
    assert r["diff"] == pytest.approx(0.028)
    assert r["t"] == pytest.approx(2.622440272428744, rel=1e-9)
    assert r["p"] == pytest.approx(0.05864906310921963, rel=1e-7)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(-0.0016443216506661362, abs=1e-9),
                                           pytest.approx(0.057644321650666144, abs=1e-9))
    assert (r["n_positive"], r["n_negative"], r["n_tie"]) == (4, 1, 0)


def test_paired_test_pairs_by_seed_not_by_position():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 7: 100.0}
    b = {2: 2.9, 1: 1.9, 0: 0.9, 5: -50.0}  # seeds 7 and 5 have no partner
    r = paired_test(a, b)
    assert r["seeds"] == [0, 1, 2] and r["diff"] == pytest.approx(0.1)
    assert r["n_positive"] == 3


def test_unanimous_pairs_are_never_no_evidence():
    # Between-seed spread much larger than the difference: an unpaired test sees nothing, pairs see 10/10.
    base = {s: 1.0 + 0.5 * s for s in range(10)}
    worse = {s: v + 0.01 + 0.001 * (s % 3) for s, v in base.items()}
    phrase, test = compare_paired(worse, base, higher_is_better=False)  # a loss: higher is worse
    assert test["direction"] == "worse" and test["significant"] and test["n_worse"] == 10
    assert phrase.startswith("worse, significant: worse in 10/10 seeds")
    assert compare_means(list(worse.values()), list(base.values()), higher_is_better=False)[0].startswith(
        "no evidence")  # what the unpaired test said
    # Three unanimous seeds cannot reach p < 0.05 with the sign test, but the phrase says they agree.
    phrase3, test3 = compare_paired({0: 2.0, 1: 3.0, 2: 5.0}, {0: 1.0, 1: 1.5, 2: 1.0})
    assert test3["sign_p"] == 0.25 and test3["p"] > 0.05 and not test3["significant"]
    assert phrase3.startswith("better in 3/3 seeds — consistent, but not significant with 3 pairs")


def test_compare_paired_mixed_and_degenerate():
    phrase, test = compare_paired({0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}, {0: 1.1, 1: 1.9, 2: 3.1, 3: 3.9})
    assert phrase.startswith("no consistent difference") and not test["significant"]
    assert compare_paired({0: 1.0}, {0: 0.5})[0].startswith("too few paired seeds")
    assert compare_paired({0: 1.0, 1: 2.0}, {0: 1.0, 1: 2.0})[0] == "no difference in 2 paired seeds"
    phrase, test = compare_paired({0: 2.0, 1: 3.0}, {0: 1.0, 1: 2.0})  # constant difference: no noise
    # Not p = 0 ("certain"): the t-test is undefined without spread, and two seeds are not significant.
    assert math.isnan(test["p"]) and test["direction"] == "better" and not test["significant"]
    assert "t-test undefined" in phrase
