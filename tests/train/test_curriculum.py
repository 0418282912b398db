"""The step curriculum: the proposal's table, ramps, rescaling to max_steps."""
from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from renovo.train.config import load_config
from renovo.train.curriculum import Curriculum, CurriculumError

SEED_TABLE = load_config()["curriculum"]["stages"]


def test_seed_table_unscaled():
    c = Curriculum(SEED_TABLE, reference_steps=100_000)
    assert c.weights(0) == (0.0, 0.0)
    assert c.weights(9_999) == (0.0, 0.0)
    assert c.weights(10_000) == (0.10, 0.0)
    assert c.weights(25_000) == (0.15, 0.01)
    assert c.weights(35_000) == (0.20, 0.015)
    spec, prec = c.weights(40_000)
    assert spec == 0.25 and prec == pytest.approx(0.02)
    assert c.weights(70_000)[1] == pytest.approx(0.05)  # halfway through the 0.02→0.08 ramp
    assert c.weights(100_000)[1] == pytest.approx(0.08)
    assert c.weights(500_000)[1] == pytest.approx(0.08)  # clamps after the table ends
    # A 5,000-step run on the unscaled table never leaves stage 1 (docs/background.md §7).
    assert all(c.weights(s) == (0.0, 0.0) for s in range(0, 5_001, 250))


def test_scaled_to_5000_steps_passes_every_stage():
    c = Curriculum(SEED_TABLE, reference_steps=100_000, scale_to_max_steps=True, max_steps=5_000)
    assert [c.stage_index(s) for s in (0, 499, 500, 1_000, 1_500, 2_000, 4_999)] == [0, 0, 1, 2, 3, 4, 4]
    assert c.weights(600) == (0.10, 0.0)
    assert c.weights(2_000)[1] == pytest.approx(0.02)
    assert c.weights(3_500)[1] == pytest.approx(0.05)
    assert c.weights(5_000) == (0.25, pytest.approx(0.08))


def test_default_config_scales_and_force_final():
    config = load_config(overrides=["trainer.max_steps=1000"])
    c = Curriculum.from_config(config)
    assert c.weights(100) == (0.10, 0.0)
    forced = Curriculum.from_config(load_config(overrides=["curriculum.force_final=true"]))
    assert forced.weights(0) == (0.25, pytest.approx(0.08))


@settings(max_examples=60, deadline=None)
@given(st.integers(100, 1_000_000), st.floats(0, 1))
def test_scaled_weights_depend_only_on_fraction_of_run(max_steps, fraction):
    # At a stage boundary itself, float rounding of the rescaled start decides which side the step is on.
    assume(all(abs(fraction - stage["start"] / 100_000) > 1e-9 for stage in SEED_TABLE))
    scaled = Curriculum(SEED_TABLE, scale_to_max_steps=True, max_steps=max_steps)
    reference = Curriculum(SEED_TABLE)
    got = scaled.weights(fraction * max_steps)
    want = reference.weights(fraction * 100_000)
    assert got[0] == pytest.approx(want[0]) and got[1] == pytest.approx(want[1])
    assert 0.0 <= got[0] <= 0.25 and 0.0 <= got[1] <= 0.08


@pytest.mark.parametrize(
    "stages",
    [
        [],
        [{"start": 10, "spectrum": 0.1}],
        [{"start": 0}, {"start": 0}],
        [{"start": 0, "spectrum": "high"}],
        [{"start": 0, "weight": 1.0}],
    ],
)
def test_bad_tables_are_errors(stages):
    with pytest.raises(CurriculumError):
        Curriculum(stages)


# --- stages that start at a threshold ------------------------------------------------------------------------

THRESHOLD_TABLE = [{"start": 0, "spectrum": 0.0}, {"start": 100, "spectrum": [0.0, 0.05]},
                   {"start": {"token_acc": 0.6}, "spectrum": 0.1, "precursor": 0.01},
                   {"start": 200, "spectrum": 0.15, "precursor": [0.01, 0.02]}]


def test_threshold_stage_waits_for_the_validation_that_reaches_it():
    c = Curriculum(THRESHOLD_TABLE, reference_steps=10_000)
    assert c.threshold == ("val/token_acc", 0.6) and c.threshold_stage == 2
    assert c.stage_index(5_000) == 1  # not reached: the stage before it lasts
    assert c.weights(50)[0] == 0.0
    assert not c.observe_validation(50, {"val/token_acc": 0.9})  # the stage before has not begun yet
    assert not c.observe_validation(300, {"val/token_acc": 0.59})
    assert not c.observe_validation(400, {"val/loss": 1.0})
    assert c.switch_step is None
    assert c.observe_validation(700, {"val/token_acc": 0.6})
    assert c.switch_step == 700
    assert not c.observe_validation(900, {"val/token_acc": 0.9})  # once only
    assert c.switch_step == 700
    assert [c.stage_index(s) for s in (699, 700, 899, 900, 5_000)] == [1, 2, 2, 3, 3]
    assert c.weights(700) == (0.1, 0.01)
    assert c.weights(699)[0] == pytest.approx(0.05 * (699 - 100) / (10_000 - 100))  # ramped over to the table's end
    assert [s.start for s in c.stages] == [0, 100, 700, 900]


def test_steps_after_the_switch_are_comparable():
    early, late = Curriculum(THRESHOLD_TABLE, reference_steps=10_000), Curriculum(THRESHOLD_TABLE, reference_steps=10_000)
    early.set_switch_step(300)
    late.set_switch_step(2_000)
    for offset in (0, 50, 199, 200, 1_000, 5_000):
        assert early.weights(300 + offset) == late.weights(2_000 + offset)
        assert early.stage_index(300 + offset) == late.stage_index(2_000 + offset)


def test_threshold_stage_scales_its_offsets_and_restores_from_config():
    from renovo.train.config import load_config

    config = load_config(None, [{"curriculum": {"stages": THRESHOLD_TABLE, "reference_steps": 10_000,
                                                "scale_to_max_steps": True}, "trainer": {"max_steps": 1_000}}])
    c = Curriculum.from_config(config, switch_step=150)
    assert [s.start for s in c.stages] == [0, 10, 150, 170]
    assert "at the first validation with val/token_acc ≥ 0.6" in Curriculum.from_config(config).describe()


@pytest.mark.parametrize("stages", [
    [{"start": {"token_acc": 0.6}}],  # stage 0 must start at step 0
    [{"start": 0}, {"start": {"token_acc": 0.5}}, {"start": {"token_acc": 0.6}}],  # two thresholds
    [{"start": 0}, {"start": {"token_acc": 1.5}}],
    [{"start": 0}, {"start": {"loss": 0.5}}],
    [{"start": 0}, {"start": {"token_acc": 0.6}}, {"start": 0}],  # offsets after the switch are positive
])
def test_bad_threshold_tables_are_errors(stages):
    with pytest.raises(CurriculumError):
        Curriculum(stages)


def test_weight_scale_multiplies_every_stage():
    stages = [{"start": 0, "spectrum": 0.0, "precursor": 0.0}, {"start": 10, "spectrum": 0.1, "precursor": [0.02, 0.08]}]
    plain = Curriculum(stages, reference_steps=20)
    scaled = Curriculum(stages, reference_steps=20, weight_scale=(0.5, 2.0))
    for step in (0, 5, 10, 15, 20):
        a, b = plain.weights(step), scaled.weights(step)
        assert b == pytest.approx((a[0] * 0.5, a[1] * 2.0))
    config = load_config("gaussian_fallbacks", ["trainer.max_steps=100"])
    assert Curriculum.from_config(config).weights(100)[0] == pytest.approx(0.25 * 0.32)
