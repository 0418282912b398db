"""Training monitors (Lightning callbacks); everything they measure goes to the logs.

- `NaNGuard`: a non-finite loss component or gradient skips the optimizer
  step (gradients dropped before the step: the parameters and AdamW state do
  not move), logs which component, and stops the run after N in a row.
- `GradientFlowMonitor`: every K steps, the gradient each loss component puts
  on the shared (all) model parameters, by separate ``torch.autograd.grad``
  calls: its norm, its norm times the component's weight, its cosine with the
  cross-entropy gradient, its share of the summed gradient and of the step
  AdamW actually took.
- `SpeedMonitor`: steps/s, spectra/s, peak RSS, CUDA max allocated.
- `DivergenceMonitor`: warns once when the training cross-entropy diverges.

The module they watch is a `RenovoModule`: its ``logs_this_step`` says whether this step writes a
log row. Column names are documented in docs/training.md.
"""
from __future__ import annotations

import math
import resource
import sys
import time
from collections import deque

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_warn

from renovo.errors import RenovoError
from renovo.train.module import grad_norm


class NonFiniteLossError(RenovoError):
    """Training stopped: too many consecutive non-finite steps."""


class NaNGuard(L.Callback):
    def __init__(self, max_consecutive: int = 10):
        self.max_consecutive = int(max_consecutive)
        self.consecutive = 0
        self.skipped_total = 0
        self.last_bad: list[str] = []
        # Since the last logged row (trainer.log_every_n_steps): what that row reports.
        self.unlogged_skips = 0
        self.unlogged_nonfinite: set[str] = set()

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        nonfinite = [name for name, value in pl_module.last_components.items() if not bool(torch.isfinite(value).all())]
        # A component with weight 0 is computed only to be logged (loss.compute_zero_weight): it is
        # not in the total and puts no gradient on the model, so a non-finite value is warned about
        # and logged, never a reason to skip the step or stop the run.
        w_spec, w_prec = pl_module.last_weights
        unweighted = {"spectrum": w_spec == 0, "precursor": w_prec == 0}
        bad = [name for name in nonfinite if not unweighted.get(name, False)]
        ignored = [name for name in nonfinite if unweighted.get(name, False)]
        if ignored:
            rank_zero_warn(f"step {trainer.global_step}: non-finite {', '.join(ignored)} loss with weight 0 "
                           f"(logged only; the step goes ahead)")
        norm = grad_norm(pl_module.parameters())
        if not math.isfinite(norm):
            bad.append("gradient")
        # DDP: gradients are already all-reduced, but components are per rank;
        # every rank must take the same decision or the replicas diverge.
        skip = trainer.strategy.reduce_boolean_decision(bool(bad), all=False)
        self.unlogged_nonfinite.update(bad)
        self.unlogged_nonfinite.update(ignored)
        if skip:
            self.unlogged_skips += 1
        if pl_module.logs_this_step:
            pl_module.log("grad/total_norm_pre_clip", norm if math.isfinite(norm) else float("nan"),
                          on_step=True, on_epoch=False)
            # Counted since the last logged row: a skip between logged steps still shows.
            pl_module.log("nan_guard/skipped", float(self.unlogged_skips), on_step=True, on_epoch=False)
            self._log_components(pl_module, self.unlogged_nonfinite)
            self.unlogged_skips = 0
            self.unlogged_nonfinite = set()
        if not skip:
            self.consecutive = 0
            return
        for p in pl_module.parameters():
            p.grad = None  # AdamW leaves parameters without a gradient untouched (no decay, no moment update)
        self.consecutive += 1
        self.skipped_total += 1
        self.last_bad = bad or ["another rank"]
        rank_zero_warn(
            f"step {trainer.global_step}: non-finite {', '.join(self.last_bad)}; optimizer step skipped "
            f"({self.consecutive} in a row)"
        )
        if self.consecutive >= self.max_consecutive:
            raise NonFiniteLossError(
                f"{self.consecutive} consecutive steps had non-finite values (last: {', '.join(self.last_bad)}) "
                f"at step {trainer.global_step}; stopped. Lower optim.lr or the physics weights"
                f"{self._resume_advice(trainer)}."
            )

    @staticmethod
    def _resume_advice(trainer) -> str:
        """Where to resume from, naming a checkpoint only if one was written."""
        from pathlib import Path

        candidates = [getattr(c, "last_model_path", "") for c in trainer.checkpoint_callbacks]
        candidates.append(str(Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"))
        for last in candidates:
            if last and Path(last).is_file():
                return f", then resume from {last}"
        return " (no checkpoint was written before the stop, so there is nothing to resume: start a new run)"

    @staticmethod
    def _log_components(pl_module, nonfinite: set[str]) -> None:
        # Logged on every logged step (0 or 1): Lightning repeats a hook's last value on later rows otherwise.
        for name in ("ce", "spectrum", "precursor", "total", "gradient"):
            pl_module.log(f"nan_guard/nonfinite_{name}", float(name in nonfinite), on_step=True, on_epoch=False)

    def state_dict(self) -> dict:
        return {"consecutive": self.consecutive, "skipped_total": self.skipped_total}

    def load_state_dict(self, state_dict: dict) -> None:
        self.consecutive = int(state_dict.get("consecutive", 0))
        self.skipped_total = int(state_dict.get("skipped_total", 0))


class GradientFlowMonitor(L.Callback):
    """Per-component gradient norms, cosines and shares on the steps the module marks.

    Two shares per term, both signed and adding up to 1 over the terms:

    - ``grad/<term>_gradient_share``: the projection of the term's weighted gradient on the summed
      gradient of this batch, over its squared norm — what the term contributes to the raw gradient.
      A noisy term nearly orthogonal to cross-entropy's gets a large share by construction.
    - ``grad/<term>_adamw_step_share``: the term's part of the first-order loss decrease of the step the
      optimizer actually took, −wᵢ∇ᵢ·Δθ over −Σⱼ wⱼ∇ⱼ·Δθ, with Δθ the parameters' change in this step
      (AdamW's preconditioning, momentum and clipping included). ``grad/adamw_step_descent`` is the
      denominator (the step's predicted decrease of the weighted loss).

    The row is logged at the step's number once the optimizer step is done.
    """

    def __init__(self) -> None:
        self._weighted: dict[str, torch.Tensor] = {}  # term -> w·∇term, flat (float64), of the tracked step
        self._metrics: dict[str, float] = {}
        self._step: int | None = None
        self._before: torch.Tensor | None = None  # the parameters before the optimizer step, flat

    @staticmethod
    def _params(pl_module) -> list[torch.Tensor]:
        return [p for p in pl_module.model.parameters() if p.requires_grad]

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        if not pl_module.track_gradient_flow or pl_module.last_batch is None:
            return
        batch = pl_module.last_batch
        pl_module.last_batch = None
        w_spec, w_prec = pl_module.last_weights
        weights = {"ce": 1.0, "spectrum": w_spec, "precursor": w_prec}
        # A forward pass of its own (same parameters, same batch): the step's own
        # graph is back-propagated once by Lightning and not disturbed (custom
        # autograd Functions may free or reuse their saved tensors in backward).
        with trainer.precision_plugin.forward_context():
            logits = pl_module.model(batch)
        components = pl_module.objective(logits, batch, (w_spec, w_prec), graph_for_all=True)
        params = self._params(pl_module)
        flat: dict[str, torch.Tensor] = {}
        names = [n for n in ("ce", "spectrum", "precursor")
                 if n in components and components[n].requires_grad and torch.isfinite(components[n])]
        for i, name in enumerate(names):
            grads = torch.autograd.grad(components[name], params, retain_graph=i < len(names) - 1, allow_unused=True)
            flat[name] = torch.cat([
                (g if g is not None else torch.zeros_like(p)).reshape(-1).double() for g, p in zip(grads, params)
            ])
        metrics = {}
        ce = flat.get("ce")
        total = sum(g * weights[name] for name, g in flat.items()) if flat else None
        total_sq = float(total @ total) if total is not None else 0.0
        for name, g in flat.items():
            if total_sq > 0:
                metrics[f"grad/{name}_gradient_share"] = float((g * weights[name]) @ total) / total_sq
            norm = float(g.norm())
            metrics[f"grad/{name}_norm"] = norm
            metrics[f"grad/{name}_weighted_norm"] = norm * weights[name]
            if ce is not None and name != "ce":
                denominator = float(ce.norm()) * norm
                metrics[f"grad/{name}_cos_ce"] = float(g @ ce) / denominator if denominator > 0 else 0.0
        if metrics:
            metrics["grad/w_spectrum"] = w_spec
            metrics["grad/w_precursor"] = w_prec
            self._metrics = metrics
            self._weighted = {name: g * weights[name] for name, g in flat.items()}
            self._step = pl_module.global_step

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        if self._step is not None and self._step == pl_module.global_step:
            self._before = torch.cat([p.detach().reshape(-1).double() for p in self._params(pl_module)])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._step is None:
            return
        metrics, step = self._metrics, self._step
        if self._before is not None:
            after = torch.cat([p.detach().reshape(-1).double() for p in self._params(pl_module)])
            metrics.update(adamw_step_shares(self._weighted, after - self._before))
        self._metrics, self._weighted, self._step, self._before = {}, {}, None, None
        if trainer.is_global_zero:
            # Straight to the loggers, as a row of its own at this step: through
            # self.log, Lightning would repeat these values on every later row.
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=step)


def adamw_step_shares(weighted_gradients: dict[str, torch.Tensor], delta: torch.Tensor) -> dict[str, float]:
    """Each term's share of the first-order loss decrease of a parameter change ``delta`` (flat, as the
    gradients): −gᵢ·Δθ / −Σⱼ gⱼ·Δθ; none when the step did not move (skipped) or did not descend."""
    descent = {name: -float(g @ delta) for name, g in weighted_gradients.items()}
    total = sum(descent.values())
    if not weighted_gradients or not float(delta.abs().max()) > 0 or not math.isfinite(total) or total == 0:
        return {}
    shares = {f"grad/{name}_adamw_step_share": value / total for name, value in descent.items()}
    shares["grad/adamw_step_descent"] = total
    return shares


class SpeedMonitor(L.Callback):
    """Throughput (wall time between consecutive steps, data loading included) and memory."""

    def __init__(self, window: int = 10):
        self.ends: deque[float] = deque(maxlen=window + 1)
        self.step_start: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        size = int(batch["tokens"].shape[0]) * trainer.world_size
        metrics = {}
        if self.step_start is not None:
            metrics["speed/step_time_s"] = now - self.step_start
        self.ends.append(now)
        if len(self.ends) > 1:  # mean over the last `window` steps
            interval = (self.ends[-1] - self.ends[0]) / (len(self.ends) - 1)
            metrics["speed/steps_per_s"] = 1.0 / interval
            metrics["speed/spectra_per_s"] = size / interval
        if not pl_module.logs_this_step:
            return
        metrics["memory/peak_rss_mb"] = peak_rss_mb()
        if torch.cuda.is_available() and pl_module.device.type == "cuda":
            metrics["memory/cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated(pl_module.device) / 2**20
        pl_module.log_dict(metrics, on_step=True, on_epoch=False, batch_size=size)
        if "speed/spectra_per_s" in metrics:
            pl_module.log("sps", metrics["speed/spectra_per_s"], prog_bar=True, logger=False, on_step=True,
                          on_epoch=False, batch_size=size)

    def on_validation_end(self, trainer, pl_module) -> None:
        self.ends.clear()  # validation time is not training throughput


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class DivergenceMonitor(L.Callback):
    """Warns (once) when the training cross-entropy diverges, e.g. from a far too high learning rate.

    The smoothed CE (mean of the last ``window`` steps, from ``min_steps``
    steps on) is compared with a reference: the run's first CE (the untrained
    model's loss, which training only ever goes below) or the lowest
    full-window mean since, whichever is lower. Rising above ``factor`` times
    it, and by more than ``min_rise`` nats (so a near-zero CE wiggling is not
    divergence), is divergence. Judged every step, logged on logged steps as
    ``monitor/diverged`` (0 or 1).
    """

    def __init__(self, window: int = 20, factor: float = 2.0, min_rise: float = 1.0, min_steps: int = 5):
        self.window = int(window)
        self.factor = float(factor)
        self.min_rise = float(min_rise)
        self.min_steps = max(1, min(int(min_steps), self.window))
        self.recent: deque[float] = deque(maxlen=self.window)
        self.best = math.inf
        self.warned = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        ce = pl_module.last_components.get("ce")
        if ce is None:
            return
        value = float(ce.detach())
        diverged = False
        if math.isfinite(value):
            if not self.recent and self.best == math.inf:
                self.best = value  # the first CE: the reference before any full window
            self.recent.append(value)
        if len(self.recent) >= self.min_steps:
            smoothed = sum(self.recent) / len(self.recent)
            if len(self.recent) == self.window:
                self.best = min(self.best, smoothed)
            diverged = smoothed > self.factor * self.best and smoothed - self.best > self.min_rise
        if pl_module.logs_this_step:
            pl_module.log("monitor/diverged", float(diverged), on_step=True, on_epoch=False)
        if diverged and not self.warned:
            self.warned = True
            lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else float("nan")
            rank_zero_warn(
                f"step {trainer.global_step}: training loss is diverging (cross-entropy, mean of the last "
                f"{self.window} steps, {smoothed:.3g} against a best of {self.best:.3g}); learning rate now "
                f"{lr:.3g} — lower optim.lr"
            )
