"""Training: configs + curriculum, objective, one training step, Lightning module, data module,
monitors, checkpoints, the metrics.csv reader.

Names are imported on first use, so that ``renovo.train.config`` (and the CLI's
``--help``) does not load torch and Lightning.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ConfigError": "config", "available_configs": "config", "load_config": "config", "merge_config": "config",
    "save_config": "config", "validate_config": "config", "run_config_of": "config", "validation_seed": "config",
    "RunConfig": "schema",
    "AtomicCheckpointIO": "checkpoints", "CheckpointError": "checkpoints", "read_checkpoint": "checkpoints",
    "Curriculum": "curriculum", "CurriculumError": "curriculum",
    "Objective": "objective", "peptide_lengths": "objective", "token_accuracy": "objective",
    "RenovoModule": "module",
    "GradientFlowMonitor": "monitors", "NaNGuard": "monitors", "NonFiniteLossError": "monitors",
    "SpeedMonitor": "monitors",
    "build_trainer": "trainer", "checkpoint_config": "trainer", "load_model": "trainer", "train": "trainer",
    "read_metrics": "metrics_log", "read_series": "metrics_log",
    "training_step": "step", "optimizer_step": "step", "build_optimizer": "step",
    "RenovoDataModule": "data", "collator_from_config": "data", "simulator_config": "config",
    "simulator_from_config": "data", "to_device": "data",
    "tokenizer_from_config": "module", "build_model_from_config": "module",
    "finetune": "finetune", "finetune_config": "finetune", "FINETUNE_DEFAULTS": "finetune",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"renovo.train.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'renovo.train' has no attribute {name!r}")
