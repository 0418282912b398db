"""The verdicts of a plan's report: one cautious verdict per hypothesis of the
Gaussian rendering proposal (docs/background.md), from `metrics_io.aggregate`.

Each hypothesis has its own function returning ``{hypothesis, verdict, detail}``;
`verdicts` runs those that apply. A difference between configs is called only
by `stability.compare_paired`: configs paired by seed (same initial weights and data order), paired t-test
and sign test; the wording follows the counts of seeds going each way.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from renovo.experiments.metrics_io import by_seed, fmt, label, stat
from renovo.experiments.sanity import MIN_FALL_BEYOND_CONTROL, MIN_RELATIVE_DECREASE
from renovo.experiments.stability import compare_paired, paired_test


def _loss_config(runs: Sequence[dict], config: str, key: str):
    """The ``loss.<key>`` section of a config's first finished run (what its logged loss measures)."""
    return next((r.get("loss_config", {}).get(key) for r in runs if r["config"] == config and r["status"] == "done"),
                None)


def verdicts(plan, runs: Sequence[dict], agg: Mapping) -> list[dict]:
    """One cautious verdict per hypothesis of the proposal: {hypothesis, verdict, detail}."""
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
        better_final_accuracy(plan, agg),
    ]
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
             f"spikes per run: total loss {fmt(stat(agg, c, 'stability/spikes_total'), 1)} (of which right after a "
             f"curriculum switch {fmt(stat(agg, c, 'stability/spikes_total_at_switch'), 1)}), "
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
            f"{fmt(stat(agg, c, 'stability/spikes_total_at_switch'), 1)} of them right after a curriculum switch)"
            for c in spiky)
        quiet = [c for c in configs if c not in spiky]
        if quiet:
            verdict += "; none in " + ", ".join(map(label, quiet))
    else:
        verdict += "; no loss spike in any run"
    if failed:
        verdict += f"; {len(failed)} run(s) failed ({', '.join(failed)})"
    detail = "; ".join(parts)
    for a, b in plan.comparisons:
        phrase, _ = compare_paired(by_seed(stat(agg, a, "stability/spikes_total")),
                                   by_seed(stat(agg, b, "stability/spikes_total")), higher_is_better=False)
        detail += f"; spikes {label(a)} vs {label(b)}: {phrase}"
    return ({"hypothesis": "Stable training (no NaN, no spikes)", "verdict": verdict, "detail": detail})


def auxiliary_losses_decrease(runs: Sequence[dict], agg: Mapping, physics: Sequence[str],
                              controls: Sequence[str]) -> dict:
    """Do the spectrum and precursor losses fall (first vs last 10% of logged steps), and by more than
    under cross-entropy alone (a control config that logs them without their gradient)?"""
    bits, small, rose = [], [], []
    fell_everywhere = True
    for c in physics:
        for key in ("spectrum", "precursor"):
            change = stat(agg, c, f"loss/{key}_change_pct")
            if not change:
                continue
            fell = sum(1 for v in change["values"] if v < 0)
            fell_everywhere &= fell == change["n"]
            early, late = stat(agg, c, f"loss/{key}_early"), stat(agg, c, f"loss/{key}_late")
            bits.append(f"{label(c)} {key} {fmt(early, 3)} → {fmt(late, 3)} ({fmt(change, 1)}%, fell in "
                        f"{fell}/{change['n']} seeds)")
            if abs(change["mean"]) < 100 * MIN_RELATIVE_DECREASE:
                small.append(f"{label(c)} {key}")
            elif fell < change["n"] and change["mean"] > 0:
                rose.append(f"{label(c)} {key} ({change['mean']:+.0f}%, rose in {change['n'] - fell}/{change['n']} seeds)")
    control_bits = []
    for c in controls:
        for key in ("spectrum", "precursor"):
            change = stat(agg, c, f"loss/{key}_change_pct")
            if change:
                control_bits.append(f"{label(c)} (logged without gradient) {key} {fmt(change, 1)}%")
    if not physics:
        verdict = "not applicable: no config in this plan turns a physics loss on"
    elif not bits:
        verdict = "not measurable: no physics loss was logged"
    else:
        verdict = ("supported in direction: both auxiliary losses fell from the first to the last 10% of logged "
                   "steps in every seed" if fell_everywhere else
                   "partly: not every auxiliary loss fell in every seed")
        if rose:
            verdict += f"; it ROSE for {', '.join(rose)}"
        if small:
            verdict += (f"; the change is under {100 * MIN_RELATIVE_DECREASE:.0f}% (the sanity check's threshold for "
                        f"a decrease) for {', '.join(small)}")
        if control_bits:
            attributable, compact = [], []
            for c in physics:
                for ctrl in controls:
                    for key in ("spectrum", "precursor"):
                        a, b = stat(agg, c, f"loss/{key}_change_pct"), stat(agg, ctrl, f"loss/{key}_change_pct")
                        if a and b and _loss_config(runs, c, key) != _loss_config(runs, ctrl, key):
                            attributable.append(f"{label(c)} vs {label(ctrl)} {key}: not comparable (the control "
                                                "logs a different {key} loss)".replace("{key}", key))
                        elif a and b:
                            phrase, test = compare_paired(by_seed(a), by_seed(b), higher_is_better=False)
                            attributable.append(f"{label(c)} vs {label(ctrl)} {key} change: {phrase}")
                            compact.append(_compact_fall(f"{label(c)} {key}", test))
            verdict += ("; against cross-entropy alone (the control logs the same losses without their "
                        "gradient): " + "; ".join(attributable))
            if compact:
                head, _, tail = verdict.partition("; ")
                verdict = f"{head} — beyond cross-entropy alone: {', '.join(compact)}" + (f"; {tail}" if tail else "")
    return ({"hypothesis": "Auxiliary losses decrease", "verdict": verdict,
                "detail": "; ".join(bits + control_bits)})


def _compact_fall(what: str, test: dict) -> str:
    """A few words on whether a loss fell more than under the control (a paired test of the two changes)."""
    n, better = test["n"], test["n_better"]
    if test["direction"] == "better":
        return f"{what} fell more ({'significant' if test['significant'] else 'not significant'}, {better}/{n} seeds)"
    if test["direction"] == "worse":
        return f"{what} fell less ({'significant' if test['significant'] else 'not significant'}, {test['n_worse']}/{n} seeds)"
    return f"{what} no different ({n} seeds)"


def ce_stays_primary(agg: Mapping, physics: Sequence[str]) -> dict:
    """CE stays the primary signal: in loss value (the proposal's criterion) and in gradient norm."""
    bits, value_fail, grad_dominant, share_dominant, measured_share = [], [], [], [], False
    for c in physics:
        primary = stat(agg, c, "primary/ce_over_weighted_min")
        if primary:
            low = min(primary["values"])
            if low <= 1.0:
                value_fail.append(f"{label(c)} (CE / largest weighted term down to {low:.2f})")
            bits.append(f"{label(c)}: smallest CE / largest weighted physics term {low:.1f}")
        stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
        if stages:
            last = stages[-1]
            ce = stat(agg, c, f"gradflow/stage{last}/ce_norm")
            ce_share = stat(agg, c, f"gradflow/stage{last}/ce_gradient_share")
            for key in ("spectrum", "precursor"):
                share = stat(agg, c, f"gradflow/stage{last}/{key}_gradient_share")
                if ce_share and share:
                    measured_share = True
                    if share["mean"] >= ce_share["mean"]:
                        share_dominant.append(f"{label(c)} {key} ({share['mean']:.0%} of the update vs CE's "
                                              f"{ce_share['mean']:.0%})")
                    bits.append(f"{label(c)} last stage: share of the update CE {ce_share['mean']:.0%}, "
                                f"{key} {share['mean']:.0%}")
                w = stat(agg, c, f"gradflow/stage{last}/{key}_weighted_norm")
                cos = stat(agg, c, f"gradflow/stage{last}/{key}_cos_ce")
                if ce and w and ce["mean"] > 0:
                    ratio = w["mean"] / ce["mean"]
                    if ratio > 1.0:
                        grad_dominant.append(f"{label(c)} {key} ({ratio:.1f}× ‖∇CE‖)")
                    bits.append(f"{label(c)} last stage: w·‖∇{key}‖ / ‖∇CE‖ = {ratio:.2f}, "
                                f"cos(∇{key}, ∇CE) = {fmt(cos, 2)}")
    if not physics:
        verdict = "not applicable: no physics loss has weight"
    else:
        verdict = ("in loss value, supported: CE exceeded every weighted physics term at every logged step of every "
                   "run" if not value_fail else
                   "in loss value, not supported for " + ", ".join(value_fail)
                   + ": a weighted physics term exceeded CE at some logged step")
        if measured_share:
            verdict += ("; in the update, NOT supported: in the last curriculum stage " + ", ".join(share_dominant)
                        + " sets at least as large a share of the (clipped) update as CE" if share_dominant else
                        "; in the update too: CE sets the largest share of the (clipped) update in the last "
                        "curriculum stage (each term's projection on the summed gradient)")
        elif grad_dominant:
            verdict += ("; in gradient norm, NOT supported: in the last curriculum stage the weighted raw gradient "
                        "norm of " + ", ".join(grad_dominant) + " exceeds CE's (raw gradients, measured before "
                        "clipping and apart from each other; not the share of the clipped update each term sets)")
        elif any("last stage" in b for b in bits):
            verdict += ("; in gradient norm too: every weighted raw physics gradient norm is smaller than CE's in the "
                        "last stage (measured before clipping)")
        if measured_share:
            headline = (f"in loss value {'NOT supported' if value_fail else 'supported'}, in the update "
                        f"{'NOT supported' if share_dominant else 'supported'} (each term's share of the clipped "
                        "step in the last curriculum stage)")
            verdict = f"{headline}; {verdict}"
    return ({"hypothesis": "CE stays the primary signal", "verdict": verdict, "detail": "; ".join(bits)})


def better_final_accuracy(plan, agg: Mapping) -> dict:
    """Validation accuracy and CE of each (candidate, reference) pair of the plan, paired by seed."""
    bits, significant, consistent = [], [], []
    for a, b in plan.comparisons:
        for key, metric in (("val/aa_precision", "AA precision"), ("val/peptide_recall", "peptide recall"),
                           ("val/token_acc", "token accuracy (teacher-forced)"), ("val/ce", "validation CE")):
            sa, sb = stat(agg, a, key), stat(agg, b, key)
            if not sa or not sb:
                continue
            if max(abs(v) for v in sa["values"] + sb["values"]) == 0:
                bits.append(f"{label(a)} vs {label(b)} {metric}: 0 in every run — uninformative at this scale")
                continue
            phrase, test = compare_paired(by_seed(sa), by_seed(sb), higher_is_better=key != "val/ce")
            bits.append(f"{label(a)} vs {label(b)} {metric}: {fmt(sa)} vs {fmt(sb)} → {phrase}")
            short = (f"{label(a)} vs {label(b)} {metric}: {test['direction']} in "
                     f"{max(test['n_better'], test['n_worse'])}/{test['n']} seeds")
            if test["significant"]:
                significant.append(f"{short} (paired t p = {test['p']:.2g}, sign p = {test['sign_p']:.2g})")
            elif test["n"] >= 2 and max(test["n_better"], test["n_worse"]) == test["n"]:
                consistent.append(short)
    if not plan.comparisons:
        verdict = "not tested by this plan (no comparison)"
    elif significant or consistent:
        verdict = ""
        if significant:
            verdict = ("significant paired differences (p < 0.05; at this scale only): " + "; ".join(significant))
        if consistent:
            verdict += ("; " if verdict else "") + ("the same direction in every seed but too few pairs for "
                                                    "significance: " + "; ".join(consistent))
        verdict += "; the other accuracy comparisons go both ways (see below)"
    else:
        verdict = "no consistent difference at this scale: every comparison goes both ways across seeds"
    return ({"hypothesis": "Better final accuracy", "verdict": verdict, "detail": "; ".join(bits)})


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
            beyond = stat(agg or {}, config, f"sanity/{key}_beyond_control_pct")
            if not beyond:
                continue
            test = paired_test(by_seed(beyond), {seed: 0.0 for seed in by_seed(beyond)})
            margin = 100 * MIN_FALL_BEYOND_CONTROL
            if test["n"] < 2:
                over_seeds.append(f"{label(config)} {key}: fell {test['diff']:+.1f} points beyond the control in "
                                  "one seed — seed-to-seed noise not measurable")
                continue
            ok = test["diff"] >= margin and test["ci_low"] > 0
            over_seeds.append(
                f"{'PASS' if ok else 'FAIL'} {label(config)} {key}: fell {test['diff']:+.1f} points beyond the "
                f"control [95% CI {test['ci_low']:+.1f}, {test['ci_high']:+.1f}] over {test['n']} seeds "
                f"({test['n_positive']} above 0; needs a mean ≥ {margin:.0f} and the interval above 0)")
    if over_seeds:
        verdict += "; over seeds: " + "; ".join(over_seeds)
    return ({
        "hypothesis": "Phase 1 sanity check (proposal's criteria)",
        "verdict": verdict,
        "detail": "",
    })
