"""What training shows while it runs: a step bar with a total and an ETA, or (with the
bar off) one line per validation and a closing summary; Lightning's own chatter silenced."""
from __future__ import annotations

import logging
import math
import time
import warnings

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

from renovo.train.stopping import monitor_mode

#: Validation metrics shown per line, when logged.
SHOWN = ("val/ce", "val/token_acc", "val/peptide_acc", "val/aa_precision", "val/peptide_recall",
         "val_real/aa_precision", "val_real/peptide_recall")


def quiet_lightning() -> None:
    """Silence Lightning's tips ("💡 Tip: …"), device banners and deprecation noise from its
    dependencies; warnings about the run itself still show."""
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                 "lightning.pytorch.accelerators.cuda", "lightning.pytorch.trainer.connectors.signal_connector"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(lightning|torch|tensorboard).*")
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*litlogger.*")
    # Small training files (a fine-tune): renovo logs per step, so the epoch-level logging interval is moot.
    warnings.filterwarnings("ignore", message=r".*number of training batches .* is smaller than the logging interval.*")


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class StepProgressBar(TQDMProgressBar):
    """Lightning's bar, counting optimizer steps up to ``max_steps`` when an epoch has no length
    (the simulated stream, streamed Parquet), so it shows a total and an ETA."""

    @property
    def total_train_batches(self):
        total = super().total_train_batches
        if isinstance(total, (int, float)) and math.isfinite(total):
            return total
        trainer = self.trainer
        return max(int(trainer.max_steps) - int(trainer.global_step), 0) if trainer.max_steps and trainer.max_steps > 0 else total


class ProgressLines(L.Callback):
    """With the progress bar off: a line per validation (step, metrics, elapsed, ETA) and a summary."""

    def __init__(self, print_fn=print, monitor: str = "val/ce", best=None):
        self.print = print_fn
        self.monitor = monitor
        # The best-checkpoint callback: the summary names its best, the file on disk, which spans every session
        # of a resumed run (the best of this session's validations alone is kept for runs without one).
        self.best_source = best
        self.better = (lambda a, b: a > b) if monitor_mode(monitor) == "max" else (lambda a, b: a < b)
        self.started = 0.0
        self.first_step = 0
        self.best: tuple[float, int] | None = None

    def on_train_start(self, trainer, pl_module) -> None:
        self.started = time.perf_counter()
        self.first_step = int(trainer.global_step)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        step, total = int(trainer.global_step), int(trainer.max_steps)
        metrics = trainer.callback_metrics
        shown = ", ".join(f"{k} {float(metrics[k]):.4f}" for k in SHOWN if k in metrics)
        elapsed = time.perf_counter() - self.started
        done = step - self.first_step
        eta = elapsed / done * (total - step) if done > 0 and total > 0 else math.nan
        if self.monitor in metrics:
            value = float(metrics[self.monitor])
            if math.isfinite(value) and (self.best is None or self.better(value, self.best[0])):
                self.best = (value, step)
        self.print(f"step {step}/{total}: {shown or 'validated'} (elapsed {_format_seconds(elapsed)}, "
                   f"ETA {_format_seconds(eta)})", flush=True)

    def on_train_end(self, trainer, pl_module) -> None:
        if not trainer.is_global_zero:
            return
        elapsed = time.perf_counter() - self.started
        steps = int(trainer.global_step) - self.first_step
        rate = steps / elapsed if elapsed > 0 else math.nan
        best = self.best_source.best() if self.best_source is not None else self.best
        if best is not None and not math.isfinite(best[0]):
            best = None  # only non-finite validations so far (saved as ±inf): no best to speak of
        best = f"; best {self.monitor} {best[0]:.4f} at step {best[1]}" if best else ""
        self.print(f"trained {steps} steps in {_format_seconds(elapsed)} ({rate:.2f} steps/s){best}", flush=True)
