"""When a run stops, and the checkpoints it leaves: the final ``last.ckpt``, a stop at a step or a
validation token accuracy (a warm start), early stopping on the checkpoint monitor, and the best
checkpoint chosen on each validation's own figure."""
from __future__ import annotations

import re
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

from renovo.errors import RenovoError


class FinalCheckpoint(L.Callback):
    """Saves ``last.ckpt`` at ``max_steps`` when that falls between checkpoint intervals.

    Saved inside the loop (like ModelCheckpoint), so Lightning's step counters
    in the file match those of its periodic checkpoints and a resumed run logs
    the next step under the right number.
    """

    def __init__(self, path: Path, every: int):
        self.path = Path(path)
        self.every = int(every)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step >= trainer.max_steps and step % self.every != 0:
            trainer.save_checkpoint(self.path, weights_only=False)  # as ModelCheckpoint: callbacks state too

    def on_train_end(self, trainer, pl_module) -> None:
        # Stopped by the wall-clock budget (trainer.max_time): the final checkpoint is the step
        # reached, not the last interval. Any other early stop keeps the last periodic one (StopAt
        # writes its own, inside the loop).
        step = trainer.global_step
        if step < trainer.max_steps and step % self.every != 0 and _time_budget_spent(trainer):
            trainer.save_checkpoint(self.path, weights_only=False)  # as ModelCheckpoint: callbacks state too


class StopAt(L.Callback):
    """Stops training cleanly at ``trainer.stop_at_step`` or at the first validation whose ``val/token_acc``
    reaches ``trainer.stop_at_token_acc`` (a warm start's stage of pure cross-entropy), writing ``last.ckpt``
    inside the loop (as the periodic checkpoints are: a run started from it logs its next step under the right
    number) and after that validation (the checkpoint carries its accuracy)."""

    def __init__(self, path: Path, token_acc: float | None, step: int | None):
        self.path = Path(path)
        self.token_acc = token_acc
        self.step = step
        self.stopped = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.step is not None and trainer.global_step >= self.step and not self._validation_due(trainer):
            self._stop(trainer, f"step {trainer.global_step} reached")
            trainer.save_checkpoint(self.path)

    @staticmethod
    def _validation_due(trainer) -> bool:
        # A validation runs right after this batch: stop after it, so the checkpoint carries its accuracy.
        every = trainer.val_check_interval
        return isinstance(every, int) and every > 0 and trainer.global_step % every == 0

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking or self.stopped:
            return
        acc = pl_module.last_val_token_acc
        if self.token_acc is not None and acc is not None and acc >= self.token_acc:
            self._stop(trainer, f"val/token_acc {acc:.3f} ≥ {self.token_acc:g} at step {trainer.global_step}")
        elif self.step is not None and trainer.global_step >= self.step:
            self._stop(trainer, f"step {trainer.global_step} reached")
        if self.stopped:
            trainer.save_checkpoint(self.path)

    def _stop(self, trainer, why: str) -> None:
        if not self.stopped:
            self.stopped = True
            trainer.should_stop = True
            if trainer.is_global_zero:
                print(f"stopping: {why} (trainer.stop_at_*)")


def _time_budget_spent(trainer) -> bool:
    from lightning.pytorch.callbacks import Timer

    timers = [c for c in trainer.callbacks if isinstance(c, Timer)]
    return any((t.time_remaining() or 0.0) <= 0.0 for t in timers)


def monitor_mode(monitor: str) -> str:
    """"max" for a figure that grows as a model gets better (accuracy, recall, precision), else "min"."""
    return "max" if any(word in monitor for word in ("acc", "recall", "precision")) else "min"


def check_monitor(config) -> None:
    """One line, before any work, when ``trainer.checkpoint_monitor`` names real-spectra figures of a run
    that has no ``data.val_real`` files (nothing would ever log them)."""
    monitor = str(config["trainer"]["checkpoint_monitor"])
    if monitor.startswith("val_real/") and not config["data"].get("val_real"):
        raise RenovoError(f"trainer.checkpoint_monitor {monitor} is measured on data.val_real files; give some "
                          "(--val-real FILES) or monitor a val/ figure")


def best_checkpoint(dirpath: Path, monitor: str) -> "BestCheckpoint":
    """Keeps ``best-<step>.ckpt``, the checkpoint with the best ``monitor`` so far, judged at the end of each
    validation on the weights that validation scored. (Saving on a step interval instead judged the weights
    of step k by the figure of the validation before it: the metric was one validation stale.)"""
    return BestCheckpoint(dirpath, monitor)


class BestCheckpoint(ModelCheckpoint):
    """`best_checkpoint`'s callback. A resumed (or warm-started) run takes its record of the best from the
    ``best-*.ckpt`` files in its own folder, each read for the figure it was saved with, not from the state
    restored with the checkpoint it starts from: ``last.ckpt`` is written just before the validation of its own
    step, so that state named the previous best (deleted since) and had never seen the figure of the best file on
    disk. A run that trusted it kept two best files, judged new validations against a stale figure, and its
    summary named checkpoints that were never written."""

    STEP = re.compile(r"best-(\d+)")

    def __init__(self, dirpath: Path, monitor: str):
        super().__init__(dirpath=dirpath, filename="best-{step}", monitor=monitor, mode=monitor_mode(monitor),
                         save_top_k=1, save_last=False, every_n_train_steps=0, every_n_epochs=1,
                         auto_insert_metric_name=False, save_on_train_epoch_end=False)
        self._restored = False

    def load_state_dict(self, state_dict) -> None:
        super().load_state_dict(state_dict)
        self._restored = True

    def on_train_start(self, trainer, pl_module) -> None:
        super().on_train_start(trainer, pl_module)
        if self._restored:
            self._restored = False
            # The main process reads the folder (the others may not see it) and every process keeps its choice.
            self._track(trainer.strategy.broadcast(self._best_on_disk() if trainer.is_global_zero else None))

    def _best_on_disk(self) -> tuple[float, str] | None:
        found = []
        for path in sorted(Path(self.dirpath).glob("best-*.ckpt")):
            score = self._stored_score(path)
            if score is not None:
                found.append((score, str(path)))
        if not found:
            return None
        return (min if self.mode == "min" else max)(found)

    def _stored_score(self, path: Path) -> float | None:
        import torch

        try:  # mmap: the figure is in the callback state; the weights are never read
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception:  # noqa: BLE001  (an unreadable file is no candidate; renovo's loaders say why if used)
            return None
        state = (checkpoint.get("callbacks") or {}).get(self.state_key) or {}
        score = state.get("current_score", state.get("best_model_score"))
        return None if score is None else float(score)

    def _track(self, best: tuple[float, str] | None) -> None:
        import torch

        if best is None:  # nothing on disk: as a fresh run (no path into another run's folder either)
            self.best_k_models, self.best_model_path, self.best_model_score = {}, "", None
            self.kth_best_model_path = ""
            self.kth_value = torch.tensor(torch.inf if self.mode == "min" else -torch.inf)
            return
        score, path = torch.tensor(best[0]), best[1]
        self.best_k_models = {path: score}
        self.best_model_path = self.kth_best_model_path = path
        self.best_model_score = self.kth_value = score

    def best(self) -> tuple[float, int] | None:
        """(figure, step) of the best checkpoint this callback keeps, if any."""
        found = self.STEP.match(Path(self.best_model_path).name) if self.best_model_path else None
        if found is None or self.best_model_score is None:
            return None
        return float(self.best_model_score), int(found.group(1))


class EarlyStop(EarlyStopping):
    """Stops after ``patience`` validations in a row without improving ``monitor`` (``trainer.early_stopping_patience``),
    saying so in one line; the best checkpoint is already on disk (`best_checkpoint`)."""

    def __init__(self, monitor: str, patience: int):
        super().__init__(monitor=monitor, mode=monitor_mode(monitor), patience=int(patience), min_delta=0.0,
                         check_on_train_epoch_end=False, strict=True, verbose=False)
        self.said = False

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if self.wait_count >= self.patience and not self.said:
            self.said = True
            if trainer.is_global_zero:
                print(f"stopping: {self.monitor} did not improve for {self.patience} validations "
                      f"(best {float(self.best_score):.4f}) at step {trainer.global_step} "
                      "(trainer.early_stopping_patience)", flush=True)


class InterruptCheckpoint(L.Callback):
    """Ctrl-C saves ``last.ckpt`` at the step reached, so the run can be resumed from there (Lightning alone
    saved nothing, printed nothing and exited 1). ``step`` is set once the checkpoint is written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.step: int | None = None

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt) or trainer.sanity_checking:
            return
        trainer.save_checkpoint(self.path)  # every rank takes part; the IO writes on the main one
        self.step = int(trainer.global_step)
