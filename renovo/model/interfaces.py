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

    # Optional: ``keep(spectra)`` — only the spectra at ``spectra`` (N',) (indices among the current
    # ones, ascending) go on decoding, with all their beams. The beam search drops finished spectra
    # with it when a state has it; a state without it decodes every row to the end.


@runtime_checkable
class SequenceModel(Protocol):
    tokenizer: Tokenizer

    def start_decoding(self, batch: Mapping[str, torch.Tensor], beams: int = 1, use_cache: bool = True) -> DecodingState:
        """Encode the batch's spectra (the collate dict: mz, intensity, peak_mask,
        precursor_mass_da, precursor_charge) and return a state for ``beams`` rows each."""


__all__ = ["DecodingState", "SequenceModel"]
