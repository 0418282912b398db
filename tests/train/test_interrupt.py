"""Ctrl-C in `renovo train` saves last.ckpt at the step reached, says how to resume and exits 130 (before: it
printed nothing, exited 1 and saved nothing)."""
from __future__ import annotations

import lightning as L
import torch

from renovo.cli import main


class CtrlCAt(L.Callback):
    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path, capsys, monkeypatch):
    import renovo.train.trainer as trainer_module

    real = trainer_module._callbacks
    monkeypatch.setattr(trainer_module, "_callbacks",
                        lambda config, run_dir, extra: real(config, run_dir, [*extra, CtrlCAt(3)]))
    run = tmp_path / "run"
    code = main(["train", "--out", str(run), "--preset", "tiny", "--max-steps", "50", "--batch-size", "2",
                 "--no-progress", "--set", "data.val_size=2", "--set", "trainer.val_every_n_steps=40",
                 "--set", "trainer.checkpoint_every_n_steps=40", "--scorer-spectra", "0"])
    assert code == 130
    err = capsys.readouterr().err
    last = run / "checkpoints" / "last.ckpt"
    assert f"interrupted at step 3; resume with `renovo train --resume {last}`" in err
    assert torch.load(last, weights_only=True)["global_step"] == 3
