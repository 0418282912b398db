"""NaN is contained: a non-finite loss component or gradient skips the step (parameters and AdamW state
untouched), the log names it, training goes on after a transient failure, and N failures in a row stop the run
with a message naming the component and the step."""
from __future__ import annotations

import copy

import lightning as L
import pytest
import torch

from renovo.cli import main
from renovo.train import load_config, train
from renovo.train.monitors import NonFiniteLossError
from renovo.train.objective import Objective
from renovo.experiments.sanity import sanity_report
from renovo.train import read_metrics

FAST = ["model.preset=tiny", "data.batch_size=4", "data.val_size=4", "data.val_batch_size=4",
        "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "monitors.gradient_flow_every_n_steps=0",
        "curriculum.force_final=true",  # both physics weights > 0: each component reaches the total
        "trainer.val_every_n_steps=100", "monitors.nan_guard_max_consecutive=3", "trainer.max_steps=10"]
# Two failures (transient: fewer than 3 in a row), one good step, then failures until the guard stops the run.
FAILING = {1, 2} | set(range(4, 100))
COMPONENTS = ("ce", "spectrum", "precursor")


def inject_loss(monkeypatch, component: str, steps: set[int]) -> None:
    """Make ``component`` (and so the total) non-finite on the given training steps."""
    original = Objective.forward
    calls = {"n": 0}

    def forward(self, logits, batch, weights, **kwargs):
        out = original(self, logits, batch, weights, **kwargs)
        if kwargs.get("graph_for_all") or not torch.is_grad_enabled():
            return out  # gradient-flow monitor's pass, or validation
        step = calls["n"]
        calls["n"] += 1
        if step in steps:
            out = dict(out)
            bad = out[component] * float("nan")
            out[component] = bad
            out["total"] = out["total"] + bad
        return out

    monkeypatch.setattr(Objective, "forward", forward)


class PoisonGradient(L.Callback):
    """After backward, one parameter's gradient becomes NaN (the losses stay finite)."""

    def __init__(self, steps: set[int]):
        self.steps = steps

    def on_after_backward(self, trainer, pl_module):
        if trainer.global_step in self.steps:
            next(p for p in pl_module.parameters() if p.grad is not None).grad[0].fill_(float("nan"))


class StepWatch(L.Callback):
    """Per step: did any parameter move, did the AdamW state change."""

    def __init__(self):
        self.moved: dict[int, bool] = {}
        self.optimizer_changed: dict[int, bool] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.params = [p.detach().clone() for p in pl_module.parameters()]
        self.state = copy.deepcopy(trainer.optimizers[0].state_dict()["state"])

    def on_train_batch_end(self, trainer, pl_module, *args):
        step = trainer.global_step - 1
        self.moved[step] = any(not torch.equal(a, b) for a, b in zip(self.params, pl_module.parameters()))
        state = trainer.optimizers[0].state_dict()["state"]
        self.optimizer_changed[step] = state.keys() != self.state.keys() or any(
            not torch.equal(torch.as_tensor(v), torch.as_tensor(self.state[i][k]))
            for i in state for k, v in state[i].items())


@pytest.mark.parametrize("component", COMPONENTS + ("gradient",))
def test_nonfinite_step_is_skipped_logged_and_stops_after_n(component, tmp_path, monkeypatch):
    watch = StepWatch()
    callbacks = [watch]
    if component == "gradient":
        callbacks.append(PoisonGradient(FAILING))
    else:
        inject_loss(monkeypatch, component, FAILING)
    config = load_config("gaussian_losses", FAST)
    with pytest.warns(UserWarning, match=f"step 1: non-finite .*{component}.*skipped") as warned:
        with pytest.raises(NonFiniteLossError) as stopped:
            train(config, tmp_path / "run", extra_callbacks=callbacks)
    message = str(stopped.value)
    # Stopped at the third failure in a row (steps 4, 5, 6), naming the component and the step.
    assert "3 consecutive" in message and component in message.split("last:")[1] and "at step 6" in message, message
    assert any("step 6" in str(w.message) for w in warned)
    # Skipped steps leave the parameters and the optimizer state as they were; good steps move both.
    assert watch.moved == {0: True, 1: False, 2: False, 3: True, 4: False, 5: False}
    assert watch.optimizer_changed == {0: True, 1: False, 2: False, 3: True, 4: False, 5: False}
    metrics = read_metrics(tmp_path / "run" / "metrics.csv")
    for step in (0, 3):
        assert metrics[step]["nan_guard/skipped"] == 0.0
    for step in (1, 2, 4, 5):
        row = metrics[step]
        assert row["nan_guard/skipped"] == 1.0 and row[f"nan_guard/nonfinite_{component}"] == 1.0, (step, row)
        for other in set(COMPONENTS) - {component}:
            assert row[f"nan_guard/nonfinite_{other}"] == 0.0, (step, other)
    text, passed = sanity_report(tmp_path / "run")
    assert not passed and "[FAIL] No NaN losses" in text


def test_transient_failures_do_not_stop_the_run(tmp_path, monkeypatch):
    inject_loss(monkeypatch, "spectrum", {1, 2, 4, 5})  # never 3 in a row
    run = train(load_config("gaussian_losses", FAST + ["trainer.max_steps=7"]), tmp_path / "run")
    metrics = read_metrics(run / "metrics.csv")
    assert [s for s, m in metrics.items() if "train/ce" in m] == list(range(7))
    assert [s for s, m in metrics.items() if m.get("nan_guard/skipped") == 1.0] == [1, 2, 4, 5]


def test_skips_between_logged_rows_are_counted_on_the_next_row(tmp_path, monkeypatch):
    # Rows every 3 steps (steps 2, 5, 8): the skips at 1 and at 4, 5 land on rows 2 and 5.
    inject_loss(monkeypatch, "spectrum", {1, 4, 5})
    run = train(load_config("gaussian_losses", FAST + ["trainer.log_every_n_steps=3"]), tmp_path / "run")
    metrics = read_metrics(run / "metrics.csv")
    rows = {s: m for s, m in metrics.items() if "train/ce" in m}
    assert sorted(rows) == [2, 5, 8]
    assert [rows[s]["nan_guard/skipped"] for s in (2, 5, 8)] == [1.0, 2.0, 0.0]
    assert [rows[s]["nan_guard/nonfinite_spectrum"] for s in (2, 5, 8)] == [1.0, 1.0, 0.0]
    assert all(rows[s]["nan_guard/nonfinite_ce"] == 0.0 for s in rows)


def test_cli_stop_is_one_line(tmp_path, monkeypatch, capsys):
    inject_loss(monkeypatch, "precursor", set(range(100)))
    code = main(["train", "--config", "gaussian_losses", "--out", str(tmp_path / "run"), "--no-progress",
                 *[a for s in FAST for a in ("--set", s)]])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("renovo train: error: 3 consecutive") and "precursor" in err[-1] and "step 2" in err[-1]


def test_stop_advice_names_no_checkpoint_that_does_not_exist(tmp_path, monkeypatch, capsys):
    inject_loss(monkeypatch, "precursor", set(range(100)))
    main(["train", "--config", "gaussian_losses", "--out", str(tmp_path / "run"), "--no-progress",
          *[a for s in FAST for a in ("--set", s)]])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()
    assert "no checkpoint was written" in last and "resume from" not in last


def test_stop_advice_names_the_checkpoint_when_there_is_one(tmp_path, monkeypatch, capsys):
    inject_loss(monkeypatch, "precursor", set(range(3, 100)))
    main(["train", "--config", "gaussian_losses", "--out", str(tmp_path / "run"), "--no-progress",
          *[a for s in FAST + ["trainer.checkpoint_every_n_steps=2"] for a in ("--set", s)]])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert checkpoint.is_file() and f"resume from {checkpoint}" in last


def test_nonfinite_zero_weight_component_is_logged_not_fatal(tmp_path, monkeypatch):
    """At step 0 of the default curriculum the physics weights are 0: their losses are computed for the
    log only. A non-finite value there is warned about and logged, and the step goes ahead."""
    original = Objective.forward

    def forward(self, logits, batch, weights, **kwargs):
        out = dict(original(self, logits, batch, weights, **kwargs))
        if torch.is_grad_enabled() and not kwargs.get("graph_for_all"):
            out["spectrum"] = out["spectrum"] * float("nan")  # weight 0: not part of the total
        return out

    monkeypatch.setattr(Objective, "forward", forward)
    config = load_config("gaussian_losses", [s for s in FAST if s != "curriculum.force_final=true"]
                         + ["trainer.max_steps=5", "curriculum.scale_to_max_steps=false"])
    with pytest.warns(UserWarning, match="non-finite spectrum loss with weight 0"):
        run = train(config, tmp_path / "run")
    metrics = read_metrics(run / "metrics.csv")
    rows = [m for m in metrics.values() if "train/ce" in m]
    assert len(rows) == 5
    assert all(m["nan_guard/skipped"] == 0.0 and m["nan_guard/nonfinite_spectrum"] == 1.0 for m in rows)
