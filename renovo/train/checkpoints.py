"""Checkpoint files: atomic writes, safe reads, renovo's metadata check.

- Writes go to a temporary file in the checkpoint's own folder, are flushed
  and fsync'ed, then ``os.replace``'d over the target: a crash mid-write (or a
  full disk) leaves the previous ``last.ckpt`` intact, never a truncated one.
- Reads use ``torch.load(weights_only=True)`` only, also on Lightning's resume
  path (`AtomicCheckpointIO.load_checkpoint` ignores a ``weights_only=False``
  request): a pickle payload that would run code is refused, not executed.
- A file that is truncated, garbage, not a renovo training checkpoint, or
  made for another vocabulary is refused with a `RenovoError` naming the file
  (reading lives in `renovo.model.checkpoint`, which inference uses without Lightning).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


from renovo.model.checkpoint import REQUIRED_KEYS, CheckpointError, check_renovo_checkpoint, read_checkpoint


def atomic_torch_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` through a fsync'ed temporary file and ``os.replace``."""
    from renovo.files import atomic_open

    from renovo.model.checkpoint import add_state_dict_hash

    path = Path(path)
    add_state_dict_hash(obj)  # verified by read_checkpoint: flipped bytes in the weights are caught on load
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)
    return path


def check_compatible(checkpoint: Mapping, path: str | Path, tokenizer, state_dict: Mapping) -> None:
    """`CheckpointError` if ``checkpoint`` was made for another vocabulary or model shape than this one."""
    stored = list(checkpoint["renovo"]["tokenizer"]["tokens"])
    if stored != list(tokenizer.tokens):
        missing = [t for t in stored if t not in tokenizer.token_to_id][:5]
        raise CheckpointError(
            f"{path}: checkpoint vocabulary ({len(stored)} tokens) differs from this run's "
            f"({tokenizer.vocab_size} tokens)" + (f"; unknown here: {', '.join(missing)}" if missing else "")
        )
    theirs = checkpoint["state_dict"]
    wrong = [k for k, v in state_dict.items()
             if k not in theirs or not torch.is_tensor(theirs[k]) or tuple(theirs[k].shape) != tuple(v.shape)]
    extra = [k for k in theirs if k not in state_dict]
    if wrong or extra:
        raise CheckpointError(f"{path}: checkpoint weights do not fit this model (mismatched or missing: "
                              f"{', '.join((wrong + extra)[:5])}); check model.preset and the model.* keys")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO: atomic fsync'ed writes, weights-only validated reads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options")
        atomic_torch_save(checkpoint, path)

    def load_checkpoint(self, path, map_location: Any | None = None, weights_only: bool | None = None) -> dict:
        # weights_only is forced: whatever Lightning's version defaults to, the file cannot run code.
        checkpoint = read_checkpoint(path)
        if map_location is not None and not (isinstance(map_location, str) and map_location == "cpu"):
            checkpoint = _move(checkpoint, map_location)
        return checkpoint


def _move(value: Any, map_location: Any) -> Any:
    if torch.is_tensor(value):
        if callable(map_location):
            return map_location(value, "cpu")
        return value.to(map_location)
    if isinstance(value, dict):
        return {k: _move(v, map_location) for k, v in value.items()}
    if isinstance(value, list):
        return [_move(v, map_location) for v in value]
    if isinstance(value, tuple):
        return tuple(_move(v, map_location) for v in value)
    return value


__all__ = ["AtomicCheckpointIO", "CheckpointError", "REQUIRED_KEYS", "atomic_torch_save", "check_compatible",
           "check_renovo_checkpoint", "read_checkpoint"]
