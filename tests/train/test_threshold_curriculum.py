"""A curriculum stage that starts at a validation token-accuracy threshold, in real training: it switches at the
first validation that reaches it, logs the switch, and a resumed run keeps it (it lives in the checkpoint)."""
from __future__ import annotations

import torch

from renovo.cli import main
from renovo.train import load_config, read_metrics, train

from .conftest import StopAt

# Threshold low enough that the first validation of a fresh tiny model reaches it (its token accuracy is a few
# percent); a 4-step stage follows the switch.
STAGES = ("curriculum.stages=[{start: 0, spectrum: 0.0, precursor: 0.0}, "
          "{start: {token_acc: 0.0001}, spectrum: 0.1, precursor: 0.01}, {start: 4, spectrum: 0.2, precursor: 0.02}]")
FAST = ["model.preset=tiny", "data.batch_size=4", "data.val_size=8", "data.val_batch_size=8",
        "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "monitors.gradient_flow_every_n_steps=0",
        "curriculum.scale_to_max_steps=false", "curriculum.reference_steps=1000", STAGES,
        "trainer.max_steps=14", "trainer.val_every_n_steps=5", "trainer.checkpoint_every_n_steps=5"]


def _stages(metrics_csv):
    rows = read_metrics(metrics_csv)
    return {s: (m["train/stage"], m["train/w_spectrum"]) for s, m in rows.items() if "train/stage" in m}


def test_threshold_stage_switches_at_a_validation_and_survives_resume(tmp_path):
    config = load_config("gaussian_losses", FAST)
    full = train(config, tmp_path / "full")
    stages = _stages(full / "metrics.csv")
    # validation after step 5 reaches the threshold: stage 2 from step 5, stage 3 four steps later
    assert [stages[s][0] for s in range(14)] == [1.0] * 5 + [2.0] * 4 + [3.0] * 5
    assert stages[4][1] == 0.0 and abs(stages[5][1] - 0.1) < 1e-6 and abs(stages[9][1] - 0.2) < 1e-6  # float32 log
    switch = [m["curriculum/switch_step"] for m in read_metrics(full / "metrics.csv").values()
              if "curriculum/switch_step" in m]
    assert switch and set(switch) == {5.0}
    assert torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)["renovo"]["curriculum_switch_step"] == 5

    # Killed at step 12, resumed from the step-10 checkpoint (no validation between 10 and the end re-reaches
    # the switch: the stored switch step must be what puts steps 10–13 in stage 3).
    part = train(config, tmp_path / "part", extra_callbacks=[StopAt(12)])
    assert torch.load(part / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 10
    assert main(["train", "--resume", str(part / "checkpoints" / "last.ckpt"), "--no-progress"]) == 0
    resumed = _stages(part / "metrics.csv")
    assert [resumed[s] for s in range(14)] == [stages[s] for s in range(14)]


def test_warm_start_checkpoint_switches_a_threshold_stage_at_its_step(tmp_path):
    """A pure-CE run stopped at the threshold (trainer.stop_at_token_acc) carries its last validation's token
    accuracy; a run started from it (--init-from) enters the threshold stage at that step, not a validation later."""
    warm = train(load_config("ce_only", FAST + ["trainer.stop_at_token_acc=0.0001"]), tmp_path / "warm")
    ckpt = torch.load(warm / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 5 and ckpt["renovo"]["val_token_acc"] >= 0.0001
    run = train(load_config("gaussian_losses", FAST), tmp_path / "run",
                init_from=warm / "checkpoints" / "last.ckpt")
    stages = _stages(run / "metrics.csv")
    assert min(stages) == 5
    assert [stages[s][0] for s in range(5, 14)] == [2.0] * 4 + [3.0] * 5
