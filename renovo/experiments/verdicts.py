"""The verdicts of a plan's report: one cautious verdict per hypothesis of the
Gaussian rendering proposal (docs/background.md), from `metrics_io.aggregate`.

Each hypothesis has its own function returning ``{hypothesis, verdict, detail}``;
`verdicts` runs those that apply. A difference between configs is called only
by `stability.compare_family`: configs paired by seed (same initial weights and data order), paired t-test
with its p Holm-adjusted over the family of comparisons it belongs to (a plan's accuracy comparisons at one
read-out; its auxiliary losses against the control; its spike counts), the sign test beside it; the wording
follows the counts of seeds going each way.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from renovo.experiments.metrics_io import by_seed, fmt, label, readout_prefix, stat
from renovo.experiments.sanity import MIN_FALL_BEYOND_CONTROL, MIN_RELATIVE_DECREASE
from renovo.experiments.stability import compare_family, holm, paired_test

#: The accuracy metrics every plan compares: (key, words, higher is better).
ACCURACY_METRICS = (("val/token_acc", "token accuracy (teacher-forced)", True), ("val/ce", "validation CE", False),
                    ("val/aa_precision", "AA precision", True), ("val/peptide_recall", "peptide recall", True))


def readouts(plan) -> list[tuple[str, str]]:
    """(name, metric prefix) of each read-out: the plan's read-out steps, then the end of the runs."""
    return [(f"step {step:,}", readout_prefix(step)) for step in plan.readout_steps] + [("end", "")]


def accuracy_comparisons(plan, agg: Mapping) -> list[dict]:
    """Every (candidate, reference) pair × accuracy metric × read-out, paired by seed; one family per read-out
    (the paired t-test p's Holm-adjusted over the family)."""
    out = []
    for readout, prefix in readouts(plan):
        pairs, rows = [], []
        for a, b in plan.comparisons:
            for key, _, higher in ACCURACY_METRICS:
                sa, sb = stat(agg, a, prefix + key), stat(agg, b, prefix + key)
                if not sa or not sb or max(abs(v) for v in sa["values"] + sb["values"]) == 0:
                    continue  # absent, or 0 in every run (decoded metrics of a model that does not read spectra)
                pairs.append((by_seed(sa), by_seed(sb), higher))
                rows.append({"readout": readout, "candidate": a, "reference": b, "metric": key,
                             "mean_a": sa["mean"], "sd_a": sa["sd"], "mean_b": sb["mean"], "sd_b": sb["sd"]})
        for row, (phrase, test) in zip(rows, compare_family(pairs)):
            out.append({**row, "verdict": phrase, **test})
    return out


def _loss_config(runs: Sequence[dict], config: str, key: str):
    """The ``loss.<key>`` section of a config's first finished run (what its logged loss measures)."""
    return next((r.get("loss_config", {}).get(key) for r in runs if r["config"] == config and r["status"] == "done"),
                None)


def verdicts(plan, runs: Sequence[dict], agg: Mapping, comparisons: Sequence[dict] | None = None) -> list[dict]:
    """One cautious verdict per hypothesis of the proposal: {hypothesis, verdict, detail}; ``comparisons``:
    `accuracy_comparisons` (computed when not given)."""
    configs = [c for c in plan.configs if agg.get(c)]
    if not configs:
        return [{"hypothesis": "all", "verdict": "no finished runs: nothing to judge", "detail": ""}]
    done = [r for r in runs if r["status"] == "done"]
    physics = [c for c in configs if any(r.get("has_physics") for r in done if r["config"] == c)]
    controls = [c for c in configs if c not in physics]
    out = [
        stable_training(plan, runs, agg, configs),
        auxiliary_losses_decrease(runs, agg, physics, controls),
        ce_stays_primary(agg, physics),
        better_final_accuracy(plan, accuracy_comparisons(plan, agg) if comparisons is None else comparisons),
    ]
    if plan.factorial:
        out.append(factorial_effects(plan, agg))
    if plan.sanity:
        out.append(sanity_check(done, agg))
    return out


def stable_training(plan, runs: Sequence[dict], agg: Mapping, configs: Sequence[str]) -> dict:
    """No NaN, no skipped step, no loss spike; spikes compared between the plan's config pairs."""
    done = [r for r in runs if r["status"] == "done"]
    nonfinite = {c: sum(stat(agg, c, "stability/nonfinite")["values"]) if stat(agg, c, "stability/nonfinite") else 0
                 for c in configs}
    skipped = {c: sum(stat(agg, c, "stability/skipped")["values"]) if stat(agg, c, "stability/skipped") else 0
               for c in configs}
    failed = [r["name"] for r in runs if r["status"] == "failed"]
    unstable = [c for c in configs if nonfinite[c] or skipped[c]]
    parts = [f"{label(c)}: {int(nonfinite[c])} non-finite, {int(skipped[c])} skipped, "
             f"spikes per run: total loss {fmt(stat(agg, c, 'stability/spikes_total'), 1)} (of which within 50 steps "
             f"after a scheduled weight change {fmt(stat(agg, c, 'stability/spikes_total_at_switch'), 1)}), "
             f"CE {fmt(stat(agg, c, 'stability/spikes_ce'), 1)}" for c in configs]
    spiky = [c for c in configs if stat(agg, c, "stability/spikes_total") and stat(agg, c, "stability/spikes_total")["mean"] > 0]
    if unstable:
        verdict = "not supported for " + ", ".join(map(label, unstable)) + " (non-finite losses or skipped steps)"
    else:
        verdict = (f"supported at this scale: no non-finite loss and no skipped step in any of the {len(done)} "
                   "finished runs")
    if spiky:
        verdict += "; loss spikes in " + ", ".join(
            f"{label(c)} ({fmt(stat(agg, c, 'stability/spikes_total'), 1)} per run, "
            f"{fmt(stat(agg, c, 'stability/spikes_total_at_switch'), 1)} of them within 50 steps after a scheduled "
            "weight change)"
            for c in spiky)
        quiet = [c for c in configs if c not in spiky]
        if quiet:
            verdict += "; none in " + ", ".join(map(label, quiet))
    else:
        verdict += "; no loss spike in any run"
    if failed:
        verdict += f"; {len(failed)} run(s) failed ({', '.join(failed)})"
    detail = "; ".join(parts)
    pairs = [(a, b) for a, b in plan.comparisons
             if stat(agg, a, "stability/spikes_total") and stat(agg, b, "stability/spikes_total")]
    tested = compare_family([(by_seed(stat(agg, a, "stability/spikes_total")),
                              by_seed(stat(agg, b, "stability/spikes_total")), False) for a, b in pairs])
    for (a, b), (phrase, _) in zip(pairs, tested):
        detail += f"; spikes {label(a)} vs {label(b)}: {phrase}"
    return ({"hypothesis": "Stable training (no NaN, no spikes)", "verdict": verdict, "detail": detail})


def auxiliary_losses_decrease(runs: Sequence[dict], agg: Mapping, physics: Sequence[str],
                              controls: Sequence[str]) -> dict:
    """Do the spectrum and precursor losses decrease beyond cross-entropy alone? Judged at the end, on the
    fixed validation set: a loss decreases beyond the control only if its final validation value lies below the
    control's (a config without physics weight, which logs the same loss without its gradient), paired by seed,
    Holm over the family of these comparisons. The fall of the training loss (first vs last 10% of logged
    steps) is reported as detail, not judged: a loss another term pushed up first can fall by recovering."""
    bits, small, rose = [], [], []
    for c in physics:
        for key in ("spectrum", "precursor"):
            change = stat(agg, c, f"loss/{key}_change_pct")
            if not change:
                continue
            fell = sum(1 for v in change["values"] if v < 0)
            early, late = stat(agg, c, f"loss/{key}_early"), stat(agg, c, f"loss/{key}_late")
            bits.append(f"training {label(c)} {key} {fmt(early, 3)} → {fmt(late, 3)} ({fmt(change, 1)}%, fell in "
                        f"{fell}/{change['n']} seeds)")
            if abs(change["mean"]) < 100 * MIN_RELATIVE_DECREASE:
                small.append(f"{label(c)} {key}")
            elif fell < change["n"] and change["mean"] > 0:
                rose.append(f"{label(c)} {key} ({change['mean']:+.0f}%, rose in {change['n'] - fell}/{change['n']} seeds)")
    names, pairs, incomparable = [], [], []
    for c in physics:
        for ctrl in _same_architecture(runs, c, controls):
            for key in ("spectrum", "precursor"):
                a, b = stat(agg, c, f"val/{key}"), stat(agg, ctrl, f"val/{key}")
                if not a or not b:
                    continue
                if _loss_config(runs, c, key) != _loss_config(runs, ctrl, key):
                    incomparable.append(f"{label(c)} {key} (the control logs a different {key} loss)")
                    continue
                names.append((c, ctrl, key))
                pairs.append((by_seed(a), by_seed(b), False))
    tested = compare_family(pairs)
    below = [f"{label(c)} {key}" for (c, _, key), (_, t) in zip(names, tested) if t["significant"] and t["direction"] == "better"]
    above = [f"{label(c)} {key}" for (c, _, key), (_, t) in zip(names, tested) if t["significant"] and t["direction"] == "worse"]
    undecided = [_compact_end(f"{label(c)} {key}", t) for (c, _, key), (_, t) in zip(names, tested)
                 if not t["significant"]]
    end_bits = [f"final validation {label(c)} vs {label(ctrl)} {key}: {fmt(stat(agg, c, f'val/{key}'), 4)} vs "
                f"{fmt(stat(agg, ctrl, f'val/{key}'), 4)} → {phrase}"
                for (c, ctrl, key), (phrase, _) in zip(names, tested)]
    if not physics:
        verdict = "not applicable: no config in this plan turns a physics loss on"
    elif not bits and not names:
        verdict = "not measurable: no physics loss was logged"
    elif not names:
        verdict = ("not judged against cross-entropy alone (no control config logs the same losses); training "
                   "losses: " + "; ".join(bits))
    else:
        word = "supported" if below and len(below) == len(names) else ("partly supported" if below else "not supported")
        verdict = f"{word} at the end, against cross-entropy alone (final validation value, paired, Holm)"
        parts = []
        if below:
            parts.append("ends below the control for " + ", ".join(below))
        if above:
            parts.append("ends ABOVE the control for " + ", ".join(above))
        if undecided:
            parts.append("not distinguishable from the control for " + ", ".join(undecided))
        verdict += ": " + " · ".join(parts)
        if incomparable:
            verdict += "; not comparable: " + ", ".join(incomparable)
        if rose:
            verdict += f"; the training loss ROSE for {', '.join(rose)}"
        if small:
            verdict += (f"; the training loss changed by under {100 * MIN_RELATIVE_DECREASE:.0f}% for "
                        f"{', '.join(small)}")
    return ({"hypothesis": "Auxiliary losses decrease", "verdict": verdict,
             "detail": "; ".join(end_bits + bits)})


def _same_architecture(runs: Sequence[dict], config: str, controls: Sequence[str]) -> list[str]:
    """The controls whose model reads the same inputs as ``config``'s (ion evidence or not): a loss is judged
    against cross-entropy alone on the same architecture."""
    def kind(c):
        return next((r.get("ion_evidence") for r in runs if r["config"] == c and r["status"] == "done"), None)
    return [ctrl for ctrl in controls if kind(ctrl) == kind(config)]


def _compact_end(what: str, test: dict) -> str:
    """A few words on a loss's final validation value against the control's, not significant."""
    n = test["n"]
    if test["direction"] == "better":
        return f"{what} (lower in {test['n_better']}/{n} seeds)"
    if test["direction"] == "worse":
        return f"{what} (higher in {test['n_worse']}/{n} seeds)"
    return f"{what} ({n} seeds)"


#: Share metrics, most telling first: (metric suffix, what it is in words).
SHARES = (("adamw_step_share", "share of the AdamW step's first-order loss decrease"),
          ("gradient_share", "share of the summed gradient (one batch's signed projection, not the optimizer step)"))


def ce_stays_primary(agg: Mapping, physics: Sequence[str]) -> dict:
    """CE stays the primary signal: in loss value (the proposal's criterion) and in the update — each term's share
    of the step AdamW took when the runs logged it, else its share of the summed gradient, else raw norms."""
    bits, value_fail, grad_dominant, share_dominant, share_used = [], [], [], [], None
    for c in physics:
        primary = stat(agg, c, "primary/ce_over_weighted_min")
        if primary:
            low = min(primary["values"])
            if low <= 1.0:
                value_fail.append(f"{label(c)} (CE / largest weighted term down to {low:.2f})")
            bits.append(f"{label(c)}: smallest CE / largest weighted physics term {low:.1f}")
        stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
        if not stages:
            continue
        last = stages[-1]
        ce = stat(agg, c, f"gradflow/stage{last}/ce_norm")
        for key in ("spectrum", "precursor"):
            for suffix, words in SHARES:
                ce_share = stat(agg, c, f"gradflow/stage{last}/ce_{suffix}")
                share = stat(agg, c, f"gradflow/stage{last}/{key}_{suffix}")
                if not (ce_share and share):
                    continue
                share_used = share_used or words
                if share["mean"] >= ce_share["mean"]:
                    share_dominant.append(f"{label(c)} {key} ({share['mean']:.0%} vs CE's {ce_share['mean']:.0%})")
                bits.append(f"{label(c)} last stage, {words}: CE {ce_share['mean']:.0%}, {key} {share['mean']:.0%}")
                break
            w = stat(agg, c, f"gradflow/stage{last}/{key}_weighted_norm")
            cos = stat(agg, c, f"gradflow/stage{last}/{key}_cos_ce")
            if ce and w and ce["mean"] > 0:
                ratio = w["mean"] / ce["mean"]
                if ratio > 1.0:
                    grad_dominant.append(f"{label(c)} {key} ({ratio:.1f}× ‖∇CE‖)")
                bits.append(f"{label(c)} last stage: w·‖∇{key}‖ / ‖∇CE‖ = {ratio:.2f}, "
                            f"cos(∇{key}, ∇CE) = {fmt(cos, 2)}")
    if not physics:
        return {"hypothesis": "CE stays the primary signal", "verdict": "not applicable: no physics loss has weight",
                "detail": ""}
    in_value = "supported" if not value_fail else "NOT supported"
    verdict = (f"in loss value {in_value}" + ("" if not value_fail else " for " + ", ".join(value_fail)
                                             + ": a weighted physics term exceeded CE at some logged step"))
    if share_used:
        in_update = "NOT supported" if share_dominant else "supported"
        verdict += (f"; in the update {in_update} ({share_used}, last curriculum stage)"
                    + (": " + ", ".join(share_dominant) + " at least as large as CE's" if share_dominant else
                       ": CE's share is the largest"))
    elif grad_dominant:
        verdict += ("; in gradient norm NOT supported: in the last curriculum stage the weighted raw gradient norm of "
                    + ", ".join(grad_dominant) + " exceeds CE's (raw gradients before clipping, not the update)")
    elif any("last stage" in b for b in bits):
        verdict += "; in gradient norm too: every weighted raw physics gradient norm is below CE's in the last stage"
    return {"hypothesis": "CE stays the primary signal", "verdict": verdict, "detail": "; ".join(bits)}


def better_final_accuracy(plan, comparisons: Sequence[dict]) -> dict:
    """Validation accuracy and CE of each (candidate, reference) pair of the plan, paired by seed, at each
    read-out (`accuracy_comparisons`: Holm over each read-out's family)."""
    if not plan.comparisons:
        return {"hypothesis": "Better final accuracy", "verdict": "not tested by this plan (no comparison)",
                "detail": ""}
    words = {key: metric for key, metric, _ in ACCURACY_METRICS}
    parts, consistent, bits = [], [], []
    for readout, _ in readouts(plan):
        chosen = [c for c in comparisons if c["readout"] == readout]
        if not chosen:
            continue
        significant = []
        for c in chosen:
            short = (f"{label(c['candidate'])} vs {label(c['reference'])} {words[c['metric']]}: {c['direction']} in "
                     f"{max(c['n_better'], c['n_worse'])}/{c['n']} seeds")
            bits.append(f"{readout}: {label(c['candidate'])} vs {label(c['reference'])} {words[c['metric']]}: "
                        f"{c['mean_a']:.4g} vs {c['mean_b']:.4g} → {c['verdict']}")
            if c["significant"]:
                significant.append(f"{short}, Holm p = {c['p_holm']:.2g}")
            elif c["n"] >= 2 and max(c["n_better"], c["n_worse"]) == c["n"]:
                consistent.append(f"{readout}: {short}")
        parts.append(f"at {readout}: {len(significant)} of {len(chosen)} comparisons significant after Holm"
                     + (f" ({' · '.join(significant)})" if significant else ""))
    verdict = " | ".join(parts) if parts else "no finished pair to compare"
    if consistent:
        verdict += "; the same direction in every seed but not significant: " + ", ".join(consistent)
    return {"hypothesis": "Better final accuracy", "verdict": verdict, "detail": "; ".join(bits)}


def factorial_effects(plan, agg: Mapping) -> dict:
    """A 2 × 2 design (``plan.factorial``: two factors, their levels, the config of each cell) analysed as one:
    per seed, each factor's main effect (the mean over the other factor's levels of level 1 − level 2) and the
    interaction (the first factor's effect at the second factor's level 1 minus at its level 2), each tested
    against 0 over seeds (paired t), Holm over the metrics × 3 effects family."""
    f = plan.factorial
    (name_a, name_b), levels, cells = f["factors"], f["levels"], f["cells"]
    (a1, a2), (b1, b2) = levels
    keys = [(key, metric, higher) for key, metric, higher in ACCURACY_METRICS[:2]]
    tests, names, bits = [], [], []
    for key, metric, _ in keys:
        values = [[by_seed(stat(agg, cells[i][j], key)) for j in range(2)] for i in range(2)]
        seeds = sorted(set.intersection(*(set(v) for row in values for v in row)))
        if len(seeds) < 2:
            continue
        x = {s: [[values[i][j][s] for j in range(2)] for i in range(2)] for s in seeds}
        effects = {
            f"{name_a} ({a1} − {a2})": {s: (v[0][0] + v[0][1] - v[1][0] - v[1][1]) / 2 for s, v in x.items()},
            f"{name_b} ({b1} − {b2})": {s: (v[0][0] + v[1][0] - v[0][1] - v[1][1]) / 2 for s, v in x.items()},
            "interaction": {s: (v[0][0] - v[0][1]) - (v[1][0] - v[1][1]) for s, v in x.items()},
        }
        for effect, per_seed in effects.items():
            tests.append(paired_test(per_seed, {s: 0.0 for s in per_seed}))
            names.append((metric, effect))
    adjusted = holm([t["p"] for t in tests])
    findings = []
    for (metric, effect), t, p_holm in zip(names, tests, adjusted):
        bits.append(f"{metric}, {effect}: {t['diff']:+.4f} [95% CI {t['ci_low']:+.4f}, {t['ci_high']:+.4f}] over "
                    f"{t['n']} seeds, paired t p = {t['p']:.2g}, Holm p = {p_holm:.2g}")
        if p_holm < 0.05:
            findings.append(f"{metric} {effect} {t['diff']:+.4f} (Holm p = {p_holm:.2g})")
    if not tests:
        verdict = "not measurable: fewer than 2 seeds with all four cells"
    else:
        verdict = ("significant effects: " + "; ".join(findings)) if findings else "no effect significant after Holm"
        inter = [b for b in bits if "interaction" in b]
        verdict += "; interaction: " + "; ".join(inter)
    cell_text = ", ".join(f"{name_a} {levels[0][i]} × {name_b} {levels[1][j]} = `{label(cells[i][j])}`"
                          for i in range(2) for j in range(2))
    return {"hypothesis": f"2 × 2: {name_a} × {name_b}", "verdict": verdict,
            "detail": f"cells: {cell_text}; " + "; ".join(bits)}


def sanity_check(done: Sequence[dict], agg: Mapping | None = None) -> dict:
    """The Phase 1 sanity check (`renovo.experiments.sanity`) over the finished runs; with a control, also
    over the seeds: each auxiliary loss passes when its mean fall beyond the control is at least
    ``MIN_FALL_BEYOND_CONTROL`` and its 95% interval over seeds lies above 0 (larger than seed-to-seed noise)."""
    judged = [r for r in done if "sanity" in r]
    passed = [r for r in judged if r["sanity"]["passed"]]
    fails = sorted({line.split("]", 1)[1].split(":")[0].strip() for r in judged
                    for line in r["sanity"]["text"].splitlines() if line.startswith("[FAIL]")})
    verdict = f"PASS in {len(passed)}/{len(judged)} seeds" + (f"; failing criteria: {', '.join(fails)}" if fails else "")
    over_seeds = []
    configs = sorted({r["config"] for r in judged})
    for config in configs:
        for key in ("spectrum", "precursor"):
            below = stat(agg or {}, config, f"sanity/{key}_below_control_pct")
            if not below:
                continue
            test = paired_test(by_seed(below), {seed: 0.0 for seed in by_seed(below)})
            margin = 100 * MIN_FALL_BEYOND_CONTROL
            if test["n"] < 2:
                over_seeds.append(f"{label(config)} {key}: ends {test['diff']:+.1f}% below the control in "
                                  "one seed — seed-to-seed noise not measurable")
                continue
            ok = test["diff"] >= margin and test["ci_low"] > 0
            over_seeds.append(
                f"{'PASS' if ok else 'FAIL'} {label(config)} {key}: final validation value {test['diff']:+.1f}% "
                f"below the control's [95% CI {test['ci_low']:+.1f}, {test['ci_high']:+.1f}] over {test['n']} "
                f"seeds ({test['n_positive']} below; needs a mean ≥ {margin:.0f}% and the interval above 0)")
    if over_seeds:
        verdict += "; over seeds: " + "; ".join(over_seeds)
    return ({
        "hypothesis": "Phase 1 sanity check (proposal's criteria)",
        "verdict": verdict,
        "detail": "",
    })
