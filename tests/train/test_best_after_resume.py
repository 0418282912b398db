"""After `renovo train --resume` the summary's best checkpoint is the one on disk: `best-<step>.ckpt` exists,
stores the printed figure, is the best validation of both sessions, and is the only best file left."""
from __future__ import annotations

import re

import pytest
import torch

from renovo.cli import main
from renovo.train import read_metrics

# Validation and last.ckpt every 2 steps: the resume point (step 6) is written just before the validation of
# step 6, so the checkpoint resumed from does not yet know that validation's best-6.ckpt.
FAST = ["--preset", "tiny", "--no-progress", "--batch-size", "4", "--scorer-spectra", "0",
        *[a for s in ("data.val_size=4", "data.val_batch_size=4", "trainer.log_every_n_steps=1",
                      "trainer.val_every_n_steps=2", "monitors.gradient_flow_every_n_steps=0")
          for a in ("--set", s)]]
SUMMARY = re.compile(r"^trained \d+ steps in .*; best (\S+) (\S+) at step (\d+)$")


def _summary(out: str) -> tuple[str, float, int]:
    found = [SUMMARY.match(line) for line in out.splitlines() if line.startswith("trained ")]
    assert len(found) == 1 and found[0], out
    monitor, value, step = found[0].groups()
    return monitor, float(value), int(step)


def _stored_score(path) -> float:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    states = [s for key, s in checkpoint["callbacks"].items() if "'monitor': 'val/ce'" in key]
    assert len(states) == 1, list(checkpoint["callbacks"])
    return float(states[0]["current_score"])


# The same learning rate (the second session improves on the first: the first's best-6.ckpt must go), or one far
# too high (the second session's validations are all worse: the first's best must stay, and be the one named).
@pytest.mark.parametrize("resumed_lr", ["3e-3", "1.0"])
def test_summary_names_the_best_checkpoint_on_disk_after_resume(tmp_path, capsys, resumed_lr):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--max-steps", "6", "--set", "optim.lr=3e-3", *FAST]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run / "checkpoints" / "last.ckpt"), "--max-steps", "10",
                 "--set", f"optim.lr={resumed_lr}", "--no-progress", "--scorer-spectra", "0"]) == 0
    monitor, value, step = _summary(capsys.readouterr().out)
    assert monitor == "val/ce"
    best = run / "checkpoints" / f"best-{step}.ckpt"
    assert best.is_file(), sorted(p.name for p in (run / "checkpoints").iterdir())
    assert sorted(p.name for p in (run / "checkpoints").glob("best-*.ckpt")) == [best.name]  # save_top_k=1
    assert round(_stored_score(best), 4) == value
    validations = {s + 1: m["val/ce"] for s, m in read_metrics(run / "metrics.csv").items() if "val/ce" in m}
    assert sorted(validations) == [2, 4, 6, 8, 10]  # both sessions' (metrics.csv counts steps from 0)
    assert min(validations, key=validations.get) == step
    assert round(validations[step], 4) == value
