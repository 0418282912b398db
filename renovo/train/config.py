"""Training configs: shipped YAML files, overlays, ``--set`` overrides, validation.

Every key a run can set is in ``renovo/configs/default.yaml``. A named config
(``gaussian_losses``, …) or a YAML path overlays it; ``key.sub=value``
overrides (values parsed as YAML) overlay that. A key that is not in the
default is an error listing the valid keys at that level. Lists replace lists
wholesale (a curriculum's stage table is one value).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from renovo.errors import RenovoError, yaml_error_message

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_NAME = "default"
# Sections whose keys belong to another package's dataclass (validated there).
FREE_FORM = {"data.preprocess", "data.simulator"}


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` (YAML 1.2 style) as a float, not a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def check_values(config: Mapping, schema: Mapping) -> None:
    """Type and range of every value (`renovo.train.config_rules`); ConfigError naming the first bad key."""
    from renovo.chem.vocabulary import vocabulary_from_config
    from renovo.train.config_rules import first_problem

    problem = first_problem(config, schema)
    if problem:
        raise ConfigError(problem)
    _check_attention_width(config.get("model") or {})
    if "vocabulary" in config:
        try:
            vocabulary_from_config(config["vocabulary"])
        except ValueError as error:  # UnknownModificationError is a ValueError too
            raise ConfigError(f"config key vocabulary: {error}") from None


def _check_attention_width(model: Mapping) -> None:
    """model.d_model must split evenly over model.n_heads (each head gets d_model / n_heads dimensions); checked
    here, with the preset's value for a null key, so a bad pair stops before any work instead of as an
    assertion inside the attention layer."""
    from renovo.model.presets import PRESETS

    preset = PRESETS.get(model.get("preset") or "small")
    if preset is None:
        return  # an unknown preset is refused where the model is built, with the presets listed
    d_model = model.get("d_model") or preset.d_model
    n_heads = model.get("n_heads") or preset.n_heads
    if d_model % n_heads:
        raise ConfigError(f"config keys model.d_model = {d_model} and model.n_heads = {n_heads}: d_model must be a "
                          f"multiple of n_heads (preset {model.get('preset') or 'small'} has "
                          f"{preset.d_model} and {preset.n_heads})")


def _yaml_load(text: str):
    return yaml.load(text, Loader=_Loader)


class ConfigError(RenovoError):
    """A config file, name or override a user gave is invalid."""


def available_configs() -> list[str]:
    """Names of the shipped training configs (YAML files in renovo/configs/)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        data = _yaml_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(yaml_error_message(path, error)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    return data


def default_config() -> dict:
    return _read_yaml(CONFIG_DIR / f"{DEFAULT_NAME}.yaml")


def _merge(base: dict, overlay: Mapping, schema: dict, where: str = "") -> dict:
    """Deep-merge ``overlay`` into ``base`` (in place), checking keys against ``schema``."""
    for key, value in overlay.items():
        path = f"{where}{key}"
        if key not in schema:
            valid = ", ".join(sorted(map(str, schema)))
            raise ConfigError(f"unknown config key {path!r}; valid keys{' under ' + where[:-1] if where else ''}: {valid}")
        if isinstance(schema[key], dict) and path not in FREE_FORM:
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} must be a mapping, got {value!r}")
            _merge(base[key], value, schema[key], f"{path}.")
        elif isinstance(schema[key], dict):  # free-form section: accept any mapping
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} must be a mapping, got {value!r}")
            base[key] = {**base[key], **copy.deepcopy(dict(value))}
        else:
            base[key] = copy.deepcopy(value)
    return base


def parse_override(text: str) -> dict:
    """``"a.b.c=value"`` -> ``{"a": {"b": {"c": value}}}`` with value parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key.sub=value")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r}: empty key")
    try:
        value = _yaml_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise ConfigError(f"override {text!r}: value is not valid YAML ({problem}); quote text with brackets, "
                          "e.g. key='[\"S[Phospho]\"]'") from None
    result: Any = value
    for part in reversed(key.split(".")):
        result = {part: result}
    return result


def resolve_config_source(name_or_path: str | Path | None) -> tuple[str, dict]:
    """(name, overlay) for a shipped config name or a YAML path."""
    if name_or_path is None:
        return DEFAULT_NAME, {}
    text = str(name_or_path)
    if text in available_configs():
        return text, _read_yaml(CONFIG_DIR / f"{text}.yaml")
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        return path.stem, _read_yaml(path)
    raise ConfigError(f"unknown config {text!r}; shipped configs: {', '.join(available_configs())} (or a YAML path)")


def load_config(
    name_or_path: str | Path | None = None,
    overrides: Iterable[str | Mapping] = (),
) -> dict:
    """The resolved config: default ← named config or file ← overrides.

    ``overrides`` are ``"key.sub=value"`` strings or nested mappings, applied
    in order.
    """
    schema = default_config()
    config = copy.deepcopy(schema)
    name, overlay = resolve_config_source(name_or_path)
    _merge(config, overlay, schema)
    for override in overrides:
        _merge(config, parse_override(override) if isinstance(override, str) else override, schema)
    if not config.get("name"):
        config["name"] = name
    check_values(config, schema)
    return config


def merge_config(config: dict, overlay: Mapping) -> dict:
    """A copy of a resolved ``config`` with ``overlay`` merged in (validated)."""
    schema = default_config()
    merged = _merge(copy.deepcopy(config), overlay, schema)
    check_values(merged, schema)
    return merged


def validate_config(config: Mapping) -> dict:
    """Check a complete config (e.g. read back from a run) against the schema."""
    schema = default_config()
    merged = _merge(copy.deepcopy(schema), config, schema)
    check_values(merged, schema)
    return merged


def save_config(config: Mapping, path: str | Path) -> Path:
    from renovo.files import write_text

    path = Path(path)
    write_text(path, yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None))
    return path


#: Keys a resumed run may change. They are applied from the resumed step and logged
#: (RUN/resume.log): the step budget, the learning rate (the schedule keeps its shape, scaled
#: to the new peak), the batch size, and how the run is executed and logged. Any other change
#: (model shape, vocabulary, losses, curriculum, data, seed) would make the checkpoint mean
#: something else, and is refused naming the key.
RESUMABLE_KEYS = (
    "trainer.max_steps", "optim.lr", "data.batch_size",
    "data.val_batch_size", "data.num_workers", "trainer.val_every_n_steps", "trainer.checkpoint_every_n_steps",
    "trainer.log_every_n_steps", "trainer.accelerator", "trainer.devices", "trainer.strategy", "trainer.precision",
    "trainer.max_time", "trainer.out", "trainer.progress_bar", "monitors.nan_guard_max_consecutive",
    "monitors.gradient_flow_every_n_steps",
)


def config_changes(old: Mapping, new: Mapping, where: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) for every leaf that differs between two resolved configs."""
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        path = f"{where}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping) and path not in FREE_FORM:
            changes.extend(config_changes(a, b, f"{path}."))
        elif a != b:
            changes.append((path, a, b))
    return changes


def check_resume_changes(old: Mapping, new: Mapping) -> list[tuple[str, Any, Any]]:
    """The changes of a resume (see `RESUMABLE_KEYS`); `ConfigError` naming the first key that may not change."""
    changes = config_changes(old, new)
    for key, a, b in changes:
        if key not in RESUMABLE_KEYS:
            raise ConfigError(f"cannot change {key} on --resume ({a!r} in the checkpoint, {b!r} now): the checkpoint "
                              f"was trained with it; start a new run instead (resumable: max_steps, optim.lr, "
                              f"data.batch_size and how the run executes)")
    return changes
