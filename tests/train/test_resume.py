"""Resume is exact: `renovo train` killed with SIGKILL mid-run and resumed from last.ckpt reproduces, bit for
bit on CPU, the uninterrupted run's losses from the resume point on and its final weights and optimizer state."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from renovo.train.checkpoints import read_checkpoint

REPO = Path(__file__).resolve().parents[2]
STEPS, CKPT_EVERY, HANG_AT = 40, 10, 25
# Scaled curriculum on 40 steps: stages start at 0, 4, 8, 12, 16; the kill (after step 20's checkpoint, at
# step 25) falls in the last stage, spectrum 0.25 and a precursor ramp.
ARGS = ["train", "--config", "gaussian_losses", "--preset", "tiny", "--max-steps", str(STEPS), "--batch-size", "4",
        "--seed", "11", "--no-progress",
        "--set", "model.dropout=0.1",  # dropout draws random numbers every step: the RNG state must resume too
        "--set", "data.val_size=8", "--set", "data.val_batch_size=8",
        "--set", "trainer.val_every_n_steps=20", "--set", f"trainer.checkpoint_every_n_steps={CKPT_EVERY}",
        "--set", "trainer.log_every_n_steps=1", "--set", "monitors.gradient_flow_every_n_steps=15"]
# `renovo train` with one extra callback that, at HANG_AT, marks the run as hung and blocks: the test then
# SIGKILLs a process that is deterministically mid-training, past a checkpoint and before the next one.
HANGING = """
import sys, time
from pathlib import Path
import lightning as L
import renovo.commands.train as command

class Hang(L.Callback):
    def on_train_batch_start(self, trainer, *args):
        if trainer.global_step >= int(sys.argv[1]):
            Path(sys.argv[2]).touch()
            while True:
                time.sleep(0.05)

decode_callbacks = command.decode_callbacks
command.decode_callbacks = lambda config: decode_callbacks(config) + [Hang()]
from renovo.cli import main
sys.exit(main(sys.argv[3:]))
"""
COMPARED = ("train/ce", "train/spectrum", "train/precursor", "train/total", "train/w_spectrum", "train/w_precursor",
            "train/stage", "lr", "grad/total_norm_pre_clip", "grad/total_norm_post_clip")


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _train_rows(path: Path) -> dict[int, dict[str, str]]:
    """step -> the raw CSV strings of the training row (repr of the logged float: exact)."""
    rows: dict[int, dict[str, str]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("train/ce"):
                step = int(float(row["step"]))
                assert step not in rows, f"step {step} logged twice"
                rows[step] = row
    return rows


def _assert_same_tensors(a, b, where: str) -> None:
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            _assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow  # three `renovo train` processes of 40 tiny steps: ~40 s on a quiet 2-core machine
def test_sigkilled_run_resumes_bit_identical(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    marker = tmp_path / "hung"
    command = [sys.executable, "-m", "renovo.cli"]
    uninterrupted = subprocess.Popen(command + ARGS + ["--out", str(full)], env=_env(), cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    doomed = subprocess.Popen([sys.executable, "-c", HANGING, str(HANG_AT), str(marker)] + ARGS + ["--out", str(part)],
                              env=_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert doomed.poll() is None, "the run to be killed ended on its own"
            assert time.monotonic() < deadline, "the run never reached the kill point"
            time.sleep(0.1)
        checkpoint = part / "checkpoints" / "last.ckpt"
        assert read_checkpoint(checkpoint)["global_step"] == 20  # the last checkpoint before the kill
        doomed.send_signal(signal.SIGKILL)
        assert doomed.wait(30) == -signal.SIGKILL
        output, _ = uninterrupted.communicate(timeout=300)
        assert uninterrupted.returncode == 0, output
    finally:
        for process in (doomed, uninterrupted):
            if process.poll() is None:
                process.kill()
                process.wait()
    # No temporary checkpoint files left behind by the atomic writer, and last.ckpt still reads.
    assert not [p.name for p in (part / "checkpoints").iterdir() if p.name.startswith(".")]
    resumed = subprocess.run(command + ["train", "--resume", str(checkpoint), "--no-progress"], env=_env(),
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    a, b = _train_rows(full / "metrics.csv"), _train_rows(part / "metrics.csv")
    assert sorted(a) == list(range(STEPS))
    # Both segments, each step once: the killed run's rows up to its checkpoint were on disk when it died.
    assert sorted(b) == list(range(STEPS))
    resumed_steps = list(range(20, STEPS))
    for step in range(STEPS):
        for key in COMPARED:
            assert b[step][key] == a[step][key], (step, key, a[step][key], b[step][key])
    # The resumed segment is in a physics stage with both losses weighted.
    assert {b[s]["train/stage"] for s in resumed_steps} == {"5.0"}
    assert float(b[25]["train/w_spectrum"]) > 0 and float(b[25]["train/w_precursor"]) > 0
    assert len({b[s]["train/ce"] for s in resumed_steps}) > 1  # the losses move: not a trivially equal trajectory

    final_a = read_checkpoint(full / "checkpoints" / "last.ckpt")
    final_b = read_checkpoint(part / "checkpoints" / "last.ckpt")
    assert final_a["global_step"] == final_b["global_step"] == STEPS
    _assert_same_tensors(final_a["state_dict"], final_b["state_dict"], "state_dict")
    _assert_same_tensors(final_a["optimizer_states"], final_b["optimizer_states"], "optimizer_states")
    _assert_same_tensors(final_a["lr_schedulers"], final_b["lr_schedulers"], "lr_schedulers")
    print(f"resume-equivalence: steps 0-19 (killed run) and 20-{STEPS - 1} (resumed), {len(COMPARED)} logged values "
          f"per step bit-identical "
          f"({', '.join(COMPARED)}); final weights ({len(final_a['state_dict'])} tensors), AdamW state and LR "
          f"schedule identical")
