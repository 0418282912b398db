"""Training: configs + curriculum, objective, Lightning module, data module, monitors, checkpoints."""
from renovo.train.config import ConfigError, available_configs, load_config, merge_config, save_config
from renovo.train.curriculum import Curriculum, CurriculumError
from renovo.train.objective import Objective, peptide_lengths, token_accuracy
from renovo.train.module import RenovoModule
from renovo.train.monitors import GradientFlowMonitor, NaNGuard, NonFiniteLossError, SpeedMonitor
from renovo.train.trainer import build_trainer, checkpoint_config, load_model, train

__all__ = [
    "ConfigError", "Curriculum", "CurriculumError", "GradientFlowMonitor", "NaNGuard", "NonFiniteLossError",
    "Objective", "RenovoModule", "SpeedMonitor", "available_configs", "build_trainer", "checkpoint_config",
    "load_config", "load_model", "merge_config", "peptide_lengths", "save_config", "token_accuracy", "train",
]
