"""Step curriculum: the weights of the spectrum and precursor losses at each step.

A stage table, each stage ``{start, spectrum, precursor}``; a stage lasts until
the next one starts, the last until ``reference_steps``. A weight is a number
or ``[a, b]``, ramped linearly from a at the stage's start to b at its end.
With ``scale_to_max_steps`` the boundaries, defined on ``reference_steps``, are
multiplied by ``max_steps / reference_steps``: the proposal's 100k-step table then
fits a 5,000-step run (docs/background.md §7 — unscaled, stage 1 alone lasts 10k steps
and a 5k run never turns the physics losses on). ``weight_scale`` multiplies every
stage's spectrum and precursor weights: a config says how strong its losses are on
whatever table an experiment plan gives it (e.g. the proposal's fallback "reduce the
spectrum weight to 0.05–0.08" is ``spectrum: 0.32`` on its table).

A stage may instead start at a threshold, ``start: {token_acc: 0.6}``: it begins at
the first validation (after the previous stage began) whose teacher-forced
validation token accuracy (``val/token_acc``) reaches the value — the proposal's
"switch the physics losses on once the model is 60% right". At most one stage
starts at a threshold. The stages after it start at steps counted **from the
switch** (their ``start`` is an offset) and the table after the switch spans
``reference_steps`` (scaled) from it, so the weights are a function of the steps
since the switch: steps after the switch stay comparable across configs that
switched at different steps. Until the switch, the stage before it
lasts (a ramp in it spans up to the end of the table, switch or not, so the
weights of a step never depend on when the switch came). `observe_validation` makes
the switch; the training module stores ``switch_step`` in its checkpoints so a
resumed run keeps it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from renovo.errors import RenovoError


class CurriculumError(RenovoError):
    pass


@dataclass(frozen=True)
class Stage:
    start: float  # step at which the stage begins (already scaled; inf for a threshold stage not yet reached)
    end: float  # step at which it ends (next stage's start, or the end of the table)
    spectrum: tuple[float, float]  # weight at start, at end
    precursor: tuple[float, float]
    ramp_end: float | None = None  # where a [a, b] ramp reaches b, when not at ``end``


def _weight_pair(value, where: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(value)
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    raise CurriculumError(f"curriculum {where}: a weight is a number or [start, end], got {value!r}")


#: Thresholds a stage may start at: config key -> the validation metric it reads.
THRESHOLD_METRICS = {"token_acc": "val/token_acc"}


def _start(value, i: int) -> float | tuple[str, float]:
    """A stage's start: a step (number) or (metric, threshold)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (key, threshold), = value.items()
        if key in THRESHOLD_METRICS and isinstance(threshold, (int, float)) and 0 < float(threshold) <= 1:
            return THRESHOLD_METRICS[key], float(threshold)
    raise CurriculumError(f"curriculum stage {i}: start is a step or {{token_acc: value in (0, 1]}}, got {value!r}")


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
        weight_scale: tuple[float, float] = (1.0, 1.0),
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
            spectrum = _weight_pair(stage.get("spectrum", 0.0), f"stage {i} spectrum")
            precursor = _weight_pair(stage.get("precursor", 0.0), f"stage {i} precursor")
            parsed.append((
                _start(stage["start"], i),
                tuple(w * float(weight_scale[0]) for w in spectrum),
                tuple(w * float(weight_scale[1]) for w in precursor),
            ))
        thresholds = [i for i, p in enumerate(parsed) if isinstance(p[0], tuple)]
        if len(thresholds) > 1:
            raise CurriculumError(f"curriculum: at most one stage starts at a threshold, got stages {thresholds}")
        if thresholds and thresholds[0] == 0:
            raise CurriculumError("curriculum stage 0 starts at step 0, not at a threshold")
        self.threshold_stage = thresholds[0] if thresholds else None
        self.threshold = parsed[thresholds[0]][0] if thresholds else None  # (metric, value) | None
        before = [p[0] for p in parsed[:self.threshold_stage]] if thresholds else [p[0] for p in parsed]
        after = [p[0] for p in parsed[self.threshold_stage + 1:]] if thresholds else []
        if before[0] != 0 or any(b <= a for a, b in zip(before, before[1:])):
            raise CurriculumError(f"curriculum stage starts must begin at 0 and increase, got {before}")
        if after and (after[0] <= 0 or any(b <= a for a, b in zip(after, after[1:]))):
            raise CurriculumError("curriculum stages after a threshold stage start at increasing positive step "
                                  f"offsets from the switch, got {after}")
        last = after[-1] if after else before[-1]
        if last >= reference_steps:
            raise CurriculumError(f"last stage starts at {last} ≥ reference_steps {reference_steps}")
        self._parsed = parsed
        self.scale = scale
        self.reference_end = float(reference_steps) * scale
        self.force_final = force_final
        self.switch_step: int | None = None
        self.stages = self._build_stages()

    def _build_stages(self) -> list[Stage]:
        """The stage table at the current switch step (threshold stage not reached: start = inf)."""
        k = self.threshold_stage
        starts = []
        for i, (start, _, _) in enumerate(self._parsed):
            if k is None or i < k:
                starts.append(start * self.scale)
            elif self.switch_step is None:
                starts.append(math.inf)
            else:
                starts.append(float(self.switch_step) + (0.0 if i == k else start * self.scale))
        stages = []
        for i, (start, (_, spec, prec)) in enumerate(zip(starts, self._parsed)):
            table_end = self.reference_end
            if k is not None and self.switch_step is not None and i >= k:
                table_end = self.switch_step + self.reference_end  # after the switch the table restarts there
            following = starts[i + 1] if i + 1 < len(starts) else table_end
            end = table_end if math.isinf(following) else max(following, start)
            # The stage before the threshold stage has no end known in advance: its ramp spans up to the end
            # of the table whether or not the switch came, so a step's weights never change afterwards.
            ramp_end = self.reference_end if k is not None and i == k - 1 else None
            stages.append(Stage(start, end, spec, prec, ramp_end))
        return stages

    def observe_validation(self, step: int, metrics: Mapping[str, float]) -> bool:
        """Switch to the threshold stage at ``step`` if ``metrics`` (a validation's values) reach the threshold
        and the stage before it has begun; True when it switched now."""
        if self.threshold is None or self.switch_step is not None:
            return False
        metric, value = self.threshold
        reached = metrics.get(metric)
        previous_start = self._parsed[self.threshold_stage - 1][0] * self.scale
        if reached is None or not math.isfinite(float(reached)) or float(reached) < value or step < previous_start:
            return False
        self.set_switch_step(step)
        return True

    def set_switch_step(self, step: int | None) -> None:
        """Restore (or clear) the switch to the threshold stage, e.g. from a checkpoint."""
        if step is not None and self.threshold is None:
            raise CurriculumError("this curriculum has no threshold stage to switch to")
        self.switch_step = None if step is None else int(step)
        self.stages = self._build_stages()

    @classmethod
    def from_config(cls, config: Mapping, switch_step: int | None = None) -> "Curriculum":
        c = config["curriculum"]
        scale = c["weight_scale"]
        curriculum = cls(
            c["stages"],
            reference_steps=c["reference_steps"],
            scale_to_max_steps=c["scale_to_max_steps"],
            max_steps=config["trainer"]["max_steps"],
            force_final=c["force_final"],
            weight_scale=(scale["spectrum"], scale["precursor"]),
        )
        if switch_step is not None:
            curriculum.set_switch_step(switch_step)
        return curriculum

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
        span = (stage.end if stage.ramp_end is None else stage.ramp_end) - stage.start
        t = min(max((step - stage.start) / span, 0.0), 1.0) if span > 0 else 1.0
        lerp = lambda pair: pair[0] + (pair[1] - pair[0]) * t  # noqa: E731
        return lerp(stage.spectrum), lerp(stage.precursor)

    def describe(self) -> str:
        lines = []
        for i, s in enumerate(self.stages, 1):
            if self.threshold_stage is not None and i - 1 >= self.threshold_stage and self.switch_step is None:
                metric, value = self.threshold
                offset = self._parsed[i - 1][0]
                when = (f"at the first validation with {metric} ≥ {value:g}" if i - 1 == self.threshold_stage
                        else f"{offset * self.scale:,.0f} steps after that switch")
            else:
                when = f"steps {s.start:,.0f}–{s.end:,.0f}"
            lines.append(
                f"stage {i}: {when}  spectrum {s.spectrum[0]:g}"
                + (f"→{s.spectrum[1]:g}" if s.spectrum[0] != s.spectrum[1] else "")
                + f"  precursor {s.precursor[0]:g}"
                + (f"→{s.precursor[1]:g}" if s.precursor[0] != s.precursor[1] else "")
            )
        return "\n".join(lines)
