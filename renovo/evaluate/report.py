"""Join predictions to labelled spectra, score them, and report (table, JSON, plot)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Sequence

from renovo.chem.vocabulary import Vocabulary
from renovo.errors import RenovoError
from renovo.evaluate.io import PSM, peptide_or_none
from renovo.evaluate.metrics import UnreadablePrediction, evaluate_peptides, match_peptide
from renovo.files import atomic_path, write_json


def _file_key(source: str, by_path: Mapping[str, str], names: Mapping[str, list[str]], stems: Mapping[str, list[str]]) -> str | None:
    """The label file a prediction's file names: same resolved path, else the unique file of that
    name, else the unique file of that name without extension (InstaNovo's experiment_name)."""
    key = by_path.get(str(Path(source).resolve()))
    if key is not None:
        return key
    for table, name in ((names, Path(source).name), (stems, Path(source).name), (stems, Path(source).stem)):
        candidates = table.get(name, [])
        if len(candidates) == 1:
            return candidates[0]
    return None


def join_psms(
    psms: Iterable[PSM],
    labels: Mapping[str, Mapping[int, str | None]],
    scans: Mapping[str, Mapping[str, int]] | None = None,
) -> tuple[list[tuple[PSM | None, str | None]], dict]:
    """(best PSM or None, label) for every labelled spectrum, and the join counts.

    ``labels`` maps a spectrum file (resolved path) to ``{index: peptide}`` for
    every spectrum read from it; ``scans`` maps the same files to ``{scan: index}``
    for predictions that name their spectrum by scan number (InstaNovo, Casanovo
    on mzML) — when a file has no scan numbers, such a number is read as the
    spectrum's index. A prediction's file is matched by resolved path, else by
    file name (or name without extension) when that is unique among the label
    files. Two predictions of one rank for one spectrum are an error, since
    one of them would be scored silently. ``info`` counts predictions that
    matched no labelled spectrum.
    """
    scans = scans or {}
    by_path = {str(Path(f).resolve()): f for f in labels}
    names: dict[str, list[str]] = {}
    stems: dict[str, list[str]] = {}
    for f in labels:
        names.setdefault(Path(f).name, []).append(f)
        stems.setdefault(Path(f).stem, []).append(f)
    best: dict[tuple[str, int], PSM] = {}
    seen: set[tuple[str, int, int]] = set()
    unmatched = 0
    for psm in psms:
        key_file = _file_key(psm.source_file, by_path, names, stems)
        index = psm.index
        if key_file is not None and index is None and psm.scan is not None:
            file_scans = scans.get(key_file) or {}
            index = file_scans.get(str(psm.scan))
            if index is None and not file_scans and str(psm.scan).isdigit():
                index = int(psm.scan)
        if key_file is None or index is None or index not in labels[key_file]:
            unmatched += 1
            continue
        if (key_file, index, psm.rank) in seen:
            where = f"scan {psm.scan}" if psm.index is None else f"index {index}"
            raise RenovoError(f"two rank-{psm.rank} predictions for spectrum {where} of {key_file}: "
                              "spectrum references must be unique")
        seen.add((key_file, index, psm.rank))
        key = (key_file, index)
        if key not in best or psm.rank < best[key].rank:
            best[key] = psm
    pairs = [(best.get((f, index)), peptide) for f, spectra in labels.items() for index, peptide in spectra.items()]
    return pairs, {"predictions_without_labelled_spectrum": unmatched}


def join_predictions(
    psms: Iterable[PSM],
    labels: Mapping[str, Mapping[int, str | None]],
    scans: Mapping[str, Mapping[str, int]] | None = None,
    vocabulary: Vocabulary | None = None,
) -> tuple[list[str | None], list[str | None], list[float | None], dict]:
    """Line up rank-1 predictions with labels (see :func:`join_psms`).

    Returns (predictions, targets, scores, info) over all labelled spectra,
    with None where a spectrum has no prediction; predictions are canonical
    ProForma (read as :func:`renovo.evaluate.io.peptide_or_none` does with
    ``vocabulary``), or an :class:`UnreadablePrediction` (scored as wrong)
    for one renovo cannot read. ``info`` counts those
    (``predictions_unreadable``) and gives the first as an example.
    """
    pairs, info = join_psms(psms, labels, scans)
    predictions: list[str | None] = []
    targets: list[str | None] = []
    scores: list[float | None] = []
    unreadable = 0
    example: str | None = None
    for psm, peptide in pairs:
        prediction = peptide_or_none(psm.peptide, vocabulary) if psm is not None else None
        if psm is not None and psm.peptide and psm.peptide.strip() and prediction is None:
            # Predicted, and wrong: dropping it would leave it out of the precision denominator.
            prediction = UnreadablePrediction(psm.peptide.strip())
            unreadable += 1
            example = example or str(prediction)
        predictions.append(prediction)
        targets.append(peptide)
        scores.append(psm.score if prediction is not None else None)
    return predictions, targets, scores, {**info, "predictions_unreadable": unreadable,
                                          "predictions_unreadable_example": example}


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
    calibration = metrics.get("calibration")
    if calibration:
        rows.append(("calibration error (ECE)", f"{calibration['ece']:.4f}  (scores read as probabilities)"))
        for row in calibration["fdr"]:
            estimated = "–" if row["kept"] == 0 else f"{row['estimated_fdr']:.1%}"
            actual = "–" if row["kept"] == 0 else f"{row['actual_fdr']:.1%}"
            rows.append((f"q ≤ {row['q_threshold']:.0%}", f"{row['kept']} PSMs kept, {row['right']} right; "
                         f"estimated FDR {estimated}, actual {actual}"))
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
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)


def plot_reliability(calibration: Mapping, path: str | Path, title: str = "") -> None:
    """Reliability diagram: fraction right against mean score per score bin, PSM counts above (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in calibration["reliability"] if r["psms"]]
    figure, axis = plt.subplots(figsize=(4.5, 4))
    axis.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    if rows:
        axis.plot([r["mean_score"] for r in rows], [r["fraction_right"] for r in rows], "o-", lw=1.5,
                  label=f"ECE {calibration['ece']:.3f}")
        for r in rows:
            axis.annotate(str(r["psms"]), (r["mean_score"], r["fraction_right"]), textcoords="offset points",
                          xytext=(0, 5), ha="center", fontsize=6)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.05)
    axis.set_xlabel("score (mean in bin); number = PSMs")
    axis.set_ylabel("fraction of PSMs right")
    axis.set_title(title or "reliability")
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)


def accuracy_by_length(predictions: Sequence[str | None], targets: Sequence[str | None],
                       vocabulary: Vocabulary | None = None) -> dict[int, tuple[int, int]]:
    """{label length: (spectra, peptides correct)} over labelled spectra (the standard tolerances)."""
    table: dict[int, list[int]] = {}
    for prediction, target in zip(predictions, targets):
        if target is None:
            continue
        match = match_peptide(prediction or None, target, vocabulary)
        counts = table.setdefault(match.n_true, [0, 0])
        counts[0] += 1
        counts[1] += match.peptide_match
    return {length: (n, correct) for length, (n, correct) in sorted(table.items())}


def plot_accuracy_by_length(table: Mapping[int, tuple[int, int]], path: str | Path, title: str = "") -> None:
    """Peptide recall per label length (bars), with the number of spectra per length (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = list(table)
    recall = [correct / n if n else 0.0 for n, correct in table.values()]
    figure, axis = plt.subplots(figsize=(5.5, 4))
    axis.bar(lengths, recall, color="tab:blue", alpha=0.8)
    for length, value, (n, _) in zip(lengths, recall, table.values()):
        axis.text(length, value + 0.01, str(n), ha="center", va="bottom", fontsize=6)
    axis.set_ylim(0, 1.08)
    axis.set_xlabel("label length (residues); number above = spectra")
    axis.set_ylabel("peptide recall")
    axis.set_title(title or "accuracy by peptide length")
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)


def write_report(metrics: Mapping, out_dir: str | Path, title: str = "",
                 predictions: Sequence[str | None] | None = None, targets: Sequence[str | None] | None = None,
                 vocabulary: Vocabulary | None = None) -> list[Path]:
    """metrics.json and precision_coverage.png in ``out_dir``; reliability.png when the scores are probabilities
    (``metrics["calibration"]``); with ``predictions`` and ``targets`` also accuracy_by_length.png (and the table
    in metrics.json)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = dict(metrics)
    table = accuracy_by_length(predictions, targets, vocabulary) if predictions is not None and targets is not None else None
    if table is not None:
        metrics["by_length"] = {str(k): {"spectra": n, "correct": c} for k, (n, c) in table.items()}
    json_path = out_dir / "metrics.json"
    write_json(json_path, metrics)
    png_path = out_dir / "precision_coverage.png"
    plot_precision_coverage(metrics.get("coverage", []), metrics.get("precision", []), metrics.get("auc", 0.0), png_path, title)
    written = [json_path, png_path]
    if metrics.get("calibration"):
        reliability_path = out_dir / "reliability.png"
        plot_reliability(metrics["calibration"], reliability_path, title)
        written.append(reliability_path)
    if table is not None:
        length_path = out_dir / "accuracy_by_length.png"
        plot_accuracy_by_length(table, length_path, title)
        written.append(length_path)
    return written


def evaluate_psms(psms: Iterable[PSM], labels: Mapping[str, Mapping[int, str | None]],
                  scans: Mapping[str, Mapping[str, int]] | None = None) -> dict:
    """Join and score: the metrics dict with the curve and join counts."""
    predictions, targets, scores, info = join_predictions(psms, labels, scans)
    metrics = evaluate_peptides(predictions, targets, scores, return_curve=True)
    metrics.update(info)
    return metrics
