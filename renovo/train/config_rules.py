"""The kinds of value a config key accepts: `Rule` and its makers (integer, number, choice, …).

Each rule says what a key accepts in words, so a bad value is one line
``config key optim.lr = 'abc': must be a number > 0``. Every key declares its
rule in `renovo.train.schema`; a dataclass field's rule comes from its type
(`field_rule`). A value is normalised to its rule's type when the config is
loaded (an integer where a number is asked for becomes a float), so code
reading a loaded config never casts it.
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

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


def field_rule(annotation) -> Rule:
    """The rule of a dataclass field's type: float, int, str, bool, a fixed-length tuple of floats, or X | None."""
    arguments = typing.get_args(annotation)
    if type(None) in arguments:
        inner = [a for a in arguments if a is not type(None)]
        rule = field_rule(inner[0])
        return Rule(lambda v: v is None or rule.accepts(v), rule.allowed + " or null",
                    lambda v: v if v is None else rule.normalise(v))
    if typing.get_origin(annotation) is tuple:
        return list_of(field_rule(arguments[0]), length=len(arguments))
    return {float: number(), int: integer(), str: text(), bool: boolean()}[annotation]
