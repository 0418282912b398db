"""Model sizes: ``tiny`` (tests), ``small`` (CPU experiments), ``base`` (the peers' size, GPUs)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a `SpectrumTransformer`.

    ``n_encoder_layers`` / ``n_decoder_layers`` transformer layers of width
    ``d_model`` with ``n_heads`` heads and feed-forward width ``dim_feedforward``.
    ``max_charge``: precursor charges above it share the last embedding.
    ``ion_evidence``: None for the plain Casanovo-style model; otherwise the
    decoder reads ion-evidence features, configured by this mapping (fields of
    :class:`renovo.model.ion_evidence.IonEvidenceConfig`, plus ``into``:
    ``logits`` | ``input`` | ``both``; ``{}`` = the defaults). Checkpoints
    written before this field existed load as plain models.
    """

    d_model: int = 128
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    n_heads: int = 4
    dim_feedforward: int = 512
    dropout: float = 0.0
    max_charge: int = 10
    norm_first: bool = False
    ion_evidence: dict | None = None

    def to_dict(self) -> dict:
        values = asdict(self)
        if values["ion_evidence"] is not None:
            values["ion_evidence"] = {k: list(v) if isinstance(v, tuple) else v for k, v in values["ion_evidence"].items()}
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; valid: {sorted(known)}")
        return cls(**values)


PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(d_model=32, n_encoder_layers=1, n_decoder_layers=1, n_heads=2, dim_feedforward=64),
    # small and base read ion evidence: measured side by side with the plain
    # architecture in docs/results/learning/.
    "small": ModelConfig(d_model=128, n_encoder_layers=2, n_decoder_layers=2, n_heads=4, dim_feedforward=512,
                         ion_evidence={}),
    # Casanovo's published size: 9 + 9 layers, d_model 512, 8 heads, feed-forward 1024.
    "base": ModelConfig(d_model=512, n_encoder_layers=9, n_decoder_layers=9, n_heads=8, dim_feedforward=1024,
                        ion_evidence={}),
}


def model_config(preset: str = "small", **overrides) -> ModelConfig:
    """The preset's config with the non-None ``overrides`` applied.

    ``ion_evidence``: None keeps the preset's, False makes the plain model,
    True the default features, a mapping configures them.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; choose from {sorted(PRESETS)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "ion_evidence" in overrides:
        value = overrides["ion_evidence"]
        overrides["ion_evidence"] = None if value is False else ({} if value is True else dict(value))
    return replace(PRESETS[preset], **overrides)
