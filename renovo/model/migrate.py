"""Checkpoint schema versions and the one upgrade of older checkpoints' metadata.

Every checkpoint renovo writes stores ``checkpoint["renovo"]["schema_version"]``
(`SCHEMA_VERSION`). `read_checkpoint` passes the metadata of every checkpoint it
reads through `migrate`, so the rest of renovo reads one layout: the current
one. A fallback for what an older checkpoint lacks lives here, nowhere else.

Versions:

1. no ``schema_version`` (every checkpoint before versions were stored). Some
   hold no ``model`` architecture record (written before ion evidence
   existed: a plain model), and their configs may lack keys added later —
   each is filled with the value those checkpoints were trained with (the
   behaviour of the code that wrote them), not with today's default.
2. ``schema_version: 2``: the architecture record and every config key below.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

SCHEMA_VERSION = 2

#: Config keys added after version-1 checkpoints were first written, with the value every run without the
#: key behaved as. Filled where absent; a value a checkpoint stores is never changed.
VERSION_1_CONFIG: dict[str, Any] = {
    "optim": {"warmup_fraction": None, "gradient_clip_mode": "total", "physics_gradient_cap": None},
    "curriculum": {"weight_scale": {"spectrum": 1.0, "precursor": 1.0}, "force_final": False},
    "loss": {"precursor": {"mass_mode": "expected"},
             "spectrum": {"render": "analytic", "variance_aware": False, "mass_mode": "expected"}},
    "data": {"max_peaks": 150, "preprocess": {}},
}


class SchemaVersionError(ValueError):
    """A checkpoint written by a newer renovo than this one."""


def _fill(config: dict, defaults: Mapping) -> None:
    for key, value in defaults.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            _fill(config[key], value)
        elif key not in config or (isinstance(value, Mapping) and config[key] is None):
            config[key] = copy.deepcopy(value)


def _from_version_1(metadata: dict) -> dict:
    from renovo.model.presets import ModelConfig, model_config

    config = metadata["config"]
    _fill(config, VERSION_1_CONFIG)
    model = config.setdefault("model", {})
    for name in ModelConfig.__dataclass_fields__:
        model.setdefault(name, None)
    model.setdefault("preset", "small")
    if metadata.get("model") is None:  # written before the architecture was recorded: no ion evidence yet
        overrides = {k: model[k] for k in ModelConfig.__dataclass_fields__ if k != "ion_evidence"}
        metadata["model"] = model_config(model["preset"], **overrides, ion_evidence=False).to_dict()
    return metadata


#: version → the function that upgrades metadata of that version to the next one.
UPGRADES = {1: _from_version_1}


def migrate(metadata: Mapping) -> dict:
    """A copy of a checkpoint's ``renovo`` metadata in the current layout (`SCHEMA_VERSION`).

    `SchemaVersionError` for a version newer than this renovo knows."""
    out = copy.deepcopy(dict(metadata))
    out["config"] = dict(out["config"])
    version = out.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SchemaVersionError(f"schema_version {version!r} is not a version renovo wrote")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(f"written by a newer renovo (checkpoint schema_version {version}; this renovo "
                                 f"reads up to {SCHEMA_VERSION}): upgrade renovo to read it")
    while version < SCHEMA_VERSION:
        out = UPGRADES[version](out)
        version += 1
    out["schema_version"] = SCHEMA_VERSION
    return out


__all__ = ["SCHEMA_VERSION", "SchemaVersionError", "migrate"]
