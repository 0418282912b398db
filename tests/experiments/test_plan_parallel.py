"""A plan's curriculum (physics configs only), runs side by side (-j), and reuse of a sibling plan's runs."""
from __future__ import annotations

import json
import threading
import time

import pytest
import yaml

from renovo.experiments.plan import (PlanError, curriculum_overrides, has_physics_weight, load_plan, run_plan)
from renovo.train.config import load_config

from .conftest import fabricate_run

CURRICULUM = {"scale_to_max_steps": False, "reference_steps": 100,
              "stages": [{"start": 0, "spectrum": 0.0, "precursor": 0.0},
                         {"start": {"token_acc": 0.6}, "spectrum": 0.1, "precursor": 0.0},
                         {"start": 20, "spectrum": 0.2, "precursor": [0.01, 0.05]}]}
PLAN = {"name": "par", "configs": ["gaussian_losses", "ce_only", "old_losses"],
        "comparisons": [["gaussian_losses", "ce_only"]], "data": {"train": [], "val": []},
        "sizes": {"quick": {"preset": "tiny", "max_steps": 100, "seeds": [0, 1], "batch_size": 4,
                            "curriculum": CURRICULUM}}}


def _plan(tmp_path, folder="par", **changes):
    path = tmp_path / "par.yaml"
    path.write_text(yaml.safe_dump({**PLAN, **changes}))
    return load_plan(path, "quick", tmp_path / "plans" / folder)


def _sets(command):
    return [command[i + 1] for i, word in enumerate(command) if word == "--set"]


def test_plan_curriculum_goes_to_physics_configs_only(tmp_path):
    plan = _plan(tmp_path)
    by_config = {spec.config: spec for spec in plan.runs if spec.seed == 0}
    for config in ("gaussian_losses", "old_losses"):
        overrides = [o for o in _sets(by_config[config].command) if o.startswith("curriculum.")]
        assert len(overrides) == 3, config
        resolved = load_config(config, overrides)
        assert resolved["curriculum"]["stages"] == CURRICULUM["stages"]
        assert resolved["curriculum"]["scale_to_max_steps"] is False
    assert not any(o.startswith("curriculum.") for o in _sets(by_config["ce_only"].command))
    assert not has_physics_weight(load_config("ce_only")) and has_physics_weight(load_config("gaussian_losses"))
    assert curriculum_overrides(None, load_config("gaussian_losses")) == []


def test_plan_curriculum_is_checked(tmp_path):
    with pytest.raises(PlanError, match="curriculum"):
        _plan(tmp_path, sizes={"quick": {**PLAN["sizes"]["quick"], "curriculum": {"stage": []}}})
    bad = {**CURRICULUM, "stages": [{"start": 0}, {"start": {"loss": 2}, "spectrum": 0.1}]}
    with pytest.raises(PlanError, match="start"):
        _plan(tmp_path, sizes={"quick": {**PLAN["sizes"]["quick"], "curriculum": bad}})


class SlowFakeLauncher:
    """Fabricates a finished run after a short sleep; records how many ran at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = []

    def __call__(self, command, log_path):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.calls.append(command)
        time.sleep(0.2)
        seed = int(command[command.index("--seed") + 1])
        fabricate_run(log_path.parent, command[command.index("--config") + 1], seed, 0.3, done=False)
        with self.lock:
            self.running -= 1
        return 0


def test_jobs_run_side_by_side_and_every_run_finishes(tmp_path):
    plan = _plan(tmp_path)
    launcher = SlowFakeLauncher()
    lines = []
    run_plan(plan, tmp_path / "plans" / "par", launcher=launcher, say=lines.append, jobs=3)
    assert launcher.most == 3 and len(launcher.calls) == len(plan.runs) == 6
    assert all((spec.run_dir / "done.json").is_file() for spec in plan.runs)
    assert sum("done in" in line for line in lines) == 6


def test_finished_runs_of_a_sibling_plan_are_reused_not_retrained(tmp_path):
    first = _plan(tmp_path, folder="first")
    launcher = SlowFakeLauncher()
    run_plan(first, tmp_path / "plans" / "first", launcher=launcher, say=lambda *_: None)
    # A second plan with one config more, in a sibling folder: only the new config trains.
    second = _plan(tmp_path, folder="second", configs=["gaussian_losses", "ce_only", "old_losses", "huber_l1"])
    launcher = SlowFakeLauncher()
    lines = []
    run_plan(second, tmp_path / "plans" / "second", launcher=launcher, say=lines.append)
    assert sorted(c[c.index("--config") + 1] for c in launcher.calls) == ["huber_l1", "huber_l1"]
    record = json.loads((tmp_path / "plans" / "second" / "runs" / "ce_only-seed1" / "done.json").read_text())
    assert record["reused_from"] == str(tmp_path / "plans" / "first" / "runs" / "ce_only-seed1")
    assert "--out" in record["command"] and str(tmp_path / "plans" / "second") in record["command"]
    assert sum("reused" in line for line in lines) == 6
    # A different setting (here the steps) is a different run: nothing to reuse.
    third = load_plan(tmp_path / "par.yaml", "quick", tmp_path / "plans" / "third", overrides=["optim.lr=0.001"])
    launcher = SlowFakeLauncher()
    run_plan(third, tmp_path / "plans" / "third", launcher=launcher, say=lambda *_: None)
    assert len(launcher.calls) == len(third.runs)
