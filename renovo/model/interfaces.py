"""What a decoder needs from a model: the SequenceModel protocol.

renovo's beam search (:mod:`renovo.decode`) works on any object with these
members, so a model of another architecture (or a stand-in with known answers,
as in the tests) decodes through the same code.
"""
from __future__ import annotations

from typing import Mapping, Protocol, runtime_checkable

import torch

from renovo.chem import Tokenizer


@runtime_checkable
class DecodingState(Protocol):
    """Per-row decoder state for ``spectra × beams`` rows (row = spectrum·beams + beam)."""

    def logits(self, last_tokens: torch.Tensor | None) -> torch.Tensor:
        """Feed the tokens (rows,) chosen at the previous step (None at the first step);
        return the next token's logits (rows, vocab)."""

    def reorder(self, source: torch.Tensor) -> None:
        """Row r now continues the beam that was at row ``source[r]`` (rows,)."""

    def keep(self, spectra: torch.Tensor) -> bool:
        """Only the spectra at ``spectra`` (N',) (indices among the current ones, ascending) go on decoding,
        with all their beams: the beam search drops finished spectra with it. A state that cannot drop rows
        returns False without changing anything, and the search then decodes every row to the end."""


@runtime_checkable
class SequenceModel(Protocol):
    """Everything renovo's decoding (`renovo.decode`, the validation callbacks, the benches) reads of a model."""

    #: Tokens ⇄ ids, residue masses, the decoding direction and the vocabulary.
    tokenizer: Tokenizer
    #: The run's resolved training config, or {}: spectra are preprocessed by its ``data`` section
    #: (`renovo.data.SpectrumCollator.from_config`).
    config_dict: dict
    #: Whether the model is in training mode (a search switches to eval mode and back).
    training: bool

    @property
    def max_charge(self) -> int | None:
        """The largest precursor charge the model has an embedding of (None: it does not say); a spectrum of a
        higher charge is skipped, never given that charge's embedding."""

    def eval(self):
        """Evaluation mode (no dropout), as for ``torch.nn.Module``."""

    def train(self, mode: bool = True):
        """Back to training mode, as for ``torch.nn.Module``."""

    def parameters(self):
        """The model's parameters: the first one's device is where the search runs (none: the CPU)."""

    def start_decoding(self, batch: Mapping[str, torch.Tensor], beams: int = 1, use_cache: bool = True) -> DecodingState:
        """Encode the batch's spectra (the collate dict: mz, intensity, peak_mask,
        precursor_mass_da, precursor_charge) and return a state for ``beams`` rows each."""


__all__ = ["DecodingState", "SequenceModel"]
