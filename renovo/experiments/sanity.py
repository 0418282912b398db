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
logs the same losses without their gradient), "decreases" is judged against it at the end, on the fixed
validation set: PASS needs the run's validation value of the loss at the last validation both runs made
to lie at least ``MIN_FALL_BEYOND_CONTROL`` (relative) below the control's. The fall from the loss's
switch-on (its first step with weight > 0) to the end, beside the control's over the same steps, is
printed too but not judged: a loss that another term pushed up before its own switch-on (the spectrum
term raises the precursor loss) "falls" by recovering, without ending any better. Without a control, a
loss that falls under cross-entropy alone (the precursor loss does: a better model predicts better
masses) passes for the wrong reason.
"""
from __future__ import annotations

import math
from pathlib import Path

from renovo.train.metrics_log import read_metrics


#: A loss "decreases" only if its late-window mean is at least this fraction below the early one.
MIN_RELATIVE_DECREASE = 0.01
#: With a control run: the run's final validation value must lie at least this fraction below the control's.
MIN_FALL_BEYOND_CONTROL = 0.05


def end_below_control(run: dict, control: dict, key: str) -> dict | None:
    """The validation value of ``key`` (e.g. ``val/precursor``) at the last validation step both ``run`` and
    ``control`` ({step: {column: value}}) made: {step, run, control, below: (control − run) / control, the
    fraction by which the run ends below the control}; None without a common validation."""
    common = [s for s, m in run.items() if key in m and key in control.get(s, {})
              and math.isfinite(m[key]) and math.isfinite(control[s][key])]
    if not common:
        return None
    step = common[-1]
    a, b = run[step][key], control[step][key]
    return {"step": step, "run": a, "control": b, "below": (b - a) / b if b else float("nan")}


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


def _judged_against_control(metrics: dict, train: dict, control: dict, key: str, weight_key: str,
                            window_fraction: float) -> tuple[bool, str]:
    """(PASS, the rest of the criterion's line) for one auxiliary loss judged against the control run."""
    end = end_below_control(metrics, control, key.replace("train/", "val/"))
    measured = controlled_change(train, control, key, weight_key, window_fraction)
    if end is None:
        return False, "beyond the control: no validation step common to run and control"
    ok = end["below"] >= MIN_FALL_BEYOND_CONTROL
    line = (f"beyond the control: validation value at step {end['step']} {end['run']:.4f} vs {end['control']:.4f} "
            f"under cross-entropy alone, {end['below']:+.1%} below the control (needs ≥ {MIN_FALL_BEYOND_CONTROL:.0%})")
    if measured is not None:
        line += (f"; from its switch-on at step {measured['switch_on']} (training steps {measured['steps'][0]}–"
                 f"{measured['steps'][1]}) {measured['run_change']:+.1%} vs the control's "
                 f"{measured['control_change']:+.1%}, not judged")
    return ok, line


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
            ok, line = _judged_against_control(metrics, dict(train), control, key, weight_key, window_fraction)
            results.append(ok)
            lines.append(f"[{'PASS' if ok else 'FAIL'}] {label} {line}  [{proposal_says}]")
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
