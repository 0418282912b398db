"""Join predictions to labelled spectra, score them, and report (table, JSON, plot)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from renovo.evaluate.io import PSM
from renovo.evaluate.metrics import evaluate_peptides
from renovo.files import write_json


def join_predictions(
    psms: Iterable[PSM], labels: Mapping[str, Mapping[int, str | None]]
) -> tuple[list[str | None], list[str | None], list[float | None], dict]:
    """Line up rank-1 predictions with labels.

    ``labels`` maps a spectrum file (resolved path) to ``{index: peptide}`` for
    every spectrum read from it. A prediction's file is matched by resolved
    path, else by file name when that name is unique among the label files.
    Returns (predictions, targets, scores, info) over all labelled spectra, with
    None where a spectrum has no prediction; ``info`` counts predictions that
    matched no labelled spectrum.
    """
    by_path = {str(Path(f).resolve()): f for f in labels}
    names: dict[str, list[str]] = {}
    for f in labels:
        names.setdefault(Path(f).name, []).append(f)
    best: dict[tuple[str, int], PSM] = {}
    unmatched = 0
    for psm in psms:
        key_file = by_path.get(str(Path(psm.source_file).resolve()))
        if key_file is None:
            candidates = names.get(Path(psm.source_file).name, [])
            key_file = candidates[0] if len(candidates) == 1 else None
        if key_file is None or psm.index not in labels[key_file]:
            unmatched += 1
            continue
        key = (key_file, psm.index)
        if key not in best or psm.rank < best[key].rank:
            best[key] = psm
    predictions: list[str | None] = []
    targets: list[str | None] = []
    scores: list[float | None] = []
    for f, spectra in labels.items():
        for index, peptide in spectra.items():
            psm = best.get((f, index))
            predictions.append(psm.peptide if psm is not None and psm.peptide else None)
            targets.append(peptide)
            scores.append(psm.score if psm is not None else None)
    return predictions, targets, scores, {"predictions_without_labelled_spectrum": unmatched}


def format_table(metrics: Mapping) -> str:
    """The headline metrics as an aligned text table."""
    rows = [
        ("spectra (labelled)", f"{metrics['n_spectra']}"),
        ("with a prediction", f"{metrics['n_predicted']}"),
        ("peptides correct", f"{metrics['n_peptides_correct']}"),
        ("peptide recall", f"{metrics['peptide_recall']:.4f}"),
        ("peptide precision", f"{metrics['peptide_precision']:.4f}"),
        ("AA precision", f"{metrics['aa_precision']:.4f}  ({metrics['n_aa_matched']}/{metrics['n_aa_pred']})"),
        ("AA recall", f"{metrics['aa_recall']:.4f}  ({metrics['n_aa_matched']}/{metrics['n_aa_true']})"),
    ]
    if "auc" in metrics:
        rows.append(("precision-coverage AUC", f"{metrics['auc']:.4f}"))
    confusions = metrics.get("confusions", {})
    rows.append(("confusions (matched by mass)", ", ".join(f"{k} {v}" for k, v in confusions.items())))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def plot_precision_coverage(coverage: Sequence[float], precision: Sequence[float], auc: float, path: str | Path, title: str = "") -> None:
    """Precision–coverage curve as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4.5, 4))
    if len(coverage):
        axis.plot([0.0] + list(coverage), [precision[0]] + list(precision), lw=1.5, label=f"AUC {auc:.3f}")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("coverage (fraction of spectra)")
    axis.set_ylabel("peptide precision")
    axis.set_title(title or "precision–coverage")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    figure.tight_layout()
    from renovo.files import atomic_path

    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)


def write_report(metrics: Mapping, out_dir: str | Path, title: str = "") -> list[Path]:
    """metrics.json (without the curve arrays' duplicates) and precision_coverage.png in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "metrics.json"
    write_json(json_path, dict(metrics))
    png_path = out_dir / "precision_coverage.png"
    plot_precision_coverage(metrics.get("coverage", []), metrics.get("precision", []), metrics.get("auc", 0.0), png_path, title)
    return [json_path, png_path]


def evaluate_psms(psms: Iterable[PSM], labels: Mapping[str, Mapping[int, str | None]]) -> dict:
    """Join and score: the metrics dict with the curve and join counts."""
    predictions, targets, scores, info = join_predictions(psms, labels)
    metrics = evaluate_peptides(predictions, targets, scores, return_curve=True)
    metrics.update(info)
    return metrics
