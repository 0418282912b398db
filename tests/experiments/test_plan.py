"""Plans: loading the shipped ones, the runner's skip / resume / failure logic (with a fake launcher)."""
from __future__ import annotations

import json
import sys

import pytest

from renovo.experiments.plan import (PlanError, available_plans, execute_run, load_plan, run_plan, run_status)

from .conftest import fabricate_run


@pytest.mark.parametrize("name", ["sanity", "compare", "ablation", "beyond"])
@pytest.mark.parametrize("size", ["quick", "cpu", "gpu"])
def test_shipped_plans_resolve(name, size, tmp_path):
    plan = load_plan(name, size, tmp_path)
    assert name in available_plans()
    assert len(plan.runs) == len(plan.configs) * len(plan.seeds)
    if size != "quick":
        assert len(plan.seeds) >= 3
    if size == "gpu":
        assert plan.preset == "base" and plan.max_steps >= (5000 if name == "sanity" else 50_000)
    command = plan.runs[0].command
    assert command[:4] == [sys.executable, "-m", "renovo.cli", "train"]
    assert str(plan.runs[0].run_dir) == command[command.index("--out") + 1]
    assert plan.runs[0].run_dir.parent == tmp_path / "runs"


def test_plan_errors(tmp_path):
    with pytest.raises(PlanError, match="unknown plan"):
        load_plan("nope", "quick", tmp_path)
    with pytest.raises(PlanError, match="no size"):
        load_plan("compare", "huge", tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("configs: [gaussian_losses]\nsizes: {quick: {max_steps: 5, preset: tiny}}\nset: [optim.nope=1]\n")
    with pytest.raises(Exception, match="nope"):
        load_plan(bad, "quick", tmp_path)


class FakeLauncher:
    """Records commands; 'trains' by fabricating a run folder, or fails with a log."""

    def __init__(self, rc=0, fail_on_resume=False):
        self.calls: list[list[str]] = []
        self.rc = rc
        self.fail_on_resume = fail_on_resume

    def __call__(self, command, log_path):
        self.calls.append(command)
        run_dir = log_path.parent
        with open(log_path, "a") as log:
            log.write("".join(f"line {i}\n" for i in range(60)))
            if "--resume" in command and self.fail_on_resume:
                log.write("RenovoError: checkpoint truncated\n")
                return 1
            if self.rc:
                log.write("Traceback: boom\n")
                return self.rc
        seed = int(command[command.index("--seed") + 1])
        config = command[command.index("--config") + 1]
        fabricate_run(run_dir, config, seed, 0.3, done=False)
        return 0


def test_done_run_is_skipped(make_plan):
    plan = make_plan()
    spec = plan.runs[0]
    fabricate_run(spec.run_dir, spec.config, spec.seed, 0.3)
    launcher = FakeLauncher()
    record = execute_run(spec, launcher)
    assert record["skipped"] and record["status"] == "done" and launcher.calls == []


def test_partial_run_resumes_from_last_checkpoint(make_plan):
    spec = make_plan().runs[0]
    (spec.run_dir / "checkpoints").mkdir(parents=True)
    (spec.run_dir / "checkpoints" / "last.ckpt").write_bytes(b"x")
    assert run_status(spec.run_dir) == "partial"
    launcher = FakeLauncher()
    record = execute_run(spec, launcher)
    assert launcher.calls[0][-2:] == ["--resume", str(spec.run_dir / "checkpoints" / "last.ckpt")]
    assert record["status"] == "done" and record["resumed"]
    assert json.loads((spec.run_dir / "done.json").read_text())["rc"] == 0


def test_failed_resume_restarts_from_scratch(make_plan):
    spec = make_plan().runs[0]
    (spec.run_dir / "checkpoints").mkdir(parents=True)
    (spec.run_dir / "checkpoints" / "last.ckpt").write_bytes(b"x")
    launcher = FakeLauncher(fail_on_resume=True)
    record = execute_run(spec, launcher)
    assert len(launcher.calls) == 2 and "--resume" not in launcher.calls[1]
    assert record["status"] == "done" and not record["resumed"]


def test_failed_run_is_reported_and_plan_goes_on(tmp_path, make_plan, monkeypatch):
    import renovo.experiments.report

    monkeypatch.setattr(renovo.experiments.report, "make_figures", lambda *args, **kwargs: {})  # tested in test_report
    plan = make_plan()
    first = plan.runs[0]
    done_launcher = FakeLauncher()

    def launcher(command, log_path):
        if log_path.parent == first.run_dir:
            return FakeLauncher(rc=3)(command, log_path)
        return done_launcher(command, log_path)

    messages: list[str] = []
    report = run_plan(plan, tmp_path / "out", command_line="renovo experiment fake", launcher=launcher,
                      say=messages.append)
    assert len(done_launcher.calls) == len(plan.runs) - 1  # every other run still ran
    assert run_status(first.run_dir) == "failed"
    failed = json.loads((first.run_dir / "failed.json").read_text())
    assert failed["rc"] == 3 and "Traceback: boom" in failed["log_tail"]
    text = report.read_text()
    assert f"{first.name} failed** (exit code 3)" in text and "Traceback: boom" in text
    assert "1 run(s) failed" in text
    assert any("FAILED" in m for m in messages)
    assert (tmp_path / "out" / "plan.resolved.yaml").read_text().count("command:") >= len(plan.runs)

    # Run again: done runs are skipped, the failed one is retried.
    again = FakeLauncher()
    run_plan(plan, tmp_path / "out", launcher=again, say=messages.append)
    # (a fresh run passes --force: its folder already holds the runner's train.log)
    assert len(again.calls) == 1 and again.calls[0] == first.command + ["--force"]
    assert run_status(first.run_dir) == "done"


def test_report_folder_is_continued_by_its_own_plan_and_guarded_from_others(tmp_path):
    from renovo.experiments.plan import check_plan_folder

    out = tmp_path / "out"
    plan = load_plan("sanity", "quick", out)
    assert check_plan_folder(plan, out) is False  # nothing there yet
    run_plan(plan, out, launcher=FakeLauncher(), say=lambda _: None)
    assert check_plan_folder(load_plan("sanity", "quick", out), out) is True  # the same plan continues
    other = load_plan("sanity", "quick", out, overrides=["optim.lr=0.01"])
    with pytest.raises(PlanError, match="another plan's report.*-f/--force") as info:
        check_plan_folder(other, out)
    assert "\n" not in str(info.value)
    assert all(run_status(spec.run_dir) == "done" for spec in plan.runs)  # refused: nothing touched
    assert check_plan_folder(other, out, force=True) is False
    assert all(run_status(spec.run_dir) == "pending" for spec in other.runs)  # forced: every run starts over
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(PlanError, match="files of something else"):
        check_plan_folder(load_plan("sanity", "quick", foreign), foreign)


def test_report_folder_written_from_another_checkout_is_continued(tmp_path):
    """A committed plan folder is continued from any clone and venv: where the plan file lay and which python ran
    the commands are not settings."""
    import yaml

    from renovo.experiments.plan import check_plan_folder

    out = tmp_path / "out"
    plan = load_plan("horizon", "quick", out)  # a plan with warm starts
    assert plan.source == "renovo/configs/plans/horizon.yaml" and plan.warm_runs  # the package path
    run_plan(plan, out, launcher=FakeLauncher(), say=lambda _: None)
    resolved = out / "plan.resolved.yaml"
    stored = yaml.safe_load(resolved.read_text())
    stored["source"] = "/some/other/clone/renovo/configs/plans/horizon.yaml"
    for warm in stored["warm_runs"].values():
        python, rest = warm["command"].split(" ", 1)
        warm["command"] = "/elsewhere/.venv/bin/python3 " + rest
    resolved.write_text(yaml.safe_dump(stored, sort_keys=False))
    assert check_plan_folder(load_plan("horizon", "quick", out), out) is True


def test_real_check_report_is_guarded(tmp_path, capsys):
    from renovo.cli import main

    out = tmp_path / "rc"
    out.mkdir()
    (out / "report.md").write_text("an earlier report")
    spectra = tmp_path / "x.mgf"
    spectra.write_text("")
    assert main(["experiment", "real-check", "--files", str(spectra), "--out", str(out)]) == 2
    assert "report.md already exists; use -f/--force" in capsys.readouterr().err
    assert (out / "report.md").read_text() == "an earlier report"
