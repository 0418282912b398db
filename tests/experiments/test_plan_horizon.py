"""The horizon plan: the proposal's table at 1/25, configs at a subset of the seeds, read-out steps."""
from __future__ import annotations

import pytest
import yaml

from renovo.experiments.plan import PlanError, load_plan
from renovo.train.config import load_config
from renovo.train.curriculum import Curriculum


def _sets(command):
    return [command[i + 1] for i, word in enumerate(command) if word == "--set"]


def test_horizon_cpu_is_the_proposal_table_at_a_25th(tmp_path):
    plan = load_plan("horizon", "cpu", tmp_path / "horizon")
    assert plan.max_steps == 4000 and plan.readout_steps == [2000]
    runs = {(r.config, r.seed) for r in plan.runs}
    for config in ("ce_only", "gaussian_losses", "gaussian_split_clip", "gaussian_marginal_strong"):
        assert {s for c, s in runs if c == config} == set(range(6)), config
    for config in ("old_losses", "gaussian_fallbacks", "gaussian_capped_clip"):
        assert {s for c, s in runs if c == config} == {0, 1, 2}, config
    assert set(plan.warm_runs) == set(range(6))
    # The physics configs get the scaled table; their weights at the proposal's boundaries / 25.
    run = next(r for r in plan.runs if r.config == "gaussian_losses")
    config = load_config("gaussian_losses", [*_sets(run.command), f"trainer.max_steps={plan.max_steps}"])
    curriculum = Curriculum.from_config(config)
    assert curriculum.weights(399) == (0.0, 0.0) and curriculum.weights(400) == (0.10, 0.0)
    assert curriculum.weights(800) == (0.15, 0.01) and curriculum.weights(1600)[0] == 0.25
    assert curriculum.weights(4000) == pytest.approx((0.25, 0.08))
    assert config["optim"]["min_lr_ratio"] == 0.1
    # The fallbacks and the strong marginal rendering scale the plan's table, not replace it.
    weights = {}
    for name in ("gaussian_fallbacks", "gaussian_marginal_strong"):
        run = next(r for r in plan.runs if r.config == name)
        c = load_config(name, [*_sets(run.command), f"trainer.max_steps={plan.max_steps}"])
        weights[name] = Curriculum.from_config(c).weights(4000)
    assert weights["gaussian_fallbacks"] == pytest.approx((0.08, 0.08))
    assert weights["gaussian_marginal_strong"] == pytest.approx((3.0, 0.08))


def test_config_seeds_and_readouts_are_checked(tmp_path):
    base = {"name": "p", "configs": ["ce_only", "gaussian_losses"], "data": {"train": [], "val": []},
            "sizes": {"quick": {"preset": "tiny", "max_steps": 100, "seeds": [0, 1], "batch_size": 4}}}
    for size_changes, message in [({"config_seeds": {"old_losses": [0]}}, "not one of the plan's configs"),
                                  ({"config_seeds": {"ce_only": [7]}}, "size's seeds"),
                                  ({"config_seeds": ["ce_only"]}, "mapping"),
                                  ({"readout_steps": [100]}, "readout_steps"),
                                  ({"readout_steps": 50}, "readout_steps")]:
        plan = {**base, "sizes": {"quick": {**base["sizes"]["quick"], **size_changes}}}
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump(plan))
        with pytest.raises(PlanError, match=message):
            load_plan(path, "quick", tmp_path / "out")
    plan = {**base, "sizes": {"quick": {**base["sizes"]["quick"], "config_seeds": {"gaussian_losses": [1]},
                                        "readout_steps": [50]}}}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(plan))
    resolved = load_plan(path, "quick", tmp_path / "out")
    assert [r.name for r in resolved.runs] == ["ce_only-seed0", "ce_only-seed1", "gaussian_losses-seed1"]
    assert resolved.readout_steps == [50]
