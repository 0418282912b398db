"""Step curriculum: the weights of the spectrum and precursor losses at each step.

A stage table, each stage ``{start, spectrum, precursor}``; a stage lasts until
the next one starts, the last until ``reference_steps``. A weight is a number
or ``[a, b]``, ramped linearly from a at the stage's start to b at its end.
With ``scale_to_max_steps`` the boundaries, defined on ``reference_steps``, are
multiplied by ``max_steps / reference_steps``: the proposal's 100k-step table then
fits a 5,000-step run (docs/background.md §7 — unscaled, stage 1 alone lasts 10k steps
and a 5k run never turns the physics losses on).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from renovo.errors import RenovoError


class CurriculumError(RenovoError):
    pass


@dataclass(frozen=True)
class Stage:
    start: float  # step at which the stage begins (already scaled)
    end: float  # step at which it ends (next stage's start, or the end of the table)
    spectrum: tuple[float, float]  # weight at start, at end
    precursor: tuple[float, float]


def _weight_pair(value, where: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(value)
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    raise CurriculumError(f"curriculum {where}: a weight is a number or [start, end], got {value!r}")


class Curriculum:
    """``weights(step) -> (spectrum_weight, precursor_weight)``."""

    def __init__(
        self,
        stages: Sequence[Mapping],
        *,
        reference_steps: int = 100_000,
        scale_to_max_steps: bool = False,
        max_steps: int | None = None,
        force_final: bool = False,
    ):
        if not stages:
            raise CurriculumError("curriculum needs at least one stage")
        if reference_steps <= 0:
            raise CurriculumError(f"curriculum reference_steps must be positive, got {reference_steps}")
        scale = 1.0
        if scale_to_max_steps:
            if not max_steps or max_steps <= 0:
                raise CurriculumError("curriculum.scale_to_max_steps needs a positive max_steps")
            scale = max_steps / reference_steps
        parsed = []
        for i, stage in enumerate(stages):
            unknown = set(stage) - {"start", "spectrum", "precursor"}
            if unknown or "start" not in stage:
                raise CurriculumError(
                    f"curriculum stage {i}: keys are start, spectrum, precursor; got {sorted(stage)}"
                )
            parsed.append((
                float(stage["start"]),
                _weight_pair(stage.get("spectrum", 0.0), f"stage {i} spectrum"),
                _weight_pair(stage.get("precursor", 0.0), f"stage {i} precursor"),
            ))
        starts = [p[0] for p in parsed]
        if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
            raise CurriculumError(f"curriculum stage starts must begin at 0 and increase, got {starts}")
        if starts[-1] >= reference_steps:
            raise CurriculumError(f"last stage starts at {starts[-1]} ≥ reference_steps {reference_steps}")
        ends = starts[1:] + [float(reference_steps)]
        self.stages = [
            Stage(start * scale, end * scale, spec, prec)
            for (start, spec, prec), end in zip(parsed, ends)
        ]
        self.scale = scale
        self.force_final = force_final

    @classmethod
    def from_config(cls, config: Mapping) -> "Curriculum":
        c = config["curriculum"]
        return cls(
            c["stages"],
            reference_steps=int(c["reference_steps"]),
            scale_to_max_steps=bool(c["scale_to_max_steps"]),
            max_steps=int(config["trainer"]["max_steps"]),
            force_final=bool(c.get("force_final", False)),
        )

    def stage_index(self, step: int) -> int:
        if self.force_final:
            return len(self.stages) - 1
        index = 0
        for i, stage in enumerate(self.stages):
            if step >= stage.start:
                index = i
        return index

    def weights(self, step: int) -> tuple[float, float]:
        stage = self.stages[self.stage_index(step)]
        if self.force_final:
            return stage.spectrum[1], stage.precursor[1]
        span = stage.end - stage.start
        t = min(max((step - stage.start) / span, 0.0), 1.0) if span > 0 else 1.0
        lerp = lambda pair: pair[0] + (pair[1] - pair[0]) * t  # noqa: E731
        return lerp(stage.spectrum), lerp(stage.precursor)

    def describe(self) -> str:
        lines = []
        for i, s in enumerate(self.stages, 1):
            lines.append(
                f"stage {i}: steps {s.start:,.0f}–{s.end:,.0f}  spectrum {s.spectrum[0]:g}"
                + (f"→{s.spectrum[1]:g}" if s.spectrum[0] != s.spectrum[1] else "")
                + f"  precursor {s.precursor[0]:g}"
                + (f"→{s.precursor[1]:g}" if s.precursor[0] != s.precursor[1] else "")
            )
        return "\n".join(lines)
