"""Standard metrics on hand-built cases whose answers are worked out by hand."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.evaluate import area_under_curve, evaluate_peptides, match_peptide, precision_coverage


def test_identical_peptides_match_fully():
    result = evaluate_peptides(["PEPTIDEK", "AC[Carbamidomethyl]DK"], ["PEPTIDEK", "ACDK"])
    assert result["aa_precision"] == 1.0
    assert result["aa_recall"] == 1.0
    assert result["peptide_recall"] == 1.0
    assert result["peptide_precision"] == 1.0
    assert result["n_aa_true"] == 12


def test_isoleucine_leucine_match_by_mass_and_are_counted():
    result = evaluate_peptides(["PELIK"], ["PEILK"])
    assert result["peptide_recall"] == 1.0
    assert result["confusions"]["I/L"] == 2


def test_near_isobaric_pairs_match_within_tolerance_and_are_counted():
    # K/Q differ by 0.036 Da and F/M[Oxidation] by 0.033 Da: both under 0.1 Da.
    result = evaluate_peptides(["PEQR", "PEM[Oxidation]K"], ["PEKR", "PEFK"])
    assert result["peptide_recall"] == 1.0
    assert result["confusions"] == {"I/L": 0, "K/Q": 1, "F/M[Oxidation]": 1}


def test_different_lengths_same_mass():
    # GG has the mass of N: the prefix masses re-align at K, only K matches.
    match = match_peptide("GGK", "NK")
    assert match.matches.tolist() == [False, False, True]
    result = evaluate_peptides(["GGK"], ["NK"])
    assert result["aa_precision"] == pytest.approx(1 / 3)
    assert result["aa_recall"] == pytest.approx(1 / 2)
    assert result["peptide_recall"] == 0.0


def test_modified_residue_against_unmodified_label():
    # M[Oxidation] is 16 Da heavier than M: the prefix pass stops there and the
    # suffix pass recovers the C-terminal K.
    match = match_peptide("PEM[Oxidation]K", "PEMK")
    assert match.matches.tolist() == [True, True, False, True]
    result = evaluate_peptides(["PEM[Oxidation]K"], ["PEMK"])
    assert result["aa_precision"] == 0.75 and result["aa_recall"] == 0.75
    assert result["peptide_precision"] == 0.0


def test_n_terminal_modification_is_folded_into_first_residue():
    match = match_peptide("[Acetyl]-PEK", "PEK")
    assert match.n_pred == 3
    assert match.matches.tolist() == [False, True, True]
    assert match_peptide("[Acetyl]-PEK", "[Acetyl]-PEK").peptide_match


def test_mass_delta_notation_matches_named_modification():
    assert match_peptide("PEM+15.995K", "PEM[Oxidation]K").peptide_match


def test_shifted_error_in_middle_recovered_by_suffix_pass():
    # Swapping two residues keeps the prefix masses equal after the pair.
    match = match_peptide("PEAGK", "PEGAK")
    assert match.matches.tolist() == [True, True, False, False, True]


def test_missing_predictions_count_against_recall_not_precision():
    result = evaluate_peptides([None, "PEK", ""], ["PEK", "PEK", "PEK"])
    assert result["n_predicted"] == 1
    assert result["aa_precision"] == 1.0
    assert result["aa_recall"] == pytest.approx(3 / 9)
    assert result["peptide_recall"] == pytest.approx(1 / 3)
    assert result["peptide_precision"] == 1.0


def test_all_none_predictions_give_zeros_without_errors():
    result = evaluate_peptides([None, None], ["PEK", "GGR"], scores=[None, None])
    assert result["aa_precision"] == 0.0 and result["aa_recall"] == 0.0
    assert result["peptide_recall"] == 0.0 and result["peptide_precision"] == 0.0
    assert result["auc"] == 0.0


def test_empty_inputs():
    result = evaluate_peptides([], [], scores=[])
    assert result["n_spectra"] == 0 and result["auc"] == 0.0


def test_unlabelled_spectra_are_left_out():
    result = evaluate_peptides(["PEK", "PEK"], [None, "PEK"])
    assert result["n_spectra"] == 1 and result["n_unlabelled"] == 1
    assert result["peptide_recall"] == 1.0


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        evaluate_peptides(["PEK"], ["PEK", "PEK"])


def test_precision_coverage_and_auc_known_answer():
    # Correct prediction ranked first, wrong one second, third spectrum unpredicted.
    coverage, precision = precision_coverage([False, True, False], [0.5, 0.9, None])
    assert coverage.tolist() == pytest.approx([1 / 3, 2 / 3])
    assert precision.tolist() == pytest.approx([1.0, 0.5])
    # flat at 1 to 1/3, then a trapezoid from 1 to 0.5 over 1/3
    assert area_under_curve(coverage, precision) == pytest.approx(1 / 3 + (1 / 3) * 0.75)
    result = evaluate_peptides(["PEK", "PEK", None], ["GGR", "PEK", "PEK"], scores=[0.5, 0.9, None], return_curve=True)
    assert result["auc"] == pytest.approx(1 / 3 + 0.25)
    assert result["precision"] == pytest.approx([1.0, 0.5])


def test_auc_is_one_for_perfect_predictions_and_rewards_good_ranking():
    perfect = evaluate_peptides(["PEK"] * 4, ["PEK"] * 4, scores=[0.1, 0.2, 0.3, 0.4])
    assert perfect["auc"] == pytest.approx(1.0)
    good = evaluate_peptides(["PEK", "GGR"], ["PEK", "PEK"], scores=[0.9, 0.1])
    bad = evaluate_peptides(["PEK", "GGR"], ["PEK", "PEK"], scores=[0.1, 0.9])
    assert good["auc"] > bad["auc"]
    assert good["auc"] == pytest.approx(0.5 + 0.5 * 0.75)
    assert bad["auc"] == pytest.approx(0.5 * 0.25)


residue = st.sampled_from(list("GASPVTLINDQKEMHFRYW") + ["M[Oxidation]", "N[Deamidated]"])
peptide = st.lists(residue, min_size=1, max_size=12).map("".join)


@settings(max_examples=200, deadline=None)
@given(peptide)
def test_every_peptide_matches_itself_and_its_il_swap(text):
    assert match_peptide(text, text).peptide_match
    swapped = text.translate(str.maketrans("IL", "LI"))
    assert match_peptide(swapped, text).peptide_match


@settings(max_examples=300, deadline=None)
@given(peptide, peptide)
def test_metrics_are_bounded(prediction, target):
    match = match_peptide(prediction, target)
    assert match.n_matched <= min(match.n_pred, match.n_true)
    result = evaluate_peptides([prediction], [target], scores=[0.0])
    for key in ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision", "auc"):
        assert 0.0 <= result[key] <= 1.0 and math.isfinite(result[key])
    if match.peptide_match:
        assert match.n_pred == match.n_true


def test_fallback_scores_shifted_by_minus_one_are_calibrated_as_their_probability():
    """A fallback PSM's score is its probability − 1 (it sorts below every mass-matched one); calibration reads
    it back as the probability instead of dropping the calibration of the whole run."""
    result = evaluate_peptides(["PEK", "GGR", "PEK"], ["PEK", "GGR", "AAK"], scores=[0.9, -0.2, 0.1])
    assert "calibration" in result
    rows = [r for r in result["calibration"]["reliability"] if r["psms"]]
    assert sum(r["psms"] for r in rows) == 3
    assert result["auc"] is not None
