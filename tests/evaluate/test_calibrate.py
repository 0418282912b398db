"""Fitting the candidate scorer: calibrated on spectra it did not see; refuses what it cannot fit."""
from __future__ import annotations

import numpy as np
import pytest

from renovo.decode import FEATURE_NAMES, expected_calibration_error
from renovo.errors import RenovoError
from renovo.evaluate.calibrate import CandidateTable, fit_scorer, out_of_fold_check, scored_top
from renovo.evaluate.metrics import calibration, fdr_at_thresholds


def synthetic_table(spectra: int, seed: int = 0) -> CandidateTable:
    """Ten candidates per spectrum; the right one (in 40% of spectra) has a higher first feature on average."""
    rng = np.random.default_rng(seed)
    rows, right, spectrum, ranks = [], [], [], []
    for s in range(spectra):
        has_right = rng.random() < 0.4
        for j in range(10):
            rows.append(rng.normal(size=len(FEATURE_NAMES)))
            right.append(False)
            spectrum.append(s)
            ranks.append(j)
        if has_right:
            pick = len(rows) - 10 + int(rng.integers(10))
            rows[pick] = rows[pick] + np.r_[2.5, np.zeros(len(FEATURE_NAMES) - 1)]
            right[pick] = True
    return CandidateTable(np.asarray(rows), np.asarray(right), np.asarray(spectrum), np.asarray(ranks), spectra=spectra)


def test_a_fitted_scorer_is_calibrated_on_new_spectra():
    scorer = fit_scorer(synthetic_table(1500), source="synthetic")
    assert scorer.coef[0] > 1.0 and abs(scorer.coef[1]) < 0.3  # it found the informative feature
    assert np.all(np.diff(scorer.calibration_y) >= 0)
    probability, right, _ = scored_top(synthetic_table(1500, seed=1), scorer)
    assert expected_calibration_error(probability, right) < 0.05
    fdr = fdr_at_thresholds(probability, right)
    ten = next(row for row in fdr if row["q_threshold"] == 0.10)
    assert ten["kept"] > 50 and abs(ten["estimated_fdr"] - ten["actual_fdr"]) < 0.05
    assert scorer.fitted_on["spectra"] == 1500 and scorer.fitted_on["source"] == "synthetic"


def test_no_probability_is_certain_from_a_few_spectra():
    scorer = fit_scorer(synthetic_table(200), source="synthetic")
    assert max(scorer.calibration_y) < 1.0 and min(scorer.calibration_y) > 0.0


def test_out_of_fold_check_and_refusals():
    check = out_of_fold_check(synthetic_table(600))
    assert check["recall_reranked"] > check["recall_rank1"] and 0 <= check["ece"] < 0.1
    table = synthetic_table(50)
    table.correct[:] = False
    with pytest.raises(RenovoError, match="need both right and wrong"):
        fit_scorer(table)


def test_calibration_summary_of_probability_scores():
    result = calibration([True, False, True, True], [0.9, 0.2, 0.8, 0.95])
    assert sum(row["psms"] for row in result["reliability"]) == 4
    assert 0 <= result["ece"] <= 1 and [row["q_threshold"] for row in result["fdr"]] == [0.01, 0.05, 0.10]


def test_train_fits_or_explains_the_missing_scorer_and_calibrate_refuses_overwrite(tmp_path, capsys):
    from renovo.cli import main
    from renovo.decode import scorer_path

    run = tmp_path / "run"
    assert main(["train", "--config", "ce_only", "--preset", "tiny", "--max-steps", "4", "--batch-size", "4",
                 "--out", str(run), "--no-progress", "--set", "data.val_size=4", "--set", "trainer.val_every_n_steps=4",
                 "--scorer-spectra", "24"]) == 0
    printed = capsys.readouterr().out
    # Four steps of a tiny model get no peptide right: the run says so and names the command for later.
    assert "fitting the reranker" in printed and "no scorer written: cannot fit a scorer" in printed
    assert "renovo calibrate --model" in printed
    checkpoint = run / "checkpoints" / "last.ckpt"
    assert not scorer_path(checkpoint).exists()
    scorer_path(checkpoint).write_text("{}")
    assert main(["calibrate", "--model", str(checkpoint), "--spectra", "8", "--no-progress"]) == 2
    assert "exists" in capsys.readouterr().err and scorer_path(checkpoint).read_text() == "{}"
