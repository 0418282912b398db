"""Build and run the Lightning trainer; run folders; loading a trained model.

A run folder holds ``config.yaml`` (the resolved config, seed included),
``metrics.csv`` (CSV logger), ``tensorboard/`` and ``checkpoints/``
(``last.ckpt`` every ``trainer.checkpoint_every_n_steps`` and at the end, and
``best-*.ckpt`` on ``trainer.checkpoint_monitor``), written atomically and read
weights-only (`renovo.train.checkpoints`).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from renovo.errors import RenovoError
from renovo.train.config_rules import parse_duration_s  # one home: trainer.max_time's rule reads it too
from renovo.model.checkpoint import (checkpoint_config, load_model, read_checkpoint,  # noqa: F401  (re-exported)
                                     tokenizer_from_config)
from renovo.model.extend import load_extended
from renovo.train.checkpoints import AtomicCheckpointIO, check_compatible
from renovo.train.config import save_config
from renovo.train.data import RenovoDataModule
from renovo.train.epochs import size_to_data
from renovo.train.module import RenovoModule
from renovo.train.monitors import DivergenceMonitor, GradientFlowMonitor, NaNGuard, SpeedMonitor
from renovo.train.progress import ProgressLines, StepProgressBar, quiet_lightning
from renovo.train.stopping import (FinalCheckpoint, EarlyStop, InterruptCheckpoint, StopAt, best_checkpoint,  # noqa: F401  (re-exported)
                                   check_monitor)


class ElapsedTime(L.Callback):
    """Logs ``time/elapsed_s``, wall seconds since training started, with every validation
    (learning curves against wall time)."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.start = time.perf_counter()

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking and hasattr(self, "start"):
            pl_module.log("time/elapsed_s", time.perf_counter() - self.start, on_step=False, on_epoch=True)


def default_run_dir(config: Mapping) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(config["trainer"]["out"]) / f"{config['name']}_{config['model']['preset']}_s{config['seed']}_{stamp}"


def checkpoint_interval(config: Mapping) -> int:
    """Steps between ``last.ckpt`` writes: ``trainer.checkpoint_every_n_steps``, else the validation interval."""
    t = config["trainer"]
    max_steps = t["max_steps"]
    every = t.get("checkpoint_every_n_steps")  # absent from configs stored by older checkpoints
    if every is None:
        every = t["val_every_n_steps"]
    if int(every) < 1:
        raise RenovoError(f"trainer.checkpoint_every_n_steps must be ≥ 1, got {every}")
    return max(1, min(int(every), max_steps))


def _callbacks(config: Mapping, run_dir: Path, extra_callbacks: Sequence[L.Callback]) -> list:
    """renovo's monitors and checkpointing, then ``extra_callbacks``."""
    t = config["trainer"]
    ckpt_every = checkpoint_interval(config)
    monitor = str(t["checkpoint_monitor"])
    checkpoints = best_checkpoint(run_dir / "checkpoints", monitor)
    # last.ckpt on its own interval (the resume point); overwritten in place, never last-v1.ckpt.
    last = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        monitor=None,
        save_top_k=0,
        save_last=True,
        every_n_train_steps=ckpt_every,
        enable_version_counter=False,
    )
    callbacks: list[L.Callback] = [
        NaNGuard(config["monitors"]["nan_guard_max_consecutive"]),
        GradientFlowMonitor(),
        SpeedMonitor(),
        DivergenceMonitor(),
        checkpoints,
        last,
        FinalCheckpoint(run_dir / "checkpoints" / "last.ckpt", ckpt_every),
        InterruptCheckpoint(run_dir / "checkpoints" / "last.ckpt"),
        ElapsedTime(),
    ]
    if t.get("early_stopping_patience"):
        callbacks.append(EarlyStop(monitor, t["early_stopping_patience"]))
    if t.get("stop_at_token_acc") is not None or t.get("stop_at_step") is not None:
        callbacks.append(StopAt(run_dir / "checkpoints" / "last.ckpt", t.get("stop_at_token_acc"),
                                t.get("stop_at_step")))
    callbacks.append(StepProgressBar(refresh_rate=max(1, t["log_every_n_steps"])) if t["progress_bar"]
                     else ProgressLines(monitor=monitor, best=checkpoints))
    callbacks.extend(extra_callbacks)
    return callbacks


def build_trainer(config: Mapping, run_dir: str | Path, extra_callbacks: Sequence[L.Callback] = ()) -> L.Trainer:
    """The Lightning trainer for ``config``, logging and checkpointing into ``run_dir``.

    ``extra_callbacks`` (e.g. decoded-metric validation from renovo.decode) run
    after renovo's own monitors.
    """
    quiet_lightning()
    run_dir = Path(run_dir)
    t = config["trainer"]
    max_steps = t["max_steps"]
    val_every = max(1, min(t["val_every_n_steps"], max_steps))
    callbacks = _callbacks(config, run_dir, extra_callbacks)
    strategy = t["strategy"]
    if strategy == "ddp" and (t["accelerator"] == "cpu" or not torch.cuda.is_available()):
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(process_group_backend="gloo")
    loggers = [
        # Flushed at every logged step: a killed run keeps its rows up to its last checkpoint (the default,
        # every 100 steps, lost them), so a resumed run's metrics.csv holds both segments.
        CSVLogger(save_dir=str(run_dir), name="", version="",
                  flush_logs_every_n_steps=max(1, t["log_every_n_steps"])),
        TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version="", default_hp_metric=False),
    ]
    check_precision(t["precision"])
    max_time_s = parse_duration_s(t["max_time"])
    try:
        trainer = L.Trainer(
            max_steps=max_steps,
            max_time=None if max_time_s is None else {"seconds": max_time_s},
            max_epochs=-1,
            val_check_interval=val_every,
            check_val_every_n_epoch=None,
            num_sanity_val_steps=0,
            log_every_n_steps=t["log_every_n_steps"],
            accelerator=t["accelerator"],
            devices=t["devices"],
            strategy=strategy,
            precision=t["precision"],
            gradient_clip_val=config["optim"]["gradient_clip"] or None,
            gradient_clip_algorithm="norm",
            callbacks=callbacks,
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            enable_progress_bar=t["progress_bar"],
            enable_model_summary=False,
            default_root_dir=str(run_dir),
            deterministic=False,
            use_distributed_sampler=True,
        )
    except (ValueError, TypeError) as error:  # Lightning's checks of accelerator / devices / strategy
        raise RenovoError(f"trainer settings: {str(error).strip().splitlines()[0]}") from None
    return trainer


#: Precisions a run may use: mass arithmetic stays float64 outside autocast in all of them
#: ("bf16-true"/"16-true" would cast the whole model, masses included).
PRECISIONS = ("32-true", "32", "bf16-mixed", "bf16", "16-mixed", "16", "64-true", "64")


def check_precision(precision) -> None:
    if str(precision) not in PRECISIONS:
        raise RenovoError(f"trainer.precision {precision!r} is not one of {', '.join(PRECISIONS)}")


def train(
    config: Mapping,
    run_dir: str | Path | None = None,
    *,
    resume: str | Path | None = None,
    extra_callbacks: Sequence[L.Callback] = (),
    force: bool = False,
    resume_changes: Sequence[tuple[str, object, object]] = (),
    init_from: str | Path | None = None,
    finetune_from: str | Path | None = None,
    train_records: Sequence | None = None,
    val_records: Sequence | None = None,
) -> Path:
    """Train ``config`` into ``run_dir`` (resuming from a checkpoint if given); returns the run folder.

    The run owns its folder while it runs (`renovo.train.rundir`): a second run into it is
    refused, and a fresh run into a non-empty folder needs ``force`` (which clears the previous
    run's outputs). ``resume_changes`` (key, old, new) are logged in ``RUN/resume.log``.

    ``init_from`` (a warm start): a new run of ``config`` that starts from another run's checkpoint
    (e.g. a pure cross-entropy run stopped at a token-accuracy threshold) with its whole training state —
    weights, optimizer and schedule, step, random state — so the data stream continues from the same step
    and runs started from one checkpoint differ only in their own config. Logged in ``RUN/init_from.txt``.

    ``finetune_from`` (a fine-tune, `renovo.train.finetune`): a new run that starts from a checkpoint's
    weights only — a fresh optimizer and schedule at step 0 — in ``config``'s vocabulary, which may add
    tokens to the checkpoint's (`renovo.model.extend`). Logged in ``RUN/finetune_from.txt``.

    ``train_records`` / ``val_records``: labelled spectra in memory instead of ``data.train`` / ``data.val``.
    A fresh run with ``trainer.max_epochs`` is sized to its training data (`renovo.train.epochs`).
    """
    from renovo.train.rundir import is_main_process, log_resume, own_run_dir

    if sum(1 for start in (resume, init_from, finetune_from) if start) > 1:
        raise RenovoError("--resume continues a run, --init-from and --finetune start a new one from a "
                          "checkpoint: give one")
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(config)
    check_monitor(config)
    # Read (and check) the data before the run folder is touched: unusable data is a one-line
    # error that leaves no half-made run behind. The data come first: they size the schedule.
    data = RenovoDataModule(config, tokenizer_from_config(config), train_records, val_records)
    data.setup("fit")
    schedule = None
    if not resume:
        config, schedule = size_to_data(config, data)
        data.config = config
    L.seed_everything(config["seed"], workers=True, verbose=False)
    module = RenovoModule(config)
    step, added = _start_state(module, resume or init_from, finetune_from)
    trainer = build_trainer(config, run_dir, extra_callbacks)
    if not is_main_process():  # DDP's extra processes: the main process owns the folder
        return _fit(trainer, module, data, run_dir, resume, init_from)
    with own_run_dir(run_dir, resume=resume, force=force):  # said once the folder is ours (or refused)
        if schedule:
            print(schedule + "\ncurriculum (steps of this run):\n  "
                  + module.curriculum.describe().replace("\n", "\n  "), flush=True)
        if finetune_from:
            print(f"fine-tune: weights of {finetune_from} (step {step}), fresh optimizer and schedule"
                  + (f"; new tokens {', '.join(added)} start from their base residue's" if added else ""), flush=True)
        save_config(config, run_dir / "config.yaml")
        if resume:
            log_resume(run_dir, resume, step, list(resume_changes))
        from renovo.files import write_text

        if init_from:
            write_text(run_dir / "init_from.txt", f"{Path(init_from).resolve()}\nstep {step}\n")
        if finetune_from:
            write_text(run_dir / "finetune_from.txt", f"{Path(finetune_from).resolve()}\nstep {step}\n"
                       f"added tokens: {' '.join(added) or 'none'}\n")
        return _fit(trainer, module, data, run_dir, resume, init_from)


def _start_state(module: RenovoModule, start_from: str | Path | None,
                 finetune_from: str | Path | None) -> tuple[int | None, list[str]]:
    """(checkpoint step, tokens added) of the checkpoint a run starts from, checked with a one-line error
    before Lightning touches it; a fine-tune's weights are loaded into ``module`` here."""
    if finetune_from:
        checkpoint = read_checkpoint(finetune_from)
        added = load_extended(module.model, checkpoint, finetune_from)
        return checkpoint.get("global_step"), added
    if start_from:
        checkpoint = read_checkpoint(start_from)
        check_compatible(checkpoint, start_from, module.tokenizer, module.state_dict())
        return checkpoint.get("global_step"), []
    return None, []


def _fit(trainer: L.Trainer, module: RenovoModule, data: RenovoDataModule, run_dir: Path,
         resume: str | Path | None, init_from: str | Path | None = None) -> Path:
    with warnings.catch_warnings():
        # Iterable (endless simulated) training data has no length: expected, not a problem.
        warnings.filterwarnings("ignore", message=".*(IterableDataset|does not have many workers|has `shuffle=True`).*")
        warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch ended.*")
        # The CSV logger deletes an existing metrics.csv; on resume we keep it and merge below.
        warnings.filterwarnings("ignore", message=".*Experiment logs directory.*exists and is not empty.*")
        # A warm start (--init-from) checkpoints into its own folder, not the warm run's: expected.
        warnings.filterwarnings("ignore", message=".*The dirpath has changed from.*")
        previous = None
        metrics_path = run_dir / "metrics.csv"
        if resume and trainer.is_global_zero and metrics_path.is_file():
            previous = metrics_path.with_name("metrics.before_resume.csv")
            metrics_path.replace(previous)
        try:
            start = resume or init_from
            trainer.fit(module, datamodule=data, ckpt_path=str(start) if start else None)
        except SystemExit as exit_:
            # Lightning turns Ctrl-C into sys.exit(1) after its on_exception hooks; renovo says where the run
            # stopped and how to go on, and the CLI exits 130 like every other command.
            saved = next((c for c in trainer.callbacks if isinstance(c, InterruptCheckpoint)), None)
            if saved is None or saved.step is None:
                raise
            raise KeyboardInterrupt(f"interrupted at step {saved.step}; resume with "
                                    f"`renovo train --resume {saved.path}`") from exit_
        finally:
            if previous is not None:
                merge_metrics(previous, metrics_path)
    return run_dir


def merge_metrics(previous: Path, current: Path) -> None:
    """Rows of ``previous`` before ``current``'s first step, then ``current``; union of columns."""
    import csv

    from renovo.train.metrics_log import read_metric_rows

    old = read_metric_rows(previous)
    new = read_metric_rows(current) if current.is_file() else []
    first = min((int(float(r["step"])) for r in new if r.get("step")), default=None)
    rows = [r for r in old if first is None or int(float(r["step"] or 0)) < first] + new
    columns = sorted({k for r in rows for k in r})
    from renovo.files import atomic_open

    with atomic_open(current, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    previous.unlink()
