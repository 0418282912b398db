"""scripts/gpu_check.sh refuses cleanly without CUDA; its Python part's CPU-side logic runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the script would run for real")
def test_without_cuda_one_line_and_nothing_written(tmp_path):
    out = tmp_path / "gpu"
    result = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), str(out)], capture_output=True,
                            text=True, env={**os.environ, "PYTHON": sys.executable}, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "no CUDA device" in result.stderr
    assert not out.exists()


def test_agreement_logic_cpu_against_cpu(tmp_path):
    out = tmp_path / "agreement.json"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "agreement", "--device", "cpu",
                             "--configs", "gaussian_losses", "huber_l1", "--preset", "tiny", "--batch-size", "4",
                             "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["failures"] == []
    rows = report["results"]["gaussian_losses"]
    assert set(rows) == {"ce", "spectrum", "precursor", "total", "grad_norm"}
    assert all(r["within"] and r["abs_diff"] == 0.0 for r in rows.values())  # same device: bitwise equal
