"""Training configs: shipped YAML files, overlays, ``--set`` overrides, validation.

Every key a run can set is declared, with its default, rule and doc, in
`renovo.train.schema` (``renovo/configs/default.yaml`` is its rendering). A
named config (``gaussian_losses``, …) or a YAML path overlays the defaults; ``key.sub=value``
overrides (values parsed as YAML) overlay that. A key that is not in the
default is an error listing the valid keys at that level. Lists replace lists
wholesale (a curriculum's stage table is one value). A loaded config is a
`RunConfig`: typed, frozen, read as ``config.optim.lr`` or ``config["optim"]["lr"]``.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import yaml

from renovo.errors import RenovoError, yaml_error_message
from renovo.train.schema import SECTION_FIELDS, RunConfig, as_plain, first_problem, normalised, section_keys

if TYPE_CHECKING:
    from renovo.data import SimulatorConfig

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_NAME = "default"


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


def check_values(config: Mapping, schema: Mapping) -> RunConfig:
    """Type and range of every value (the rules of `renovo.train.schema`), and the pairs a single key's rule
    cannot judge; ConfigError naming the first bad key. Returns the `RunConfig` with every value as its rule
    reads it (`normalised`: a number is a float), so no caller casts a config value."""
    from renovo.chem.vocabulary import vocabulary_from_config
    from renovo.data import PreprocessConfig, SimulatorConfig

    problem = first_problem(config, schema)
    if problem:
        raise ConfigError(problem)
    config = normalised(config)
    _check_attention_width(config["model"])
    try:
        PreprocessConfig.from_config(config)
        SimulatorConfig.from_dict(config["data"]["simulator"])
    except ValueError as error:
        raise ConfigError(f"config key data.preprocess / data.simulator: {error}") from None
    try:
        vocabulary_from_config(config["vocabulary"])
    except ValueError as error:  # UnknownModificationError is a ValueError too
        raise ConfigError(f"config key vocabulary: {error}") from None
    return RunConfig.from_dict(config)


def _check_attention_width(model: Mapping) -> None:
    """model.d_model must split evenly over model.n_heads (each head gets d_model / n_heads dimensions); checked
    here, with the preset's value for a null key, so a bad pair stops before any work instead of as an
    assertion inside the attention layer."""
    from renovo.model.presets import PRESETS

    preset = PRESETS[model["preset"]]  # the preset's rule admits only the presets' names
    d_model = model["d_model"] or preset.d_model
    n_heads = model["n_heads"] or preset.n_heads
    if d_model % n_heads:
        raise ConfigError(f"config keys model.d_model = {d_model} and model.n_heads = {n_heads}: d_model must be a "
                          f"multiple of n_heads (preset {model['preset']} has "
                          f"{preset.d_model} and {preset.n_heads})")


def yaml_load(text: str):
    """renovo's YAML dialect (configs, plans, simulator settings): YAML 1.1 safe loading, with ``1e-3`` a
    float as in YAML 1.2 (PyYAML alone reads it as the string '1e-3')."""
    return yaml.load(text, Loader=_Loader)


class ConfigError(RenovoError):
    """A config file, name or override a user gave is invalid."""


def available_configs() -> list[str]:
    """Names of the shipped training configs (YAML files in renovo/configs/)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(yaml_error_message(path, error)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    return data


def default_config() -> dict:
    """Every key at its default, as plain dicts (the schema's `RunConfig()`)."""
    return RunConfig().to_dict()


def _merge(base: dict, overlay: Mapping, schema: dict, where: str = "") -> dict:
    """Deep-merge ``overlay`` into ``base`` (in place), checking keys against ``schema``."""
    for key, value in overlay.items():
        path = f"{where}{key}"
        if key not in schema:
            valid = ", ".join(sorted(map(str, schema)))
            raise ConfigError(f"unknown config key {path!r}; valid keys{' under ' + where[:-1] if where else ''}: {valid}")
        if isinstance(schema[key], dict) and path not in SECTION_FIELDS:
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} must be a mapping, got {value!r}")
            _merge(base[key], value, schema[key], f"{path}.")
        elif isinstance(schema[key], dict):  # a section of a dataclass's fields: any subset of them
            if not isinstance(value, Mapping):
                raise ConfigError(f"config key {path!r} must be a mapping, got {value!r}")
            known = section_keys(path)
            unknown = sorted(set(map(str, value)) - known)
            if unknown:
                raise ConfigError(f"unknown config key {path}.{unknown[0]}; valid keys under {path}: "
                                  f"{', '.join(sorted(known))}")
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
        value = yaml_load(raw) if raw.strip() else None
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
) -> RunConfig:
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
    if not config["name"]:
        config["name"] = name
    return check_values(config, schema)


def merge_config(config: Mapping, overlay: Mapping) -> RunConfig:
    """A copy of a resolved ``config`` with ``overlay`` merged in (validated)."""
    schema = default_config()
    return check_values(_merge(as_plain(config), overlay, schema), schema)


def validate_config(config: Mapping) -> RunConfig:
    """Check a config (e.g. read back from a run or a checkpoint) against the schema; keys it lacks keep
    their defaults."""
    schema = default_config()
    return check_values(_merge(copy.deepcopy(schema), as_plain(config), schema), schema)


def run_config_of(model) -> RunConfig:
    """The run config a model was trained with (its checkpoint's, migrated and checked); the defaults for a
    model built without one (``model.config_dict == {}``)."""
    return validate_config(model.config_dict)


def simulator_config(config: Mapping) -> "SimulatorConfig":
    """``data.simulator`` as a `renovo.data.SimulatorConfig`; a bad key is a one-line error."""
    from renovo.data import SimulatorConfig

    try:
        return SimulatorConfig.from_dict(dict(config["data"]["simulator"]))
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config data.simulator: {error}") from None


def validation_seed(config: Mapping) -> int:
    """Random seed of a run's fixed simulated validation set: ``seed + data.val_seed_offset`` (disjoint from the
    training stream's draws)."""
    return config["seed"] + config["data"]["val_seed_offset"]


def save_config(config: Mapping, path: str | Path) -> Path:
    from renovo.files import write_text

    path = Path(path)
    write_text(path, yaml.safe_dump(as_plain(config), sort_keys=False, default_flow_style=None))
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
        if isinstance(a, Mapping) and isinstance(b, Mapping) and path not in SECTION_FIELDS:
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
