"""DDP on CPU with gloo: two processes train a few steps in lockstep."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from renovo.train import read_metrics


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, RENOVO_RUN_DIR="")
    env.pop("RENOVO_RUN_DIR")
    command = [sys.executable, "-m", "renovo.cli", "train", "--config", "gaussian_losses", "--preset", "tiny",
               "--max-steps", "6", "--batch-size", "4", "--out", str(out), "--devices", "2", "--strategy", "ddp",
               "--accelerator", "cpu", "--no-progress", "--set", "data.val_size=8",
               "--set", "trainer.val_every_n_steps=3", "--set", "trainer.log_every_n_steps=1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6
    metrics = read_metrics(out / "metrics.csv")
    assert [s for s, m in metrics.items() if "train/ce" in m] == list(range(6))
    # spectra/s counts both ranks' batches
    assert any("speed/spectra_per_s" in m for m in metrics.values())
