"""Fabricated run folders (metrics.csv, config.yaml, done.json) for the report and runner tests."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from renovo.experiments.plan import load_plan

PLAN_YAML = """
name: fake
title: fabricated plan
question: does the test pass?
configs: [gaussian_losses, ce_only]
comparisons: [[gaussian_losses, ce_only]]
sanity: SANITY
data: {train: [], val: []}
sizes:
  quick: {preset: tiny, max_steps: 100, seeds: [0, 1, 2], batch_size: 4,
          set: [trainer.val_every_n_steps=50, trainer.log_every_n_steps=5, monitors.gradient_flow_every_n_steps=25]}
"""


def fabricate_run(run_dir: Path, config: str, seed: int, final_aa: float, *, spike_at: int | None = None,
                  nan_at: int | None = None, steps: int = 100, done: bool = True,
                  spectrum_fall: float = 0.001) -> None:
    """A run folder as `renovo train` leaves it, with chosen final AA precision and planted events."""
    from renovo.train.config import load_config, save_config

    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_config(config, [f"trainer.max_steps={steps}", f"seed={seed}", "model.preset=tiny"])
    save_config(cfg, run_dir / "config.yaml")
    rng = np.random.default_rng(seed)
    physics = config != "ce_only"
    rows = []
    for step in range(4, steps, 5):
        ce = 3.0 * math.exp(-step / 60) + 0.5 + rng.normal(0, 0.01)
        w_spec = 0.25 if physics and step > 30 else 0.0
        spectrum, precursor = 0.95 - spectrum_fall * step, 0.5 - 0.002 * step
        total = ce + w_spec * spectrum
        if step == spike_at:
            total += 5.0
            ce += 5.0
        if step == nan_at:
            total = float("nan")
        rows.append({"step": step, "train/ce": ce, "train/spectrum": spectrum, "train/precursor": precursor,
                     "train/total": total, "train/w_spectrum": w_spec, "train/w_precursor": 0.0,
                     "train/token_acc": 0.05 + step / 1000, "nan_guard/skipped": 1.0 if step == nan_at else 0.0,
                     "speed/steps_per_s": 10.0 + seed, "memory/peak_rss_mb": 400.0 + step})
    for step in range(0, steps, 25):
        rows.append({"step": step, "grad/ce_norm": 1.0, "grad/spectrum_norm": 2.0,
                     "grad/spectrum_weighted_norm": 2.0 * (0.25 if physics and step > 30 else 0.0),
                     "grad/spectrum_cos_ce": 0.1, "grad/w_spectrum": 0.25 if physics and step > 30 else 0.0})
    for step, aa in ((49, final_aa / 2), (99, final_aa)):
        rows.append({"step": step, "val/aa_precision": aa, "val/aa_recall": aa * 0.9, "val/peptide_recall": 0.0,
                     "val/peptide_precision": 0.0, "val/token_acc": 0.2, "val/ce": 2.5,
                     "val/spectrum": 0.95 - spectrum_fall * step, "val/precursor": 0.5 - 0.002 * step})
    columns = sorted({k for r in rows for k in r})
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: r["step"]))
    if done:
        (run_dir / "done.json").write_text(json.dumps({"rc": 0, "wall_s": 12.5}))


@pytest.fixture
def make_plan(tmp_path):
    def make(sanity: bool = False, control: str | None = None):
        path = tmp_path / "fake.yaml"
        text = PLAN_YAML.replace("SANITY", str(sanity).lower())
        path.write_text(text + (f"control: {control}\n" if control else ""))
        return load_plan(path, "quick", tmp_path / "out")

    return make
