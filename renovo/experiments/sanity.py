"""The proposal's Phase 1 sanity check, judged from a run's logged numbers (metrics.csv).

Criteria (the proposal's "Phase 1: Sanity Check", docs/background.md): no NaN losses; the spectrum loss
decreases; the precursor loss decreases; cross-entropy stays the primary
signal. "Decreases" compares the mean of the first 10% of logged training
steps with the mean of the last 10%, and asks for a fall of at least
``MIN_RELATIVE_DECREASE`` (a 0.03% drift of a flat loss is not a decrease);
the fall's size in standard errors (Welch t) is printed beside it, since the
early window often holds the fast initial transient; "primary" means CE exceeds each
*weighted* physics term (w · loss, what enters the total) at every logged
step. The proposal's expected magnitudes (spectrum ~1.5 → ~0.8, precursor ~0.8 →
~0.4, CE ~2.0–2.5) are printed beside the observed ones but not judged: the
cosine loss lies in [0, 1] (docs/background.md §4), so "starts ~1.5" cannot happen.
"""
from __future__ import annotations

import math
from pathlib import Path

from renovo.train.metrics_log import read_metrics


#: A loss "decreases" only if its late-window mean is at least this fraction below the early one.
MIN_RELATIVE_DECREASE = 0.01


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _standard_error_of_difference(a: list[float], b: list[float]) -> float:
    def variance(values):
        if len(values) < 2:
            return 0.0
        mean = _mean(values)
        return sum((v - mean) ** 2 for v in values) / (len(values) - 1)

    return math.sqrt(variance(a) / max(len(a), 1) + variance(b) / max(len(b), 1))


def decreased(early: list[float], late: list[float]) -> tuple[bool, float]:
    """(late mean below early mean by ≥ MIN_RELATIVE_DECREASE, the fall in standard errors)."""
    a, b = _mean(early), _mean(late)
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0:
        return False, float("nan")
    fall = a - b
    error = _standard_error_of_difference(early, late)
    t = fall / error if error > 0 else (math.inf if fall > 0 else -math.inf if fall < 0 else 0.0)
    return fall >= MIN_RELATIVE_DECREASE * a, t


def sanity_report(run_dir: str | Path, window_fraction: float = 0.1) -> tuple[str, bool]:
    """(report text, all criteria passed) for the run in ``run_dir``."""
    metrics = read_metrics(Path(run_dir) / "metrics.csv")
    train = [(s, m) for s, m in metrics.items() if "train/ce" in m]
    if len(train) < 4:
        return f"sanity check: only {len(train)} logged training steps in {run_dir}; train longer", False
    n = max(2, int(len(train) * window_fraction))
    early, late = train[:n], train[-n:]
    span = lambda rows: f"steps {rows[0][0]}–{rows[-1][0]}"  # noqa: E731

    def window(rows, key):
        return _mean([m[key] for _, m in rows if key in m])

    lines = [
        f"Phase 1 sanity check (proposal's criteria) — {run_dir}",
        f"  {len(train)} logged training steps (last step {train[-1][0]}); early window = first {n} "
        f"({span(early)}), late window = last {n} ({span(late)})",
    ]
    results = []

    # 1. No NaN.
    keys = ("train/ce", "train/spectrum", "train/precursor", "train/total")
    nonfinite = sum(1 for _, m in train for k in keys if k in m and not math.isfinite(m[k]))
    skipped = int(sum(m.get("nan_guard/skipped", 0.0) for _, m in train))
    ok = nonfinite == 0 and skipped == 0
    results.append(ok)
    lines.append(f"[{'PASS' if ok else 'FAIL'}] No NaN losses: {nonfinite} non-finite logged loss values, "
                 f"{skipped} optimizer steps skipped by the NaN guard")

    # 2./3. Spectrum and precursor losses decrease.
    for key, label, proposal_says in (
        ("train/spectrum", "Spectrum loss decreases", "proposal: starts ~1.5, should drop to ~0.8"),
        ("train/precursor", "Precursor loss decreases", "proposal: starts ~0.8, should drop to ~0.4"),
    ):
        if not any(key in m for _, m in train):
            results.append(False)
            lines.append(f"[FAIL] {label}: not logged (loss type none?)")
            continue
        a, b = window(early, key), window(late, key)
        ok, t = decreased([m[key] for _, m in early if key in m], [m[key] for _, m in late if key in m])
        results.append(ok)
        change = (b - a) / a * 100 if a else float("nan")
        lines.append(f"[{'PASS' if ok else 'FAIL'}] {label}: early mean {a:.4f} → late mean {b:.4f} "
                     f"({change:+.1f}%, {t:.1f} standard errors; a decrease needs a fall ≥ {MIN_RELATIVE_DECREASE:.0%})  "
                     f"[{proposal_says}]")

    # 4. CE stays the largest term.
    worst = math.inf
    worst_step = None
    for step, m in train:
        terms = [m.get("train/w_spectrum", 0.0) * m.get("train/spectrum", 0.0),
                 m.get("train/w_precursor", 0.0) * m.get("train/precursor", 0.0)]
        largest = max(terms)
        ratio = m["train/ce"] / largest if largest > 0 else math.inf
        if ratio < worst:
            worst, worst_step = ratio, step
    ce_a, ce_b = window(early, "train/ce"), window(late, "train/ce")
    spec_w = window(late, "train/w_spectrum") * window(late, "train/spectrum") if any(
        "train/spectrum" in m for _, m in late) else 0.0
    prec_w = window(late, "train/w_precursor") * window(late, "train/precursor") if any(
        "train/precursor" in m for _, m in late) else 0.0
    ok = worst > 1.0
    results.append(ok)
    worst_text = "physics weights were 0 throughout" if worst_step is None else (
        f"smallest CE / largest weighted physics term = {worst:.1f} at step {worst_step}")
    lines.append(
        f"[{'PASS' if ok else 'FAIL'}] CE loss stays the primary signal: CE early {ce_a:.3f} → late {ce_b:.3f}; "
        f"late weighted terms: spectrum {spec_w:.4f}, precursor {prec_w:.4f}; {worst_text}  [proposal: CE stays ~2.0–2.5]"
    )

    val = [(s, m) for s, m in metrics.items() if "val/ce" in m]
    if len(val) >= 2:
        (s0, v0), (s1, v1) = val[0], val[-1]
        parts = [f"{k.split('/')[1]} {v0[k]:.4f} → {v1[k]:.4f}"
                 for k in ("val/ce", "val/spectrum", "val/precursor", "val/token_acc", "val/peptide_acc")
                 if k in v0 and k in v1]
        lines.append(f"  validation (step {s0} → {s1}): " + ", ".join(parts))
    passed = all(results)
    lines.append(f"Sanity check: {'PASS' if passed else 'FAIL'} ({sum(results)}/{len(results)} criteria)")
    return "\n".join(lines), passed
