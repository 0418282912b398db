"""The report of `renovo bench rerank`: report.md and the precision–coverage figure, from its results.json."""
from __future__ import annotations

import math
from pathlib import Path


def _num(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _fdr_cells(condition: dict) -> str:
    rows = condition.get("calibration", {}).get("fdr", [])
    cells = []
    for row in rows:
        if row["kept"]:
            cells.append(f"{row['q_threshold']:.0%}: {row['kept']} kept, est {row['estimated_fdr']:.1%} / "
                         f"actual {row['actual_fdr']:.1%}")
        else:
            cells.append(f"{row['q_threshold']:.0%}: none kept")
    return "; ".join(cells) or "–"


def format_report(results: dict) -> str:
    """report.md: the command, the targets' figures, then one table per data set."""
    t = results["targets"]
    key = t["condition"]
    lines = ["# Reranking the beam by how well each candidate explains the spectrum", "",
             "Made by:", "", "```", results.get("command", "renovo bench rerank"), "```", "",
             f"Model: `{results['model']}`. Scorers fitted on {results['fit_spectra']} simulated spectra per beam "
             "(`renovo calibrate`'s procedure); data sets: "
             + ", ".join(f"{k} ({v} spectra)" for k, v in results["datasets"].items()) + ".", "",
             "## Targets", "",
             f"- peptide recall on the real files, {key} vs beam 5: {t['right_reranked']:.0f} vs {t['right_beam5']:.0f} "
             f"spectra right, **{t['recall_lift_relative']:+.0%}** (target ≥ +40%)",
             f"- precision–coverage AUC, mean gain over the real files: **{t['auc_gain_mean']:+.3f}** (target ≥ +0.05)",
             "- |estimated − actual FDR| at the 10% q-value threshold (simulation-fitted scorer): "
             + (", ".join(f"{k} {v:.1%}" for k, v in t["fdr_gap_at_10pct"].items()) or "no PSM kept at 10%")
             + " (target ≤ 5 points)",
             f"- throughput, {key} against beam 5 (same spectra, alternating, best of the rounds): "
             f"**{t['throughput_ratio']:.0%}** of beam 5's spectra/s (target ≥ 50%)", ""]
    for name, conditions in results["conditions"].items():
        lines += [f"## {name}", "",
                  "| condition | peptide recall | precision at 50% coverage | AUC | ECE | estimated vs actual FDR | "
                  "spectra/s |", "|---|---|---|---|---|---|---|"]
        for condition, c in conditions.items():
            ece = c.get("calibration", {}).get("ece")
            lines.append(f"| {condition} | {c['peptide_recall']:.3f} | {_num(c['precision_at_half_coverage'])} | "
                         f"{c['auc']:.3f} | {_num(ece)} | {_fdr_cells(c)} | {_num(c.get('spectra_per_s'), 1)} |")
        lines.append("")
    lines += ["Beam 5's ECE and FDR read the model's own score (geometric mean token probability) as a probability; "
              "the reranked conditions' are calibrated probabilities. `beam10_refit_on_X`: the beam-10 candidates "
              "scored by a scorer fitted on file X's labels instead of simulation.", "",
              "![precision–coverage](precision_coverage.png)", ""]
    for fit_on, why in results.get("refit_skipped", {}).items():
        lines.insert(-2, f"Not refitted on {fit_on}: {why}.")
        lines.insert(-2, "")
    return "\n".join(lines)


def plot_curves(results: dict, path: Path) -> None:
    """One panel per data set: precision–coverage of each condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from renovo.files import atomic_path

    names = list(results["conditions"])
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        for condition, c in results["conditions"][name].items():
            if "refit" in condition:
                continue
            curve = c["curve"]
            if curve["coverage"]:
                axis.plot([0.0] + curve["coverage"], [curve["precision"][0]] + curve["precision"], lw=1.3,
                          label=f"{condition} (AUC {c['auc']:.2f})")
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("coverage")
        axis.set_ylabel("peptide precision")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=6, loc="upper right")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)
