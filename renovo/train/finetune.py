"""Fine-tuning a trained model on labelled spectra of one's own (`renovo train --finetune CKPT`).

A fine-tune is a new run that starts from a checkpoint's weights and nothing
else of its training state: a fresh AdamW, a fresh LR schedule sized to the
training files (``trainer.max_epochs`` passes, warmup a fraction of them),
step 0. Its config is the checkpoint's own (model, tokenizer, vocabulary,
preprocessing, losses, curriculum, seed), then :data:`FINETUNE_DEFAULTS`,
then what the caller overlays (a ``--config`` file, flags, ``--set``):

- validation on held-out peptides of the training files (``data.val_fraction``
  0.1, every spectrum of a peptide on one side) unless validation files are
  given; early stopping on ``trainer.checkpoint_monitor`` (3 validations);
- ``data.mix_simulated`` simulated spectra in every batch, against forgetting;
- a vocabulary that adds tokens to the checkpoint's (new modifications) is
  grown by `renovo.model.extend`; one that drops a token is refused in one line.

The architecture is the checkpoint's; changing a ``model.*`` key is refused.
:func:`finetune` runs one from Python, on files or on records in memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from renovo.data import SpectrumRecord
from renovo.errors import RenovoError
from renovo.model.checkpoint import (MODEL_KEYS, checkpoint_architecture, read_checkpoint, tokenizer_from_config,
                                     tokenizer_from_state)
from renovo.model.extend import vocabulary_extension
from renovo.model.presets import model_config
from renovo.train.config import ConfigError, merge_config, parse_override, validate_config
from renovo.train.trainer import train as run_training

#: What a fine-tune changes in its checkpoint's config before the caller's overlays: passes over the data
#: instead of a step count, a fifth of the from-scratch learning rate with a short warmup, validation on
#: held-out peptides with early stopping, and none of the checkpoint's own data files or stopping rules.
FINETUNE_DEFAULTS: dict = {
    "trainer": {"max_epochs": 10, "early_stopping_patience": 3, "checkpoint_monitor": "val/ce",
                "stop_at_token_acc": None, "stop_at_step": None, "max_time": None},
    "optim": {"lr": 1e-4, "warmup_fraction": 0.05},
    "data": {"train": [], "val": [], "val_real": [], "val_fraction": 0.1, "mix_simulated": 0.0},
}


def _architecture_keys(metadata: Mapping) -> dict:
    """The ``model`` section that rebuilds the checkpoint's architecture exactly (every key explicit)."""
    architecture = checkpoint_architecture(metadata)
    section = {"preset": metadata["config"]["model"]["preset"]}
    for key in MODEL_KEYS:
        value = architecture[key]
        section[key] = False if key == "ion_evidence" and value is None else value
    return section


def _check_architecture(config: Mapping, metadata: Mapping, checkpoint) -> None:
    """`ConfigError` naming the first ``model.*`` key whose value builds another architecture than the
    checkpoint's (a null key means the preset's, as everywhere), or another preset."""
    m = config["model"]
    architecture = checkpoint_architecture(metadata)
    preset = metadata["config"]["model"]["preset"]
    if m["preset"] != preset:
        raise ConfigError(f"model.preset: {m['preset']!r} here, {preset!r} in {checkpoint}; a fine-tune keeps its "
                          "checkpoint's architecture")
    try:
        built = model_config(m["preset"], **{k: m.get(k) for k in MODEL_KEYS}).to_dict()
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config model: {error}") from None
    changed = [k for k in MODEL_KEYS if built[k] != architecture.get(k)]
    if changed:
        key = changed[0]
        raise ConfigError(f"model.{key}: {built[key]!r} here, {architecture.get(key)!r} in {checkpoint}; a "
                          "fine-tune keeps its checkpoint's architecture")


def finetune_config(checkpoint: str | Path, overlays: Iterable[Mapping | str] = (), name: str | None = None) -> dict:
    """The resolved config of a fine-tune of ``checkpoint``: its config ← `FINETUNE_DEFAULTS` ← ``overlays``
    (mappings, or ``key.sub=value`` strings). `RenovoError` (one line) when an overlay changes the
    architecture or the vocabulary drops a token of the checkpoint's."""
    stored = read_checkpoint(checkpoint)
    metadata = stored["renovo"]
    del stored
    base = validate_config(metadata["config"])  # older configs gain today's keys
    model = _architecture_keys(metadata)
    config = merge_config(base, {"model": model, **FINETUNE_DEFAULTS,
                                 "name": name or f"{base['name'] or 'model'}-finetune"})
    for overlay in overlays:
        config = merge_config(config, parse_override(overlay) if isinstance(overlay, str) else overlay)
    _check_architecture(config, metadata, checkpoint)
    vocabulary_extension(tokenizer_from_state(metadata["tokenizer"]), tokenizer_from_config(config), checkpoint)
    return config


def _split_inputs(items, what: str) -> tuple[list[str], list[SpectrumRecord] | None]:
    """(paths, records): a list of spectrum files, or of `SpectrumRecord`s held in memory."""
    items = list(items or [])
    records = [item for item in items if isinstance(item, SpectrumRecord)]
    if records and len(records) != len(items):
        raise RenovoError(f"{what}: give spectrum files or SpectrumRecords, not both")
    return ([], records) if records else ([str(item) for item in items], None)


def finetune(
    checkpoint: str | Path,
    train: Sequence[str | Path | SpectrumRecord],
    val: Sequence[str | Path | SpectrumRecord] | None = None,
    *,
    run_dir: str | Path,
    overrides: Iterable[Mapping | str] = (),
    extra_callbacks: Sequence | Callable[[dict], Sequence] = (),
    force: bool = False,
) -> Path:
    """Fine-tune ``checkpoint`` on labelled spectra into ``run_dir``; returns the run folder.

    ``train`` / ``val``: spectrum files (MGF, mzML, Parquet, …) or `SpectrumRecord`s with peptide labels
    (records are kept in memory, not written to ``config.yaml``: save them, e.g. with
    `renovo.data.write_parquet`, for a run folder that names its data). Without ``val``, a tenth of the
    training peptides is held out. ``overrides``: config overlays on top of the fine-tune defaults, e.g.
    ``{"data": {"mix_simulated": 0.25}}`` or ``"trainer.max_epochs=5"``. ``extra_callbacks``: Lightning
    callbacks, or a function of the resolved config that returns them (the decoded validation metrics of
    `renovo.evaluate.callback.build_callbacks`, which this layer cannot import).
    """
    train_paths, train_records = _split_inputs(train, "training data")
    val_paths, val_records = _split_inputs(val, "validation data")
    if not train_paths and not train_records:
        raise RenovoError("a fine-tune needs labelled training spectra")
    data = {"train": train_paths, "val": val_paths}
    config = finetune_config(checkpoint, [{"data": data}, *overrides])
    callbacks = extra_callbacks(config) if callable(extra_callbacks) else list(extra_callbacks)
    return run_training(config, run_dir, extra_callbacks=callbacks, force=force, finetune_from=checkpoint,
                        train_records=train_records, val_records=val_records)


__all__ = ["FINETUNE_DEFAULTS", "finetune", "finetune_config"]
