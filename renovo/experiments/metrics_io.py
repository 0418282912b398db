"""A plan's run folders read into numbers: each run's status and summary, and their mean ± sd per config.

A run folder ``<out>/runs/<config>-seed<seed>/`` holds ``metrics.csv`` (read by
`renovo.train.read_series`, the one reader of it), ``config.yaml``,
``train.log`` and ``done.json`` / ``failed.json``. `summarize_run` turns one into
a flat {metric: float} dict plus context; `aggregate` takes mean ± sd over seeds;
`stat`, `label` and `fmt` are how the verdicts and the report look values up and print them.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from renovo.experiments.stability import count_nonfinite, detect_spikes, mean_sd
from renovo.train.config import yaml_load
from renovo.train.metrics_log import read_series

LOG_TAIL_LINES = 40
LOSS_KEYS = ("ce", "spectrum", "precursor", "total")
DECODED = ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision")
VAL_KEYS = DECODED + ("token_acc", "peptide_acc", "ce", "spectrum", "precursor", "total")
GRAD_KEYS = ("ce_norm", "spectrum_norm", "spectrum_weighted_norm", "spectrum_cos_ce",
             "precursor_norm", "precursor_weighted_norm", "precursor_cos_ce",
             "ce_gradient_share", "spectrum_gradient_share", "precursor_gradient_share",
             "ce_adamw_step_share", "spectrum_adamw_step_share", "precursor_adamw_step_share")
WINDOW_FRACTION = 0.1  # early / late windows: first and last 10% of logged training steps (as renovo.experiments.sanity)
#: A spike this many steps or fewer after a scheduled weight change (a curriculum stage start) is counted apart.
SWITCH_SPIKE_WINDOW_STEPS = 50

Series = dict[str, tuple[np.ndarray, np.ndarray]]  # {column: (steps, values)}


def run_status(run_dir: Path) -> str:
    """done | failed | partial (a checkpoint to resume from) | pending."""
    done = run_dir / "done.json"
    if done.is_file():
        try:
            if json.loads(done.read_text()).get("rc") == 0:
                return "done"
        except (json.JSONDecodeError, OSError):
            pass
    if (run_dir / "failed.json").is_file():
        return "failed"
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        return "partial"
    return "pending"


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


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
    config = yaml_load(path.read_text())  # as written (not validated: an older run's lacks the keys added since)
    try:
        return config, Curriculum.from_config(config)
    except Exception:  # a config from another version: report without stages
        return config, None


def summarize_run(run_dir: str | Path, config: str, seed: int, sanity: bool = False,
                  control_dir: str | Path | None = None, readout_steps: Sequence[int] = ()) -> dict:
    """One run's numbers: status, final validation, stability, speed, memory, losses, gradient flow.

    ``metrics`` is a flat {name: float} dict (what is aggregated over seeds);
    the rest is context for the report. ``readout_steps``: validations compared besides the last one,
    as ``readout<step>/val/<key>``.
    """
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
    _final_validation(series, summary, m)
    _readouts(series, readout_steps, m)
    _stability(series, summary, m)
    _speed_and_memory(series, m)
    _loss_windows(series, m)
    _ce_primary(series, m)
    _physics_switch_on(run_dir, series, summary, m)
    config_dict, curriculum = _curriculum(run_dir)
    summary["has_physics"] = _has_physics(config_dict)
    if config_dict:
        summary["loss_config"] = {k: config_dict.get("loss", {}).get(k) for k in ("spectrum", "precursor")}
        summary["ion_evidence"] = _reads_ion_evidence(config_dict)
    if curriculum is not None:
        switch = _values(series, "curriculum/switch_step")
        if curriculum.threshold is not None and len(switch) and math.isfinite(switch[-1]):
            curriculum.set_switch_step(int(switch[-1]))  # the step a threshold stage began
            summary["switch_step"] = int(switch[-1])
        _curriculum_stages(series, config_dict, curriculum, summary, m)
    if sanity:
        from renovo.experiments.sanity import sanity_report

        use_control = control_dir is not None and (Path(control_dir) / "metrics.csv").is_file()
        text, passed = sanity_report(run_dir, control_dir=control_dir if use_control else None)
        summary["sanity"] = {"passed": bool(passed), "text": text}
        m["sanity/passed"] = float(passed)
        if use_control:
            m.update(_fall_beyond_control(run_dir, Path(control_dir)))
    summary["metrics"] = m
    return summary


def _fall_beyond_control(run_dir: Path, control_dir: Path) -> dict[str, float]:
    """``sanity/<loss>_below_control_pct``: how far (percent of the control's value) each auxiliary loss's final
    validation value lies below its cross-entropy-only control's (what the sanity check judges);
    ``sanity/<loss>_beyond_control_pct``: how much more (percentage points of its value at switch-on) it fell in
    the run than in the control over the same training steps (shown, not judged)."""
    from renovo.experiments.sanity import controlled_change, end_below_control
    from renovo.train.metrics_log import read_metrics

    run = {s: m for s, m in read_metrics(run_dir / "metrics.csv").items() if "train/ce" in m}
    control = read_metrics(control_dir / "metrics.csv")
    run_config, control_config = _curriculum(run_dir)[0] or {}, _curriculum(control_dir)[0] or {}
    out = {}
    for key in ("spectrum", "precursor"):
        if (run_config.get("loss") or {}).get(key) != (control_config.get("loss") or {}).get(key):
            continue  # the control logs a different loss: no like-for-like baseline
        measured = controlled_change(run, control, f"train/{key}", f"train/w_{key}")
        if measured is not None and math.isfinite(measured["beyond"]):
            out[f"sanity/{key}_beyond_control_pct"] = 100.0 * measured["beyond"]
        end = end_below_control(read_metrics(run_dir / "metrics.csv"), control, f"val/{key}")
        if end is not None and math.isfinite(end["below"]):
            out[f"sanity/{key}_below_control_pct"] = 100.0 * end["below"]
    return out


def _reads_ion_evidence(config_dict: dict) -> bool | None:
    """Whether the run's model had ion-evidence features (the preset's choice unless the config overrides it)."""
    from renovo.model.presets import model_config

    model = config_dict.get("model") or {}
    try:
        return model_config(str(model.get("preset") or "small"),
                            ion_evidence=model.get("ion_evidence")).ion_evidence is not None
    except (ValueError, TypeError):
        return None


def warm_start_metrics(run_dir: Path) -> Path | None:
    """The metrics.csv of the warm start ``run_dir`` began from: where it was made, or the copy its plan folder
    keeps in ``<plan folder>/warm-start/<warm run>/`` (so a committed report rebuilds without the checkpoint)."""
    init_from = run_dir / "init_from.txt"
    if not init_from.is_file():
        return None
    lines = init_from.read_text().splitlines()
    if not lines:
        return None
    warm_dir = Path(lines[0]).parent.parent
    # The plan folder's copy first: a relative path in init_from.txt may name another folder from elsewhere.
    for candidate in (run_dir.parent.parent / "warm-start" / warm_dir.name / "metrics.csv", warm_dir / "metrics.csv"):
        if candidate.is_file():
            return candidate
    return None


def _physics_switch_on(run_dir: Path, series: Series, summary: dict, m: dict) -> None:
    """The first step a physics weight is > 0, and the validation token accuracy the model had then (the
    proposal switches its physics losses on at 60%): the last validation at or before that step — in the run,
    or, for a run started from a warm start with none of its own yet, the warm run's last."""
    on = [int(steps[values > 0][0]) for key in ("train/w_spectrum", "train/w_precursor") if key in series
          for steps, values in [series[key]] if np.any(values > 0)]
    if not on:
        return
    step = min(on)
    summary["physics_on_step"] = step
    m["curriculum/physics_on_step"] = float(step)
    acc = None
    if "val/token_acc" in series:
        steps, values = series["val/token_acc"]
        before = np.isfinite(values) & (steps <= step)
        if before.any():
            acc = float(values[before][-1])
    warm_metrics = warm_start_metrics(run_dir) if acc is None else None
    if warm_metrics is not None:
        warm = read_series(warm_metrics)
        if "val/token_acc" in warm and len(warm["val/token_acc"][1]):
            acc = float(warm["val/token_acc"][1][-1])
    if acc is not None:
        m["curriculum/physics_on_val_token_acc"] = acc


def _final_validation(series: Series, summary: dict, m: dict) -> None:
    """Final validation: decoded metrics (the validation callback) and teacher-forced ones (the module)."""
    val_steps = [int(series[f"val/{k}"][0][-1]) for k in VAL_KEYS if f"val/{k}" in series]
    summary["final_val_step"] = max(val_steps) if val_steps else None
    for key in VAL_KEYS:
        if f"val/{key}" in series:
            m[f"val/{key}"] = float(series[f"val/{key}"][1][-1])
    token_acc = _values(series, "train/token_acc")
    if len(token_acc):
        m["train/token_acc_final"] = _window_means(token_acc)[1] if len(token_acc) >= 4 else float(token_acc[-1])


def readout_prefix(step: int) -> str:
    return f"readout{int(step)}/"  # metrics of the last validation at or before ``step``


def _readouts(series: Series, readout_steps: Sequence[int], m: dict) -> None:
    """``readout<step>/val/<key>``: each validation metric at the last validation at or before the step."""
    for step in readout_steps:
        for key in VAL_KEYS:
            if f"val/{key}" not in series:
                continue
            steps, values = series[f"val/{key}"]
            at = (steps <= step) & np.isfinite(values)
            if at.any():
                m[f"{readout_prefix(step)}val/{key}"] = float(values[at][-1])


def _stability(series: Series, summary: dict, m: dict) -> None:
    m["stability/nonfinite"] = float(sum(count_nonfinite(_values(series, f"train/{k}")) for k in LOSS_KEYS))
    m["stability/skipped"] = float(np.nansum(_values(series, "nan_guard/skipped")))
    spikes_total = detect_spikes(_values(series, "train/total"))
    spikes_ce = detect_spikes(_values(series, "train/ce"))
    m["stability/spikes_total"] = float(len(spikes_total))
    m["stability/spikes_ce"] = float(len(spikes_ce))
    if "train/total" in series:
        summary["spike_steps_total"] = [int(series["train/total"][0][i]) for i in spikes_total]


def _speed_and_memory(series: Series, m: dict) -> None:
    """SpeedMonitor columns: median rates, maximum memory."""
    for key, reduce in (("speed/steps_per_s", np.nanmedian), ("speed/spectra_per_s", np.nanmedian),
                        ("memory/peak_rss_mb", np.nanmax), ("memory/cuda_max_allocated_mb", np.nanmax)):
        values = _values(series, key)
        if len(values) and np.isfinite(values).any():
            m[key] = float(reduce(values))


def _loss_windows(series: Series, m: dict) -> None:
    """Losses: early vs late windows (the sanity check's definition of "decreases")."""
    for key in LOSS_KEYS:
        values = _values(series, f"train/{key}")
        early, late = _window_means(values)
        if math.isfinite(early):
            m[f"loss/{key}_early"] = early
            m[f"loss/{key}_late"] = late
            m[f"loss/{key}_change_pct"] = (late - early) / early * 100 if early else float("nan")


def _ce_primary(series: Series, m: dict) -> None:
    """CE primary: the smallest CE / largest weighted physics term over logged steps."""
    if "train/ce" not in series:
        return
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


def _curriculum_stages(series: Series, config_dict: Mapping, curriculum, summary: dict, m: dict) -> None:
    """Spikes right after a stage switch, and gradient flow (GradientFlowMonitor rows) per curriculum stage."""
    if "train/total" in series:
        # A stage switch raises the total loss by w · (physics loss) at once; the rolling median needs a few
        # logged steps to follow. Spikes within SWITCH_SPIKE_WINDOW_STEPS after a scheduled weight change are
        # counted apart (the rest are the ones training itself made).
        starts = [stage.start for stage in curriculum.stages[1:] if math.isfinite(stage.start)]
        at_switch = [s for s in summary.get("spike_steps_total", [])
                     if any(0 <= s - start <= SWITCH_SPIKE_WINDOW_STEPS for start in starts)]
        m["stability/spikes_total_at_switch"] = float(len(at_switch))
        m["stability/spikes_total_elsewhere"] = m["stability/spikes_total"] - len(at_switch)
    if "grad/ce_norm" not in series:
        return
    gradflow: dict[int, dict[str, list[float]]] = {}
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
    """{config: {metric: {mean, sd, n, values, seeds}}} over the finished runs of each config."""
    out: dict[str, dict] = {}
    for config in configs:
        done = [r for r in runs if r["config"] == config and r["status"] == "done" and r["metrics"]]
        keys = sorted({k for r in done for k in r["metrics"]})
        out[config] = {}
        for key in keys:
            values = [r["metrics"][key] for r in done if key in r["metrics"]]
            seeds = [r["seed"] for r in done if key in r["metrics"]]
            mean, sd, n = mean_sd(values)
            out[config][key] = {"mean": mean, "sd": sd, "n": n, "values": values, "seeds": seeds}
    return out


def fmt(value: Mapping | None, digits: int = 3, pct: bool = False) -> str:
    """An aggregate entry as ``mean ± sd`` (or ``mean`` for one value, ``–`` for none)."""
    if not value or value.get("n", 0) == 0:
        return "–"
    scale = 100.0 if pct else 1.0
    mean, sd = value["mean"] * scale, value["sd"] * scale
    if math.isinf(mean):
        return "∞"
    text = f"{mean:.{digits}f}"
    if value["n"] > 1 and math.isfinite(sd):
        text += f" ± {sd:.{digits}f}"
    return text


def stat(agg: Mapping, config: str, key: str) -> dict | None:
    return agg.get(config, {}).get(key)


def by_seed(entry: Mapping | None) -> dict[int, float]:
    """An aggregate entry as {seed: value}: what paired comparisons take."""
    if not entry:
        return {}
    return dict(zip(entry.get("seeds", range(len(entry["values"]))), entry["values"]))


def label(config: str) -> str:
    return Path(config).stem
