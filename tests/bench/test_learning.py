"""`renovo bench learning` end to end at toy size, and its report pieces."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from renovo.bench.learning import read_curve

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "casanovo_mouse_128.mgf"


def test_read_curve_merges_validation_rows_by_step(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        "step,train/ce,val/token_acc,val/peptide_recall,time/elapsed_s\n"
        "9,2.0,,,\n"
        "19,,0.5,,\n"
        "19,,,0.25,12.5\n"
    )
    assert read_curve(tmp_path) == [{"step": 20, "token_acc": 0.5, "peptide_recall": 0.25, "elapsed_s": 12.5}]


@pytest.mark.slow
def test_bench_learning_trains_both_architectures_and_sequences_real_spectra(tmp_path):
    if not REAL.is_file():
        pytest.skip(f"shared real data not found at {REAL}")
    out = tmp_path / "learning"
    command = [sys.executable, "-m", "renovo", "bench", "learning", "--preset", "tiny", "--minutes", "0.3",
               "--val-every", "10", "--val-decode-batches", "1", "--parallel", "--real", str(REAL), "--out", str(out),
               "--set", "data.val_size=64"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert set(results["runs"]) == {"plain", "ion_evidence"}
    for run in results["runs"].values():
        assert run["returncode"] == 0
        assert run["curve"] and all("elapsed_s" in row and "token_acc" in row for row in run["curve"])
        assert 0.0 <= run["real"]["casanovo_mouse_128.mgf"]["aa_precision"] <= 1.0
    assert (out / "learning.png").stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "| plain |" in report and "| ion_evidence |" in report and "casanovo_mouse_128.mgf" in report
    # The report rebuilds from the folder alone.
    (out / "report.md").unlink()
    again = subprocess.run([sys.executable, "-m", "renovo", "bench", "learning", "--report-only", "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and (out / "report.md").read_text() == report
