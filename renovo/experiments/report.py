"""A plan's report: per-run summaries from metrics.csv, mean ± sd per config, verdicts, plots.

Reads each run folder ``<out>/runs/<config>-seed<seed>/`` (``metrics.csv``
from Lightning's CSV logger, ``config.yaml``, ``done.json`` / ``failed.json``)
and writes ``<out>/report.md``, ``<out>/results.json`` and PNG figures.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import yaml

from renovo.files import write_text
from renovo.experiments.stability import compare_means, count_nonfinite, detect_spikes, mean_sd

LOSS_KEYS = ("ce", "spectrum", "precursor", "total")
DECODED = ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision")
VAL_KEYS = DECODED + ("token_acc", "peptide_acc", "ce", "spectrum", "precursor", "total")
GRAD_KEYS = ("ce_norm", "spectrum_norm", "spectrum_weighted_norm", "spectrum_cos_ce",
             "precursor_norm", "precursor_weighted_norm", "precursor_cos_ce")
WINDOW_FRACTION = 0.1  # early / late windows: first and last 10% of logged training steps (as renovo.train.sanity)

Series = dict[str, tuple[np.ndarray, np.ndarray]]


def read_series(path: str | Path) -> Series:
    """metrics.csv -> {column: (steps, values)}, in step order; one value per step (the last logged)."""
    columns: dict[str, dict[int, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if not row.get("step"):
                continue
            step = int(float(row["step"]))
            for key, value in row.items():
                if key in ("step", "epoch") or value in ("", None):
                    continue
                try:
                    columns.setdefault(key, {})[step] = float(value)
                except ValueError:
                    continue
    out: Series = {}
    for key, by_step in columns.items():
        steps = np.array(sorted(by_step), dtype=np.int64)
        out[key] = (steps, np.array([by_step[s] for s in steps], dtype=np.float64))
    return out


def _values(series: Series, key: str) -> np.ndarray:
    return series[key][1] if key in series else np.array([], dtype=np.float64)


def _window_means(values: np.ndarray, fraction: float = WINDOW_FRACTION) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) < 4:
        return float("nan"), float("nan")
    n = max(2, int(len(finite) * fraction))
    return float(finite[:n].mean()), float(finite[-n:].mean())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _curriculum(run_dir: Path):
    from renovo.train.curriculum import Curriculum

    path = run_dir / "config.yaml"
    if not path.is_file():
        return None, None
    config = yaml.safe_load(path.read_text())
    try:
        return config, Curriculum.from_config(config)
    except Exception:  # a config from another version: report without stages
        return config, None


def summarize_run(run_dir: str | Path, config: str, seed: int, sanity: bool = False) -> dict:
    """One run's numbers: status, final validation, stability, speed, memory, losses, gradient flow.

    ``metrics`` is a flat {name: float} dict (what is aggregated over seeds);
    the rest is context for the report.
    """
    from renovo.experiments.plan import log_tail, run_status

    run_dir = Path(run_dir)
    status = run_status(run_dir) if run_dir.is_dir() else "missing"
    summary: dict = {"name": run_dir.name, "config": config, "seed": seed, "status": status, "metrics": {}}
    marker = _read_json(run_dir / ("done.json" if status == "done" else "failed.json"))
    summary["wall_s"] = marker.get("wall_s")
    summary["resumed"] = bool(marker.get("resumed"))
    if status == "failed":
        summary["rc"] = marker.get("rc")
        summary["log_tail"] = marker.get("log_tail") or log_tail(run_dir / "train.log")
    metrics_path = run_dir / "metrics.csv"
    if not metrics_path.is_file():
        return summary
    series = read_series(metrics_path)
    m: dict[str, float] = {}
    train_steps = series["train/ce"][0] if "train/ce" in series else np.array([], dtype=np.int64)
    summary["last_step"] = int(train_steps[-1]) if len(train_steps) else None
    summary["logged_train_steps"] = int(len(train_steps))

    # Final validation (decoded metrics from renovo.decode's callback; teacher-forced from the module).
    val_steps = [int(series[f"val/{k}"][0][-1]) for k in VAL_KEYS if f"val/{k}" in series]
    summary["final_val_step"] = max(val_steps) if val_steps else None
    for key in VAL_KEYS:
        if f"val/{key}" in series:
            m[f"val/{key}"] = float(series[f"val/{key}"][1][-1])
    token_acc = _values(series, "train/token_acc")
    if len(token_acc):
        m["train/token_acc_final"] = _window_means(token_acc)[1] if len(token_acc) >= 4 else float(token_acc[-1])

    # Stability.
    m["stability/nonfinite"] = float(sum(count_nonfinite(_values(series, f"train/{k}")) for k in LOSS_KEYS))
    m["stability/skipped"] = float(np.nansum(_values(series, "nan_guard/skipped")))
    spikes_total = detect_spikes(_values(series, "train/total"))
    spikes_ce = detect_spikes(_values(series, "train/ce"))
    m["stability/spikes_total"] = float(len(spikes_total))
    m["stability/spikes_ce"] = float(len(spikes_ce))
    if "train/total" in series:
        summary["spike_steps_total"] = [int(series["train/total"][0][i]) for i in spikes_total]

    # Speed and memory (SpeedMonitor columns).
    for key, name, reduce in (("speed/steps_per_s", "speed/steps_per_s", np.nanmedian),
                              ("speed/spectra_per_s", "speed/spectra_per_s", np.nanmedian),
                              ("memory/peak_rss_mb", "memory/peak_rss_mb", np.nanmax),
                              ("memory/cuda_max_allocated_mb", "memory/cuda_max_allocated_mb", np.nanmax)):
        values = _values(series, key)
        if len(values) and np.isfinite(values).any():
            m[name] = float(reduce(values))

    # Losses: early vs late windows (the sanity check's definition of "decreases").
    for key in LOSS_KEYS:
        values = _values(series, f"train/{key}")
        early, late = _window_means(values)
        if math.isfinite(early):
            m[f"loss/{key}_early"] = early
            m[f"loss/{key}_late"] = late
            m[f"loss/{key}_change_pct"] = (late - early) / early * 100 if early else float("nan")

    # CE primary: the smallest CE / largest weighted physics term over logged steps.
    if "train/ce" in series:
        steps, ce = series["train/ce"]
        lookup = {k: dict(zip(*series[k])) for k in ("train/w_spectrum", "train/spectrum", "train/w_precursor",
                                                     "train/precursor") if k in series}

        def at(key: str, step: int) -> float:
            return lookup.get(key, {}).get(step, 0.0)

        ratios = []
        for step, c in zip(steps, ce):
            largest = max(at("train/w_spectrum", step) * at("train/spectrum", step),
                          at("train/w_precursor", step) * at("train/precursor", step))
            if largest > 0 and math.isfinite(c):
                ratios.append(c / largest)
        m["primary/ce_over_weighted_min"] = float(min(ratios)) if ratios else float("inf")
        m["primary/ce_over_weighted_final"] = float(ratios[-1]) if ratios else float("inf")

    # Gradient flow per curriculum stage (GradientFlowMonitor rows).
    config_dict, curriculum = _curriculum(run_dir)
    if curriculum is not None and "train/total" in series:
        # A stage switch raises the total loss by w · (physics loss) at once; the rolling median needs a few
        # logged steps to follow. Spikes within 5% of the run after a switch are counted apart.
        max_steps = float(config_dict["trainer"]["max_steps"])
        starts = [stage.start for stage in curriculum.stages[1:]]
        at_switch = [s for s in summary.get("spike_steps_total", [])
                     if any(0 <= s - start < 0.05 * max_steps for start in starts)]
        m["stability/spikes_total_at_switch"] = float(len(at_switch))
    summary["has_physics"] = _has_physics(config_dict)
    if config_dict:
        summary["loss_config"] = {k: config_dict.get("loss", {}).get(k) for k in ("spectrum", "precursor")}
    gradflow: dict[int, dict[str, list[float]]] = {}
    if curriculum is not None and "grad/ce_norm" in series:
        for key in GRAD_KEYS:
            if f"grad/{key}" not in series:
                continue
            for step, value in zip(*series[f"grad/{key}"]):
                stage = curriculum.stage_index(int(step)) + 1
                gradflow.setdefault(stage, {}).setdefault(key, []).append(float(value))
        for key in ("grad/w_spectrum", "grad/w_precursor"):
            for step, value in zip(*series.get(key, (np.array([]), np.array([])))):
                stage = curriculum.stage_index(int(step)) + 1
                gradflow.setdefault(stage, {}).setdefault(key.split("/")[1], []).append(float(value))
        summary["stages"] = [
            {"stage": i + 1, "start": s.start, "end": s.end, "spectrum": list(s.spectrum), "precursor": list(s.precursor)}
            for i, s in enumerate(curriculum.stages)
        ]
    for stage, values in gradflow.items():
        for key, vals in values.items():
            finite = [v for v in vals if math.isfinite(v)]
            if finite:
                m[f"gradflow/stage{stage}/{key}"] = float(np.mean(finite))
    if sanity:
        from renovo.train.sanity import sanity_report

        text, passed = sanity_report(run_dir)
        summary["sanity"] = {"passed": bool(passed), "text": text}
        m["sanity/passed"] = float(passed)
    summary["metrics"] = m
    return summary


def _has_physics(config: Mapping | None) -> bool | None:
    if not config:
        return None
    loss = config.get("loss", {})
    stages = config.get("curriculum", {}).get("stages", [])

    def peak(key: str) -> float:
        out = 0.0
        for stage in stages:
            value = stage.get(key, 0.0)
            out = max(out, max(value) if isinstance(value, (list, tuple)) else float(value))
        return out

    spectrum = loss.get("spectrum", {}).get("type") != "none" and peak("spectrum") > 0
    precursor = loss.get("precursor", {}).get("type") != "none" and peak("precursor") > 0
    return bool(spectrum or precursor)


def aggregate(runs: Sequence[dict], configs: Sequence[str]) -> dict:
    """{config: {metric: {mean, sd, n, values}}} over the finished runs of each config."""
    out: dict[str, dict] = {}
    for config in configs:
        done = [r for r in runs if r["config"] == config and r["status"] == "done" and r["metrics"]]
        keys = sorted({k for r in done for k in r["metrics"]})
        out[config] = {}
        for key in keys:
            values = [r["metrics"][key] for r in done if key in r["metrics"]]
            mean, sd, n = mean_sd(values)
            out[config][key] = {"mean": mean, "sd": sd, "n": n, "values": values}
    return out


# ---------------------------------------------------------------- formatting


def fmt(stat: Mapping | None, digits: int = 3, pct: bool = False) -> str:
    """``mean ± sd`` (or ``mean`` for one value, ``–`` for none)."""
    if not stat or stat.get("n", 0) == 0:
        return "–"
    scale = 100.0 if pct else 1.0
    mean, sd = stat["mean"] * scale, stat["sd"] * scale
    if math.isinf(mean):
        return "∞"
    text = f"{mean:.{digits}f}"
    if stat["n"] > 1 and math.isfinite(sd):
        text += f" ± {sd:.{digits}f}"
    return text


def _stat(agg: Mapping, config: str, key: str) -> dict | None:
    return agg.get(config, {}).get(key)


def _label(config: str) -> str:
    return Path(config).stem


def _min_relative_decrease() -> float:
    try:
        from renovo.train.sanity import MIN_RELATIVE_DECREASE
    except ImportError:  # an older renovo.train
        return 0.01
    return float(MIN_RELATIVE_DECREASE)


def _loss_config(runs: Sequence[dict], config: str, key: str):
    """The ``loss.<key>`` section of a config's first finished run (what its logged loss measures)."""
    return next((r.get("loss_config", {}).get(key) for r in runs if r["config"] == config and r["status"] == "done"),
                None)


def verdicts(plan, runs: Sequence[dict], agg: Mapping) -> list[dict]:
    """One cautious verdict per seed hypothesis: {hypothesis, verdict, detail}."""
    configs = [c for c in plan.configs if agg.get(c)]
    out: list[dict] = []
    if not configs:
        return [{"hypothesis": "all", "verdict": "no finished runs: nothing to judge", "detail": ""}]
    done = [r for r in runs if r["status"] == "done"]
    physics = [c for c in configs if any(r.get("has_physics") for r in done if r["config"] == c)]
    controls = [c for c in configs if c not in physics]

    # 1. Stable training.
    nonfinite = {c: sum(_stat(agg, c, "stability/nonfinite")["values"]) if _stat(agg, c, "stability/nonfinite") else 0
                 for c in configs}
    skipped = {c: sum(_stat(agg, c, "stability/skipped")["values"]) if _stat(agg, c, "stability/skipped") else 0
               for c in configs}
    failed = [r["name"] for r in runs if r["status"] == "failed"]
    unstable = [c for c in configs if nonfinite[c] or skipped[c]]
    parts = [f"{_label(c)}: {int(nonfinite[c])} non-finite, {int(skipped[c])} skipped, "
             f"spikes per run: total loss {fmt(_stat(agg, c, 'stability/spikes_total'), 1)} (of which right after a "
             f"curriculum switch {fmt(_stat(agg, c, 'stability/spikes_total_at_switch'), 1)}), "
             f"CE {fmt(_stat(agg, c, 'stability/spikes_ce'), 1)}" for c in configs]
    spiky = [c for c in configs if _stat(agg, c, "stability/spikes_total") and _stat(agg, c, "stability/spikes_total")["mean"] > 0]
    if unstable:
        verdict = "not supported for " + ", ".join(map(_label, unstable)) + " (non-finite losses or skipped steps)"
    else:
        verdict = (f"supported at this scale: no non-finite loss and no skipped step in any of the {len(done)} "
                   "finished runs")
    if spiky:
        verdict += "; loss spikes in " + ", ".join(
            f"{_label(c)} ({fmt(_stat(agg, c, 'stability/spikes_total'), 1)} per run, "
            f"{fmt(_stat(agg, c, 'stability/spikes_total_at_switch'), 1)} of them right after a curriculum switch)"
            for c in spiky)
        quiet = [c for c in configs if c not in spiky]
        if quiet:
            verdict += "; none in " + ", ".join(map(_label, quiet))
    else:
        verdict += "; no loss spike in any run"
    if failed:
        verdict += f"; {len(failed)} run(s) failed ({', '.join(failed)})"
    detail = "; ".join(parts)
    for a, b in plan.comparisons:
        phrase, _ = compare_means(_stat(agg, a, "stability/spikes_total")["values"] if _stat(agg, a, "stability/spikes_total") else [],
                                  _stat(agg, b, "stability/spikes_total")["values"] if _stat(agg, b, "stability/spikes_total") else [],
                                  higher_is_better=False)
        detail += f"; spikes {_label(a)} vs {_label(b)}: {phrase}"
    out.append({"hypothesis": "Stable training (no NaN, no spikes)", "verdict": verdict, "detail": detail})

    # 2. Auxiliary losses decrease.
    bits, small, rose = [], [], []
    fell_everywhere = True
    for c in physics:
        for key in ("spectrum", "precursor"):
            stat = _stat(agg, c, f"loss/{key}_change_pct")
            if not stat:
                continue
            fell = sum(1 for v in stat["values"] if v < 0)
            fell_everywhere &= fell == stat["n"]
            early, late = _stat(agg, c, f"loss/{key}_early"), _stat(agg, c, f"loss/{key}_late")
            bits.append(f"{_label(c)} {key} {fmt(early, 3)} → {fmt(late, 3)} ({fmt(stat, 1)}%, fell in "
                        f"{fell}/{stat['n']} seeds)")
            if abs(stat["mean"]) < 100 * _min_relative_decrease():
                small.append(f"{_label(c)} {key}")
            elif fell < stat["n"] and stat["mean"] > 0:
                rose.append(f"{_label(c)} {key} ({stat['mean']:+.0f}%, rose in {stat['n'] - fell}/{stat['n']} seeds)")
    control_bits = []
    for c in controls:
        for key in ("spectrum", "precursor"):
            stat = _stat(agg, c, f"loss/{key}_change_pct")
            if stat:
                control_bits.append(f"{_label(c)} (logged without gradient) {key} {fmt(stat, 1)}%")
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
            verdict += (f"; the change is under {100 * _min_relative_decrease():.0f}% (the sanity check's threshold for "
                        f"a decrease) for {', '.join(small)}")
        if control_bits:
            attributable = []
            for c in physics:
                for ctrl in controls:
                    for key in ("spectrum", "precursor"):
                        a, b = _stat(agg, c, f"loss/{key}_change_pct"), _stat(agg, ctrl, f"loss/{key}_change_pct")
                        if a and b and _loss_config(runs, c, key) != _loss_config(runs, ctrl, key):
                            attributable.append(f"{_label(c)} vs {_label(ctrl)} {key}: not comparable (the control "
                                                "logs a different {key} loss)".replace("{key}", key))
                        elif a and b:
                            phrase, _ = compare_means(a["values"], b["values"], higher_is_better=False)
                            attributable.append(f"{_label(c)} vs {_label(ctrl)} {key} change: {phrase}")
            verdict += ("; against cross-entropy alone (the control logs the same losses without their "
                        "gradient): " + "; ".join(attributable))
    out.append({"hypothesis": "Auxiliary losses decrease", "verdict": verdict,
                "detail": "; ".join(bits + control_bits)})

    # 3. CE stays the primary signal: in loss value (the seed's criterion) and in gradient norm.
    bits, value_fail, grad_dominant = [], [], []
    for c in physics:
        stat = _stat(agg, c, "primary/ce_over_weighted_min")
        if stat:
            low = min(stat["values"])
            if low <= 1.0:
                value_fail.append(f"{_label(c)} (CE / largest weighted term down to {low:.2f})")
            bits.append(f"{_label(c)}: smallest CE / largest weighted physics term {low:.1f}")
        stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
        if stages:
            last = stages[-1]
            ce = _stat(agg, c, f"gradflow/stage{last}/ce_norm")
            for key in ("spectrum", "precursor"):
                w = _stat(agg, c, f"gradflow/stage{last}/{key}_weighted_norm")
                cos = _stat(agg, c, f"gradflow/stage{last}/{key}_cos_ce")
                if ce and w and ce["mean"] > 0:
                    ratio = w["mean"] / ce["mean"]
                    if ratio > 1.0:
                        grad_dominant.append(f"{_label(c)} {key} ({ratio:.1f}× ‖∇CE‖)")
                    bits.append(f"{_label(c)} last stage: w·‖∇{key}‖ / ‖∇CE‖ = {ratio:.2f}, "
                                f"cos(∇{key}, ∇CE) = {fmt(cos, 2)}")
    if not physics:
        verdict = "not applicable: no physics loss has weight"
    else:
        verdict = ("in loss value, supported: CE exceeded every weighted physics term at every logged step of every "
                   "run" if not value_fail else
                   "in loss value, not supported for " + ", ".join(value_fail)
                   + ": a weighted physics term exceeded CE at some logged step")
        if grad_dominant:
            verdict += ("; in gradient norm, NOT supported: in the last curriculum stage the weighted gradient of "
                        + ", ".join(grad_dominant) + " exceeds CE's, so the physics loss, not CE, sets most of "
                        "the (clipped) update")
        elif any("last stage" in b for b in bits):
            verdict += "; in gradient norm too: every weighted physics gradient is smaller than CE's in the last stage"
    out.append({"hypothesis": "CE stays the primary signal", "verdict": verdict, "detail": "; ".join(bits)})

    # 4. Better final accuracy.
    bits = []
    for a, b in plan.comparisons:
        for key, label in (("val/aa_precision", "AA precision"), ("val/peptide_recall", "peptide recall"),
                           ("val/token_acc", "token accuracy (teacher-forced)"), ("val/ce", "validation CE")):
            sa, sb = _stat(agg, a, key), _stat(agg, b, key)
            if not sa or not sb:
                continue
            if max(abs(v) for v in sa["values"] + sb["values"]) == 0:
                bits.append(f"{_label(a)} vs {_label(b)} {label}: 0 in every run — uninformative at this scale")
                continue
            phrase, _ = compare_means(sa["values"], sb["values"], higher_is_better=key != "val/ce")
            bits.append(f"{_label(a)} vs {_label(b)} {label}: {fmt(sa)} vs {fmt(sb)} → {phrase}")
    significant = [b.split(": ", 1)[0] + ": " + b.rsplit("→ ", 1)[1] for b in bits
                   if "→ " in b and b.rsplit("→ ", 1)[1].startswith(("better (", "worse ("))]
    if not plan.comparisons:
        verdict = "not tested by this plan (no comparison)"
    elif significant:
        verdict = ("significant differences (p < 0.05; with this few seeds, tentative): " + "; ".join(significant)
                   + "; the other accuracy comparisons are not significant (see below)")
    else:
        verdict = ("no evidence either way at this scale: no difference exceeds the seed-to-seed spread with "
                   "significance")
    out.append({"hypothesis": "Better final accuracy", "verdict": verdict, "detail": "; ".join(bits)})

    if plan.sanity:
        judged = [r for r in done if "sanity" in r]
        passed = [r for r in judged if r["sanity"]["passed"]]
        fails = sorted({line.split("]", 1)[1].split(":")[0].strip() for r in judged
                        for line in r["sanity"]["text"].splitlines() if line.startswith("[FAIL]")})
        out.append({
            "hypothesis": "Phase 1 sanity check (seed's criteria)",
            "verdict": f"PASS in {len(passed)}/{len(judged)} seeds"
                       + (f"; failing criteria: {', '.join(fails)}" if fails else ""),
            "detail": "",
        })
    return out


def write_report(plan, out: str | Path, command_line: str = "", run_commands: Sequence[str] = ()) -> Path:
    """Summarize every run of ``plan`` under ``out`` into report.md, results.json and PNGs."""
    from renovo.experiments.plots import make_figures

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [summarize_run(spec.run_dir, spec.config, spec.seed, sanity=plan.sanity) for spec in plan.runs]
    agg = aggregate(runs, plan.configs)
    judged = verdicts(plan, runs, agg)
    figures = make_figures(plan, out) if any(r["status"] == "done" for r in runs) else {}
    comparisons = []
    for a, b in plan.comparisons:
        for key in ("val/aa_precision", "val/peptide_recall", "val/token_acc", "val/ce", "stability/spikes_total",
                    "speed/steps_per_s", "memory/peak_rss_mb"):
            sa, sb = _stat(agg, a, key), _stat(agg, b, key)
            if sa and sb:
                phrase, test = compare_means(sa["values"], sb["values"],
                                             higher_is_better=not key.startswith(("stability", "memory", "val/ce")))
                comparisons.append({"candidate": a, "reference": b, "metric": key, "verdict": phrase, **test})
    results = {
        "command": command_line, "run_commands": list(run_commands), "plan": plan.to_dict(),
        "runs": [{k: v for k, v in r.items() if k != "sanity"} | ({"sanity_passed": r["sanity"]["passed"]}
                                                                   if "sanity" in r else {}) for r in runs],
        "aggregate": {c: {k: {kk: vv for kk, vv in s.items()} for k, s in a.items()} for c, a in agg.items()},
        "comparisons": comparisons, "verdicts": judged, "figures": figures,
    }
    write_text(out / "results.json", json.dumps(_finite_or_none(results), default=_json_default,
                                                 allow_nan=False, separators=(",", ":")) + "\n")
    report = out / "report.md"
    write_text(report, format_report(plan, runs, agg, judged, comparisons, figures, command_line, run_commands))
    return report


def _finite_or_none(value):
    """Standard JSON: NaN and ±Inf (e.g. an undefined sd, a ratio to a zero term) become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def format_report(plan, runs, agg, judged, comparisons, figures, command_line: str,
                  run_commands: Sequence[str] = ()) -> str:
    L: list[str] = []
    title = plan.title or plan.name
    L += [f"# {title} — size `{plan.size}`", ""]
    L += ["Made by:", "", "```", command_line or f"renovo experiment {plan.name} --size {plan.size}", "```", ""]
    earlier = [c for c in run_commands if c != command_line]
    if earlier:
        L += ["from runs made by (in order; a later invocation skips finished runs and resumes unfinished ones):",
              "", "```", *earlier, "```", ""]
    if plan.question:
        L += [plan.question, ""]
    data = "simulated (renovo's calibrated simulator; training stream + fixed simulated validation set)" \
        if not plan.train_files else f"train {', '.join(plan.train_files)}; val {', '.join(plan.val_files) or '(simulated)'}"
    L += [
        "## Setup", "",
        f"- configs: {', '.join(f'`{_label(c)}`' for c in plan.configs)}; seeds {plan.seeds}; "
        f"{plan.max_steps} steps each; model preset `{plan.preset}`"
        + (f"; batch {plan.batch_size}" if plan.batch_size else ""),
        f"- data: {data}",
        f"- overrides for every run: {', '.join(f'`{o}`' for o in plan.overrides) or 'none'}",
        "- runs executed **one at a time** (each a `renovo train` subprocess): concurrent runs on a shared CPU "
        "would distort each other's speed figures. Other work on the machine can still slow a run (the steps/s "
        "column then measures contention as much as the loss); compare speeds within one report only, and use "
        "`renovo bench train` for speed figures on an otherwise idle machine.",
        f"- resolved plan with every run's exact command: `plan.resolved.yaml`; per-run logs: `runs/*/train.log`, "
        "`runs/*/metrics.csv`",
    ]
    if plan.description:
        L.append(f"- size note: {plan.description}")
    L.append("")

    L += ["## Verdicts (seed hypotheses)", ""]
    for v in judged:
        L.append(f"- **{v['hypothesis']}** — {v['verdict']}.")
        if v.get("detail"):
            L.append(f"  <br>{v['detail']}.")
    L += ["", f"With {len(plan.seeds)} seed(s) per config, a difference is called only when it exceeds the larger "
          "seed-to-seed sd and Welch's t-test gives p < 0.05; otherwise \"no evidence\". Small models and short "
          "runs answer the question at their scale only.", ""]

    L += ["## Runs", "", "| run | status | last step | wall time (s) | resumed |", "|---|---|---|---|---|"]
    for r in runs:
        L.append(f"| {r['name']} | {r['status']} | {r.get('last_step', '–')} | "
                 f"{r['wall_s'] if r.get('wall_s') is not None else '–'} | {'yes' if r.get('resumed') else ''} |")
    L.append("")
    for r in runs:
        if r["status"] == "failed":
            L += [f"**{r['name']} failed** (exit code {r.get('rc')}); last lines of its log:", "", "```",
                  (r.get("log_tail") or "(no log)")[-3000:], "```", ""]

    def row(c: str, keys, digits=3, pct_keys=()) -> str:
        n = max((s["n"] for s in agg.get(c, {}).values()), default=0)
        return f"| `{_label(c)}` | {n} | " + " | ".join(
            fmt(_stat(agg, c, k), digits, pct=k in pct_keys) for k in keys) + " |"

    L += ["## Results per config (mean ± sd over seeds)", "",
          "### Final validation", "",
          "Decoded (greedy) metrics from `renovo.decode`'s validation callback; token accuracy is teacher-forced.",
          "",
          "| config | n | AA precision | AA recall | peptide recall | peptide precision | token acc (val) | "
          "token acc (train, last 10%) | val CE |", "|---|---|---|---|---|---|---|---|---|"]
    keys = ["val/aa_precision", "val/aa_recall", "val/peptide_recall", "val/peptide_precision", "val/token_acc",
            "train/token_acc_final", "val/ce"]
    L += [row(c, keys) for c in plan.configs] + [""]

    L += ["### Stability, speed, memory", "",
          "| config | n | non-finite losses | skipped steps | spikes (total) | of which at a stage switch | spikes (CE) | "
          "steps/s | spectra/s | peak RSS (MiB) | CUDA max alloc (MiB) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = ["stability/nonfinite", "stability/skipped", "stability/spikes_total", "stability/spikes_total_at_switch",
            "stability/spikes_ce",
            "speed/steps_per_s", "speed/spectra_per_s", "memory/peak_rss_mb", "memory/cuda_max_allocated_mb"]
    L += [row(c, keys, 2) for c in plan.configs] + [""]

    L += ["### Training losses, first vs last 10% of logged steps", "",
          "| config | n | CE early | CE late | spectrum early | spectrum late | precursor early | precursor late | "
          "min CE / weighted physics term |", "|---|---|---|---|---|---|---|---|---|"]
    keys = ["loss/ce_early", "loss/ce_late", "loss/spectrum_early", "loss/spectrum_late", "loss/precursor_early",
            "loss/precursor_late", "primary/ce_over_weighted_min"]
    L += [row(c, keys, 4) for c in plan.configs] + [""]

    L += ["### Gradient flow per curriculum stage", "",
          "`GradientFlowMonitor`: each component's gradient on all model parameters (separate autograd passes), "
          "averaged over the monitored steps of a stage, then over seeds. Weighted = norm × the component's "
          "curriculum weight (what enters the update). Components are computed at weight 0 too.", "",
          "| config | stage (steps) | w spectrum | w precursor | ‖∇CE‖ | ‖∇spectrum‖ | weighted | cos(∇spec, ∇CE) | "
          "‖∇precursor‖ | weighted | cos(∇prec, ∇CE) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in plan.configs:
        stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
        bounds = next((r.get("stages") for r in runs if r["config"] == c and r.get("stages")), None) or []
        for s in stages:
            b = next((x for x in bounds if x["stage"] == s), None)
            span = f"{s} ({b['start']:,.0f}–{b['end']:,.0f})" if b else str(s)
            keys = [f"gradflow/stage{s}/{k}" for k in ("w_spectrum", "w_precursor", "ce_norm", "spectrum_norm",
                                                        "spectrum_weighted_norm", "spectrum_cos_ce",
                                                        "precursor_norm", "precursor_weighted_norm",
                                                        "precursor_cos_ce")]
            L.append(f"| `{_label(c)}` | {span} | " + " | ".join(fmt(_stat(agg, c, k), 3) for k in keys) + " |")
    L.append("")

    if comparisons:
        L += ["### Comparisons (candidate − reference)", "",
              "| candidate | reference | metric | candidate | reference | difference | Welch t | df | p | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for cmp in comparisons:
            num = lambda x, d=3: "–" if x is None or not math.isfinite(x) else f"{x:.{d}g}"  # noqa: E731
            L.append(
                f"| `{_label(cmp['candidate'])}` | `{_label(cmp['reference'])}` | {cmp['metric']} | "
                f"{num(cmp['mean_a'], 4)} ± {num(cmp['sd_a'], 2)} | {num(cmp['mean_b'], 4)} ± {num(cmp['sd_b'], 2)} | "
                f"{num(cmp['diff'], 3)} | {num(cmp['t'])} | {num(cmp['df'])} | {num(cmp['p'])} | {cmp['verdict']} |")
        L.append("")

    if plan.sanity:
        L += ["## Phase 1 sanity check per run", "",
              "`renovo.train.sanity.sanity_report` on each run's metrics.csv (the logic `renovo train --sanity` "
              "prints).", ""]
        for r in runs:
            if "sanity" in r:
                L += ["```", r["sanity"]["text"], "```", ""]

    if figures:
        L += ["## Figures", ""]
        for name, caption in figures.items():
            L += [f"**{caption}**", "", f"![{caption}]({name})", ""]

    L += ["## Definitions", "",
          "- **spike**: a logged training step whose loss exceeds the median of the preceding 50 logged values "
          "by more than 5 × their median absolute deviation (unscaled MAD; a value is judged against the past only, "
          "so a falling loss is never a spike). Counted on the total loss and on CE alone — a curriculum stage "
          "switch raises the total at once and can be flagged while CE is unaffected; spikes within 5% of the run "
          "after a switch are counted apart (\"at a stage switch\").",
          "- **non-finite**: NaN/Inf among the logged training losses (CE, spectrum, precursor, total); "
          "**skipped**: optimizer steps the NaN guard skipped.",
          "- **early / late**: the mean of the first / last 10% of logged training steps (as the sanity check).",
          "- **steps/s**: median of the speed monitor's rolling rate (validation excluded); **peak RSS**: the "
          "process's maximum resident memory.",
          "- **mean ± sd**: over seeds (sample sd); a single value has no sd.", ""]
    return "\n".join(L) + "\n"
