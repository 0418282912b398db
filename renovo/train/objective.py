"""Training objective: cross-entropy + w_spec(step)·spectrum + w_prec(step)·precursor.

The physics losses see the decoder's teacher-forced distribution over residue
tokens (softmax with the special tokens excluded), at the positions before
each peptide's EOS, and compute masses in float64 (or float32) with autocast
off. Every component is returned every step: one whose weight is 0 is computed
without gradient (``loss.compute_zero_weight``), unless the caller asks for
its graph (the gradient-flow monitor does, every K steps).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from renovo.chem import Tokenizer
from renovo.errors import RenovoError
from renovo.losses import build_precursor_loss, build_spectrum_loss, theoretical_fragments
from renovo.numerics import no_autocast

COMPONENTS = ("ce", "spectrum", "precursor")


def peptide_lengths(tokens: torch.Tensor, eos: int = Tokenizer.EOS, pad: int = Tokenizer.PAD) -> torch.Tensor:
    """Residue count of each target: index of its first EOS (non-PAD count without one). # (B,)"""
    is_eos = tokens == eos  # (B, T)
    has_eos = is_eos.any(dim=1)
    first_eos = is_eos.int().argmax(dim=1)
    return torch.where(has_eos, first_eos, (tokens != pad).sum(dim=1))


def _choice(value, options, key):
    if value not in options:
        raise RenovoError(f"config {key} must be one of {', '.join(options)}; got {value!r}")
    return value


class Objective(nn.Module):
    """Loss components and their weighted total from logits and a batch."""

    def __init__(self, loss_config: Mapping, tokenizer: Tokenizer):
        super().__init__()
        self.tokenizer = tokenizer
        self.label_smoothing = loss_config["label_smoothing"]
        self.compute_zero_weight = loss_config["compute_zero_weight"]
        self.physics_dtype = {"float64": torch.float64, "float32": torch.float32}[
            _choice(loss_config["physics_dtype"], ("float64", "float32"), "loss.physics_dtype")
        ]
        spec = loss_config["spectrum"]
        self.mass_mode = _choice(spec["mass_mode"], ("expected", "straight_through"), "loss.spectrum.mass_mode")
        # The precursor loss's peptide mass has its own mode (a straight-through spectrum loss does not make
        # the precursor loss straight-through unless it says so).
        self.precursor_mass_mode = _choice(loss_config["precursor"]["mass_mode"],
                                           ("expected", "straight_through"), "loss.precursor.mass_mode")
        self.charges = tuple(int(z) for z in spec["charges"])
        # Each takes (fragments, batch); None when its type is "none".
        self.spectrum_loss = build_spectrum_loss(spec, tokenizer)
        self.precursor_loss = build_precursor_loss(loss_config["precursor"])
        self.spectrum_type = self.spectrum_loss.kind if self.spectrum_loss is not None else "none"
        self.precursor_type = self.precursor_loss.kind if self.precursor_loss is not None else "none"

        self.register_buffer("residue_masses_da", tokenizer.residue_masses_da.clone(), persistent=False)
        special = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        special[[Tokenizer.PAD, Tokenizer.BOS, Tokenizer.EOS]] = True
        self.register_buffer("special_tokens", special, persistent=False)
        nterm = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        nterm[list(tokenizer.n_terminal_ids)] = True
        # An N-terminal modification token is not a residue of its own: no cleavage after it.
        self.register_buffer("nterm_tokens", nterm, persistent=False)

    @property
    def has_physics(self) -> bool:
        return self.spectrum_loss is not None or self.precursor_loss is not None

    def cross_entropy(self, logits: torch.Tensor, tokens: torch.Tensor, label_weight: torch.Tensor | None) -> torch.Tensor:
        """Token-mean cross-entropy; with ``label_weight`` (B,) each spectrum's tokens count by its weight (a
        weight-0 label — a decoded peptide in label-free adaptation — adds no cross-entropy, only tells the
        physics losses where the fragments are). 0 when no token has weight. logits (B, T, vocab)."""
        if label_weight is None or bool((label_weight == 1).all()):
            return F.cross_entropy(logits.float().transpose(1, 2), tokens, ignore_index=Tokenizer.PAD,
                                   label_smoothing=self.label_smoothing)
        per_token = F.cross_entropy(logits.float().transpose(1, 2), tokens, ignore_index=Tokenizer.PAD,
                                    label_smoothing=self.label_smoothing, reduction="none")  # (B, T)
        weight = label_weight.to(per_token)[:, None] * (tokens != Tokenizer.PAD)
        return (per_token * weight).sum() / weight.sum().clamp_min(1e-12)

    def residue_probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax over residue tokens only, in the physics dtype, autocast off. # (B, T, vocab)"""
        with no_autocast(logits.device):
            masked = logits.to(self.physics_dtype).masked_fill(self.special_tokens, float("-inf"))
            return masked.softmax(dim=-1)

    def forward(
        self,
        logits: torch.Tensor,
        batch: Mapping,
        weights: tuple[float, float],
        *,
        graph_for_all: bool = False,
        compute_zero_weight: bool | None = None,
    ) -> dict[str, torch.Tensor]:
        """Components ``ce``, ``spectrum``, ``precursor`` (unweighted, scalars) and ``total``.

        ``total = ce + w_spec · spectrum + w_prec · precursor`` over the
        components with a non-zero weight. Missing loss types are absent from
        the dict. ``graph_for_all`` keeps the autograd graph of zero-weight
        components too. ``compute_zero_weight`` overrides ``loss.compute_zero_weight``
        for this call (None: the config's).
        """
        tokens = batch["tokens"]  # (B, T)
        w_spec, w_prec = (float(w) for w in weights)
        with no_autocast(logits.device):
            ce = self.cross_entropy(logits, tokens, batch.get("label_weight"))
        out: dict[str, torch.Tensor] = {"ce": ce}
        total = ce
        if not self.has_physics:
            out["total"] = total
            return out

        zero_weight = self.compute_zero_weight if compute_zero_weight is None else bool(compute_zero_weight)
        need_spec = self.spectrum_loss is not None and (w_spec > 0 or zero_weight or graph_for_all)
        need_prec = self.precursor_loss is not None and (w_prec > 0 or zero_weight or graph_for_all)
        spec_grad = w_spec > 0 or graph_for_all
        prec_grad = w_prec > 0 or graph_for_all
        if not (need_spec or need_prec):
            out["total"] = total
            return out

        lengths = peptide_lengths(tokens)
        any_grad = (need_spec and spec_grad) or (need_prec and prec_grad)
        with (nullcontext() if any_grad else torch.no_grad()), no_autocast(logits.device):
            probs = self.residue_probabilities(logits)  # (B, T, vocab)
            fragments = theoretical_fragments(
                probs, self.residue_masses_da, lengths, self.charges, self.mass_mode,
                reverse=self.tokenizer.reverse, nterm_token_mask=self.nterm_tokens,
            )
            precursor_fragments = fragments
            if need_prec and self.precursor_mass_mode != self.mass_mode:
                precursor_fragments = theoretical_fragments(
                    probs, self.residue_masses_da, lengths, self.charges, self.precursor_mass_mode,
                    reverse=self.tokenizer.reverse, nterm_token_mask=self.nterm_tokens,
                )
            if need_spec:
                with nullcontext() if spec_grad else torch.no_grad():
                    spec = self.spectrum_loss(fragments, batch)
                out["spectrum"] = spec
                if w_spec > 0:
                    total = total + w_spec * spec
            if need_prec:
                with nullcontext() if prec_grad else torch.no_grad():
                    prec = self.precursor_loss(precursor_fragments, batch)
                out["precursor"] = prec
                if w_prec > 0:
                    total = total + w_prec * prec
        out["total"] = total
        return out


@torch.no_grad()
def token_accuracy(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Teacher-forced accuracy over non-PAD target positions (EOS included)."""
    real = tokens != Tokenizer.PAD
    correct = (logits.argmax(dim=-1) == tokens) & real
    return correct.sum().float() / real.sum().clamp_min(1).float()
