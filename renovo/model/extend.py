"""Growing a trained model's vocabulary: new tokens (modifications) on top of a checkpoint's.

A fine-tune may add tokens to the vocabulary its checkpoint was trained with
(``S[Phospho]``, ``K[Acetyl]``, a mass-delta entry such as ``K[+12.5000]``),
never remove one. :func:`extend_state_dict` maps the checkpoint's weights onto
a model of the larger vocabulary token by token (not id by id: the new
vocabulary may list its tokens in another order). Every parameter, and every
entry of a token the checkpoint has, is copied unchanged; a new token's
entries (embedding row, output row and bias, evidence-projection columns)
start as copies of its base residue's:

- ``X[…]``: the bare residue ``X``; the residue's fixed token when the bare
  residue is not a token (``C[Carbamidomethyl]`` for a new ``C[…]``); ``L`` for
  ``I[…]`` when I is written as L;
- a new N-terminal modification ``[…]-``: the mean of the checkpoint's
  N-terminal modification tokens (of its residues when it has none).

The ion-evidence features need nothing learned for a new token: they read
each token's mass from the tokenizer the model is built with.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from renovo.chem import Tokenizer
from renovo.chem.tokenizer import SPECIAL_TOKENS
from renovo.chem.vocabulary import Vocabulary
from renovo.model.checkpoint import CheckpointError, checkpoint_architecture, tokenizer_from_state

#: Two tokens of the same name are the same token when their masses agree to this many Da.
_MASS_TOLERANCE_DA = 1e-9


class VocabularyChangeError(CheckpointError):
    """A fine-tune's vocabulary does not extend its checkpoint's (a token dropped, a mass or the decoding
    direction changed)."""


def vocabulary_extension(old: Tokenizer, new: Tokenizer, where: str | Path = "checkpoint") -> list[str]:
    """The tokens ``new`` adds to ``old``, in ``new``'s order; `VocabularyChangeError` (one line, naming the
    tokens) when ``new`` drops a token of ``old``, gives one another mass, or decodes in another direction."""
    for name in ("reverse", "merge_il"):
        if bool(getattr(old, name)) != bool(getattr(new, name)):
            raise VocabularyChangeError(f"{where}: tokenizer.{name} is {getattr(old, name)} in the checkpoint and "
                                        f"{getattr(new, name)} here; a fine-tune keeps the checkpoint's")
    dropped = [t for t in old.tokens if t not in new.token_to_id]
    if dropped:
        raise VocabularyChangeError(
            f"{where}: the vocabulary drops {', '.join(dropped)} of the checkpoint; a fine-tune may add tokens, "
            f"not remove them (keep {'it' if len(dropped) == 1 else 'them'} in vocabulary.fixed / vocabulary.variable)")
    residues = old.tokens[len(SPECIAL_TOKENS):]
    moved = [t for t in residues
             if abs(old.vocabulary.mass_da(t) - new.vocabulary.mass_da(t)) > _MASS_TOLERANCE_DA]
    if moved:
        token = moved[0]
        raise VocabularyChangeError(f"{where}: token {token} weighs {old.vocabulary.mass_da(token):.6f} Da in the "
                                    f"checkpoint and {new.vocabulary.mass_da(token):.6f} Da here")
    return [t for t in new.tokens if t not in old.token_to_id]


def base_tokens(token: str, old: Tokenizer) -> list[str]:
    """The checkpoint tokens whose entries a new ``token`` starts from (their mean when several)."""
    residues = old.tokens[len(SPECIAL_TOKENS):]
    plain = [t for t in residues if not Vocabulary.is_n_terminal(t)]
    if Vocabulary.is_n_terminal(token):
        return [old.tokens[i] for i in old.n_terminal_ids] or plain
    residue = "L" if old.merge_il and token[0] == "I" else token[0]
    if residue in old.token_to_id:
        return [residue]
    fixed = old.vocabulary.fixed.get(residue)
    return [fixed] if fixed in old.token_to_id else plain


def extend_state_dict(state: Mapping[str, torch.Tensor], old: Tokenizer, new: Tokenizer,
                      axes: Mapping[str, tuple[int, int]]) -> dict[str, torch.Tensor]:
    """``state`` (a model's for ``old``'s vocabulary) for a model of ``new``'s, which extends it.

    ``axes`` (`SpectrumTransformer.vocabulary_axes`): name → (axis, entries per token) of the parameters
    with an entry per token. A token of ``old`` keeps its entries bit for bit (at its id in ``new``); a new
    token gets a copy (or the mean) of its `base_tokens`' entries; other parameters are returned as they are.
    """
    sources = [[old.token_to_id[token]] if token in old.token_to_id
               else [old.token_to_id[t] for t in base_tokens(token, old)] for token in new.tokens]
    grown = dict(state)
    for name, (axis, group) in axes.items():
        if name not in state:
            continue
        moved = state[name].movedim(axis, 0)
        blocks = moved.reshape(old.vocab_size, group, *moved.shape[1:])  # (old vocab, group, …)
        rows = [blocks[ids[0]] if len(ids) == 1 else blocks[ids].mean(0) for ids in sources]
        merged = torch.stack(rows).reshape(new.vocab_size * group, *moved.shape[1:])
        grown[name] = merged.movedim(0, axis).contiguous()
    return grown


def load_extended(model, checkpoint: Mapping, where: str | Path = "checkpoint") -> list[str]:
    """Put ``checkpoint``'s weights into ``model``, whose vocabulary may add tokens to the checkpoint's
    (`extend_state_dict`); returns the added tokens. `CheckpointError` (one line) when the architecture
    differs or the vocabulary does not extend the checkpoint's."""
    metadata = checkpoint["renovo"]
    architecture = checkpoint_architecture(metadata)
    ours = model.config.to_dict()
    different = [k for k in ours if ours[k] != architecture.get(k)]
    if different:
        key = different[0]
        raise CheckpointError(f"{where}: model.{key} is {architecture.get(key)!r} in the checkpoint and "
                              f"{ours[key]!r} here; a fine-tune keeps the checkpoint's architecture")
    try:
        old = tokenizer_from_state(metadata["tokenizer"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{where}: cannot rebuild the checkpoint's tokenizer ({error})") from None
    added = vocabulary_extension(old, model.tokenizer, where)
    prefix = "model."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(extend_state_dict(state, old, model.tokenizer, model.vocabulary_axes()))
    except RuntimeError as error:
        first = " ".join(str(error).strip().splitlines()[:2])
        raise CheckpointError(f"{where}: checkpoint weights do not fit the model ({first[:300]})") from None
    return added


__all__ = ["VocabularyChangeError", "base_tokens", "extend_state_dict", "load_extended", "vocabulary_extension"]
