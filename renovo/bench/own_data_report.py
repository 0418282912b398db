"""The report of `renovo bench own-data`: results.json and report.md, with the targets' figures."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np

METRICS = (("peptide_recall", "peptide recall"), ("aa_precision", "AA precision"), ("auc", "AUC"),
           ("simulated_token_acc", "simulated token acc"))


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _row(label: str, before: dict, runs: dict) -> str:
    cells = []
    for key, _ in METRICS:
        after = [r[key] for r in runs.values()]
        cells.append(f"{before[key]:.3f} → {_mean(after):.3f} ({', '.join(f'{v:.3f}' for v in after)})")
    return f"| {label} | " + " | ".join(cells) + " |"


def targets(results: dict) -> dict:
    """Fine-tuning: relative recall lift of each left-out file (mean over seeds); adaptation: per file and
    signal, in how many seeds recall rose, and the largest fall of simulated token accuracy."""
    out: dict = {"finetune": {}, "adapt": {}}
    for name, runs in results["finetune"].items():
        before = results["before"][name]["peptide_recall"]
        after = _mean([r["peptide_recall"] for r in runs.values()])
        out["finetune"][name] = {"before": before, "after": after,
                                 "lift_relative": after / before - 1 if before else float("inf")}
    for signal, by_file in results["adapt"].items():
        for name, runs in by_file.items():
            before = results["before"][name]
            rose = sum(r["peptide_recall"] > before["peptide_recall"] for r in runs.values())
            forgot = max(before["simulated_token_acc"] - r["simulated_token_acc"] for r in runs.values())
            out["adapt"].setdefault(signal, {})[name] = {"seeds_up": rose, "seeds": len(runs),
                                                        "largest_token_acc_fall": forgot}
    return out


def format_report(results: dict, command: str) -> str:
    t = targets(results)
    header = "| | " + " | ".join(words for _, words in METRICS) + " |"
    rule = "|---|" + "---|" * len(METRICS)
    lines = ["# Bring your own spectra: fine-tuning and label-free adaptation on the shared real files", "",
             "Made by:", "", "```", command, "```", "",
             f"Model: `{results['model']}`; files: " + ", ".join(f"{k} ({v} labelled spectra)"
                                                                for k, v in results["files"].items())
             + f"; seeds {results['seeds']}. Every model is scored by beam 5 with the precursor-mass constraint "
             "and its own score; before → after (mean over seeds; per-seed values in brackets).", "",
             "## Fine-tuning, leave one file out", "",
             "Fine-tuned on the other files (a tenth of their peptides held out for validation and early stopping; a "
             "quarter of every batch simulated), scored on the left-out file.", "", header, rule]
    for name, runs in results["finetune"].items():
        lines.append(_row(f"left out: {name}", results["before"][name], runs))
    lines += [""] + [f"- {name}: peptide recall {v['before']:.3f} → {v['after']:.3f} (**{v['lift_relative']:+.0%}**; "
                     "target ≥ +50%)" for name, v in t["finetune"].items()] + [""]
    for signal, by_file in results["adapt"].items():
        what = ("the accepted predictions as labels" if signal == "pseudo"
                else "the physics losses alone on the accepted spectra (no cross-entropy on them)")
        lines += [f"## Label-free adaptation: {signal} ({what})", "",
                  "Adapted on each file's spectra with their labels hidden, scored on the same spectra with the labels.",
                  "", header, rule]
        for name, runs in by_file.items():
            lines.append(_row(name, results["before"][name], runs))
        lines.append("")
        for name, v in t["adapt"][signal].items():
            lines.append(f"- {name}: recall up in **{v['seeds_up']}/{v['seeds']}** seeds (target ≥ 2 of 3); "
                         f"simulated token accuracy fell by at most {100 * v['largest_token_acc_fall']:.1f} points "
                         "(target ≤ 2)")
        accepted = [(name, seed, [(r["accepted"], r["right"]) for r in run["rounds"]])
                    for name, runs in by_file.items() for seed, run in runs.items()]
        lines += ["", "Accepted predictions per round (accepted, of them right by the hidden labels): "
                  + "; ".join(f"{name} seed {seed}: {rounds}" for name, seed, rounds in accepted), ""]
    return "\n".join(lines)


def write_outputs(results: dict, out: Path, args) -> None:
    from renovo.files import write_text

    out.mkdir(parents=True, exist_ok=True)
    argv = sys.argv[3:] if sys.argv[1:3] == ["bench", "own-data"] else []
    command = "renovo bench own-data " + shlex.join(argv)
    results = {**results, "command": command, "targets": targets(results)}
    write_text(out / "results.json", json.dumps(results, indent=1, default=float) + "\n")
    write_text(out / "report.md", format_report(results, command))
