"""Model: peak encoder, transformer encoder–decoder, presets (tiny / small / base)."""
from renovo.model.encoders import PeakEncoder, PositionalEncoding, PrecursorEncoder, SinusoidalMassEncoder
from renovo.model.presets import PRESETS, ModelConfig, model_config
from renovo.model.transformer import SpectrumTransformer, build_model

__all__ = [
    "PRESETS", "ModelConfig", "PeakEncoder", "PositionalEncoding", "PrecursorEncoder",
    "SinusoidalMassEncoder", "SpectrumTransformer", "build_model", "model_config",
]
