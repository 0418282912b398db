"""`renovo experiment sanity --size quick -j 2` end to end (real training subprocesses, two at a time; minutes on
2 cores)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_sanity_quick_end_to_end(tmp_path):
    out = tmp_path / "sanity-quick"
    command = [sys.executable, "-m", "renovo.cli", "experiment", "sanity", "--size", "quick", "-j", "2", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (out / "report.md").read_text()
    assert f"experiment sanity --size quick -j 2 --out {out}" in report.split("```")[1]
    results = json.loads((out / "results.json").read_text())
    assert [r["status"] for r in results["runs"]] == ["done"] * 4
    sanity = next(v for v in results["verdicts"] if v["hypothesis"].startswith("Phase 1"))
    assert "/2 seeds" in sanity["verdict"]
    assert results["aggregate"]["gaussian_losses"]["val/aa_precision"]["n"] == 2
    assert results["plan"]["control"] == "ce_only"
    for name in ("losses.png", "primary.png", "gradients.png", "validation.png"):
        assert (out / name).is_file()
    # Running it again skips every finished run and rebuilds the same report.
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count("done, skipped") == 4
