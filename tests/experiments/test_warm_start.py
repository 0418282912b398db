"""Warm start in a plan: one pure cross-entropy run per seed until a threshold, every config of the seed started
from its checkpoint (same weights and data order), reused by a re-run. `quick` size, `tiny` preset, few steps."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from renovo.experiments.plan import PlanError, load_plan, run_plan
from renovo.train import read_metrics

PLAN = {
    "name": "warmtest", "configs": ["ce_only", "gaussian_losses"], "comparisons": [["gaussian_losses", "ce_only"]],
    "data": {"train": [], "val": []},
    # Threshold far out of reach in 8 steps: the warm start stops at its step limit, 4.
    "warm_start": {"token_acc": 0.99, "max_steps": 4},
    "sizes": {"quick": {"preset": "tiny", "max_steps": 8, "seeds": [0], "batch_size": 4,
                        "set": ["trainer.val_every_n_steps=4", "trainer.log_every_n_steps=1", "data.val_size=8",
                                "data.val_batch_size=8", "monitors.gradient_flow_every_n_steps=0",
                                "trainer.val_decode_batches=1"]}},
}


def _plan_file(tmp_path, **changes):
    path = tmp_path / "warmtest.yaml"
    path.write_text(yaml.safe_dump({**PLAN, **changes}))
    return path


def _launcher(calls):
    from renovo.experiments.plan import subprocess_launcher

    def launch(command, log_path):
        calls.append(command)
        return subprocess_launcher(command, log_path)
    return launch


@pytest.mark.slow
def test_plan_warm_start_runs_once_per_seed_and_configs_start_from_it(tmp_path):
    out = tmp_path / "plans" / "warmtest-quick"
    plan = load_plan(_plan_file(tmp_path), "quick", out)
    warm = plan.warm_runs[0]
    assert warm.run_dir.parent == out.parent / "warm-start"
    assert "trainer.stop_at_step=4" in warm.command and "trainer.stop_at_token_acc=0.99" in warm.command
    assert all("--init-from" in spec.command for spec in plan.runs)
    calls: list = []
    run_plan(plan, out, launcher=_launcher(calls), say=lambda *_: None)
    assert len(calls) == 3  # the warm start, then two configs
    import torch

    ckpt = torch.load(warm.run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4
    rows = {spec.config: read_metrics(spec.run_dir / "metrics.csv") for spec in plan.runs}
    for config, metrics in rows.items():
        assert min(s for s, m in metrics.items() if "train/ce" in m) == 4, config  # continues at the warm step
    # Same weights and same batch at the first step after the warm start: the same CE in both configs.
    assert rows["ce_only"][4]["train/ce"] == rows["gaussian_losses"][4]["train/ce"]
    assert (plan.runs[0].run_dir / "init_from.txt").read_text().startswith(str((warm.run_dir / "checkpoints").resolve()))
    # The plan folder keeps its warm start's records (the checkpoint stays in warm-start/).
    kept = out / "warm-start" / warm.run_dir.name
    assert (kept / "metrics.csv").read_bytes() == (warm.run_dir / "metrics.csv").read_bytes()
    assert not (kept / "checkpoints").exists()
    # Another plan folder with the same settings reuses the warm start, and the finished runs themselves:
    # same command but for --out, so they are copied, not trained again.
    other = load_plan(_plan_file(tmp_path), "quick", tmp_path / "plans" / "again")
    assert other.warm_runs[0].run_dir == warm.run_dir
    calls.clear()
    run_plan(other, tmp_path / "plans" / "again", launcher=_launcher(calls), say=lambda *_: None)
    assert calls == []
    for spec in other.runs:
        record = json.loads((spec.run_dir / "done.json").read_text())
        assert record["reused_from"] == str(out / "runs" / spec.name)
        assert (spec.run_dir / "metrics.csv").read_bytes() == (out / "runs" / spec.name / "metrics.csv").read_bytes()
        assert not (spec.run_dir / "checkpoints").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["warm_start"]["max_steps"] == 4


def test_warm_start_settings_are_checked(tmp_path):
    with pytest.raises(PlanError, match="warm_start"):
        load_plan(_plan_file(tmp_path, warm_start={"token_acc": 1.5}), "quick", tmp_path / "x")
    with pytest.raises(PlanError, match="warm_start"):
        load_plan(_plan_file(tmp_path, warm_start={"steps": 3}), "quick", tmp_path / "x")
    plan = load_plan(_plan_file(tmp_path, warm_start=True), "quick", tmp_path / "x")
    assert plan.warm_start == {"token_acc": 0.6, "max_steps": None, "config": "ce_only"}
    assert load_plan(_plan_file(tmp_path, warm_start=None), "quick", tmp_path / "x").warm_runs == {}


def test_report_states_the_token_accuracy_at_physics_switch_on(tmp_path):
    """summarize_run finds the first step with a physics weight and the validation token accuracy then
    (from the warm run's metrics when the run started from one), and the report says in or out of regime."""
    from renovo.experiments.metrics_io import summarize_run

    warm = tmp_path / "warm"
    (warm / "checkpoints").mkdir(parents=True)
    (warm / "metrics.csv").write_text("step,val/token_acc\n99,0.55\n199,0.63\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "init_from.txt").write_text(f"{warm / 'checkpoints' / 'last.ckpt'}\nstep 200\n")
    rows = ["step,train/ce,train/w_spectrum,train/w_precursor,val/token_acc"]
    rows += [f"{s},3.0,{0.1 if s >= 200 else 0.0},0.0," for s in range(200, 260)]
    rows += ["259,,,,0.7"]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    summary = summarize_run(run, "gaussian_losses", 0)
    assert summary["physics_on_step"] == 200
    assert summary["metrics"]["curriculum/physics_on_val_token_acc"] == 0.63
