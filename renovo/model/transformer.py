"""Encoder–decoder transformer over spectra (Casanovo's design), optionally reading ion evidence.

Encoder: peaks (m/z sinusoids in float64 + intensity) plus one learned
"latent spectrum" token, through a transformer encoder. The latent token means
every spectrum has at least one real memory position, so an empty spectrum
gives finite attention instead of NaN.

Decoder: input position 0 is the precursor (neutral mass sinusoids + charge
embedding), positions 1.. are the embedded target tokens shifted by one, so
output position i predicts ``tokens[:, i]`` (no BOS token is fed: the
precursor plays its role). Self-attention is causal.

Ion evidence (``ModelConfig.ion_evidence``, see :mod:`renovo.model.ion_evidence`):
at every position, for every candidate token, the observed intensity at the
fragment ions that choosing it would complete. A small learned map adds it to
the logits (``evidence_into: logits``), a linear map projects the position's
whole evidence table into the decoder input (``input``), or both (``both``).
Without it, the model is the plain Casanovo-style architecture.

Decoding: :meth:`SpectrumTransformer.start_decoding` returns a
:class:`DecodingState` that keeps the encoder memory's keys/values once per
spectrum, each layer's self-attention keys/values per beam, and each beam's
prefix mass (for the evidence); the beam search only feeds it the chosen tokens
and the beam reordering. The model holds no loss code.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Mapping

import torch
from torch import nn

from renovo.chem import Tokenizer
from renovo.model.encoders import PeakEncoder, PositionalEncoding, PrecursorEncoder
from renovo.model.ion_evidence import IonEvidence, IonEvidenceConfig
from renovo.model.layers import Decoder
from renovo.model.presets import ModelConfig

EVIDENCE_INTO = ("logits", "input", "both")


@contextmanager
def _regular_attention_path():
    """Encoder layers on their regular path in every mode. PyTorch's inference "fast path" (eval mode,
    no grad) uses a masked softmax that is slower on CPU than the fused scaled-dot-product attention of
    the regular path (measured: 133 vs 85 ms to encode 64 spectra of 150 peaks), and would make decoding
    run other kernels than training."""
    enabled = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(enabled)


class EvidenceScore(nn.Module):
    """Learned score per candidate from its evidence channels (…, C) -> (…, 1).

    Starts as a physics prior, not from zero: a linear term with every channel
    weighted +1 (more observed intensity at a candidate's ions, higher logit),
    so a fresh model already prefers supported residues, plus a small MLP,
    zero at initialisation, that learns interactions between channels.
    """

    def __init__(self, channels: int, hidden: int = 32):
        super().__init__()
        self.linear = nn.Linear(channels, 1)
        nn.init.constant_(self.linear.weight, 1.0)
        nn.init.zeros_(self.linear.bias)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features) + self.mlp(features)


class SpectrumTransformer(nn.Module):
    """Implements the SequenceModel protocol (:mod:`renovo.model.interfaces`)."""

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
        self.decoder = Decoder(d, config.n_heads, config.dim_feedforward, config.dropout, config.norm_first,
                               config.n_decoder_layers)
        self.head = nn.Linear(d, vocab)
        # Python floats, not a buffer: a module-wide dtype cast must not round masses.
        self.token_masses_da: tuple[float, ...] = tuple(tokenizer.residue_masses_da.tolist())
        # The run's resolved config (spectra preprocessed as in training); `load_model` sets it, a model built
        # here has none, and its spectra are then preprocessed with the defaults.
        self.config_dict: dict = {}

        self.ion_evidence: IonEvidence | None = None
        if config.ion_evidence is not None:
            settings = dict(config.ion_evidence)
            self.evidence_into = settings.pop("into", "both")
            if self.evidence_into not in EVIDENCE_INTO:
                raise ValueError(f"ion_evidence.into must be one of {EVIDENCE_INTO}, got {self.evidence_into!r}")
            self.ion_evidence = IonEvidence(tokenizer, IonEvidenceConfig.from_dict(settings))
            channels = self.ion_evidence.n_channels
            if self.evidence_into in ("logits", "both"):
                self.evidence_to_logit = EvidenceScore(channels)
            if self.evidence_into in ("input", "both"):
                self.evidence_to_input = nn.Linear(vocab * channels, d)

    @property
    def has_ion_evidence(self) -> bool:
        return self.ion_evidence is not None

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
        enters through the decoder.
        """
        peak_mask = peak_mask.bool()
        # Padded m/z may hold anything; zero them so the sinusoids stay finite.
        mz = torch.where(peak_mask, mz, torch.zeros((), dtype=mz.dtype, device=mz.device))
        intensity = torch.where(peak_mask, intensity, torch.zeros((), dtype=intensity.dtype, device=intensity.device))
        peaks = self.peak_encoder(mz, intensity)  # (B, P, D)
        latent = self.latent_spectrum.expand(peaks.shape[0], -1, -1).to(peaks.dtype)  # (B, 1, D)
        x = torch.cat([latent, peaks], dim=1)  # (B, 1+P, D)
        memory_mask = torch.cat([torch.ones_like(peak_mask[:, :1]), peak_mask], dim=1)  # (B, 1+P)
        with _regular_attention_path():
            memory = self.encoder(x, src_key_padding_mask=~memory_mask)
        return memory, memory_mask

    # --- decoder -------------------------------------------------------------
    def evidence(self, prefix_mass_da: torch.Tensor, spectra: Mapping[str, torch.Tensor],
                 position_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Ion-evidence features (N, t, vocab, channels) for prefix masses (N, t) Da of N spectra
        (0 where ``position_mask`` (N, t) is False)."""
        return self.ion_evidence(
            prefix_mass_da, spectra["precursor_mass_da"], spectra["precursor_charge"],
            spectra["mz"], spectra["intensity"], spectra["peak_mask"], position_mask,
        )

    def _inputs(self, embedded: torch.Tensor, offset: int, evidence: torch.Tensor | None) -> torch.Tensor:
        """Decoder input: embeddings + positions (+ projected evidence). (R, t, D)"""
        x = self.positional(embedded, offset=offset)
        if evidence is not None and self.evidence_into in ("input", "both"):
            x = x + self.evidence_to_input(evidence.flatten(2).to(x.dtype))
        return x

    def _outputs(self, hidden: torch.Tensor, evidence: torch.Tensor | None) -> torch.Tensor:
        """Logits (R, t, vocab) from decoder states (+ the evidence's learned score per candidate)."""
        logits = self.head(hidden)
        if evidence is not None and self.evidence_into in ("logits", "both"):
            logits = logits + self.evidence_to_logit(evidence.to(hidden.dtype)).squeeze(-1)
        return logits

    def decode(self, inputs: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor,
               spectra: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """All positions at once: ``inputs`` (B, t) token ids fed after the precursor -> logits (B, t+1, vocab).

        ``spectra`` holds the batch fields the decoder reads: precursor_mass_da,
        precursor_charge, and (for ion evidence) mz, intensity, peak_mask.
        """
        precursor = self.precursor_encoder(spectra["precursor_mass_da"], spectra["precursor_charge"]).to(memory.dtype)
        tokens = self.token_embedding(inputs).to(memory.dtype)  # (B, t, D)
        evidence = None
        if self.has_ion_evidence:
            prefix = torch.cat([inputs, inputs.new_zeros(inputs.shape[0], 1)], dim=1)  # masses before positions 0..t
            # Position i reads after input i-1; after a PAD input it is padding (its output is never scored).
            first = torch.ones(inputs.shape[0], 1, dtype=torch.bool, device=inputs.device)
            position_mask = torch.cat([first, inputs != Tokenizer.PAD], 1)
            evidence = self.evidence(self.ion_evidence.prefix_masses_da(prefix), spectra, position_mask)  # (B,t+1,V,C)
        x = self._inputs(torch.cat([precursor, tokens], dim=1), 0, evidence)  # (B, t+1, D)
        hidden = self.decoder(x, self.decoder.memory_keys_values(memory), memory_mask.bool())
        return self._outputs(hidden, evidence)

    def forward(self, batch: Mapping) -> torch.Tensor:
        """Teacher-forced logits (B, T, vocab): position i predicts ``batch["tokens"][:, i]``."""
        memory, memory_mask = self.encode(
            batch["mz"], batch["intensity"], batch["peak_mask"],
            batch["precursor_mass_da"], batch["precursor_charge"],
        )
        return self.decode(batch["tokens"][:, :-1], memory, memory_mask, batch)

    @property
    def max_charge(self) -> int:
        """The largest precursor charge with an embedding of its own (a higher one would get this one's)."""
        return int(self.precursor_encoder.max_charge)

    def start_decoding(self, batch: Mapping, beams: int = 1, use_cache: bool = True) -> "DecodingState":
        """Encode ``batch`` and return the state of ``beams`` decoders per spectrum (row = spectrum·beams + beam)."""
        memory, memory_mask = self.encode(
            batch["mz"], batch["intensity"], batch["peak_mask"],
            batch["precursor_mass_da"], batch["precursor_charge"],
        )
        return DecodingState(self, memory, memory_mask, batch, beams, use_cache)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def vocabulary_axes(self) -> dict[str, tuple[int, int]]:
        """The parameters with an entry per token: name → (axis, entries per token along it). The embedding
        and the output layer have one row per token id; the evidence projection reads the flattened
        (vocab, channels) table, so each token owns ``channels`` consecutive input columns. Every other
        parameter is independent of the vocabulary."""
        axes = {"token_embedding.weight": (0, 1), "head.weight": (0, 1), "head.bias": (0, 1)}
        if hasattr(self, "evidence_to_input"):
            axes["evidence_to_input.weight"] = (1, self.ion_evidence.n_channels)
        return axes


class DecodingState:
    """Incremental decoding of ``spectra × beams`` rows.

    ``logits(last_tokens)`` feeds the tokens chosen at the previous step (None
    at the first) and returns the next token's logits (rows, vocab);
    ``reorder(source)`` makes row r continue the beam that was at
    ``source[r]``; ``keep(spectra)`` drops the spectra the search has finished.
    With ``use_cache=False`` every step recomputes the decoder over the whole
    prefix (the reference the cache is tested against).
    """

    def __init__(self, model: SpectrumTransformer, memory, memory_mask, batch: Mapping, beams: int, use_cache: bool):
        self.model = model
        self.beams = beams
        self.use_cache = use_cache
        self.memory = memory  # (N, P, D)
        self.memory_allowed = memory_mask.bool()
        self.spectra = {k: batch[k] for k in ("precursor_mass_da", "precursor_charge", "mz", "intensity", "peak_mask")}
        self.memory_kv = model.decoder.memory_keys_values(memory)
        spectra = memory.shape[0]
        precursor = model.precursor_encoder(batch["precursor_mass_da"], batch["precursor_charge"]).to(memory.dtype)
        self.first_input = precursor.repeat_interleave(beams, 0)  # (N·K, 1, D)
        self.caches: list[dict] = [{} for _ in model.decoder.layers]
        rows = spectra * beams
        self.tokens = torch.zeros(rows, 0, dtype=torch.long, device=memory.device)  # (N·K, t) prefix so far
        self.prefix_mass_da = torch.zeros(rows, dtype=torch.float64, device=memory.device)  # (N·K,)
        self.token_mass_da = torch.tensor(model.token_masses_da, dtype=torch.float64, device=memory.device)  # (vocab,)
        self.step = 0

    def reorder(self, source: torch.Tensor) -> None:
        """Rows now continue the beams at ``source`` (N·K,)."""
        self.tokens = self.tokens[source]
        self.prefix_mass_da = self.prefix_mass_da[source]
        if self.beams > 1:
            self.caches = [{k: v[source] for k, v in cache.items()} for cache in self.caches]

    def keep(self, spectra: torch.Tensor) -> bool:
        """Only the spectra at ``spectra`` (N',) go on decoding, with all their beams (finished ones are
        dropped: each later step then costs what the unfinished spectra need). True: dropped."""
        beams = torch.arange(self.beams, device=spectra.device)
        rows = (spectra[:, None] * self.beams + beams[None, :]).reshape(-1)  # (N'·K,)
        self.memory = self.memory[spectra]
        self.memory_allowed = self.memory_allowed[spectra]
        self.spectra = {name: value[spectra] for name, value in self.spectra.items()}
        self.memory_kv = [(k[spectra], v[spectra]) for k, v in self.memory_kv]
        self.first_input = self.first_input[rows]
        self.caches = [{name: value[rows] for name, value in cache.items()} for cache in self.caches]
        self.tokens = self.tokens[rows]
        self.prefix_mass_da = self.prefix_mass_da[rows]
        return True

    def _evidence(self) -> torch.Tensor | None:
        if not self.model.has_ion_evidence:
            return None
        spectra = self.memory.shape[0]
        # The beams of a spectrum are its "positions": its peaks are read once for all of them.
        features = self.model.evidence(self.prefix_mass_da.view(spectra, self.beams), self.spectra)  # (N, K, V, C)
        return features.reshape(spectra * self.beams, 1, *features.shape[2:])  # (N·K, 1, V, C)

    @torch.no_grad()
    def logits(self, last_tokens: torch.Tensor | None) -> torch.Tensor:
        model = self.model
        if self.step > 0:
            self.tokens = torch.cat([self.tokens, last_tokens[:, None]], dim=1)
            self.prefix_mass_da = self.prefix_mass_da + self.token_mass_da[last_tokens]
        self.step += 1
        if not self.use_cache:
            return self._full_logits()
        if self.tokens.shape[1] == 0:
            x = self.first_input
        else:
            x = model.token_embedding(self.tokens[:, -1:]).to(self.first_input.dtype)  # (R, 1, D)
        evidence = self._evidence()
        x = model._inputs(x, self.tokens.shape[1], evidence)
        hidden = model.decoder(x, self.memory_kv, self.memory_allowed, self.caches)
        return model._outputs(hidden, evidence)[:, -1]

    def _full_logits(self) -> torch.Tensor:
        k = self.beams
        spectra = {name: value.repeat_interleave(k, 0) for name, value in self.spectra.items()}
        logits = self.model.decode(self.tokens, self.memory.repeat_interleave(k, 0),
                                   self.memory_allowed.repeat_interleave(k, 0), spectra)
        return logits[:, -1]


def build_model(config: ModelConfig, tokenizer: Tokenizer | None = None) -> SpectrumTransformer:
    return SpectrumTransformer(config, tokenizer or Tokenizer())
