"""A diverging training loss (e.g. optim.lr far too high) is warned about and logged, never silent."""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest
import torch

from renovo.train import load_config, train
from renovo.train.monitors import DivergenceMonitor
from renovo.train import read_metrics


def feed(monitor: DivergenceMonitor, values) -> list[float]:
    """Run the monitor over a CE series; the per-step ``monitor/diverged`` values it logged."""
    logged: list[float] = []
    module = SimpleNamespace(last_components={}, logs_this_step=True, log=lambda name, value, **_: logged.append(value))
    trainer = SimpleNamespace(global_step=0, optimizers=[SimpleNamespace(param_groups=[{"lr": 10.0}])])
    for step, value in enumerate(values):
        trainer.global_step = step
        module.last_components = {"ce": torch.tensor(float(value))}
        monitor.on_train_batch_end(trainer, module, None, None, step)
    return logged


def test_rising_loss_warns_once():
    series = [3.5 - 0.01 * i for i in range(40)] + [3.5 * 1.3 ** i for i in range(40)]
    with pytest.warns(UserWarning, match="training loss is diverging") as caught:
        logged = feed(DivergenceMonitor(window=10), series)
    assert len([w for w in caught if "diverging" in str(w.message)]) == 1
    assert logged[:40] == [0.0] * 40 and logged[-1] == 1.0


@pytest.mark.parametrize("series", [
    [3.5 * 0.98 ** i for i in range(200)],  # learning
    [0.01 + 0.02 * (i % 2) for i in range(200)],  # near zero and noisy: more than doubling, but not by a nat
    [3.5 + 0.3 * ((-1) ** i) for i in range(200)],  # noisy plateau
    [float("nan")] * 5 + [3.0] * 50,  # non-finite steps are the NaN guard's business
])
def test_healthy_or_noisy_loss_is_quiet(series):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert set(feed(DivergenceMonitor(window=10), series)) <= {0.0}


def test_lr_ten_is_warned_about(tmp_path):
    config = load_config("ce_only", ["model.preset=tiny", "optim.lr=10", "data.batch_size=4", "data.val_size=4",
                                     "data.val_batch_size=4", "trainer.log_every_n_steps=1",
                                     "trainer.progress_bar=false", "trainer.max_steps=8",
                                     "trainer.val_every_n_steps=1000", "monitors.gradient_flow_every_n_steps=0"])
    with pytest.warns(UserWarning, match="training loss is diverging"):
        run = train(config, tmp_path / "run")
    metrics = read_metrics(run / "metrics.csv")
    # CE rises from ~3.5 to hundreds within a few steps: flagged as soon as 5 steps are averaged.
    assert metrics[0]["monitor/diverged"] == 0.0 and metrics[7]["monitor/diverged"] == 1.0
