"""What the benchmarks share: a plain optimizer step on a RenovoModule, as training takes it, and
the collator of a default training run."""
from __future__ import annotations

from typing import Mapping


def plain_training_step(module, optimizer, weights: tuple[float, float], batch: Mapping, autocast_dtype=None) -> None:
    """One optimizer step of a `renovo.train.RenovoModule` without Lightning or the monitors:
    `renovo.train.training_step` (forward, objective), then backward, gradient clipping at the
    config's ``optim.gradient_clip``, AdamW step, zero_grad."""
    from renovo.train import optimizer_step, training_step

    _, out = training_step(module.model, module.objective, batch, weights, autocast_dtype)
    optimizer_step(module.parameters(), optimizer, out["total"], module.config["optim"]["gradient_clip"])


def default_collator():
    """The collator of a run with the default config (its tokenizer and preprocessing)."""
    from renovo.train import collator_from_config, load_config, tokenizer_from_config

    config = load_config(None)
    return collator_from_config(config, tokenizer_from_config(config))
