"""Type and range of every config value, checked before any work starts.

Each rule says what a key accepts in words, so a bad value is one line
``config key optim.lr = 'abc': must be a number > 0``. Every key of
``renovo/configs/default.yaml`` has a rule here (a key without one is an error
when the config is checked, and ``tests/train/test_config_rules.py`` lists
none); the sections whose keys are another package's dataclass fields
(``SECTION_FIELDS``: ``data.preprocess``, ``data.simulator``) get one rule per
field, from the field's type. A value is normalised to its rule's type when
the config is loaded (an integer where a number is asked for becomes a float),
so code reading a loaded config never casts it. The curriculum's stage table
is checked where it is read.
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping

from renovo.data import PreprocessConfig, SimulatorConfig
from renovo.errors import RenovoError


@dataclass(frozen=True)
class Rule:
    """``accepts(value)`` is True for an allowed value; ``allowed`` says which in words."""

    accepts: Callable[[Any], bool]
    allowed: str
    #: The value as code reads it (e.g. int → float for a number); called on accepted values only.
    normalise: Callable[[Any], Any] = lambda value: value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(low: int | None = None, high: int | None = None, null: bool = False) -> Rule:
    def accepts(value) -> bool:
        if value is None:
            return null
        return _is_int(value) and (low is None or value >= low) and (high is None or value <= high)

    bounds = " and ".join(p for p in (f"≥ {low}" if low is not None else "", f"≤ {high}" if high is not None else "") if p)
    return Rule(accepts, "an integer" + (f" {bounds}" if bounds else "") + (" or null" if null else ""))


def number(low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False,
           null: bool = False) -> Rule:
    def accepts(value) -> bool:
        if value is None:
            return null
        if not _is_number(value):
            return False
        if low is not None and (value <= low if low_open else value < low):
            return False
        return not (high is not None and (value >= high if high_open else value > high))

    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {high:g}")
    return Rule(accepts, "a number" + (" " + " and ".join(parts) if parts else "") + (" or null" if null else ""),
                lambda value: value if value is None else float(value))


def boolean(null: bool = False) -> Rule:
    return Rule(lambda v: isinstance(v, bool) or (null and v is None), "true or false" + (" or null" if null else ""))


def choice(*options, null: bool = False) -> Rule:
    shown = " | ".join(str(o) for o in options) + (" | null" if null else "")
    return Rule(lambda v: (v is None and null) or (not isinstance(v, bool) and v in options), f"one of {shown}")


def text(null: bool = False) -> Rule:
    return Rule(lambda v: isinstance(v, str) or (null and v is None), "a string" + (" or null" if null else ""))


def list_of(item: Rule, min_items: int = 0, length: int | None = None, null: bool = False) -> Rule:
    def accepts(value) -> bool:
        if value is None:
            return null
        if not isinstance(value, (list, tuple)) or len(value) < min_items or (length is not None and len(value) != length):
            return False
        return all(item.accepts(v) for v in value)

    size = f"a list of {length} values" if length is not None else ("a non-empty list" if min_items else "a list")
    return Rule(accepts, f"{size}, each {item.allowed}" + (" (or null)" if null else ""),
                lambda value: value if value is None else [item.normalise(v) for v in value])


def either(*rules: Rule) -> Rule:
    def normalise(value):
        return next(r for r in rules if r.accepts(value)).normalise(value)

    return Rule(lambda v: any(r.accepts(v) for r in rules), " or ".join(r.allowed for r in rules), normalise)


def mapping(null: bool = False) -> Rule:
    return Rule(lambda v: isinstance(v, Mapping) or (null and v is None), "a mapping" + (" or null" if null else ""))


def parse_duration_s(value) -> float | None:
    """Seconds of a wall-clock budget: a number of seconds, or text like "60m", "1h30m", "90s", "2h"."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        import re

        text = str(value).strip().lower()
        parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)s)?", text)
        if not text or parts is None or not any(parts.groups()):
            try:
                seconds = float(text)
            except ValueError:
                raise RenovoError(f"trainer.max_time must be seconds or like 60m, 1h30m, 90s; got {value!r}") from None
        else:
            hours, minutes, secs = (float(g) if g else 0.0 for g in parts.groups())
            seconds = hours * 3600 + minutes * 60 + secs
    if not seconds > 0:
        raise RenovoError(f"trainer.max_time must be > 0; got {value!r}")
    return seconds



def duration(null: bool = False) -> Rule:
    """A wall-clock budget: what `parse_duration_s` reads (seconds > 0, or text like 60m, 1h30m, 90s)."""
    def accepts(value) -> bool:
        if value is None:
            return null
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return False
        try:
            return parse_duration_s(value) is not None
        except RenovoError:
            return False

    return Rule(accepts, "seconds > 0 or text like 60m, 1h30m, 90s" + (" or null" if null else ""))


POSITIVE = number(0, low_open=True)
PATHS = either(list_of(text()), text())

RULES: dict[str, Rule] = {
    "name": text(null=True),
    "seed": integer(0),
    "model.preset": choice("tiny", "small", "base"),
    "model.d_model": integer(1, null=True),
    "model.n_encoder_layers": integer(0, null=True),
    "model.n_decoder_layers": integer(1, null=True),
    "model.n_heads": integer(1, null=True),
    "model.dim_feedforward": integer(1, null=True),
    "model.dropout": number(0, 1, high_open=True, null=True),
    "model.max_charge": integer(1, null=True),
    "model.norm_first": boolean(null=True),
    "model.ion_evidence": either(boolean(null=True), mapping()),
    "tokenizer.reverse": boolean(),
    "tokenizer.merge_il": boolean(),
    "vocabulary.fixed": list_of(text()),
    "vocabulary.variable": list_of(text()),
    "vocabulary.extra_modifications": list_of(mapping()),
    "data.train": PATHS,
    "data.val": PATHS,
    "data.batch_size": integer(1),
    "data.val_batch_size": integer(1),
    "data.max_peaks": integer(1),
    "data.max_length": integer(1),
    "data.num_workers": integer(0),
    "data.bucket_batches": integer(1),
    "data.shuffle_buffer": integer(1),
    "data.val_size": integer(1),
    "data.val_seed_offset": integer(0),
    "data.val_fraction": number(0, 1, low_open=True, high_open=True, null=True),
    "data.val_real": PATHS,
    "data.mix_simulated": number(0, 1, high_open=True),
    "loss.label_smoothing": number(0, 1, high_open=True),
    "loss.compute_zero_weight": boolean(),
    "loss.physics_dtype": choice("float64", "float32"),
    "loss.spectrum.type": choice("gaussian", "gaussian_marginal", "huber", "none"),
    "loss.spectrum.render": choice("analytic", "grid"),
    "loss.spectrum.sigma": either(POSITIVE, list_of(POSITIVE, min_items=1)),
    "loss.spectrum.sigma_weights": list_of(number(0), min_items=1, null=True),
    "loss.spectrum.bin_size": POSITIVE,
    "loss.spectrum.max_mz": POSITIVE,
    "loss.spectrum.variance_aware": boolean(),
    "loss.spectrum.mass_mode": choice("expected", "straight_through"),
    "loss.spectrum.charges": list_of(integer(1), min_items=1),
    "loss.spectrum.huber_delta": POSITIVE,
    "loss.precursor.type": choice("scaled_l1", "log1p", "expected_squared", "none"),
    "loss.precursor.scale_factor": number(0),
    "loss.precursor.ppm_scale": POSITIVE,
    "loss.precursor.target": choice("label", "measured"),
    "loss.precursor.isotope_offsets": integer(0),
    "loss.precursor.mass_mode": choice("expected", "straight_through"),
    "curriculum.scale_to_max_steps": boolean(),
    "curriculum.reference_steps": integer(1),
    "curriculum.force_final": boolean(),
    "curriculum.stages": list_of(mapping(), min_items=1),
    "curriculum.weight_scale.spectrum": number(0),
    "curriculum.weight_scale.precursor": number(0),
    "optim.lr": POSITIVE,
    "optim.weight_decay": number(0),
    "optim.betas": list_of(number(0, 1, high_open=True), length=2),
    "optim.warmup_steps": integer(0),
    "optim.warmup_fraction": number(0, 0.5, null=True),
    "optim.min_lr_ratio": number(0, 1),
    "optim.gradient_clip": number(0, low_open=True, null=True),
    "optim.gradient_clip_mode": choice("total", "per_term"),
    "optim.physics_gradient_cap": number(0, low_open=True, null=True),
    "trainer.max_steps": integer(1),
    "trainer.val_every_n_steps": integer(1),
    "trainer.checkpoint_every_n_steps": integer(1, null=True),
    "trainer.log_every_n_steps": integer(1),
    "trainer.accelerator": choice("cpu", "gpu", "cuda", "mps", "auto"),
    "trainer.devices": either(integer(1), choice("auto")),
    "trainer.strategy": choice("auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true"),
    "trainer.precision": choice("32-true", "32", 32, "bf16-mixed", "16-mixed", "bf16-true", "64-true", 64),
    "trainer.out": text(),
    "trainer.checkpoint_monitor": text(),
    "trainer.stop_at_token_acc": number(0, 1, low_open=True, null=True),
    "trainer.stop_at_step": integer(1, null=True),
    "trainer.max_epochs": integer(1, null=True),
    "trainer.early_stopping_patience": integer(1, null=True),
    "trainer.max_time": duration(null=True),
    "trainer.val_decode_beam": integer(1),
    "trainer.val_decode_batches": integer(0, null=True),
    "trainer.val_decode_tolerance_ppm": number(0, low_open=True, null=True),
    "trainer.val_real_beam": integer(1),
    "trainer.val_real_tolerance_ppm": number(0, low_open=True, null=True),
    "trainer.val_real_max_spectra": integer(0, null=True),
    "trainer.progress_bar": boolean(),
    "monitors.nan_guard_max_consecutive": integer(1),
    "monitors.gradient_flow_every_n_steps": integer(0),
}

#: Sections whose keys are the fields of another package's dataclass: one rule per field, from its type
#: (the dataclass then checks what a type cannot say, e.g. ``min_mz ≤ max_mz``).
SECTION_FIELDS: dict[str, type] = {"data.preprocess": PreprocessConfig, "data.simulator": SimulatorConfig}


def _field_rule(annotation) -> Rule:
    """The rule of a dataclass field's type: float, int, str, bool, a fixed-length tuple of floats, or X | None."""
    arguments = typing.get_args(annotation)
    if type(None) in arguments:
        inner = [a for a in arguments if a is not type(None)]
        rule = _field_rule(inner[0])
        return Rule(lambda v: v is None or rule.accepts(v), rule.allowed + " or null",
                    lambda v: v if v is None else rule.normalise(v))
    if typing.get_origin(annotation) is tuple:
        return list_of(_field_rule(arguments[0]), length=len(arguments))
    return {float: number(), int: integer(), str: text(), bool: boolean()}[annotation]


def _section_rules() -> dict[str, Rule]:
    rules = {}
    for section, cls in SECTION_FIELDS.items():
        hints = typing.get_type_hints(cls)
        rules.update({f"{section}.{f.name}": _field_rule(hints[f.name]) for f in fields(cls)})
    return rules


RULES.update(_section_rules())


def section_keys(path: str) -> set[str] | None:
    """The keys a ``SECTION_FIELDS`` section accepts (None for any other path)."""
    cls = SECTION_FIELDS.get(path)
    return None if cls is None else {f.name for f in fields(cls)}


def first_problem(config: Mapping, defaults: Mapping, where: str = "") -> str | None:
    """One line (key, value, what is allowed) for the first value out of type or range; None if all fit."""
    for key, value in config.items():
        path = f"{where}{key}"
        default = defaults.get(key) if isinstance(defaults, Mapping) else None
        if path in SECTION_FIELDS or (isinstance(default, Mapping) and default and path not in RULES):
            problem = first_problem(value, default or {}, f"{path}.") if isinstance(value, Mapping) else None
            if problem:
                return problem
            continue
        rule = RULES.get(path)
        if rule is None:
            return f"config key {path} has no rule in renovo.train.config_rules (add one)"
        if not rule.accepts(value):
            return f"config key {path} = {value!r}: must be {rule.allowed}"
    return None


def normalised(config: Mapping, where: str = "") -> dict:
    """A checked config with every value as its rule reads it (see `Rule.normalise`)."""
    out = {}
    for key, value in config.items():
        path = f"{where}{key}"
        rule = RULES.get(path)
        if rule is None and isinstance(value, Mapping):
            out[key] = normalised(value, f"{path}.")
        else:
            out[key] = value if rule is None else rule.normalise(value)
    return out
