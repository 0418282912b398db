"""Learning curves of a run folder, from its metrics.csv (what `renovo plot curves` draws)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from renovo.files import atomic_path
from renovo.train.metrics_log import read_metrics

#: Panels: title and the metrics.csv columns drawn in it (those the run logged).
PANELS = (
    ("cross-entropy", ("train/ce", "val/ce")),
    ("physics losses (unweighted)", ("train/spectrum", "train/precursor", "val/spectrum", "val/precursor")),
    ("accuracy", ("train/token_acc", "val/token_acc", "val/peptide_acc", "val/aa_precision", "val/peptide_recall")),
    ("schedule", ("lr", "train/w_spectrum", "train/w_precursor")),
)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size < window:
        return values
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def plot_learning_curves(run_dir: str | Path, path: str | Path, smooth_steps: int | None = None) -> Path:
    """A 2×2 figure of the run's losses, accuracies and schedule against step; training curves
    smoothed over ``smooth_steps`` (default: 1% of the run) with the raw values faint behind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from renovo.errors import RenovoError

    metrics_path = Path(run_dir) / "metrics.csv"
    if not metrics_path.is_file():
        raise RenovoError(f"no metrics.csv in {run_dir} (is it a renovo run folder?)")
    metrics = read_metrics(metrics_path)
    if not metrics:
        raise RenovoError(f"{metrics_path} holds no logged steps yet")
    steps = np.array(list(metrics))
    window = smooth_steps or max(1, len(steps) // 100)
    figure, axes = plt.subplots(2, 2, figsize=(10, 7))
    for axis, (title, keys) in zip(axes.ravel(), PANELS):
        drawn = 0
        for key in keys:
            points = [(s, m[key]) for s, m in metrics.items() if key in m and math.isfinite(m[key])]
            if not points:
                continue
            x, y = np.array(points).T
            if key.startswith("val/"):
                axis.plot(x, y, "o-", ms=3, lw=1, label=key)
            else:
                line, = axis.plot(x, _smooth(y, window), lw=1.2, label=key)
                if window > 1:
                    axis.plot(x, y, lw=0.5, alpha=0.25, color=line.get_color())
            drawn += 1
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        if drawn:
            axis.legend(fontsize=7)
        else:
            axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes, color="0.5")
    figure.suptitle(f"{Path(run_dir).name}: learning curves ({steps[-1] + 1} steps)", fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a killed run never leaves half a PNG
        figure.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path)
