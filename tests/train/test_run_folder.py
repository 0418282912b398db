"""`renovo train` owns its run folder, checks its data before touching it, and applies or refuses
config changes on --resume; unusable data and settings are one-line errors, never a hang."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from renovo.cli import main
from renovo.train import load_config
from renovo.train.module import effective_warmup, lr_lambda
from renovo.train.rundir import LOCK_NAME
from renovo.train import read_metrics

NASTY = Path(__file__).resolve().parents[1] / "data" / "corpus" / "nasty"
FAST = ["--preset", "tiny", "--no-progress", "--batch-size", "4",
        *[a for s in ("data.val_size=4", "data.val_batch_size=4", "trainer.log_every_n_steps=1",
                      "trainer.val_every_n_steps=100", "monitors.gradient_flow_every_n_steps=0")
          for a in ("--set", s)]]


@contextmanager
def hang_guard(seconds: int):
    def _raise(signum, frame):
        raise AssertionError(f"still running after {seconds} s (hang?)")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def error_line(capsys) -> str:
    # (a renovo bug would raise out of main() and fail the test; Lightning's own logging noise is ignored)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("renovo train: error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("flag, name", [("--train", "unlabelled.parquet"), ("--train", "zero_rows.parquet"),
                                        ("--val", "unlabelled.parquet"), ("--val", "zero_rows.parquet")])
def test_unlabelled_or_empty_parquet_is_an_error_not_a_hang(tmp_path, capsys, flag, name):
    run = tmp_path / "run"
    with hang_guard(120):
        assert main(["train", flag, str(NASTY / name), "--out", str(run), "--max-steps", "2", *FAST]) == 2
    line = error_line(capsys)
    assert "no usable labelled spectra" in line and name in line
    assert not run.exists()  # checked before the run folder was touched


def test_invalid_precision_is_one_line(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), "--max-steps", "1", "--precision", "bf17", *FAST]) == 2
    line = error_line(capsys)
    assert "bf17" in line and "32-true" in line


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 4-step run (tiny model, simulated data)."""
    run = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--out", str(run), "--max-steps", "4", "--set", "trainer.checkpoint_every_n_steps=2",
                 *FAST]) == 0
    return run


def test_second_run_into_a_live_run_folder_is_refused_with_its_pid(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / LOCK_NAME).write_text(f"{other.pid} {os.uname().nodename}\n")
        assert main(["train", "--out", str(run), "--max-steps", "1", "--force", *FAST]) == 2
        line = error_line(capsys)
        assert f"in use by another run (PID {other.pid})" in line
        assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME]  # nothing of the refused run
    finally:
        other.kill()
        other.wait()
    # The other run is gone: its stale lock is taken over, and released at the end.
    assert main(["train", "--out", str(run), "--max-steps", "1", *FAST]) == 0
    assert not (run / LOCK_NAME).exists() and (run / "checkpoints" / "last.ckpt").is_file()


def test_fresh_run_into_a_used_folder_needs_resume_or_force(finished_run, tmp_path, capsys):
    run = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(finished_run), str(run)], check=True)
    stray = run / "checkpoints" / "best-99.ckpt"
    stray.write_bytes(b"an older run's checkpoint")
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    assert main(["train", "--out", str(run), "--max-steps", "2", *FAST]) == 2
    line = error_line(capsys)
    assert "is not empty" in line and "--resume" in line and "--force" in line
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    assert main(["train", "--out", str(run), "--max-steps", "2", "--force", *FAST]) == 0
    assert not stray.exists()  # old and new checkpoints never mix
    steps = [s for s, m in read_metrics(run / "metrics.csv").items() if "train/ce" in m]
    assert steps == [0, 1]


def test_resume_applies_and_logs_max_steps_lr_and_batch_size(finished_run, tmp_path, capsys):
    run = tmp_path / "resumed"
    subprocess.run(["cp", "-r", str(finished_run), str(run)], check=True)
    assert main(["train", "--resume", str(run / "checkpoints" / "last.ckpt"), "--max-steps", "6",
                 "--set", "optim.lr=0.05", "--batch-size", "2", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "optim.lr 0.0005 → 0.05" in printed and "trainer.max_steps 4 → 6" in printed
    log = (run / "resume.log").read_text()
    assert "at step 4" in log and "optim.lr: 0.0005 -> 0.05 (applied)" in log and "data.batch_size: 4 -> 2" in log
    config = load_config(run / "config.yaml")
    assert config["optim"]["lr"] == 0.05
    # Steps 4 and 5 ran at the new peak rate times the schedule of the new max_steps (not at the checkpoint's rate).
    factor = lr_lambda(effective_warmup(config), 6, float(config["optim"]["min_lr_ratio"]))
    metrics = read_metrics(run / "metrics.csv")
    for step in (4, 5):
        assert metrics[step]["lr"] == pytest.approx(0.05 * factor(step), rel=1e-5)
    assert metrics[3]["lr"] < 0.0005


@pytest.mark.parametrize("argv, key", [
    (["--config", "gaussian_losses"], "--config gaussian_losses"),  # the run trained the default, ce_only
    (["--set", "model.d_model=32"], "model.d_model"),
    (["--set", "loss.spectrum.sigma=0.2"], "loss.spectrum.sigma"),
    (["--set", "tokenizer.merge_il=true"], "tokenizer.merge_il"),
    (["--preset", "small"], "model.preset"),
])
def test_resume_refuses_other_changes_naming_the_key(finished_run, capsys, argv, key):
    before = (finished_run / "checkpoints" / "last.ckpt").read_bytes()
    assert main(["train", "--resume", str(finished_run / "checkpoints" / "last.ckpt"), "--max-steps", "6",
                 "--no-progress", *argv]) == 2
    assert key in error_line(capsys)
    assert (finished_run / "checkpoints" / "last.ckpt").read_bytes() == before
    assert not (finished_run / LOCK_NAME).exists()


def test_resume_into_another_runs_folder_is_refused(finished_run, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_text("name: another run\n")
    assert main(["train", "--resume", str(finished_run / "checkpoints" / "last.ckpt"), "--out", str(other),
                 "--max-steps", "5", "--no-progress"]) == 2
    assert "holds another run" in error_line(capsys)
    assert sorted(p.name for p in other.iterdir()) == ["config.yaml"]


def test_default_config_is_the_one_that_measured_best(finished_run):
    """No --config trains cross-entropy alone (the horizon plan's best); the physics configs are one flag away."""
    import yaml

    from renovo.commands.train import DEFAULT_CONFIG, SANITY_CONFIG

    assert DEFAULT_CONFIG == "ce_only" and SANITY_CONFIG == "gaussian_losses"
    config = yaml.safe_load((finished_run / "config.yaml").read_text())
    assert config["name"] == "ce_only"
    assert all(stage["spectrum"] == 0 and stage["precursor"] == 0 for stage in config["curriculum"]["stages"])
