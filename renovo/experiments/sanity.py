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

With a control run (``control_dir``: a `ce_only` run of the same seed, from the same warm start, which
logs the same losses without their gradient), "decreases" is judged against it: each auxiliary loss's
change is measured from its switch-on step (its first step with weight > 0) to the end — the first vs
the last 10% of the logged steps from there — in both runs over the same steps, and PASS needs the run's
fall to exceed the control's by at least ``MIN_FALL_BEYOND_CONTROL`` of the starting value. Without a
control, a loss that falls under cross-entropy alone (the precursor loss does: a better model predicts
better masses) passes for the wrong reason.
"""
from __future__ import annotations

import math
from pathlib import Path

from renovo.train.metrics_log import read_metrics


#: A loss "decreases" only if its late-window mean is at least this fraction below the early one.
MIN_RELATIVE_DECREASE = 0.01
#: With a control run: the run's relative fall must exceed the control's by at least this much.
MIN_FALL_BEYOND_CONTROL = 0.05


def controlled_change(run: dict, control: dict, key: str, weight_key: str, window_fraction: float = 0.1) -> dict | None:
    """The relative change of ``key`` from the switch-on of ``weight_key`` (first step with weight > 0) to the
    end, in ``run`` and over the same steps in ``control`` (both {step: {column: value}}); None when the
    weight never switches on or too few common steps are logged. Keys: switch_on, steps, run_change,
    control_change (fractions, negative = fell), beyond (control_change − run_change: the extra fall)."""
    on = next((s for s, m in run.items() if m.get(weight_key, 0.0) > 0 and key in m), None)
    if on is None:
        return None
    steps = [s for s, m in run.items() if s >= on and key in m and key in control.get(s, {})]
    if len(steps) < 4:
        return None
    n = max(2, int(len(steps) * window_fraction))

    def change(rows: dict) -> float:
        a, b = _mean([rows[s][key] for s in steps[:n]]), _mean([rows[s][key] for s in steps[-n:]])
        return (b - a) / a if a else float("nan")

    run_change, control_change = change(run), change(control)
    return {"switch_on": on, "steps": (steps[0], steps[-1]), "run_change": run_change,
            "control_change": control_change, "beyond": control_change - run_change}


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


# long function: one criterion after another, each a few lines of measurement and one line of text.
def sanity_report(run_dir: str | Path, window_fraction: float = 0.1,
                  control_dir: str | Path | None = None) -> tuple[str, bool]:
    """(report text, all criteria passed) for the run in ``run_dir``; judged against the control run in
    ``control_dir`` (same seed and warm start, cross-entropy alone) when given."""
    metrics = read_metrics(Path(run_dir) / "metrics.csv")
    control = read_metrics(Path(control_dir) / "metrics.csv") if control_dir is not None else None
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

    # 2./3. Spectrum and precursor losses decrease (beyond the control when there is one).
    for key, weight_key, label, proposal_says in (
        ("train/spectrum", "train/w_spectrum", "Spectrum loss decreases", "proposal: starts ~1.5, should drop to ~0.8"),
        ("train/precursor", "train/w_precursor", "Precursor loss decreases",
         "proposal: starts ~0.8, should drop to ~0.4"),
    ):
        if not any(key in m for _, m in train):
            results.append(False)
            lines.append(f"[FAIL] {label}: not logged (loss type none?)")
            continue
        if control is not None:
            measured = controlled_change(dict(train), control, key, weight_key, window_fraction)
            if measured is None:
                results.append(False)
                lines.append(f"[FAIL] {label}: no switch-on, or too few steps logged in both run and control")
                continue
            ok = measured["beyond"] >= MIN_FALL_BEYOND_CONTROL
            results.append(ok)
            lines.append(f"[{'PASS' if ok else 'FAIL'}] {label} beyond the control: from its switch-on at step "
                         f"{measured['switch_on']} (steps {measured['steps'][0]}–{measured['steps'][1]}) "
                         f"{measured['run_change']:+.1%} vs {measured['control_change']:+.1%} under cross-entropy "
                         f"alone: {measured['beyond']:+.1%} beyond the control (needs ≥ "
                         f"{MIN_FALL_BEYOND_CONTROL:.0%})  [{proposal_says}]")
            continue
        a, b = window(early, key), window(late, key)
        ok, t = decreased([m[key] for _, m in early if key in m], [m[key] for _, m in late if key in m])
        results.append(ok)
        change = (b - a) / a * 100 if a else float("nan")
        lines.append(f"[{'PASS' if ok else 'FAIL'}] {label}: early mean {a:.4f} → late mean {b:.4f} "
                     f"({change:+.1f}%, {t:.1f} standard errors; a decrease needs a fall ≥ {MIN_RELATIVE_DECREASE:.0%}; "
                     f"no control run: a fall under cross-entropy alone would pass too)  [{proposal_says}]")

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
