"""Type and range of every config value, checked before any work starts.

Each rule says what a key accepts in words, so a bad value is one line
``config key optim.lr = 'abc': must be a number > 0``. Keys without a rule
of their own must keep the type of their default (a number stays a number).
Sections read by another package's dataclass (``data.preprocess``,
``data.simulator``) and the curriculum's stage table are checked where they
are read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Rule:
    """``accepts(value)`` is True for an allowed value; ``allowed`` says which in words."""

    accepts: Callable[[Any], bool]
    allowed: str


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
    return Rule(accepts, "a number" + (" " + " and ".join(parts) if parts else "") + (" or null" if null else ""))


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
    return Rule(accepts, f"{size}, each {item.allowed}" + (" (or null)" if null else ""))


def either(*rules: Rule) -> Rule:
    return Rule(lambda v: any(r.accepts(v) for r in rules), " or ".join(r.allowed for r in rules))


def mapping(null: bool = False) -> Rule:
    return Rule(lambda v: isinstance(v, Mapping) or (null and v is None), "a mapping" + (" or null" if null else ""))


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
    "trainer.val_real_beam": integer(1),
    "trainer.val_real_tolerance_ppm": number(0, low_open=True, null=True),
    "trainer.val_real_max_spectra": integer(1, null=True),
    "trainer.progress_bar": boolean(),
    "monitors.nan_guard_max_consecutive": integer(1),
    "monitors.gradient_flow_every_n_steps": integer(0),
}

#: Sections another package validates (their dataclass names the bad field).
UNCHECKED = ("data.preprocess", "data.simulator")


def _like(default) -> Rule:
    """The rule for a key without one: the type of its default."""
    if isinstance(default, bool):
        return boolean()
    if isinstance(default, int):
        return integer()
    if isinstance(default, float):
        return number()
    if isinstance(default, str):
        return text()
    if isinstance(default, list):
        return Rule(lambda v: isinstance(v, (list, tuple)), "a list")
    if isinstance(default, Mapping):
        return mapping()
    return Rule(lambda v: True, "anything")


def first_problem(config: Mapping, defaults: Mapping, where: str = "") -> str | None:
    """One line (key, value, what is allowed) for the first value out of type or range; None if all fit."""
    for key, value in config.items():
        path = f"{where}{key}"
        if path in UNCHECKED:
            continue
        default = defaults.get(key) if isinstance(defaults, Mapping) else None
        if isinstance(default, Mapping) and default and path not in RULES:
            problem = first_problem(value, default, f"{path}.") if isinstance(value, Mapping) else None
            if problem:
                return problem
            continue
        rule = RULES.get(path) or _like(default)
        if not rule.accepts(value):
            return f"config key {path} = {value!r}: must be {rule.allowed}"
    return None
