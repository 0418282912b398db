"""The candidate scorer file and the q-values computed from calibrated probabilities."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.decode import CandidateScorer, ScorerError, expected_calibration_error, q_values, scorer_path


def _scorer(**changes) -> CandidateScorer:
    fields = dict(features=["a", "b"], mean=[1.0, 0.0], scale=[2.0, 1.0], coef=[1.5, -0.5], intercept=0.25,
                  calibration_x=[-2.0, 0.0, 2.0], calibration_y=[0.1, 0.4, 0.9])
    return CandidateScorer(**{**fields, **changes})


def test_probability_is_the_isotonic_map_of_the_standardised_decision():
    scorer = _scorer()
    rows = np.array([[1.0, 0.0], [3.0, 1.0], [-100.0, 0.0]])
    decision = ((rows - [1.0, 0.0]) / [2.0, 1.0]) @ [1.5, -0.5] + 0.25
    assert np.allclose(scorer.decision(rows), decision)
    assert np.allclose(scorer.probability(rows), np.interp(decision, [-2.0, 0.0, 2.0], [0.1, 0.4, 0.9]))
    assert scorer.probability(rows)[2] == 0.1  # clipped below the map
    assert scorer.columns(["x", "b", "a"]) == [2, 1]
    with pytest.raises(ScorerError, match="features"):
        scorer.columns(["a"])


def test_save_load_round_trip_and_refusals(tmp_path):
    checkpoint = tmp_path / "m.ckpt"
    checkpoint.write_bytes(b"weights")
    from renovo.decode import file_sha256

    scorer = _scorer(checkpoint_sha256=file_sha256(checkpoint))
    path = scorer.save(scorer_path(checkpoint))
    assert path.name == "m.ckpt.scorer.json"
    assert CandidateScorer.load(path, checkpoint=checkpoint) == scorer
    checkpoint.write_bytes(b"other weights")
    with pytest.raises(ScorerError, match="another checkpoint"):
        CandidateScorer.load(path, checkpoint=checkpoint)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "format_version": 99}))
    with pytest.raises(ScorerError, match="format 99"):
        CandidateScorer.load(path)
    path.write_text(json.dumps({**data, "coef": [1.0]}))
    with pytest.raises(ScorerError, match="malformed"):
        CandidateScorer.load(path)
    path.write_bytes(b"\xff\x00")
    with pytest.raises(ScorerError, match="not a readable scorer"):
        CandidateScorer.load(path)


def test_q_values_known_example_and_ties():
    p = [0.99, 0.9, 0.5, 0.9, 0.2]
    q = q_values(p)
    # Sorted 0.99, 0.9, 0.9, 0.5, 0.2: FDR after each threshold 0.01, (0.01+0.1+0.1)/3 for the tie, …
    assert q[0] == pytest.approx(0.01)
    assert q[1] == q[3] == pytest.approx(0.21 / 3)
    assert q[2] == pytest.approx(0.71 / 4) and q[4] == pytest.approx(1.51 / 5)
    assert q_values([]).shape == (0,)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60))
def test_q_values_are_monotone_in_the_score_and_bounded(p):
    q = q_values(p)
    order = np.argsort(-np.asarray(p), kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-12)  # a lower score never gets a lower q-value
    assert np.all((q >= 0) & (q <= 1 + 1e-12))
    # The q-value is at most the FDR of including exactly the PSMs at or above the score.
    for i, value in enumerate(p):
        kept = np.asarray(p) >= value
        assert q[i] <= (1 - np.asarray(p)[kept]).mean() + 1e-12


def test_expected_calibration_error():
    assert expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
