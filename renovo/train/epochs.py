"""Sizing a run to its training files: ``trainer.max_epochs`` passes over them.

A run on files of a few thousand spectra (a fine-tune on a lab's own search
results) wants a schedule measured in passes over them, not the simulated
recipe's 12,000 steps. With ``trainer.max_epochs`` set, the run's
``trainer.max_steps`` becomes ``max_epochs × ⌈spectra / (file spectra per batch × ranks)⌉``
once the training data are read (before the model, the curriculum and the LR
schedule are built from it), and validation comes at least once a pass. The
resolved ``max_steps`` is what ``config.yaml`` records; a resumed run keeps it.
"""
from __future__ import annotations

import math
from typing import Mapping

from renovo.errors import RenovoError
from renovo.train.config import merge_config
from renovo.train.module import effective_warmup
from renovo.train.schema import RunConfig


def world_size(config: Mapping) -> int:
    """Processes the run trains in: ``trainer.devices`` when it is a number, else 1."""
    devices = config["trainer"]["devices"]
    return devices if isinstance(devices, int) and not isinstance(devices, bool) and devices > 0 else 1


def size_to_data(config: RunConfig, data) -> tuple[RunConfig, str | None]:
    """(config, what was sized, in one line) for ``data`` (a set-up `RenovoDataModule`): unchanged, with
    None, when ``trainer.max_epochs`` is not set."""
    epochs = config.trainer.max_epochs
    if not epochs:
        return config, None
    spectra = data.training_spectra()
    if not spectra:
        raise RenovoError("trainer.max_epochs sizes a run to its training files: give data.train files "
                          "(--train), or set trainer.max_steps instead")
    per_batch, simulated = data.file_batch()
    steps_per_epoch = max(1, math.ceil(spectra / (per_batch * world_size(config))))
    sized = merge_config(config, {"trainer": {
        "max_steps": epochs * steps_per_epoch,
        "val_every_n_steps": min(config.trainer.val_every_n_steps, steps_per_epoch)}})
    t = sized["trainer"]
    mix = f" + {simulated} simulated" if simulated else ""
    passes = f"{epochs} pass{'es' if epochs != 1 else ''}"
    return sized, (f"schedule: {passes} over {spectra} training spectra, {steps_per_epoch} steps each "
                   f"(batches of {per_batch}{mix}) = {t['max_steps']} steps; warmup {effective_warmup(sized)} "
                   f"steps; validation every {t['val_every_n_steps']} steps")
