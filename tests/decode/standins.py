"""Stand-in models that follow the SequenceModel protocol with known answers."""
from __future__ import annotations

import math

import torch
from torch import nn

from renovo.chem import Tokenizer


def probabilities_to_logits(tokenizer: Tokenizer, step: dict[str, float], floor: float = 1e-7) -> torch.Tensor:
    """Logits whose softmax puts ``step`` probabilities on the named tokens ("<eos>" allowed)
    and spreads the rest evenly; ``floor=0`` gives -inf to unnamed tokens."""
    vocab = tokenizer.vocab_size
    named = {tokenizer.token_to_id[t]: p for t, p in step.items()}
    rest = max(1.0 - sum(named.values()), 0.0)
    others = vocab - len(named)
    probs = torch.full((vocab,), (rest / others if floor else 0.0), dtype=torch.float64)
    if floor:
        probs = probs.clamp(min=floor)
    for i, p in named.items():
        probs[i] = p
    return torch.log(probs).float()


class PrefixState:
    """A DecodingState that keeps each row's prefix and asks ``next_logits(prefix, spectrum_rows)``."""

    def __init__(self, next_logits, spectra: int, beams: int):
        self.next_logits = next_logits
        self.spectrum_rows = torch.arange(spectra).repeat_interleave(beams)  # (rows,) spectrum of each row
        self.prefix = torch.zeros(spectra * beams, 0, dtype=torch.long)

    def logits(self, last_tokens):
        if last_tokens is not None:
            self.prefix = torch.cat([self.prefix, last_tokens[:, None].cpu()], dim=1)
        return self.next_logits(self.prefix, self.spectrum_rows)

    def reorder(self, source):
        self.prefix = self.prefix[source.cpu()]

    def keep(self, spectra):
        return False  # decodes every row to the end


class TableModel(nn.Module):
    """Logits depend on the spectrum and the step only: ``tables[s, t]``.

    The spectrum is named by its first m/z (an integer index into ``tables``).
    """

    def __init__(self, tables: torch.Tensor, tokenizer: Tokenizer | None = None):
        super().__init__()
        self.tokenizer = tokenizer or Tokenizer()
        self.register_buffer("tables", tables.float())  # (spectra, steps, vocab)
        self.calls = 0
        self.config_dict: dict = {}
        self.max_charge = None

    def start_decoding(self, batch, beams=1, use_cache=True):
        memory = self.tables[batch["mz"][:, 0].long()]  # (B, steps, vocab)

        def next_logits(prefix, spectrum_rows):
            self.calls += 1
            step = min(prefix.shape[1], memory.shape[1] - 1)
            return memory[spectrum_rows, step, :]

        return PrefixState(next_logits, memory.shape[0], beams)


class PrefixModel(nn.Module):
    """Logits depend on the prefix (decoding order, token strings); unknown prefixes get ``default``."""

    def __init__(self, table: dict[tuple[str, ...], dict[str, float]], default: dict[str, float]):
        super().__init__()
        self.tokenizer = Tokenizer()
        self.table = {k: probabilities_to_logits(self.tokenizer, v) for k, v in table.items()}
        self.default = probabilities_to_logits(self.tokenizer, default)
        self.anchor = nn.Parameter(torch.zeros(1))
        self.config_dict: dict = {}
        self.max_charge = None

    def start_decoding(self, batch, beams=1, use_cache=True):
        def next_logits(prefix, spectrum_rows):
            rows = []
            for ids in prefix.tolist():
                key = tuple(self.tokenizer.tokens[i] for i in ids if i != self.tokenizer.PAD)
                rows.append(self.table.get(key, self.default))
            return torch.stack(rows)

        return PrefixState(next_logits, batch["mz"].shape[0], beams)


def make_batch(n: int, precursor_mass_da=None) -> dict:
    """A batch whose first m/z names the stand-in's table row."""
    mz = torch.zeros(n, 3, dtype=torch.float64)
    mz[:, 0] = torch.arange(n, dtype=torch.float64)
    mass = torch.full((n,), math.nan, dtype=torch.float64) if precursor_mass_da is None else torch.as_tensor(precursor_mass_da, dtype=torch.float64)
    return {
        "mz": mz,
        "intensity": torch.ones(n, 3),
        "peak_mask": torch.ones(n, 3, dtype=torch.bool),
        "precursor_mass_da": mass,
        "precursor_charge": torch.full((n,), 2, dtype=torch.long),
    }


def script_tables(tokenizer: Tokenizer, scripts: list[list[dict[str, float]]], floor: float = 1e-7) -> torch.Tensor:
    """(spectra, steps, vocab) logits from per-step probability dicts (scripts padded by their last step)."""
    steps = max(len(s) for s in scripts)
    out = torch.empty(len(scripts), steps, tokenizer.vocab_size)
    for i, script in enumerate(scripts):
        for t in range(steps):
            out[i, t] = probabilities_to_logits(tokenizer, script[min(t, len(script) - 1)], floor)
    return out
