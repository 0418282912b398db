"""Loss-stability measures and the small statistics the reports need.

- `detect_spikes`: logged steps whose loss exceeds the rolling median of the
  preceding ``window`` values by more than ``k`` × their median absolute
  deviation (MAD, unscaled). The window trails: a value is judged against the
  past only, so a loss that falls (as training losses do) is never a spike.
- `mean_sd`: mean and sample standard deviation (ddof 1) over seeds.
- `welch_t_test`: Welch's unequal-variance t-test, two-sided p-value from the
  Student t distribution (regularised incomplete beta; no scipy needed).
- `paired_test` / `compare_paired`: configs compared seed by seed (same initial
  weights and data order per seed): paired t-test, exact sign test, the mean
  paired difference with its 95% interval, the count of seeds each way.
- `holm` / `compare_family`: a family of paired comparisons (a plan's accuracy
  tests at one read-out, say) judged together: each paired t-test's p adjusted
  by Holm's step-down method, and "significant" only when the adjusted p is
  below 0.05, so testing many pairs does not manufacture a finding.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

SPIKE_WINDOW = 50  # logged steps
SPIKE_K = 5.0
SPIKE_MIN_HISTORY = 10  # no verdict before this many preceding values


def detect_spikes(
    values: Sequence[float],
    window: int = SPIKE_WINDOW,
    k: float = SPIKE_K,
    min_history: int = SPIKE_MIN_HISTORY,
) -> np.ndarray:
    """Indices of spikes in ``values`` (a logged loss series, in step order).

    A finite value ``x[i]`` is a spike when ``x[i] > median(W) + k · MAD(W)``,
    W = the finite values among ``x[max(0, i - window):i]`` (at least
    ``min_history`` of them). A MAD of 0 (a flat past) uses the smallest
    positive spacing the float allows, so a flat series with one jump still
    flags the jump. Non-finite values are not spikes (they are counted apart).
    """
    x = np.asarray(values, dtype=np.float64)  # (steps,)
    spikes = []
    for i in range(len(x)):
        if not math.isfinite(x[i]):
            continue
        past = x[max(0, i - window):i]
        past = past[np.isfinite(past)]
        if len(past) < min_history:
            continue
        median = float(np.median(past))
        mad = float(np.median(np.abs(past - median)))
        threshold = median + k * mad if mad > 0 else np.nextafter(median, math.inf)
        if x[i] > threshold:
            spikes.append(i)
    return np.asarray(spikes, dtype=np.int64)


def count_nonfinite(values: Sequence[float]) -> int:
    return int(np.sum(~np.isfinite(np.asarray(values, dtype=np.float64))))


def mean_sd(values: Sequence[float]) -> tuple[float, float, int]:
    """(mean, sample sd, n) of the finite values; sd is NaN for n < 2, both NaN for n = 0."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if len(x) == 0:
        return float("nan"), float("nan"), 0
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else float("nan"), int(len(x))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz; Numerical Recipes 6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 3e-14:
            break
    return h


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0, 0 ≤ x ≤ 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of Student's t with ``df`` degrees of freedom."""
    if not math.isfinite(t) or not df > 0:
        return float("nan") if not math.isinf(t) else 0.0
    return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Welch's t-test of mean(a) vs mean(b): {diff, t, df, p}; NaN where undefined (n < 2)."""
    xa = np.asarray([v for v in a if math.isfinite(v)], dtype=np.float64)
    xb = np.asarray([v for v in b if math.isfinite(v)], dtype=np.float64)
    nan = float("nan")
    diff = float(xa.mean() - xb.mean()) if len(xa) and len(xb) else nan
    if len(xa) < 2 or len(xb) < 2:
        return {"diff": diff, "t": nan, "df": nan, "p": nan}
    va, vb = xa.var(ddof=1) / len(xa), xb.var(ddof=1) / len(xb)
    se2 = va + vb
    if se2 == 0:
        # Identical, constant samples: no difference (p 1) or a difference no noise explains (p 0).
        return {"diff": diff, "t": nan if diff == 0 else math.copysign(math.inf, diff), "df": nan,
                "p": 1.0 if diff == 0 else 0.0}
    t = diff / math.sqrt(se2)
    df = se2**2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    return {"diff": diff, "t": float(t), "df": float(df), "p": t_two_sided_p(t, df)}


def compare_means(a: Sequence[float], b: Sequence[float], higher_is_better: bool = True) -> tuple[str, dict]:
    """A cautious one-phrase verdict on mean(a) vs mean(b), and the numbers behind it.

    "no evidence of a difference" when the difference of means is within one
    sd of either group (or fewer than 2 values each); otherwise better/worse,
    "significant" only at Welch p < 0.05.
    """
    test = welch_t_test(a, b)
    ma, sa, na = mean_sd(a)
    mb, sb, nb = mean_sd(b)
    test.update({"mean_a": ma, "sd_a": sa, "n_a": na, "mean_b": mb, "sd_b": sb, "n_b": nb})
    if na < 2 or nb < 2 or not math.isfinite(test["diff"]):
        return "too few runs to compare", test
    spread = max(s for s in (sa, sb) if math.isfinite(s))
    if abs(test["diff"]) <= spread:
        return "no evidence of a difference (within 1 sd)", test
    better = (test["diff"] > 0) == higher_is_better
    word = "better" if better else "worse"
    if math.isfinite(test["p"]) and test["p"] < 0.05:
        return f"{word} (Welch p = {test['p']:.3g})", test
    return f"{word} by more than 1 sd, but not significant (Welch p = {test['p']:.2g})", test


# --- paired comparisons -------------------------------------------------------------------------------------
# Every seed of a plan gives each config the same initial weights and the same data order, so configs are
# compared seed by seed: the differences a[seed] − b[seed] remove the between-seed spread that an unpaired
# test counts as noise.

def t_quantile(upper_tail: float, df: float) -> float:
    """The t with P(T > t) = ``upper_tail`` for Student's t with ``df`` degrees of freedom (bisection on the
    two-sided tail; 0 < upper_tail < 0.5)."""
    if not 0.0 < upper_tail < 0.5 or not df > 0:
        return float("nan")
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > 2 * upper_tail:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_two_sided_p(mid, df) > 2 * upper_tail:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


def sign_test_p(n_positive: int, n_negative: int) -> float:
    """Two-sided exact sign test (binomial, p = ½; ties dropped before the call): the probability of a split
    at least this uneven when either direction is equally likely."""
    n = n_positive + n_negative
    if n == 0:
        return 1.0
    k = min(n_positive, n_negative)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_test(a: Mapping[int, float], b: Mapping[int, float], confidence: float = 0.95) -> dict:
    """Paired comparison of ``a`` and ``b`` ({seed: value}) over the seeds both have with finite values.

    Returns {n, seeds, diff (mean of a − b), sd (of the differences), ci_low, ci_high (``confidence``
    interval of the mean difference, Student t), t, df, p (paired t-test, two-sided), n_positive,
    n_negative, n_tie (seeds where a − b > 0, < 0, = 0), sign_p (exact two-sided sign test)}; NaN where
    undefined (t needs n ≥ 2).
    """
    seeds = sorted(s for s in a if s in b and math.isfinite(a[s]) and math.isfinite(b[s]))
    d = np.asarray([a[s] - b[s] for s in seeds], dtype=np.float64)  # (n,)
    nan = float("nan")
    n_pos, n_neg = int(np.sum(d > 0)), int(np.sum(d < 0))
    out = {"n": len(seeds), "seeds": seeds, "diff": float(d.mean()) if len(d) else nan, "sd": nan,
           "ci_low": nan, "ci_high": nan, "t": nan, "df": nan, "p": nan,
           "n_positive": n_pos, "n_negative": n_neg, "n_tie": int(len(d) - n_pos - n_neg),
           "sign_p": sign_test_p(n_pos, n_neg)}
    if len(d) < 2:
        return out
    sd = float(d.std(ddof=1))
    df = len(d) - 1
    out.update(sd=sd, df=float(df))
    se = sd / math.sqrt(len(d))
    if se == 0:
        # Every pair differs by the same amount: no spread to judge the difference against, so the t-test says
        # nothing (p undefined, not 0: identical differences from a handful of seeds are not a certainty).
        # The sign test still counts the seeds.
        out.update(t=nan if out["diff"] == 0 else math.copysign(math.inf, out["diff"]),
                   p=1.0 if out["diff"] == 0 else nan, ci_low=out["diff"], ci_high=out["diff"],
                   constant_difference=out["diff"] != 0)
        return out
    t = out["diff"] / se
    half = t_quantile((1.0 - confidence) / 2.0, df) * se
    out.update(t=float(t), p=t_two_sided_p(t, df), ci_low=out["diff"] - half, ci_high=out["diff"] + half)
    return out


SIGNIFICANCE = 0.05


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (same order): the i-th smallest of m finite p's becomes
    max over j ≤ i of min(1, (m − j + 1)·p_(j)). Non-finite p's stay NaN and do not count in m."""
    finite = sorted((p, i) for i, p in enumerate(p_values) if p is not None and math.isfinite(p))
    adjusted = [float("nan")] * len(p_values)
    running = 0.0
    m = len(finite)
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def compare_family(pairs: Sequence[tuple[Mapping[int, float], Mapping[int, float], bool]]) -> list[tuple[str, dict]]:
    """`compare_paired` for every (a, b, higher_is_better) of one family, their paired-t p's Holm-adjusted over
    the family: each test gets ``p_holm``, and "significant" means p_holm < 0.05."""
    tests = [paired_test(a, b) for a, b, _ in pairs]
    adjusted = holm([t["p"] for t in tests])
    return [compare_paired(a, b, higher, test=dict(test, p_holm=p_holm, family_size=len(pairs)))
            for (a, b, higher), test, p_holm in zip(pairs, tests, adjusted)]


def compare_paired(a: Mapping[int, float], b: Mapping[int, float], higher_is_better: bool = True,
                   test: dict | None = None) -> tuple[str, dict]:
    """A one-phrase verdict on ``a`` vs ``b`` paired by seed, and the numbers behind it (`paired_test` plus
    ``direction``: better | worse | none, ``significant``, ``n_better``, ``n_worse``).

    Significance is the paired t-test's: its Holm-adjusted p below 0.05 when the comparison is one of a family
    (``test`` from `compare_family`, with ``p_holm``), its raw p otherwise. The sign test is reported beside
    it (with 3 seeds it cannot go below 0.25, with 6 not below 0.031). The phrase follows the counts: a
    difference that goes the same way in every seed is never called "no evidence"; when not significant it
    says how many seeds went each way.
    """
    test = paired_test(a, b) if test is None else test
    n = test["n"]
    better_sign = 1 if higher_is_better else -1
    n_better = test["n_positive"] if better_sign > 0 else test["n_negative"]
    n_worse = test["n_negative"] if better_sign > 0 else test["n_positive"]
    test.update(n_better=n_better, n_worse=n_worse, direction="none", significant=False)
    if n < 2:
        return f"too few paired seeds to compare ({n})", test
    judged_p = test.get("p_holm", test["p"])
    significant = judged_p is not None and math.isfinite(judged_p) and judged_p < SIGNIFICANCE
    if test["n_tie"] == n:
        return f"no difference in {n} paired seeds", test
    direction = ("better" if (test["diff"] > 0) == higher_is_better else "worse") if test["diff"] != 0 else (
        "better" if n_better > n_worse else "worse")
    majority = n_better if direction == "better" else n_worse
    counts = f"{direction} in {majority}/{n} seeds"
    holm_text = f", Holm p = {test['p_holm']:.2g} over {test['family_size']}" if "p_holm" in test else ""
    t_text = ("every seed differs by the same amount (no spread: t-test undefined)"
              if test.get("constant_difference") else f"paired t p = {test['p']:.2g}{holm_text}")
    numbers = (f"mean difference {test['diff']:+.3g} [95% CI {test['ci_low']:+.3g}, {test['ci_high']:+.3g}], "
               f"{t_text}, sign test p = {test['sign_p']:.2g}")
    test.update(direction=direction, significant=significant)
    if significant:
        return f"{direction}, significant: {counts} ({numbers})", test
    if majority == n:
        return f"{counts} — consistent, but not significant with {n} pairs ({numbers})", test
    if majority > n / 2:
        return f"{counts}, not significant ({numbers})", test
    return f"no consistent difference: better in {n_better}, worse in {n_worse} of {n} seeds ({numbers})", test
