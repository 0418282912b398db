"""Peptide ↔ token ids, and the residue-mass table the physics losses use."""
from __future__ import annotations

from typing import Iterable, Sequence

from renovo.chem.peptide import Peptide, parse_peptide
from renovo.chem.vocabulary import Vocabulary, default_vocabulary

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")


class Tokenizer:
    """Token ids for a vocabulary.

    ``PAD=0, BOS=1, EOS=2``, then the vocabulary's residue tokens. ``encode``
    returns ids in decoding order ending with EOS: C→N when ``reverse`` (the
    peers' default, since the C-terminal K/R is the most certain residue).
    ``merge_il`` writes I as L (they have the same mass).
    """

    PAD = 0
    BOS = 1
    EOS = 2

    def __init__(self, vocabulary: Vocabulary | None = None, merge_il: bool = False, reverse: bool = True):
        self.vocabulary = vocabulary or default_vocabulary()
        self.merge_il = merge_il
        self.reverse = reverse
        residues = [t for t in self.vocabulary.tokens if not (merge_il and t == "I")]
        self.tokens: list[str] = list(SPECIAL_TOKENS) + residues
        self.token_to_id: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.n_terminal_ids: list[int] = [i for i, t in enumerate(self.tokens) if Vocabulary.is_n_terminal(t)]

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def residue_masses_da(self):
        """Residue mass per token id, Da, float64; 0 for special tokens. # (vocab,)"""
        import torch

        masses = [0.0] * len(SPECIAL_TOKENS) + [self.vocabulary.mass_da(t) for t in self.tokens[len(SPECIAL_TOKENS):]]
        # A host-side table (callers move it to their tensors' device), whatever the default device.
        return torch.tensor(masses, dtype=torch.float64, device="cpu")

    def config(self) -> dict:
        return {"tokens": self.tokens[len(SPECIAL_TOKENS):], "merge_il": self.merge_il, "reverse": self.reverse}

    def encode(self, peptide: Peptide | str, add_eos: bool = True) -> list[int]:
        """Token ids in decoding order, ending with EOS."""
        tokens = list(parse_peptide(peptide, self.vocabulary).tokens)
        if self.merge_il:
            tokens = ["L" if t == "I" else t for t in tokens]
        if self.reverse:
            tokens.reverse()
        ids = [self.token_to_id[t] for t in tokens]
        return ids + [self.EOS] if add_eos else ids

    def decode(self, ids: Iterable[int]) -> Peptide:
        """The peptide the ids spell, reading until EOS and skipping PAD/BOS.

        An N-terminal modification token anywhere but the N-terminal end is
        dropped, since it cannot be written there.
        """
        tokens: list[str] = []
        for token_id in ids:
            token_id = int(token_id)
            if token_id == self.EOS:
                break
            if token_id < len(SPECIAL_TOKENS):
                continue
            tokens.append(self.tokens[token_id])
        if self.reverse:
            tokens.reverse()
        kept = [t for i, t in enumerate(tokens) if not Vocabulary.is_n_terminal(t) or (i == 0 and len(tokens) > 1)]
        return Peptide(tuple(kept))

    def decode_proforma(self, ids: Sequence[int]) -> str:
        return self.decode(ids).proforma
