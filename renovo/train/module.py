"""The Lightning module: model + objective + curriculum + optimiser schedule.

Logged every step (CSV / TensorBoard, see docs/training.md): ``train/ce``,
``train/spectrum``, ``train/precursor`` (unweighted), ``train/total``,
``train/w_spectrum``, ``train/w_precursor``, ``train/token_acc``,
``train/stage``, ``lr``, and ``grad/total_norm_post_clip`` (measured after
clipping). Validation: ``val/ce``, ``val/spectrum``, ``val/precursor``,
``val/total``, ``val/token_acc``, ``val/peptide_acc`` (teacher forced).
A curriculum stage that starts at a threshold (``start: {token_acc: 0.6}``)
switches at the end of the first validation that reaches it; the switch step is
logged as ``curriculum/switch_step`` and kept in every checkpoint
(``checkpoint["renovo"]["curriculum_switch_step"]``), so a resumed run keeps it.
"""
from __future__ import annotations

import math
import random
from typing import Mapping

import numpy as np

import lightning as L
import torch

from renovo.chem import Tokenizer
from renovo.errors import RenovoError
from renovo.model.checkpoint import (  # noqa: F401  (re-exported: one home, in renovo.model)
    MODEL_KEYS,
    build_model_from_config,
    checkpoint_architecture,
    tokenizer_from_config,
    tokenizer_from_state,
    tokenizer_state,
)
from renovo.model.migrate import SCHEMA_VERSION
from renovo.train.config import validate_config
from renovo.train.curriculum import Curriculum
from renovo.train.objective import COMPONENTS, Objective, token_accuracy
from renovo.train.schema import RunConfig
from renovo.train.step import build_optimizer, training_step

def lr_lambda(warmup_steps: int, max_steps: int, min_lr_ratio: float):
    """Linear warmup to 1, then cosine decay to ``min_lr_ratio`` at ``max_steps``."""

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(max_steps - warmup_steps, 1)
        progress = min(max((step - warmup_steps) / span, 0.0), 1.0)
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def effective_warmup(config: Mapping) -> int:
    """``optim.warmup_fraction`` of ``trainer.max_steps`` when set, else ``optim.warmup_steps`` capped at 10%
    of them."""
    max_steps = config["trainer"]["max_steps"]
    fraction = config["optim"]["warmup_fraction"]
    if fraction is not None:
        return int(round(fraction * max_steps))
    return min(config["optim"]["warmup_steps"], max_steps // 10)


class RenovoModule(L.LightningModule):
    def __init__(self, config: RunConfig | Mapping):
        super().__init__()
        # A mapping (a checkpoint's stored config, a test's dict) is checked into a RunConfig first.
        self.config: RunConfig = config if isinstance(config, RunConfig) else validate_config(config)
        self.tokenizer = tokenizer_from_config(self.config)
        self.model = build_model_from_config(self.config, self.tokenizer)
        self.objective = Objective(self.config.loss, self.tokenizer)
        self.curriculum = Curriculum.from_config(self.config)
        self.gradient_flow_every = self.config.monitors.gradient_flow_every_n_steps
        self.clip_mode = self.config.optim.gradient_clip_mode
        self.physics_gradient_cap = self.config.optim.physics_gradient_cap
        # Set each training step for the monitors (NaN guard, gradient flow).
        self.last_components: dict[str, torch.Tensor] = {}
        self.last_weights: tuple[float, float] = (0.0, 0.0)
        self.track_gradient_flow = False
        self.last_batch: Mapping | None = None
        self.logs_this_step = True  # set per training step (see _logs_step)
        # Validation token accuracy summed over batches (weighted by batch size, as the logged val/token_acc).
        self._val_token_acc = [0.0, 0]
        self.last_val_token_acc: float | None = None  # the last validation's (kept in checkpoints)

    # --- steps -----------------------------------------------------------------
    def forward(self, batch: Mapping) -> torch.Tensor:
        return self.model(batch)

    def _logs_step(self, step: int) -> bool:
        """Whether Lightning writes the on-step metrics of the ``step``-th optimizer step (1-based) to the
        loggers: every ``trainer.log_every_n_steps`` (Lightning's rule). Values logged on other steps are
        overwritten before they are written, so the module and the monitors compute and log per-step
        metrics only on these steps (on a small model's CPU step, ~26 ``self.log`` calls and the
        zero-weight physics losses cost several percent)."""
        trainer = self._trainer
        if trainer is None:
            return True
        every = int(trainer.log_every_n_steps or 0)
        if every <= 0:
            return False
        return step % every == 0 or bool(trainer.should_stop)

    def weights_now(self) -> tuple[float, float]:
        return self.curriculum.weights(self.global_step)

    def gradient_flow_due(self) -> bool:
        # Per-component autograd.grad calls do not mix with DDP's gradient hooks.
        return (
            self.gradient_flow_every > 0
            and self.global_step % self.gradient_flow_every == 0
            and self.trainer.world_size == 1
        )

    def training_step(self, batch: Mapping, batch_idx: int) -> torch.Tensor:
        weights = self.weights_now()
        self.track_gradient_flow = self.gradient_flow_due()
        # Zero-weight physics components are computed only to be logged: on logged steps only.
        compute_zero_weight = self.objective.compute_zero_weight and self.logs_this_step
        logits, out = training_step(self.model, self.objective, batch, weights,
                                    compute_zero_weight=compute_zero_weight)  # logits (B, T, vocab)
        self.last_components = out
        self.last_batch = batch if self.track_gradient_flow else None
        self.last_weights = weights
        if not self.logs_this_step:
            return out["total"]
        size = batch["tokens"].shape[0]
        metrics = {f"train/{k}": v.detach().float() for k, v in out.items()}
        metrics["train/w_spectrum"] = float(weights[0])
        metrics["train/w_precursor"] = float(weights[1])
        metrics["train/stage"] = float(self.curriculum.stage_index(self.global_step) + 1)
        metrics["train/token_acc"] = token_accuracy(logits, batch["tokens"])
        metrics["lr"] = float(self.optimizers().param_groups[0]["lr"]) if self._trainer is not None else 0.0
        self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=size)
        short = {"ce": out["ce"], "spec": out.get("spectrum"), "prec": out.get("precursor")}
        self.log_dict({k: v.detach().float() for k, v in short.items() if v is not None},
                      prog_bar=True, logger=False, on_step=True, on_epoch=False, batch_size=size)
        return out["total"]

    def validation_step(self, batch: Mapping, batch_idx: int) -> None:
        weights = self.weights_now()
        logits, out = training_step(self.model, self.objective, batch, weights)
        size = batch["tokens"].shape[0]
        tokens = batch["tokens"]
        real = tokens != Tokenizer.PAD
        exact = ((logits.argmax(-1) == tokens) | ~real).all(dim=1) & real.any(dim=1)
        metrics = {f"val/{k}": v.float() for k, v in out.items()}
        metrics["val/token_acc"] = token_accuracy(logits, tokens)
        metrics["val/peptide_acc"] = exact.float().sum() / real.any(dim=1).float().sum().clamp_min(1)
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=size, sync_dist=True)
        self._val_token_acc[0] += float(metrics["val/token_acc"]) * size
        self._val_token_acc[1] += size

    def on_validation_epoch_start(self) -> None:
        self._val_token_acc = [0.0, 0]

    def on_validation_epoch_end(self) -> None:
        total, count = self._val_token_acc
        if self.trainer.sanity_checking or count == 0:
            return
        self.last_val_token_acc = total / count
        if self.curriculum.threshold is None:
            return
        if self.curriculum.observe_validation(self.global_step, {"val/token_acc": total / count}):
            self.print(f"curriculum: validation token accuracy {total / count:.3f} reached the threshold at step "
                       f"{self.global_step}; stage {self.curriculum.threshold_stage + 1} starts now")
        if self.curriculum.switch_step is not None:
            self.log("curriculum/switch_step", float(self.curriculum.switch_step), on_step=False, on_epoch=True)

    # --- optimisation ------------------------------------------------------------
    def configure_optimizers(self):
        o = self.config.optim
        optimizer = build_optimizer(self.parameters(), o)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lr_lambda(effective_warmup(self.config), self.config.trainer.max_steps, o.min_lr_ratio),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def backward(self, loss: torch.Tensor, *args, **kwargs) -> None:
        if self.clip_mode != "per_term":
            return super().backward(loss, *args, **kwargs)
        physics = self.last_components["total"] - self.last_components["ce"]
        if not physics.requires_grad:  # no physics weight yet: the one gradient is cross-entropy's
            return super().backward(loss, *args, **kwargs)
        if self._trainer is not None and self.trainer.world_size > 1:
            raise RenovoError("optim.gradient_clip_mode=per_term needs one device (two backward passes a step "
                              "do not mix with DDP's gradient hooks)")
        clip = self.config.optim.gradient_clip or 0.0
        stats = per_term_clipped_backward(self.last_components["ce"], physics,
                                          [p for p in self.parameters() if p.requires_grad], clip,
                                          self.physics_gradient_cap)
        if self.logs_this_step:
            self.log_dict({f"grad/{k}": v for k, v in stats.items()}, on_step=True, on_epoch=False)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        if self.clip_mode != "per_term":  # per_term: each part was clipped on its own in `backward`
            self.clip_gradients(optimizer, gradient_clip_val=gradient_clip_val,
                                gradient_clip_algorithm=gradient_clip_algorithm)
        if not self.logs_this_step:
            return
        # Measured, not inferred: the norm the optimizer actually sees.
        self.log("grad/total_norm_post_clip", grad_norm(self.parameters()), on_step=True, on_epoch=False)

    def on_train_start(self) -> None:
        # On --resume Lightning restores the checkpoint's optimizer and schedule, learning rate
        # included; optim.lr of this run's config (changed for the resume, and logged) must win.
        # The schedule keeps its shape: lr = optim.lr · factor(step), factor from this config.
        lr = self.config.optim.lr
        for scheduler_config in self.trainer.lr_scheduler_configs:
            scheduler = scheduler_config.scheduler
            if not hasattr(scheduler, "lr_lambdas") or all(base == lr for base in scheduler.base_lrs):
                continue
            scheduler.base_lrs = [lr] * len(scheduler.base_lrs)
            for group, factor in zip(scheduler.optimizer.param_groups, scheduler.lr_lambdas):
                group["initial_lr"] = lr
                group["lr"] = lr * factor(scheduler.last_epoch)

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        self.logs_this_step = self._logs_step(self.global_step + 1)
        # Dropout (and anything else random in a step) draws from generators
        # seeded by (seed, step, rank): a resumed run repeats the uninterrupted
        # one's draws however many numbers validation or loader start-up took.
        seed_step(self.config.seed, self.global_step, self.global_rank)

    # --- checkpoints -----------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Plain dicts only, so `torch.load(weights_only=True)` can read it.
        checkpoint["renovo"] = {"schema_version": SCHEMA_VERSION, "config": self.config.to_dict(),
                                "tokenizer": tokenizer_state(self.tokenizer), "model": self.model.config.to_dict(), "rng": rng_state(),
                                "curriculum_switch_step": self.curriculum.switch_step,
                                "val_token_acc": self.last_val_token_acc}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        from renovo.train.checkpoints import check_compatible

        check_compatible(checkpoint, "checkpoint", self.tokenizer, self.state_dict())
        if "rng" in checkpoint.get("renovo", {}):
            set_rng_state(checkpoint["renovo"]["rng"])
        stored = checkpoint.get("renovo", {})
        self.last_val_token_acc = stored.get("val_token_acc")
        if self.curriculum.threshold is not None:
            self.curriculum.set_switch_step(stored.get("curriculum_switch_step"))
            # A run started from another run's checkpoint (a warm start) judges the threshold on that run's
            # last validation at once: the stage starts at the checkpoint's step if it was reached there.
            if self.curriculum.switch_step is None and self.last_val_token_acc is not None:
                self.curriculum.observe_validation(int(checkpoint.get("global_step", 0)),
                                                   {"val/token_acc": self.last_val_token_acc})


def seed_step(seed: int, step: int, rank: int = 0) -> None:
    """Seed torch (CPU + CUDA), numpy and python ``random`` from (seed, step, rank)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(step), int(rank)]).generate_state(2)
    value = int(state[0]) << 32 | int(state[1])
    torch.manual_seed(value)
    np.random.seed(int(state[0]))
    random.seed(value)


def rng_state() -> dict:
    """The process's torch / CUDA / numpy / python RNG states as weights-only-loadable values."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(gauss)},
        "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping) -> None:
    """Restore what `rng_state` returned (missing parts are left alone)."""
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                             n["cached_gaussian"]))
    if "python" in state:
        p = state["python"]
        random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def per_term_clipped_backward(ce: torch.Tensor, physics: torch.Tensor, params: list[torch.Tensor], clip: float,
                              physics_cap: float | None = None) -> dict[str, float]:
    """Put ``clip_ce(∇ce) + clip_physics(∇physics)`` into the parameters' ``.grad``.

    Cross-entropy's gradient is clipped to norm ``clip`` on its own (0: not clipped), as it would be
    without the physics terms, so a large auxiliary gradient cannot shrink its step the way clipping
    the summed gradient does. The weighted physics gradient (``physics`` = Σ wᵢ·termᵢ) is clipped to
    ``clip`` as well, and with ``physics_cap`` to at most that fraction of cross-entropy's clipped norm.
    Returns the norms before clipping and the scale each part got (for the logs).
    """
    ce_grads = torch.autograd.grad(ce, params, retain_graph=True, allow_unused=True)
    physics_grads = torch.autograd.grad(physics, params, allow_unused=True)

    def norm(grads) -> float:
        present = [g for g in grads if g is not None]
        if not present:
            return 0.0
        return float(torch.linalg.vector_norm(torch.stack([n.float() for n in torch._foreach_norm(present)])))

    def scale_for(value: float, limit: float) -> float:
        # Lightning's and torch's rule: max_norm / (norm + 1e-6), never above 1. A non-finite norm keeps
        # scale 1, so the NaN guard sees the non-finite gradient and skips the step.
        if limit <= 0 or not math.isfinite(value):
            return 1.0
        return min(1.0, limit / (value + 1e-6))

    ce_norm, physics_norm = norm(ce_grads), norm(physics_grads)
    ce_scale = scale_for(ce_norm, clip) if clip > 0 else 1.0
    physics_limit = clip if clip > 0 else math.inf
    if physics_cap is not None and math.isfinite(ce_norm):
        physics_limit = min(physics_limit, float(physics_cap) * ce_norm * ce_scale)
    physics_scale = scale_for(physics_norm, physics_limit) if math.isfinite(physics_limit) else 1.0
    for p, g_ce, g_physics in zip(params, ce_grads, physics_grads):
        if g_ce is None and g_physics is None:
            continue
        combined = torch.zeros_like(p) if g_ce is None else g_ce * ce_scale
        if g_physics is not None:
            combined = combined + g_physics * physics_scale
        p.grad = combined if p.grad is None else p.grad + combined
    return {"ce_norm_pre_clip": ce_norm, "physics_norm_pre_clip": physics_norm,
            "ce_clip_scale": ce_scale, "physics_clip_scale": physics_scale}


def grad_norm(parameters) -> float:
    """L2 norm over all gradients (inf/nan if any gradient is non-finite); 0 with none."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    norms = torch._foreach_norm(grads)
    return float(torch.linalg.vector_norm(torch.stack([n.float() for n in norms])))


__all__ = ["RenovoModule", "COMPONENTS", "grad_norm", "lr_lambda", "per_term_clipped_backward", "rng_state",
           "seed_step", "set_rng_state",
           "tokenizer_from_state", "tokenizer_state"]
