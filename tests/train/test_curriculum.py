"""The step curriculum: the proposal's table, ramps, rescaling to max_steps."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
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
