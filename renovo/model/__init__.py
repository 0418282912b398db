"""Model: peak encoder, transformer encoder–decoder, presets (tiny / small / base), checkpoint loading."""
from renovo.model.encoders import PeakEncoder, PositionalEncoding, PrecursorEncoder, SinusoidalMassEncoder
from renovo.model.presets import PRESETS, ModelConfig, model_config
from renovo.model.transformer import SpectrumTransformer, build_model
from renovo.model.checkpoint import CheckpointError, load_model, read_checkpoint

__all__ = [
    "CheckpointError", "PRESETS", "ModelConfig", "PeakEncoder", "PositionalEncoding", "PrecursorEncoder",
    "SinusoidalMassEncoder", "SpectrumTransformer", "build_model", "load_model", "model_config", "read_checkpoint",
]
