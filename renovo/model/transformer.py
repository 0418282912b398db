"""Encoder–decoder transformer over spectra (Casanovo's design).

Encoder: peaks (m/z sinusoids in float64 + intensity) plus one learned
"latent spectrum" token, through a transformer encoder. The latent token means
every spectrum has at least one real memory position, so an empty spectrum
gives finite attention instead of NaN.

Decoder: input position 0 is the precursor (neutral mass sinusoids + charge
embedding), positions 1.. are the embedded target tokens shifted by one, so
output position i predicts ``tokens[:, i]`` (no BOS token is fed: the
precursor plays its role). A causal mask keeps position i from seeing later
inputs. The model holds no loss code.
"""
from __future__ import annotations

import torch
from torch import nn

from renovo.chem import Tokenizer
from renovo.model.encoders import PeakEncoder, PositionalEncoding, PrecursorEncoder
from renovo.model.presets import ModelConfig


class SpectrumTransformer(nn.Module):
    """Implements the SequenceModel protocol (docs/ARCHITECTURE.md)."""

    def __init__(self, config: ModelConfig, tokenizer: Tokenizer):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        d = config.d_model
        vocab = tokenizer.vocab_size
        self.peak_encoder = PeakEncoder(d)
        self.latent_spectrum = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        encoder_layer = nn.TransformerEncoderLayer(
            d, config.n_heads, config.dim_feedforward, config.dropout,
            batch_first=True, norm_first=config.norm_first,
        )
        # No nested tensors: their fast path changes outputs at padded positions.
        self.encoder = nn.TransformerEncoder(encoder_layer, config.n_encoder_layers, enable_nested_tensor=False)
        self.precursor_encoder = PrecursorEncoder(d, config.max_charge)
        self.token_embedding = nn.Embedding(vocab, d, padding_idx=Tokenizer.PAD)
        self.positional = PositionalEncoding(d)
        decoder_layer = nn.TransformerDecoderLayer(
            d, config.n_heads, config.dim_feedforward, config.dropout,
            batch_first=True, norm_first=config.norm_first,
        )
        self.decoder = nn.TransformerDecoder(decoder_layer, config.n_decoder_layers)
        self.head = nn.Linear(d, vocab)

    # --- encoder -------------------------------------------------------------
    def encode(
        self,
        mz: torch.Tensor,
        intensity: torch.Tensor,
        peak_mask: torch.Tensor,
        precursor_mass_da: torch.Tensor | None = None,
        precursor_charge: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Peaks -> (memory (B, 1+P, D), memory_mask (B, 1+P) bool, True = real).

        Position 0 of the memory is the latent spectrum token. The precursor
        arguments are accepted for the protocol; the precursor enters through
        the decoder.
        """
        peak_mask = peak_mask.bool()
        # Padded m/z may hold anything; zero them so the sinusoids stay finite.
        mz = torch.where(peak_mask, mz, torch.zeros((), dtype=mz.dtype, device=mz.device))
        intensity = torch.where(peak_mask, intensity, torch.zeros((), dtype=intensity.dtype, device=intensity.device))
        peaks = self.peak_encoder(mz, intensity)  # (B, P, D)
        latent = self.latent_spectrum.expand(peaks.shape[0], -1, -1).to(peaks.dtype)  # (B, 1, D)
        x = torch.cat([latent, peaks], dim=1)  # (B, 1+P, D)
        memory_mask = torch.cat([torch.ones_like(peak_mask[:, :1]), peak_mask], dim=1)  # (B, 1+P)
        memory = self.encoder(x, src_key_padding_mask=~memory_mask)
        return memory, memory_mask

    # --- decoder -------------------------------------------------------------
    def _decode(
        self,
        inputs: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
        precursor_mass_da: torch.Tensor,
        precursor_charge: torch.Tensor,
    ) -> torch.Tensor:
        """inputs (B, t) token ids fed after the precursor -> logits (B, t+1, vocab)."""
        precursor = self.precursor_encoder(precursor_mass_da, precursor_charge).to(memory.dtype)  # (B, 1, D)
        tokens = self.token_embedding(inputs).to(memory.dtype)  # (B, t, D)
        x = self.positional(torch.cat([precursor, tokens], dim=1))  # (B, t+1, D)
        length = x.shape[1]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=x.device), diagonal=1)
        hidden = self.decoder(x, memory, tgt_mask=causal, memory_key_padding_mask=~memory_mask.bool())
        return self.head(hidden)

    def next_token_logits(
        self,
        prefix: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
        precursor_mass_da: torch.Tensor,
        precursor_charge: torch.Tensor,
    ) -> torch.Tensor:
        """Logits (B, vocab) of the token after ``prefix`` (B, t) (decoding order, no BOS; t may be 0)."""
        return self._decode(prefix, memory, memory_mask, precursor_mass_da, precursor_charge)[:, -1]

    def forward(self, batch: dict) -> torch.Tensor:
        """Teacher-forced logits (B, T, vocab): position i predicts ``batch["tokens"][:, i]``."""
        memory, memory_mask = self.encode(
            batch["mz"], batch["intensity"], batch["peak_mask"],
            batch["precursor_mass_da"], batch["precursor_charge"],
        )
        tokens = batch["tokens"]  # (B, T)
        return self._decode(
            tokens[:, :-1], memory, memory_mask, batch["precursor_mass_da"], batch["precursor_charge"]
        )

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(config: ModelConfig, tokenizer: Tokenizer | None = None) -> SpectrumTransformer:
    return SpectrumTransformer(config, tokenizer or Tokenizer())
