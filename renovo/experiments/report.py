"""A plan's report: report.md, results.json and the figures, from the run folders under ``<out>``.

`metrics_io` reads the runs into numbers, `verdicts` judges the proposal's
hypotheses, `plots` draws the figures; this module writes them out and formats
report.md, one function per section.
"""
from __future__ import annotations

# long module: report.md is one document; its sections share the table helpers (a config row, a paired
# comparison row) and split apart, each half would import the other's.

import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from renovo.files import write_text

from renovo.experiments.metrics_io import aggregate, by_seed, fmt, label, stat, summarize_run
from renovo.experiments.plots import make_figures
from renovo.experiments.stability import compare_family
from renovo.experiments.verdicts import accuracy_comparisons, verdicts
from renovo.train.metrics_log import read_series

def write_report(plan, out: str | Path, command_line: str = "", run_commands: Sequence[str] = ()) -> Path:
    """Summarize every run of ``plan`` under ``out`` into report.md, results.json and PNGs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stored, stored_figures = stored_summaries(out)
    control = plan.control
    control_dirs = {spec.seed: spec.run_dir for spec in plan.runs if spec.config == control}
    runs = [summarize_run(spec.run_dir, spec.config, spec.seed, sanity=plan.sanity and spec.config != control,
                          control_dir=control_dirs.get(spec.seed), readout_steps=plan.readout_steps)
            if spec.run_dir.is_dir() or stored.get(spec.run_dir.name, {}).get("status") != "done"
            else stored[spec.run_dir.name]
            for spec in plan.runs]
    agg = aggregate(runs, plan.configs)
    comparisons = accuracy_comparisons(plan, agg) + other_comparisons(plan, agg)
    judged = verdicts(plan, runs, agg, [c for c in comparisons if c.get("readout")])
    series = finished_series(plan)
    loss_types = {r["config"]: {k: (v or {}).get("type") for k, v in r.get("loss_config", {}).items()}
                  for r in runs if r.get("status") == "done" and r.get("loss_config")}
    figures = make_figures(plan, series, out, loss_types) if series else {
        name: caption for name, caption in stored_figures.items() if (out / name).is_file()}
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


def other_comparisons(plan, agg) -> list[dict]:
    """Loss spikes, speed and memory of each (candidate, reference) pair, paired by seed; one family per metric
    (Holm). No read-out: these describe whole runs."""
    out = []
    for key, higher in (("stability/spikes_total", False), ("speed/steps_per_s", True), ("memory/peak_rss_mb", False)):
        pairs = [(a, b) for a, b in plan.comparisons if stat(agg, a, key) and stat(agg, b, key)]
        tested = compare_family([(by_seed(stat(agg, a, key)), by_seed(stat(agg, b, key)), higher) for a, b in pairs])
        for (a, b), (phrase, test) in zip(pairs, tested):
            sa, sb = stat(agg, a, key), stat(agg, b, key)
            out.append({"readout": None, "candidate": a, "reference": b, "metric": key, "verdict": phrase,
                        "mean_a": sa["mean"], "sd_a": sa["sd"], "mean_b": sb["mean"], "sd_b": sb["sd"], **test})
    return out


def stored_summaries(out: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """The per-run summaries and figure captions of an earlier report in ``out`` (its results.json), for runs
    whose folders are gone (run folders are not committed; their summaries are): {run name: summary}, figures.
    A summary read back is marked ``stored``."""
    try:
        earlier = json.loads((out / "results.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}, {}
    runs = {}
    for r in earlier.get("runs", []):
        r = dict(r, stored=True)
        r["metrics"] = {k: (float("nan") if v is None else v) for k, v in r.get("metrics", {}).items()}
        if "sanity_passed" in r:
            r["sanity"] = {"passed": r.pop("sanity_passed"),
                           "text": "(per-run sanity text not stored; rebuilt from results.json)"}
        runs[r["name"]] = r
    return runs, dict(earlier.get("figures", {}))


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



def finished_series(plan) -> dict[str, list]:
    """{config: [metric series of each finished run]} — what the figures draw."""
    runs_by_config: dict[str, list] = {}
    for spec in plan.runs:
        path = spec.run_dir / "metrics.csv"
        if (spec.run_dir / "done.json").is_file() and path.is_file():
            runs_by_config.setdefault(spec.config, []).append(read_series(path))
    return runs_by_config


def format_report(plan, runs, agg, judged, comparisons, figures, command_line: str,
                  run_commands: Sequence[str] = ()) -> str:
    """report.md: setup, verdicts, runs, per-config tables, comparisons, sanity checks, figures, definitions."""
    sections = (
        _setup_section(plan, command_line, run_commands),
        _provenance_section(plan, runs, agg),
        _verdict_section(plan, judged, runs, agg, comparisons),
        _runs_section(runs),
        _tables_section(plan, agg),
        _gradient_flow_section(plan, runs, agg),
        _comparisons_section(comparisons),
        _sanity_section(plan, runs),
        _figures_section(figures),
        DEFINITIONS,
    )
    return "\n".join(line for section in sections for line in section) + "\n"


def _setup_section(plan, command_line: str, run_commands: Sequence[str]) -> list[str]:
    """Title, the commands that made the report and its runs, the question, the setup."""
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
    if plan.notes:
        L += [plan.notes, ""]
    data = "simulated (renovo's calibrated simulator; training stream + fixed simulated validation set)" \
        if not plan.train_files else f"train {', '.join(plan.train_files)}; val {', '.join(plan.val_files) or '(simulated)'}"
    L += [
        "## Setup", "",
        f"- configs: {', '.join(f'`{label(c)}`' for c in plan.configs)}; seeds {plan.seeds}; "
        f"{plan.max_steps} steps each; model preset `{plan.preset}`"
        + (f"; batch {plan.batch_size}" if plan.batch_size else ""),
        f"- data: {data}",
        f"- overrides for every run: {', '.join(f'`{o}`' for o in plan.overrides) or 'none'}",
        "- each run is a `renovo train` subprocess, one at a time unless the plan ran with `-j N` (N side by side, "
        "the cores split between them: accuracy per step is unchanged, speed is not). Other work on the machine "
        "slows a run too (the steps/s column then measures contention as much as the loss); compare speeds within "
        "one report only, and use `renovo bench train` for speed figures on an otherwise idle machine.",
        "- resolved plan with every run's exact command: `plan.resolved.yaml`; per-run logs: `runs/*/train.log`, "
        "`runs/*/metrics.csv`",
    ]
    if plan.description:
        L.append(f"- size note: {plan.description}")
    L.append("")
    return L


#: The proposal switches its physics losses on when the model is this right (validation token accuracy).
PROPOSAL_SWITCH_TOKEN_ACC = 0.60


def _provenance_section(plan, runs, agg) -> list[str]:
    """Where the numbers come from, and whether the runs reached the proposal's regime."""
    L: list[str] = []
    if any(r.get("stored") for r in runs):
        L += ["> **Rebuilt from stored summaries.** The run folders are not committed; this report is rebuilt from "
              "the per-run summaries in `results.json` (the same numbers the runs produced), with the statistics "
              "recomputed. The figures are those drawn when the runs finished.", ""]
    at_switch = [v for c in plan.configs
                 for v in (stat(agg, c, "curriculum/physics_on_val_token_acc") or {}).get("values", [])]
    final_acc = [v for c in plan.configs for v in (stat(agg, c, "val/token_acc") or {}).get("values", [])]
    kinds = {r.get("ion_evidence") for r in runs if r.get("status") == "done" and r.get("ion_evidence") is not None}
    architecture = {frozenset({True}): "the ion-evidence model", frozenset({False}): "the plain model",
                    frozenset({True, False}): "ion-evidence and plain models"}.get(frozenset(kinds), "")
    model = f" ({architecture + ', ' if architecture else ''}preset `{plan.preset}`)" if plan.preset else ""
    if at_switch and min(at_switch) >= PROPOSAL_SWITCH_TOKEN_ACC:
        L += [f"> **In the proposal's regime.** Every physics loss switched on when the model's validation token "
              f"accuracy was at least {PROPOSAL_SWITCH_TOKEN_ACC:.0%} (lowest {min(at_switch):.1%}, "
              f"{len(at_switch)} runs){model}.", ""]
    elif at_switch:
        L += [f"> **Out of the proposal's regime.** The proposal switches its physics losses on at "
              f"{PROPOSAL_SWITCH_TOKEN_ACC:.0%} validation token accuracy; here they switched on at "
              f"{min(at_switch):.1%}–{max(at_switch):.1%}{model}. These runs test the mechanics, not the "
              "proposal's hypotheses.", ""]
    elif final_acc and max(final_acc) < PROPOSAL_SWITCH_TOKEN_ACC:
        L += [f"> **Out of the proposal's regime.** The proposal switches its physics losses on at "
              f"{PROPOSAL_SWITCH_TOKEN_ACC:.0%} validation token accuracy; no run here reached it even at its end "
              f"(final validation token accuracy at most {max(final_acc):.1%}), so every physics loss acted on a "
              f"model that does not yet read spectra{model}. These runs test the mechanics (stability, logging, "
              "the statistics), not the proposal's hypotheses.", ""]
    return L


#: Per hypothesis (the start of its name): the table of the numbers its verdict is drawn from.
def _hypothesis_table(hypothesis: str, plan, runs, agg, comparisons) -> list[str]:
    configs = plan.configs
    if hypothesis.startswith("Stable"):
        head = ["non-finite losses", "skipped steps", "loss spikes", "≤ 50 steps after a weight change",
                "elsewhere", "CE spikes"]
        keys = ["stability/nonfinite", "stability/skipped", "stability/spikes_total",
                "stability/spikes_total_at_switch", "stability/spikes_total_elsewhere", "stability/spikes_ce"]
        return _config_table(agg, configs, head, keys, 2)
    if hypothesis.startswith("Auxiliary"):
        head = ["final val spectrum", "final val precursor", "training spectrum early", "late", "change %",
                "training precursor early", "late", "change %"]
        keys = ["val/spectrum", "val/precursor", "loss/spectrum_early", "loss/spectrum_late",
                "loss/spectrum_change_pct", "loss/precursor_early", "loss/precursor_late", "loss/precursor_change_pct"]
        return _config_table(agg, configs, head, keys, 4)
    if hypothesis.startswith("CE stays"):
        rows = []
        for c in configs:
            stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
            last = stages[-1] if stages else None
            cells = [fmt(stat(agg, c, "primary/ce_over_weighted_min"), 2)]
            for key in ("ce_adamw_step_share", "spectrum_adamw_step_share", "precursor_adamw_step_share",
                        "ce_gradient_share", "spectrum_gradient_share", "precursor_gradient_share"):
                cells.append(fmt(stat(agg, c, f"gradflow/stage{last}/{key}"), 2) if last else "–")
            ce = stat(agg, c, f"gradflow/stage{last}/ce_norm") if last else None
            w = stat(agg, c, f"gradflow/stage{last}/spectrum_weighted_norm") if last else None
            cells.append(f"{w['mean'] / ce['mean']:.2f}" if ce and w and ce["mean"] > 0 else "–")
            rows.append(f"| `{label(c)}` | {last or '–'} | " + " | ".join(cells) + " |")
        return ["| config | last stage | min CE / weighted physics term | AdamW step share: CE | spectrum | "
                "precursor | gradient share: CE | spectrum | precursor | raw w·‖∇spectrum‖ / ‖∇CE‖ |",
                "|---|---|---|---|---|---|---|---|---|---|", *rows, ""]
    if hypothesis.startswith("Better"):
        chosen = [c for c in comparisons if c.get("readout")]
        if not chosen:
            return []
        return ["| read-out | candidate | reference | metric | candidate | reference | paired difference [95% CI] | "
                "seeds +/−/= | p (t) | Holm p | p (sign) |", "|---|---|---|---|---|---|---|---|---|---|---|",
                *[_comparison_row(c) for c in chosen], ""]
    if hypothesis.startswith("2 × 2"):
        return _factorial_table(plan, agg)
    if hypothesis.startswith("Phase 1"):
        judged = [r for r in runs if "sanity" in r]
        if not judged:
            return []
        rows = [f"| {r['name']} | {'PASS' if r['sanity']['passed'] else 'FAIL'} | "
                + " | ".join(_num(r.get("metrics", {}).get(f"sanity/{k}_{what}_control_pct"), 1)
                             for k in ("spectrum", "precursor") for what in ("below", "beyond")) + " |"
                for r in judged]
        return ["| run | all criteria | spectrum: final validation below control (%) | fall from switch-on beyond "
                "control (points, not judged) | precursor: final validation below control (%) | fall from switch-on "
                "beyond control (points, not judged) |", "|---|---|---|---|---|---|", *rows, ""]
    return []


def _factorial_table(plan, agg) -> list[str]:
    """The 2 × 2 cells: token accuracy and validation CE of each (mean ± sd over seeds)."""
    f = plan.factorial
    (name_a, name_b), levels, cells = f["factors"], f["levels"], f["cells"]
    L = [f"| {name_a} \\ {name_b} | " + " | ".join(f"{lv}: token acc | {lv}: val CE" for lv in levels[1]) + " |",
         "|---|" + "---|" * 4]
    for i in range(2):
        L.append(f"| {levels[0][i]} | " + " | ".join(
            f"{fmt(stat(agg, cells[i][j], 'val/token_acc'), 4)} (`{label(cells[i][j])}`) | "
            f"{fmt(stat(agg, cells[i][j], 'val/ce'), 4)}" for j in range(2)) + " |")
    return L + [""]


def _first_clause(text: str) -> tuple[str, str]:
    """(text up to its first "; " outside parentheses, the rest): a verdict's one-line headline and its detail."""
    depth = 0
    for i, char in enumerate(text):
        depth += char == "(" and 1 or char == ")" and -1 or 0
        if depth == 0 and text.startswith("; ", i):
            return text[:i], text[i + 2:]
    return text, ""


def _num(value, digits: int) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}"


def _config_table(agg, configs, head: list[str], keys: list[str], digits: int) -> list[str]:
    if not any(stat(agg, c, k) for c in configs for k in keys):
        return []
    present = [(h, k) for h, k in zip(head, keys) if any(stat(agg, c, k) for c in configs)]
    return ["| config | n | " + " | ".join(h for h, _ in present) + " |", "|---|---|" + "---|" * len(present),
            *[_row(agg, c, [k for _, k in present], digits) for c in configs], ""]


def _verdict_section(plan, judged, runs=(), agg=None, comparisons=()) -> list[str]:
    """One subsection per hypothesis: its verdict in one line, the table it rests on, then the detail."""
    L: list[str] = []
    L += ["## Verdicts (the proposal's hypotheses)", "",
          f"Configs are compared **paired by seed** (seeds {plan.seeds}; a seed gives every config the same "
          "initial weights and data order): the mean paired difference with its 95% interval, the paired t-test, "
          "the exact sign test and the count of seeds going each way. Comparisons come in families — the accuracy "
          "comparisons at one read-out, the auxiliary losses against the control, the spike counts, the effects "
          "of a 2 × 2 — and each paired t-test's p is **Holm-adjusted over its family**; a difference is called "
          "significant only when that adjusted p is below 0.05 (the raw p and the sign test stand beside it; the "
          "sign test cannot go below 0.25 with 3 seeds or 0.031 with 6). One that goes the same way in every seed "
          "is reported as consistent even when not significant. Every number is at this plan's model size and "
          "horizon only.", ""]
    for v in judged:
        headline, rest = _first_clause(v["verdict"])
        L += [f"### {v['hypothesis']}", "", f"**{headline}.**", ""]
        L += _hypothesis_table(v["hypothesis"], plan, runs, agg or {}, comparisons)
        details = [d for d in (rest, v.get("detail")) if d]
        if details:
            L += ["Detail: " + "; ".join(details) + ".", ""]
    return L


def _runs_section(runs) -> list[str]:
    """Each run's status; the log tail of a failed one."""
    L: list[str] = []
    L += ["## Runs", "", "Physics on at step: the first logged training step with a physics weight above 0.", "",
          "| run | status | last step | wall time (s) | resumed | physics on at step | val token acc then | "
          "steps after switch-on |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        acc = r.get("metrics", {}).get("curriculum/physics_on_val_token_acc")
        on, last = r.get("physics_on_step"), r.get("last_step")
        after = last - on + 1 if isinstance(on, int) and isinstance(last, int) else "–"
        L.append(f"| {r['name']} | {r['status']} | {r.get('last_step', '–')} | "
                 f"{r['wall_s'] if r.get('wall_s') is not None else '–'} | {'yes' if r.get('resumed') else ''} | "
                 f"{on if on is not None else '–'} | {'–' if acc is None else f'{acc:.1%}'} | {after} |")
    L.append("")
    for r in runs:
        if r["status"] == "failed":
            L += [f"**{r['name']} failed** (exit code {r.get('rc')}); last lines of its log:", "", "```",
                  (r.get("log_tail") or "(no log)")[-3000:], "```", ""]
    return L


def _row(agg, c: str, keys, digits=3, pct_keys=()) -> str:
        n = max((s["n"] for s in agg.get(c, {}).values()), default=0)
        return f"| `{label(c)}` | {n} | " + " | ".join(
            fmt(stat(agg, c, k), digits, pct=k in pct_keys) for k in keys) + " |"


def _tables_section(plan, agg) -> list[str]:
    """Final validation; stability, speed, memory; training losses (mean ± sd over seeds)."""
    L: list[str] = []
    L += ["## Results per config (mean ± sd over seeds)", "",
          "### Final validation", "",
          "Decoded (greedy) metrics from `renovo.decode`'s validation callback; token accuracy is teacher-forced.",
          "",
          "| config | n | AA precision | AA recall | peptide recall | peptide precision | token acc (val) | "
          "token acc (train, last 10%) | val CE |", "|---|---|---|---|---|---|---|---|---|"]
    keys = ["val/aa_precision", "val/aa_recall", "val/peptide_recall", "val/peptide_precision", "val/token_acc",
            "train/token_acc_final", "val/ce"]
    L += [_row(agg, c, keys) for c in plan.configs] + [""]

    L += ["### Stability, speed, memory", "",
          "| config | n | non-finite losses | skipped steps | spikes (total) | of which ≤ 50 steps after a weight change | spikes (CE) | "
          "steps/s | spectra/s | peak RSS (MiB) | CUDA max alloc (MiB) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = ["stability/nonfinite", "stability/skipped", "stability/spikes_total", "stability/spikes_total_at_switch",
            "stability/spikes_ce",
            "speed/steps_per_s", "speed/spectra_per_s", "memory/peak_rss_mb", "memory/cuda_max_allocated_mb"]
    L += [_row(agg, c, keys, 2) for c in plan.configs] + [""]

    L += ["### Training losses, first vs last 10% of logged steps", "",
          "| config | n | CE early | CE late | spectrum early | spectrum late | precursor early | precursor late | "
          "min CE / weighted physics term |", "|---|---|---|---|---|---|---|---|---|"]
    keys = ["loss/ce_early", "loss/ce_late", "loss/spectrum_early", "loss/spectrum_late", "loss/precursor_early",
            "loss/precursor_late", "primary/ce_over_weighted_min"]
    L += [_row(agg, c, keys, 4) for c in plan.configs] + [""]
    return L


def _gradient_flow_section(plan, runs, agg) -> list[str]:
    """Gradient norms and cosines per curriculum stage."""
    L: list[str] = []
    shares = any(k.endswith("_gradient_share") for c in plan.configs for k in agg.get(c, {}))
    steps = any(k.endswith("_adamw_step_share") for c in plan.configs for k in agg.get(c, {}))
    L += ["### Gradient flow per curriculum stage", "",
          "`GradientFlowMonitor`: each component's gradient on all model parameters (separate autograd passes), "
          "averaged over the monitored steps of a stage, then over seeds. Weighted = norm × the component's "
          "curriculum weight; raw norms, measured before clipping, say which term would dominate an unclipped "
          "sum. "
          + ("**Gradient share** = the projection of the term's weighted gradient on the summed gradient of one "
             "batch, over its squared norm (the shares add up to 1): what the term contributes to the raw "
             "gradient. It is not the optimizer's step: a noisy term nearly orthogonal to CE's gets a large share "
             "by construction. " if shares else
             "These runs did not log each term's share of the gradient (older runs). ")
          + ("**AdamW step share** = the term's part of the first-order loss decrease of the step AdamW actually "
             "took (−wᵢ∇ᵢ·Δθ over −Σⱼ wⱼ∇ⱼ·Δθ, Δθ the parameters' change in that step, clipping, momentum and "
             "preconditioning included): what the term got out of the update. " if steps else
             "These runs did not log the AdamW step share (older runs): what the optimizer's step did for each "
             "term is not measured here. ")
          + "Components are computed at weight 0 too.", ""]
    columns = [("w_spectrum", "w spectrum"), ("w_precursor", "w precursor"), ("ce_norm", "‖∇CE‖"),
               ("spectrum_norm", "‖∇spectrum‖"), ("spectrum_weighted_norm", "weighted"),
               ("spectrum_cos_ce", "cos(∇spec, ∇CE)"), ("precursor_norm", "‖∇precursor‖"),
               ("precursor_weighted_norm", "weighted"), ("precursor_cos_ce", "cos(∇prec, ∇CE)")]
    if shares:
        columns += [("ce_gradient_share", "gradient share CE"), ("spectrum_gradient_share", "spectrum"),
                    ("precursor_gradient_share", "precursor")]
    if steps:
        columns += [("ce_adamw_step_share", "AdamW step share CE"), ("spectrum_adamw_step_share", "spectrum"),
                    ("precursor_adamw_step_share", "precursor")]
    L += ["| config | stage (steps) | " + " | ".join(title for _, title in columns) + " |",
          "|---|---|" + "---|" * len(columns)]
    for c in plan.configs:
        stages = sorted({int(k.split("/")[1][5:]) for k in agg.get(c, {}) if k.startswith("gradflow/stage")})
        bounds = next((r.get("stages") for r in runs if r["config"] == c and r.get("stages")), None) or []
        for s in stages:
            b = next((x for x in bounds if x["stage"] == s), None)
            span = f"{s} ({b['start']:,.0f}–{b['end']:,.0f})" if b else str(s)
            keys = [f"gradflow/stage{s}/{k}" for k, _ in columns]
            L.append(f"| `{label(c)}` | {span} | " + " | ".join(fmt(stat(agg, c, k), 3) for k in keys) + " |")
    L.append("")
    return L


def _comparisons_section(comparisons) -> list[str]:
    """Paired comparisons of each (candidate, reference) pair."""
    L: list[str] = []
    if comparisons:
        L += ["### Comparisons, paired by seed (candidate − reference)", "",
              "Holm p: the paired t-test's p adjusted over its family (one read-out's accuracy comparisons, or one "
              "metric's comparisons for spikes, speed and memory).", "",
              "| read-out | candidate | reference | metric | candidate | reference | mean paired difference [95% CI] | "
              "seeds +/−/= | paired t | p (t) | Holm p | p (sign) | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        L += [_comparison_row(cmp, with_t=True) + f" {cmp['verdict']} |" for cmp in comparisons]
        L.append("")
    return L


def _comparison_row(cmp: dict, with_t: bool = False) -> str:
    """One paired comparison as table cells up to p (sign), ending in '|'."""
    def num(x, d=3):
        return "–" if x is None or not math.isfinite(x) else f"{x:.{d}g}"
    return (f"| {cmp.get('readout') or 'whole run'} | `{label(cmp['candidate'])}` | `{label(cmp['reference'])}` | "
            f"{cmp['metric']} | "
            f"{num(cmp['mean_a'], 4)} ± {num(cmp['sd_a'], 2)} | {num(cmp['mean_b'], 4)} ± {num(cmp['sd_b'], 2)} | "
            f"{num(cmp['diff'], 3)} [{num(cmp['ci_low'], 3)}, {num(cmp['ci_high'], 3)}] | "
            f"{cmp['n_positive']}/{cmp['n_negative']}/{cmp['n_tie']} |" + (f" {num(cmp['t'])} |" if with_t else "")
            + f" {num(cmp['p'])} | {num(cmp.get('p_holm'))} | {num(cmp['sign_p'])} |")


def _sanity_section(plan, runs) -> list[str]:
    """Each run's Phase 1 sanity check text."""
    L: list[str] = []
    if plan.sanity:
        L += ["## Phase 1 sanity check per run", "",
              "`renovo.experiments.sanity.sanity_report` on each run's metrics.csv (the logic `renovo train --sanity` "
              "prints).", ""]
        for r in runs:
            if "sanity" in r:
                L += ["```", r["sanity"]["text"], "```", ""]
    return L


def _figures_section(figures) -> list[str]:
    """Each figure with its caption."""
    L: list[str] = []
    if figures:
        L += ["## Figures", ""]
        for name, caption in figures.items():
            L += [f"**{caption}**", "", f"![{caption}]({name})", ""]
    return L


#: The report's last section: what its terms mean.
DEFINITIONS = [
    "## Definitions", "",
    "- **spike**: a logged training step whose loss exceeds the median of the preceding 50 logged values "
    "by more than 5 × their median absolute deviation (unscaled MAD; a value is judged against the past only, "
    "so a falling loss is never a spike). Counted on the total loss and on CE alone — a curriculum stage "
    "switch raises the total at once and can be flagged while CE is unaffected; spikes up to 50 steps after a "
    "scheduled weight change (a curriculum stage start) are counted apart from the others.",
    "- **non-finite**: NaN/Inf among the logged training losses (CE, spectrum, precursor, total); "
    "**skipped**: optimizer steps the NaN guard skipped.",
    "- **early / late**: the mean of the first / last 10% of logged training steps (as the sanity check).",
    "- **steps/s**: median of the speed monitor's rolling rate (validation excluded); **peak RSS**: the "
    "process's maximum resident memory.",
    "- **mean ± sd**: over seeds (sample sd); a single value has no sd.", "",
]
