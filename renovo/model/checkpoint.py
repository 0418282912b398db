"""Reading renovo checkpoints for inference: the model, its tokenizer and its config.

Everything here needs torch only (never Lightning), so `renovo sequence`
starts fast. A checkpoint is read with ``torch.load(weights_only=True)``: a
pickle payload that would run code is refused, not executed. Its
``checkpoint["renovo"]`` entry holds plain dicts: the resolved run config and
the tokenizer (tokens, masses in Da, fixed modifications, the modifications
the tokens use, decoding order). A file that is missing, truncated, garbage,
not a renovo checkpoint, or whose weights do not fit its own metadata is a
:class:`CheckpointError` naming the file.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

import torch

from renovo.chem import Tokenizer, default_vocabulary
from renovo.chem.modifications import KNOWN_MODIFICATIONS, Modification
from renovo.chem.vocabulary import Vocabulary, vocabulary_from_config
from renovo.errors import RenovoError
from renovo.model.migrate import SchemaVersionError, migrate
from renovo.model.presets import ModelConfig, model_config
from renovo.model.transformer import build_model

REQUIRED_KEYS = ("state_dict", "renovo")
#: The ``model.*`` config keys that shape a model (every ModelConfig field); null takes the preset's value.
MODEL_KEYS = tuple(f.name for f in fields(ModelConfig))


class CheckpointError(RenovoError):
    """A checkpoint file is missing, unreadable, foreign or incompatible."""


def read_checkpoint(path: str | Path, *, require_renovo: bool = True) -> dict:
    """The checkpoint's dict, loaded with ``weights_only=True`` onto the CPU; `CheckpointError` if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, garbage bytes, or a forbidden (code-running) pickle global
        # In renovo's words: PyTorch's own message advises weights_only=False, the one thing never to do here.
        if "unsupported global" in str(error).lower():
            raise CheckpointError(
                f"{path}: not a loadable renovo checkpoint: it holds objects other than tensors and plain values, "
                "which a weights-only load refuses (loading them could run code)"
            ) from None
        raise CheckpointError(
            f"{path}: not a loadable renovo checkpoint: the file is damaged (truncated or corrupted) or "
            f"not a renovo checkpoint at all ({type(error).__name__})"
        ) from None
    if require_renovo:
        check_renovo_checkpoint(checkpoint, path)
    verify_state_dict_hash(checkpoint, path)
    if require_renovo:
        try:
            checkpoint["renovo"] = migrate(checkpoint["renovo"])  # one layout for every reader
        except SchemaVersionError as error:
            raise CheckpointError(f"{path}: {error}") from None
    return checkpoint


#: ``checkpoint["renovo"][HASH_KEY]``: SHA-256 of the state dict's tensors, written with every checkpoint.
HASH_KEY = "state_dict_sha256"


def state_dict_sha256(state_dict: Mapping) -> str:
    """SHA-256 over the state dict's names, dtypes, shapes and tensor bytes, in name order."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state_dict):
        value = state_dict[name]
        digest.update(str(name).encode() + b"\0")
        if torch.is_tensor(value):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


def add_state_dict_hash(checkpoint: Any) -> None:
    """Store the state dict's content hash in ``checkpoint["renovo"]`` (in place), when both are there."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("renovo"), dict) \
            and isinstance(checkpoint.get("state_dict"), Mapping):
        checkpoint["renovo"][HASH_KEY] = state_dict_sha256(checkpoint["state_dict"])


def verify_state_dict_hash(checkpoint: Any, path: str | Path) -> None:
    """`CheckpointError` when the stored content hash does not match the weights: the zip container has no
    check of its own, so flipped bytes inside a tensor would load and change the predictions. A checkpoint
    without a hash (written before renovo stored one) loads unchecked."""
    meta = checkpoint.get("renovo") if isinstance(checkpoint, Mapping) else None
    stored = meta.get(HASH_KEY) if isinstance(meta, Mapping) else None
    if stored is None or not isinstance(checkpoint.get("state_dict"), Mapping):
        return
    if state_dict_sha256(checkpoint["state_dict"]) != stored:
        raise CheckpointError(f"{path}: damaged: its weights do not match the content hash stored when it was "
                              "saved (the file changed after it was written)")


def check_renovo_checkpoint(checkpoint: Any, path: str | Path) -> None:
    """`CheckpointError` unless ``checkpoint`` has renovo's metadata (config + tokenizer) and a state dict."""
    if not isinstance(checkpoint, Mapping) or any(k not in checkpoint for k in REQUIRED_KEYS):
        keys = sorted(map(str, checkpoint))[:8] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise CheckpointError(f"{path}: not a renovo training checkpoint (no 'renovo' config/tokenizer entry or "
                              f"no state_dict; found {keys})")
    meta = checkpoint["renovo"]
    if (not isinstance(meta, Mapping) or not isinstance(meta.get("config"), Mapping)
            or not isinstance(meta.get("tokenizer"), Mapping) or "tokens" not in meta["tokenizer"]):
        raise CheckpointError(f"{path}: renovo checkpoint metadata is incomplete (needs config and tokenizer)")
    if not isinstance(checkpoint["state_dict"], Mapping):
        raise CheckpointError(f"{path}: checkpoint state_dict is not a mapping")


# ----------------------------------------------------------------------------- tokenizer

def tokenizer_from_config(config: Mapping) -> Tokenizer:
    """The tokenizer a run config describes (``vocabulary`` and ``tokenizer`` sections)."""
    t = config["tokenizer"]
    section = config.get("vocabulary")
    try:
        vocabulary = vocabulary_from_config(section) if section is not None else default_vocabulary()
    except ValueError as error:
        raise RenovoError(f"config vocabulary: {error}") from None
    return Tokenizer(vocabulary, merge_il=t["merge_il"], reverse=t["reverse"])


def _modification_state(modification: Modification) -> dict:
    return {"name": modification.name, "unimod_id": modification.unimod_id, "delta_da": float(modification.delta_da),
            "targets": list(modification.targets), "position": modification.position,
            "aliases": list(modification.aliases)}


def tokenizer_state(tokenizer: Tokenizer) -> dict:
    """Plain-dict description of a tokenizer, enough to rebuild it (checkpoints)."""
    v = tokenizer.vocabulary
    used = {t[1:-2] if t.endswith("]-") else t[2:-1] for t in v.tokens if "[" in t}
    return {
        "tokens": list(tokenizer.tokens),
        "masses_da": {t: float(v.mass_da(t)) for t in v.tokens},
        "fixed": dict(v.fixed),
        "modifications": [_modification_state(m) for m in v.modifications if m.name in used],
        "merge_il": bool(tokenizer.merge_il),
        "reverse": bool(tokenizer.reverse),
    }


def tokenizer_from_state(state: Mapping) -> Tokenizer:
    """The tokenizer :func:`tokenizer_state` described (older checkpoints lack ``modifications``)."""
    vocabulary = default_vocabulary()
    if dict(vocabulary.masses_da) != dict(state["masses_da"]) or dict(vocabulary.fixed) != dict(state["fixed"]):
        stored = [Modification(name=m["name"], unimod_id=m.get("unimod_id"), delta_da=float(m["delta_da"]),
                               targets=tuple(m.get("targets") or ()), position=m.get("position", "anywhere"),
                               aliases=tuple(m.get("aliases") or ()))
                  for m in state.get("modifications") or ()]
        known = {m.name: m for m in KNOWN_MODIFICATIONS}
        known.update({m.name: m for m in stored})
        vocabulary = Vocabulary(masses_da=dict(state["masses_da"]), fixed=dict(state["fixed"]),
                                modifications=tuple(known.values()))
    tokenizer = Tokenizer(vocabulary, merge_il=bool(state["merge_il"]), reverse=bool(state["reverse"]))
    if list(tokenizer.tokens) != list(state["tokens"]):
        raise ValueError("checkpoint tokenizer does not match its stored token list")
    return tokenizer


def vocabulary_difference(expected: Tokenizer, found: Tokenizer) -> str | None:
    """None when the two tokenizers read and write the same tokens, else a short description of the difference."""
    ours, theirs = list(expected.tokens), list(found.tokens)
    if ours == theirs and expected.reverse == found.reverse:
        return None
    only_ours = [t for t in ours if t not in theirs]
    only_theirs = [t for t in theirs if t not in ours]
    parts = []
    if only_theirs:
        parts.append(f"only the checkpoint has {', '.join(only_theirs[:6])}")
    if only_ours:
        parts.append(f"only the given vocabulary has {', '.join(only_ours[:6])}")
    if not parts:
        parts.append("same tokens in another order" if ours != theirs else "different decoding direction")
    return "; ".join(parts)


# ----------------------------------------------------------------------------- model

def build_model_from_config(config: Mapping, tokenizer: Tokenizer, model_state: Mapping | None = None):
    """The model a run config describes. ``model_state``: the architecture a checkpoint
    recorded (``ModelConfig.to_dict()``), which wins over the config; a checkpoint
    written before it was recorded holds a plain model (no ion evidence)."""
    if model_state is not None:
        return build_model(ModelConfig.from_dict(dict(model_state)), tokenizer)
    m = config["model"]
    return build_model(model_config(m["preset"], **{k: m[k] for k in MODEL_KEYS}), tokenizer)


def checkpoint_architecture(metadata: Mapping) -> dict:
    """The ModelConfig dict a checkpoint's (migrated) ``renovo`` metadata records."""
    return dict(metadata["model"])


def load_model(ckpt_path: str | Path, map_location: str | torch.device = "cpu"):
    """The trained `SpectrumTransformer` of a checkpoint, in eval mode, with its tokenizer.

    The model's ``.config_dict`` attribute holds the run's resolved config. A
    corrupted, foreign or incompatible checkpoint raises :class:`CheckpointError`.
    """
    checkpoint = read_checkpoint(ckpt_path)
    config = checkpoint["renovo"]["config"]
    try:
        tokenizer = tokenizer_from_state(checkpoint["renovo"]["tokenizer"])
        model = build_model_from_config(config, tokenizer, checkpoint_architecture(checkpoint["renovo"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{ckpt_path}: cannot rebuild the model from the checkpoint's metadata "
                              f"({type(error).__name__}: {error})") from None
    prefix = "model."
    state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise CheckpointError(f"{ckpt_path}: checkpoint weights do not fit its model "
                              f"({' '.join(first[:2])[:300]})") from None
    model.config_dict = config
    return model.to(map_location).eval()


def checkpoint_config(ckpt_path: str | Path) -> dict:
    """The resolved config stored in a renovo checkpoint."""
    return dict(read_checkpoint(ckpt_path)["renovo"]["config"])


__all__ = ["CheckpointError", "MODEL_KEYS", "build_model_from_config", "check_renovo_checkpoint", "checkpoint_architecture",
           "checkpoint_config", "load_model", "read_checkpoint", "tokenizer_from_config", "tokenizer_from_state",
           "tokenizer_state", "vocabulary_difference"]
