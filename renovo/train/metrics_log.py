"""metrics.csv, the run's CSV log: the one reader of it.

Lightning's CSV logger writes one row per logging call, so the values of one
step can sit on several rows (training, gradient flow, validation). Readers
merge them per step; when a column is logged more than once at a step, the
last row wins (what was logged last is what the step ended with).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

#: Columns that index a row rather than measure something.
INDEX_COLUMNS = ("step", "epoch")
#: Columns older runs wrote under another name -> the name they have now (read under the new one).
RENAMED_COLUMNS = {f"grad/{term}_update_share": f"grad/{term}_gradient_share"
                   for term in ("ce", "spectrum", "precursor")}


def read_metric_rows(path: str | Path) -> list[dict[str, str]]:
    """The raw rows of a metrics.csv (strings, as written), in file order."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_metrics(path: str | Path) -> dict[int, dict[str, float]]:
    """metrics.csv -> {step: {column: value}} in step order, rows of one step merged (last wins)."""
    by_step: dict[int, dict[str, float]] = {}
    for row in read_metric_rows(path):
        if not row.get("step"):
            continue
        merged = by_step.setdefault(int(float(row["step"])), {})
        for key, value in row.items():
            if key in INDEX_COLUMNS or value in ("", None):
                continue
            try:
                merged[RENAMED_COLUMNS.get(key, key)] = float(value)
            except ValueError:
                continue
    return dict(sorted(by_step.items()))


def metric_series(metrics: dict[int, dict[str, float]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{column: (steps int64, values float64)} in step order, from `read_metrics`' result."""
    columns: dict[str, tuple[list[int], list[float]]] = {}
    for step, row in metrics.items():
        for key, value in row.items():
            steps, values = columns.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
    return {key: (np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64))
            for key, (steps, values) in columns.items()}


def read_series(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """metrics.csv -> {column: (steps, values)}, one value per step."""
    return metric_series(read_metrics(path))
