"""Model: peak encoder, transformer encoder–decoder with optional ion-evidence features, presets, checkpoint loading."""
from renovo.model.encoders import PeakEncoder, PositionalEncoding, PrecursorEncoder, SinusoidalMassEncoder
from renovo.model.interfaces import DecodingState, SequenceModel
from renovo.model.ion_evidence import IonEvidence, IonEvidenceConfig, prefix_masses_da
from renovo.model.presets import PRESETS, ModelConfig, model_config
from renovo.model.transformer import SpectrumTransformer, build_model
from renovo.model.checkpoint import CheckpointError, load_model, read_checkpoint

__all__ = [
    "CheckpointError", "DecodingState", "IonEvidence", "IonEvidenceConfig", "PRESETS", "ModelConfig", "PeakEncoder",
    "PositionalEncoding", "PrecursorEncoder", "SequenceModel", "SinusoidalMassEncoder", "SpectrumTransformer",
    "build_model", "load_model", "model_config", "prefix_masses_da", "read_checkpoint",
]
