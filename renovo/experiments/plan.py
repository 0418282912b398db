"""Experiment plans: configs × seeds × steps × preset × data, run one `renovo train` at a time.

A plan is YAML (shipped ones in ``renovo/configs/plans/``)::

    name: compare
    title: "Phase 2: …"
    question: "…"
    configs: [old_losses, gaussian_losses, ce_only]
    comparisons: [[gaussian_losses, old_losses], …]   # (candidate, reference) for the accuracy verdict
    sanity: false                                     # judge each run by the proposal's Phase 1 criteria
    control: ce_only                                  # optional: the sanity check's cross-entropy-only control
    data: {train: [], val: []}                        # empty = simulated stream + fixed simulated validation
    set: []                                           # config overrides for every run
    sizes:
      quick: {preset: tiny, max_steps: 300, seeds: [0, 1], batch_size: 16, set: [trainer.val_every_n_steps=100]}
      cpu:   {…, config_seeds: {old_losses: [0, 1, 2]}}   # optional: configs run at a subset of the seeds
      gpu:   {…}

Each run is a subprocess ``python -m renovo.cli train …`` into
``<out>/runs/<config>-seed<seed>/`` with its log in ``train.log``. Runs go one
at a time: on a shared CPU concurrent runs would distort each other's speed
figures. A finished run leaves ``done.json`` (rc, wall time) and is skipped
when the plan is run again; an unfinished one resumes from its
``checkpoints/last.ckpt`` (or restarts if it has none, or if resuming fails);
a failed one leaves ``failed.json`` with its log's tail, is reported, and the
plan goes on (it is retried the next time the plan runs). Runs go seed by seed
(every config at seed 0, then at seed 1, …), so a plan stopped part-way still
compares every config.

Warm start (``warm_start: {token_acc: 0.6, max_steps: null, config: ce_only}``, in
the plan or one of its sizes): before the configs of a seed, one run of
``config`` (pure cross-entropy) trains until the first validation with
``val/token_acc`` ≥ ``token_acc`` (or step ``max_steps``; the LR schedule still
spans the plan's ``max_steps``) and saves its checkpoint; every config of that
seed then starts from it (``renovo train --init-from``: same weights, optimizer,
step and data order from there), so configs differ only in what they change.
Warm runs live in ``<out>/../warm-start/<key>-seed<seed>/``, ``key`` a hash of
everything that defines them (preset, steps, batch, data, overrides, warm
settings): a re-run, or another plan with the same settings, reuses them.

Curriculum (``curriculum: {stages: [...], reference_steps: N}``, in the plan or one of its sizes): the
stage table of every config that has a physics weight; a config without one
(``ce_only``) keeps its zeros, so the control stays a control. The in-regime
plans use it to start the proposal's stage 2 at ``{token_acc: 0.6}``.

Reuse: a run whose command (its ``--out`` aside) equals a finished run of a
sibling plan folder (``<out>/../*/runs/<name>``) is copied from there (metrics,
config, log; no checkpoints) instead of trained again — plans that share a
warm start and a config share that run.

Parallel (``jobs``): up to ``jobs`` runs at a time, each with ``cores // jobs``
threads; warm starts go first. One at a time is the default: concurrent runs
distort each other's speed figures (accuracy per step is unaffected).
"""
from __future__ import annotations

# long module: a plan's file format, its resolution into runs (warm starts included) and the runner that
# executes them share the RunSpec / Plan records and the run-folder conventions; split, each half would
# import the other.
import functools
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import yaml

from renovo.errors import RenovoError
from renovo.experiments.metrics_io import log_tail, run_status
from renovo.experiments.report import write_report
from renovo.files import write_json, write_text
from renovo.train.config import yaml_load

PLAN_DIR = Path(__file__).resolve().parents[1] / "configs" / "plans"
SIZES = ("quick", "cpu", "gpu")
SIZE_KEYS = {"preset", "max_steps", "seeds", "batch_size", "set", "accelerator", "precision", "description",
             "warm_start", "curriculum", "config_seeds", "readout_steps"}
PLAN_KEYS = {"name", "title", "question", "configs", "comparisons", "sanity", "data", "set", "sizes", "notes",
             "warm_start", "control", "curriculum", "factorial"}
CURRICULUM_KEYS = {"stages", "reference_steps", "scale_to_max_steps"}
WARM_START_KEYS = {"token_acc", "max_steps", "config"}
WARM_START_DEFAULTS = {"token_acc": 0.60, "max_steps": None, "config": "ce_only"}


class PlanError(RenovoError):
    """A plan name, file or size a user gave is invalid."""


def available_plans() -> list[str]:
    return sorted(p.stem for p in PLAN_DIR.glob("*.yaml"))


@dataclass
class RunSpec:
    config: str
    seed: int
    run_dir: Path
    command: list[str]

    @property
    def name(self) -> str:
        return self.run_dir.name


@dataclass
class Plan:
    name: str
    size: str
    title: str
    question: str
    configs: list[str]
    comparisons: list[tuple[str, str]]
    sanity: bool
    preset: str
    max_steps: int
    seeds: list[int]
    batch_size: int | None
    train_files: list[str]
    val_files: list[str]
    overrides: list[str]
    accelerator: str | None = None
    precision: str | None = None
    description: str = ""
    notes: str = ""
    source: str = ""
    warm_start: dict | None = None
    control: str | None = None  # the cross-entropy-only config the sanity check judges the others against
    curriculum: dict | None = None  # the stage table of the configs that have a physics weight
    readout_steps: list[int] = field(default_factory=list)  # validation steps compared besides the end
    factorial: dict | None = None  # a 2 × 2 design: {factors: [A, B], levels: [[a1, a2], [b1, b2]], cells: [[..]]}
    runs: list[RunSpec] = field(default_factory=list)
    warm_runs: dict[int, RunSpec] = field(default_factory=dict)  # seed -> its warm-start run

    def to_dict(self) -> dict:
        return {
            "name": self.name, "size": self.size, "title": self.title, "question": self.question,
            "source": self.source, "configs": self.configs, "comparisons": [list(c) for c in self.comparisons],
            "sanity": self.sanity, "preset": self.preset, "max_steps": self.max_steps, "seeds": self.seeds,
            "batch_size": self.batch_size, "data": {"train": self.train_files, "val": self.val_files},
            "overrides": self.overrides, "accelerator": self.accelerator, "precision": self.precision,
            "description": self.description, "warm_start": self.warm_start, "control": self.control,
            "curriculum": self.curriculum, "readout_steps": self.readout_steps, "factorial": self.factorial,
            "warm_runs": {str(seed): {"run_dir": str(r.run_dir), "command": shlex.join(r.command)}
                          for seed, r in self.warm_runs.items()},
            "runs": [{"name": r.name, "config": r.config, "seed": r.seed, "run_dir": str(r.run_dir),
                      "command": shlex.join(r.command)} for r in self.runs],
        }


def _read_plan_file(name_or_path: str | Path) -> tuple[dict, str]:
    text = str(name_or_path)
    if text in available_plans():
        path = PLAN_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if not path.is_file():
            raise PlanError(f"unknown plan {text!r}; shipped plans: {', '.join(available_plans())} (or a YAML path)")
    try:
        data = yaml_load(path.read_text())
    except yaml.YAMLError as error:
        from renovo.errors import yaml_error_message

        raise PlanError(yaml_error_message(path, error)) from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: a plan must be a mapping")
    unknown = set(data) - PLAN_KEYS
    if unknown:
        raise PlanError(f"{path}: unknown plan keys {sorted(unknown)}; valid: {sorted(PLAN_KEYS)}")
    # A shipped plan is named by its place in the package, not this checkout's absolute path, so a committed
    # plan.resolved.yaml reads the same from every clone.
    return data, (f"renovo/configs/plans/{path.name}" if text in available_plans() else str(path))


def load_plan(name_or_path: str | Path, size: str, out: str | Path, overrides: Sequence[str] = ()) -> Plan:
    """The plan resolved at ``size``, with one `RunSpec` per config × seed under ``out/runs``."""
    from renovo.train.config import available_configs, load_config
    from renovo.train.curriculum import Curriculum, CurriculumError

    data, source = _read_plan_file(name_or_path)
    sizes = data.get("sizes") or {}
    if size not in sizes:
        raise PlanError(f"plan {data.get('name', name_or_path)!r} has no size {size!r}; sizes: {', '.join(sizes)}")
    s = sizes[size]
    unknown = set(s) - SIZE_KEYS
    if unknown:
        raise PlanError(f"{source}: size {size}: unknown keys {sorted(unknown)}; valid: {sorted(SIZE_KEYS)}")
    configs = list(data.get("configs") or [])
    if not configs:
        raise PlanError(f"{source}: a plan needs at least one config")
    for config in configs:
        if config not in available_configs() and not Path(config).is_file():
            raise PlanError(f"{source}: unknown config {config!r}; shipped: {', '.join(available_configs())}")
    comparisons = [tuple(c) for c in data.get("comparisons") or []]
    for pair in comparisons:
        if len(pair) != 2 or any(c not in configs for c in pair):
            raise PlanError(f"{source}: comparison {list(pair)} must name two of the plan's configs {configs}")
    seeds = [int(x) for x in s.get("seeds", [0])]
    config_seeds = _config_seeds(s.get("config_seeds"), configs, seeds, source)
    data_section = data.get("data") or {}
    all_overrides = [str(o) for o in (data.get("set") or [])] + [str(o) for o in (s.get("set") or [])] + list(overrides)
    plan = Plan(
        name=str(data.get("name") or Path(source).stem), size=size, title=str(data.get("title", "")),
        question=str(data.get("question", "")).strip(), configs=configs, comparisons=comparisons,  # type: ignore[arg-type]
        sanity=bool(data.get("sanity", False)), preset=str(s.get("preset", "small")),
        max_steps=int(s["max_steps"]), seeds=seeds, batch_size=s.get("batch_size"),
        train_files=[str(p) for p in data_section.get("train") or []],
        val_files=[str(p) for p in data_section.get("val") or []],
        overrides=all_overrides, accelerator=s.get("accelerator"), precision=s.get("precision"),
        description=str(s.get("description", "")).strip(), notes=str(data.get("notes", "")).strip(), source=source,
    )
    out = Path(out)
    plan.warm_start = _warm_start_settings(s.get("warm_start", data.get("warm_start")), source)
    plan.control = data.get("control")
    if plan.control is not None and plan.control not in configs:
        raise PlanError(f"{source}: control {plan.control!r} must be one of the plan's configs {configs}")
    plan.curriculum = _curriculum_settings(s.get("curriculum", data.get("curriculum")), source)
    plan.factorial = _factorial_settings(data.get("factorial"), configs, source)
    readouts = s.get("readout_steps") or []
    if not isinstance(readouts, list) or any(not isinstance(x, int) or not 0 < x < plan.max_steps for x in readouts):
        raise PlanError(f"{source}: size {size}: readout_steps must be a list of steps between 0 and max_steps "
                        f"({plan.max_steps}); got {readouts!r}")
    plan.readout_steps = sorted(readouts)
    config_overrides: dict[str, list[str]] = {}
    for config in configs:
        # Validate every run's config now: a typo in an override should fail before hours of training.
        resolved = load_config(config, plan.overrides)
        config_overrides[config] = curriculum_overrides(plan.curriculum, resolved)
        if config_overrides[config]:
            resolved = load_config(config, [*plan.overrides, *config_overrides[config],
                                            f"trainer.max_steps={plan.max_steps}"])
            try:
                Curriculum.from_config(resolved)
            except CurriculumError as error:
                raise PlanError(f"{source}: size {size}: curriculum: {error}") from None
    if plan.warm_start:
        load_config(plan.warm_start["config"], plan.overrides)
        for seed in seeds:
            warm_dir = out.parent / "warm-start" / f"{warm_start_key(plan)}-seed{seed}"
            plan.warm_runs[seed] = RunSpec(plan.warm_start["config"], seed, warm_dir,
                                           warm_start_command(plan, seed, warm_dir))
    # Seed-major order: a plan stopped part-way has every config at the seeds it finished.
    for seed in seeds:
        for config in configs:
            if seed not in config_seeds.get(config, seeds):
                continue
            run_dir = out / "runs" / f"{Path(config).stem}-seed{seed}"
            command = train_command(plan, config, seed, run_dir)
            for override in config_overrides[config]:
                command += ["--set", override]
            if seed in plan.warm_runs:
                command += ["--init-from", str(plan.warm_runs[seed].run_dir / "checkpoints" / "last.ckpt")]
            plan.runs.append(RunSpec(config, seed, run_dir, command))
    return plan


def _factorial_settings(value, configs: Sequence[str], source: str) -> dict | None:
    """``factorial: {factors: [A, B], levels: [[a1, a2], [b1, b2]], cells: [[A a1 × B b1, A a1 × B b2], [...]]}``:
    four of the plan's configs as a 2 × 2 design, analysed for main effects and interaction."""
    if value in (None, False):
        return None
    def pair(x) -> bool:
        return isinstance(x, list) and len(x) == 2
    ok = (isinstance(value, dict) and set(value) == {"factors", "levels", "cells"} and pair(value["factors"])
          and pair(value["levels"]) and all(pair(x) for x in value["levels"]) and pair(value["cells"])
          and all(pair(row) for row in value["cells"]))
    if not ok:
        raise PlanError(f"{source}: factorial is {{factors: [A, B], levels: [[a1, a2], [b1, b2]], cells: "
                        f"[[config, config], [config, config]]}}; got {value!r}")
    cells = [c for row in value["cells"] for c in row]
    if len(set(cells)) != 4 or any(c not in configs for c in cells):
        raise PlanError(f"{source}: factorial cells must be four different configs of the plan {list(configs)}")
    return value


def _config_seeds(value, configs: Sequence[str], seeds: Sequence[int], source: str) -> dict[str, list[int]]:
    """``config_seeds: {config: [seeds]}``: configs run at a subset of the size's seeds (the others at all)."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        raise PlanError(f"{source}: config_seeds is a mapping of config to a list of seeds; got {value!r}")
    result = {}
    for config, subset in value.items():
        if config not in configs:
            raise PlanError(f"{source}: config_seeds names {config!r}, which is not one of the plan's configs")
        if not isinstance(subset, list) or not subset or any(not isinstance(x, int) or x not in seeds for x in subset):
            raise PlanError(f"{source}: config_seeds.{config} must be a non-empty list of the size's seeds {list(seeds)}")
        result[config] = [int(x) for x in subset]
    return result


def _curriculum_settings(value, source: str) -> dict | None:
    """The plan's curriculum section (checked for its keys; the stages are checked by loading the configs)."""
    if value in (None, False):
        return None
    if not isinstance(value, dict) or set(value) - CURRICULUM_KEYS or "stages" not in value:
        raise PlanError(f"{source}: curriculum is a mapping with stages and optionally "
                        f"{sorted(CURRICULUM_KEYS - {'stages'})}; got {value!r}")
    return value


def has_physics_weight(config: dict) -> bool:
    """Whether any curriculum stage of a resolved config gives a physics loss a non-zero weight."""
    def weights(value):
        return value if isinstance(value, (list, tuple)) else [value]
    return any(float(w) != 0.0 for stage in config["curriculum"]["stages"]
               for key in ("spectrum", "precursor") for w in weights(stage.get(key, 0.0)))


def curriculum_overrides(curriculum: dict | None, config: dict) -> list[str]:
    """``--set`` overrides putting the plan's curriculum into ``config``; none for a config without physics."""
    if not curriculum or not has_physics_weight(config):
        return []
    def flow(value) -> str:  # one-line YAML, without the end-of-document marker a bare scalar gets
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).replace("\n...", "").strip()
    return [f"curriculum.{key}={flow(value)}" for key, value in curriculum.items()]


def _warm_start_settings(value, source: str) -> dict | None:
    """The plan's warm_start section with defaults, or None (absent, null or false)."""
    if value in (None, False):
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict) or set(value) - WARM_START_KEYS:
        raise PlanError(f"{source}: warm_start is a mapping with keys {sorted(WARM_START_KEYS)}; got {value!r}")
    settings = {**WARM_START_DEFAULTS, **value}
    acc, steps = settings["token_acc"], settings["max_steps"]
    if acc is not None and not (isinstance(acc, (int, float)) and 0 < float(acc) <= 1):
        raise PlanError(f"{source}: warm_start.token_acc must be in (0, 1] or null; got {acc!r}")
    if steps is not None and not (isinstance(steps, int) and steps > 0):
        raise PlanError(f"{source}: warm_start.max_steps must be a positive integer or null; got {steps!r}")
    if acc is None and steps is None:
        raise PlanError(f"{source}: warm_start needs token_acc, max_steps or both")
    return settings


def warm_start_command(plan: Plan, seed: int, run_dir: Path) -> list[str]:
    """The warm-start run of ``seed``: the warm config, stopped at the threshold or step (same schedule)."""
    w = plan.warm_start or {}
    command = train_command(plan, w["config"], seed, run_dir)
    if w.get("token_acc") is not None:
        command += ["--set", f"trainer.stop_at_token_acc={w['token_acc']}"]
    if w.get("max_steps") is not None:
        command += ["--set", f"trainer.stop_at_step={w['max_steps']}"]
    return command


def warm_start_key(plan: Plan) -> str:
    """What defines a warm-start run (not the random seed, not the plan's name or configs), hashed: equal keys reuse."""
    defining = {"preset": plan.preset, "max_steps": plan.max_steps, "batch_size": plan.batch_size,
                "train": plan.train_files, "val": plan.val_files, "overrides": plan.overrides,
                "accelerator": plan.accelerator, "precision": plan.precision, "warm_start": plan.warm_start}
    digest = hashlib.sha256(json.dumps(defining, sort_keys=True).encode()).hexdigest()[:10]
    return f"{plan.preset}-{digest}"


def train_command(plan: Plan, config: str, seed: int, run_dir: Path) -> list[str]:
    command = [sys.executable, "-m", "renovo.cli", "train", "--config", config, "--preset", plan.preset,
               "--max-steps", str(plan.max_steps), "--seed", str(seed), "--out", str(run_dir), "--no-progress",
               "--scorer-spectra", "0"]
    if plan.batch_size:
        command += ["--batch-size", str(plan.batch_size)]
    if plan.train_files:
        command += ["--train", *plan.train_files]
    if plan.val_files:
        command += ["--val", *plan.val_files]
    if plan.accelerator:
        command += ["--accelerator", plan.accelerator]
    if plan.precision:
        command += ["--precision", plan.precision]
    for override in plan.overrides:
        command += ["--set", override]
    return command


# ---------------------------------------------------------------- runner

Launcher = Callable[[list[str], Path], int]


def subprocess_launcher(command: list[str], log_path: Path, threads: int | None = None) -> int:
    """Run ``command``, appending its stdout + stderr to ``log_path``; its exit code.

    ``threads``: torch's intra-op threads in the child (OMP_NUM_THREADS), for runs side by side.
    """
    env = None
    if threads:
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with open(log_path, "a") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} $ {shlex.join(command)}\n")
        log.flush()
        return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env).returncode


#: A finished run's files copied when a sibling plan reuses it (checkpoints stay where they were made).
REUSED_FILES = ("metrics.csv", "metrics.before_resume.csv", "config.yaml", "train.log", "sanity.txt",
                "init_from.txt", "run.log")


def _command_key(command: str | list[str], run_dir: Path) -> str:
    """A run's command with its folder blanked and the end-of-run scorer fit dropped (it changes no training)."""
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if "--scorer-spectra" in words:
        i = words.index("--scorer-spectra")
        words = words[:i] + words[i + 2:]
    return shlex.join(["<run>" if w == str(run_dir) else w for w in words])


def find_reusable_run(spec: RunSpec) -> Path | None:
    """A finished run of a sibling plan folder with the same command as ``spec`` (its ``--out`` aside)."""
    plans_root = spec.run_dir.parents[2]  # <root>/<plan folder>/runs/<name>
    mine = _command_key(spec.command, spec.run_dir)
    for other in sorted(plans_root.glob(f"*/runs/{spec.name}")):
        if other.resolve() == spec.run_dir.resolve() or run_status(other) != "done":
            continue
        try:
            record = json.loads((other / "done.json").read_text())
        except (OSError, ValueError):
            continue
        if record.get("reused_from"):
            continue  # reuse only the run that trained
        if _command_key(record.get("command", ""), other) == mine:
            return other
    return None


def reuse_run(spec: RunSpec, source: Path) -> dict:
    """Copy the finished run ``source`` into ``spec.run_dir``; the run's record."""
    _clear_run(spec.run_dir)
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    for name in REUSED_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, spec.run_dir / name)
    record = json.loads((source / "done.json").read_text())
    record.update({"name": spec.name, "command": shlex.join(spec.command), "reused_from": str(source)})
    write_json(spec.run_dir / "done.json", record)
    return {**record, "status": "done", "skipped": False}


def _clear_run(run_dir: Path) -> None:
    """Remove a run's outputs (not its log) before a restart from scratch."""
    for name in ("checkpoints", "tensorboard"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    for name in ("metrics.csv", "metrics.before_resume.csv", "config.yaml", "done.json", "failed.json"):
        (run_dir / name).unlink(missing_ok=True)


def execute_run(spec: RunSpec, launcher: Launcher = subprocess_launcher) -> dict:
    """Run (or resume, reuse, or skip) one run; returns its record {name, status, rc, wall_s, resumed}."""
    run_dir = spec.run_dir
    status = run_status(run_dir)
    if status == "done":
        record = json.loads((run_dir / "done.json").read_text())
        return {**record, "name": spec.name, "status": "done", "skipped": True}
    source = find_reusable_run(spec) if not (run_dir / "checkpoints" / "last.ckpt").is_file() else None
    if source is not None:
        return reuse_run(spec, source)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "train.log"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    resumed = checkpoint.is_file()
    start = time.perf_counter()
    if resumed:
        (run_dir / "failed.json").unlink(missing_ok=True)
        # A run of its own now: it continues from its checkpoint, not from the warm start it began with.
        rc = launcher(_without_init_from(spec.command) + ["--resume", str(checkpoint)], log_path)
        if rc != 0:  # a truncated or incompatible checkpoint: start over rather than fail forever
            _clear_run(run_dir)
            resumed = False
            rc = launcher(spec.command + ["--force"], log_path)
    else:
        _clear_run(run_dir)
        # --force: the folder holds this runner's train.log (and a cleared earlier attempt), which a
        # fresh `renovo train` would otherwise refuse as a non-empty run folder.
        rc = launcher(spec.command + ["--force"], log_path)
    wall_s = time.perf_counter() - start
    record = {"name": spec.name, "config": spec.config, "seed": spec.seed, "rc": rc, "wall_s": round(wall_s, 2),
              "resumed": resumed, "command": shlex.join(spec.command),
              "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if rc == 0:
        (run_dir / "failed.json").unlink(missing_ok=True)
        write_json(run_dir / "done.json", record)
        return {**record, "status": "done", "skipped": False}
    record["log_tail"] = log_tail(log_path)
    write_json(run_dir / "failed.json", record)
    return {**record, "status": "failed", "skipped": False}


def _without_init_from(command: list[str]) -> list[str]:
    out, skip = [], False
    for word in command:
        if skip:
            skip = False
        elif word == "--init-from":
            skip = True
        else:
            out.append(word)
    return out


def _same_plan(resolved_path: Path, plan: Plan) -> bool:
    """Whether ``resolved_path`` (a report folder's plan.resolved.yaml) describes ``plan``'s settings."""
    try:
        stored = yaml_load(resolved_path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    # Not settings: where the plan file lies, and the derived run commands, which name this machine's python
    # (a venv elsewhere, or `python` vs `python3`, must not make a plan's own folder "another plan's").
    ignore = ("command", "written_at", "runs", "warm_runs", "source")
    mine = yaml_load(yaml.safe_dump(plan.to_dict(), allow_unicode=True))
    return {k: v for k, v in stored.items() if k not in ignore} == {k: v for k, v in mine.items() if k not in ignore}


def check_plan_folder(plan: Plan, out: Path, force: bool = False) -> bool:
    """Before any work: may ``plan`` write its report into ``out``? True when it continues its own earlier report.

    An empty or missing folder is free. A folder holding this same plan's report
    (same settings) is continued: finished runs are kept, unfinished ones resumed.
    Anything else is refused in one line unless ``force``, which restarts every
    run of the plan from scratch in that folder.
    """
    out = Path(out)
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return False
    if not out.is_dir():
        raise PlanError(f"report folder {out} is a file")
    resolved = out / "plan.resolved.yaml"
    if resolved.is_file() and _same_plan(resolved, plan):
        return True
    if not force:
        what = "another plan's report (different settings)" if resolved.is_file() else "files of something else"
        raise PlanError(f"report folder {out} already holds {what}; use -f/--force to overwrite it, or another --out")
    for spec in plan.runs:
        _clear_run(spec.run_dir)
    return False


def run_plan(plan: Plan, out: Path, *, command_line: str = "", report_only: bool = False,
             launcher: Launcher | None = None, say: Callable[[str], None] = print, jobs: int = 1) -> Path:
    """Execute every run of ``plan`` (``jobs`` at a time, default one) and write the report; the report's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    resolved = {"command": command_line, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **plan.to_dict()}
    write_text(out / "plan.resolved.yaml", yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))
    # Every invocation that ran (or could run) training, so a rebuilt report still names the commands behind it.
    history = out / "commands.log"
    if not report_only and command_line:
        with open(history, "a") as f:
            f.write(command_line + "\n")
    run_commands = [line for line in (history.read_text().splitlines() if history.is_file() else []) if line.strip()]
    if not report_only:
        jobs = max(1, int(jobs))
        if launcher is None:
            threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
            launcher = functools.partial(subprocess_launcher, threads=threads)
        _execute_plan(plan, launcher, say, jobs)
        keep_warm_start_records(plan, out)
    return write_report(plan, out, command_line=command_line, run_commands=list(dict.fromkeys(run_commands)))


#: What a plan folder keeps of each warm start it used (the checkpoint stays where the warm start was made).
WARM_START_RECORDS = ("metrics.csv", "config.yaml", "done.json")


def keep_warm_start_records(plan: Plan, out: Path) -> None:
    """Copy each finished warm start's small records into ``out/warm-start/<warm run>/``: the validation token
    accuracy at which its configs switched their physics on stays visible in a committed report folder."""
    for spec in plan.warm_runs.values():
        if run_status(spec.run_dir) != "done":
            continue
        target = out / "warm-start" / spec.run_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for name in WARM_START_RECORDS:
            if (spec.run_dir / name).is_file():
                shutil.copyfile(spec.run_dir / name, target / name)


def _execute_plan(plan: Plan, launcher: Launcher, say: Callable[[str], None], jobs: int) -> None:
    """Warm starts first, then every run; ``jobs`` at a time (one: in seed-major order, as listed)."""
    lock = threading.Lock()

    def tell(message: str) -> None:
        with lock:
            say(message)

    warm_ok: dict[int, bool] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        seeds = [seed for seed in dict.fromkeys(spec.seed for spec in plan.runs) if seed in plan.warm_runs]
        for seed, ok in zip(seeds, pool.map(lambda s: _warm_start(plan.warm_runs[s], launcher, tell), seeds)):
            warm_ok[seed] = ok
        total = len(plan.runs)
        list(pool.map(lambda item: _plan_run(item[0], total, item[1], plan, warm_ok, launcher, tell),
                      enumerate(plan.runs, 1)))


def _plan_run(i: int, total: int, spec: RunSpec, plan: Plan, warm_ok: dict[int, bool], launcher: Launcher,
              say: Callable[[str], None]) -> None:
    if not warm_ok.get(spec.seed, True):
        say(f"[{i}/{total}] {spec.name}: skipped (its warm start failed; see "
            f"{plan.warm_runs[spec.seed].run_dir / 'train.log'})")
        return
    status = run_status(spec.run_dir)
    if status == "done":
        say(f"[{i}/{total}] {spec.name}: done, skipped")
        return
    has_checkpoint = (spec.run_dir / "checkpoints" / "last.ckpt").is_file()
    verb = ("resuming from last.ckpt" if has_checkpoint else "running") + (
        " (previous attempt failed)" if status == "failed" else "")
    say(f"[{i}/{total}] {spec.name}: {verb} ({plan.max_steps} steps, preset {plan.preset}) → {spec.run_dir}/train.log")
    record = execute_run(spec, launcher)
    if record.get("reused_from"):
        say(f"[{i}/{total}] {spec.name}: the same run finished in {record['reused_from']}; reused")
    elif record["status"] == "done":
        say(f"[{i}/{total}] {spec.name}: done in {record['wall_s']:.0f} s")
    else:
        say(f"[{i}/{total}] {spec.name}: FAILED (rc {record['rc']}); last log lines:\n"
            + "\n".join("    " + line for line in record.get("log_tail", "").splitlines()[-10:]))


def _warm_start(spec: RunSpec, launcher: Launcher, say: Callable[[str], None]) -> bool:
    """Make (or reuse) the warm-start run ``spec``; whether its checkpoint is there to start from."""
    if run_status(spec.run_dir) != "done":
        say(f"warm start seed {spec.seed}: running {spec.config} until the threshold → {spec.run_dir}/train.log")
        record = execute_run(spec, launcher)
        if record["status"] != "done":
            say(f"warm start seed {spec.seed}: FAILED (rc {record['rc']})")
            return False
        say(f"warm start seed {spec.seed}: done in {record['wall_s']:.0f} s")
    return (spec.run_dir / "checkpoints" / "last.ckpt").is_file()


def print_outcome(plan: Plan, results: dict) -> None:
    """The plan's verdicts, a line each; for a sanity plan first each run's PASS/FAIL lines."""
    if plan.sanity:
        from renovo.experiments.sanity import sanity_report

        controls = {spec.seed: spec.run_dir for spec in plan.runs if spec.config == plan.control}
        for spec in plan.runs:
            if spec.config == plan.control or run_status(spec.run_dir) != "done":
                continue
            control = controls.get(spec.seed)
            use = control is not None and (control / "metrics.csv").is_file()
            print(sanity_report(spec.run_dir, control_dir=control if use else None)[0] + "\n")
    for verdict in results.get("verdicts", []):
        print(f"{verdict['hypothesis']}: {verdict['verdict']}")


def run_plan_command(args) -> int:
    """`renovo experiment PLAN`: resolve the plan at ``args.size``, run it, print where the report is."""
    size = args.size
    if size not in SIZES:
        raise PlanError(f"unknown size {size!r}; sizes: {', '.join(SIZES)}")
    plan_name = Path(str(args.plan)).stem
    out = Path(args.out) if args.out else Path("experiments") / f"{plan_name}-{size}"
    plan = load_plan(args.plan, size, out, overrides=list(args.overrides))
    if not args.report_only and check_plan_folder(plan, out, args.force):
        print(f"continuing the plan's earlier report in {out} (finished runs kept, unfinished ones resumed)")
    jobs = args.jobs or 1  # -j 0 runs one at a time
    command_line = "renovo " + shlex.join(sys.argv[1:]) if sys.argv and "experiment" in sys.argv else (
        f"renovo experiment {args.plan} --size {size} --out {out}"
        + "".join(f" --set {shlex.quote(o)}" for o in args.overrides)
        + (" --report-only" if args.report_only else ""))
    print(f"plan {plan.name} ({size}): {len(plan.configs)} configs × {len(plan.seeds)} seeds = {len(plan.runs)} runs "
          f"of {plan.max_steps} steps, preset {plan.preset}, "
          f"{'one at a time' if jobs == 1 else f'{jobs} at a time'} → {out}")
    report = run_plan(plan, out, command_line=command_line, report_only=args.report_only, jobs=jobs)
    results = json.loads((out / "results.json").read_text())
    print_outcome(plan, results)
    print(f"report: {report}")
    failed = [r["name"] for r in results.get("runs", []) if r.get("status") == "failed"]
    if failed:
        print(f"{len(failed)} run(s) failed: {', '.join(failed)} (see report)")
    return 1 if failed else 0
