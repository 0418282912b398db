"""Model sizes: ``tiny`` (tests), ``small`` (CPU experiments), ``base`` (the peers' size, GPUs)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a `SpectrumTransformer`.

    ``n_encoder_layers`` / ``n_decoder_layers`` transformer layers of width
    ``d_model`` with ``n_heads`` heads and feed-forward width ``dim_feedforward``.
    ``max_charge``: precursor charges above it share the last embedding.
    """

    d_model: int = 128
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    n_heads: int = 4
    dim_feedforward: int = 512
    dropout: float = 0.0
    max_charge: int = 10
    norm_first: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; valid: {sorted(known)}")
        return cls(**values)


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(d_model=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2, dim_feedforward=64),
    "small": ModelConfig(d_model=128, n_encoder_layers=2, n_decoder_layers=2, n_heads=4, dim_feedforward=512),
    # Casanovo's published size: 9 + 9 layers, d_model 512, 8 heads, feed-forward 1024.
    "base": ModelConfig(d_model=512, n_encoder_layers=9, n_decoder_layers=9, n_heads=8, dim_feedforward=1024),
}


def model_config(preset: str = "small", **overrides) -> ModelConfig:
    """The preset's config with the non-None ``overrides`` applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
