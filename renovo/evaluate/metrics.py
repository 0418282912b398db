"""The field's standard peptide metrics (DeepNovo → Casanovo → NovoBench).

A predicted residue matches a true one when their masses agree within
``residue_tolerance_da`` (0.1 Da) and the masses of the prefixes before them
agree within ``prefix_tolerance_da`` (0.5 Da). The alignment walks from the
N-terminus (prefix pass); where it first fails, a second walk from the
C-terminus (suffix pass) scores the rest — Casanovo's ``aa_match_prefix_suffix``.
Match flags are kept per position of the longer peptide, so peptides of
different lengths never match whole. A peptide matches when every position does.

An N-terminal modification (``[Acetyl]-``) is folded into the first residue's
mass, as :func:`renovo.chem.residue_masses_da` does, so it counts as part of
that residue rather than as a residue of its own.

Amino-acid precision = matched / predicted residues; recall = matched / true
residues. Peptide recall = matched peptides / all labelled spectra; peptide
precision = matched peptides / spectra with a prediction.

A prediction renovo cannot read (:class:`UnreadablePrediction`) is a
prediction, and a wrong one: leaving it out of the precision denominator would
reward a tool for writing what renovo cannot parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from renovo.chem import parse_peptide, residue_masses_da
from renovo.decode.scorer import expected_calibration_error, q_values
from renovo.chem.vocabulary import Vocabulary

#: Residue pairs the standard tolerances cannot tell apart (|Δm| < 0.1 Da).
CONFUSION_PAIRS: dict[str, frozenset[str]] = {
    "I/L": frozenset({"I", "L"}),
    "K/Q": frozenset({"K", "Q"}),
    "F/M[Oxidation]": frozenset({"F", "M[Oxidation]"}),
}


class UnreadablePrediction(str):
    """A predicted peptide renovo cannot parse: scored as predicted and wrong, never as "no prediction"."""

    @property
    def n_residues(self) -> int:
        """Its residue letters outside brackets/parentheses: the residues it predicts, none of them matched."""
        return sum(c.isupper() for c in re.sub(r"\[[^\]]*\]|\([^)]*\)", "", self))


@dataclass(frozen=True)
class PeptideMatch:
    """How one prediction aligns with its label.

    ``matches`` has one flag per position of the longer peptide (Casanovo's
    convention); ``aligned`` lists (predicted, true) residue tokens paired by
    prefix/suffix mass, matched or not.
    """

    matches: np.ndarray  # (max(len_pred, len_true),) bool
    n_pred: int
    n_true: int
    aligned: tuple[tuple[str, str], ...]

    @property
    def n_matched(self) -> int:
        return int(self.matches.sum())

    @property
    def peptide_match(self) -> bool:
        return bool(self.matches.size) and bool(self.matches.all())


def _residues(peptide: str | None, vocabulary: Vocabulary | None) -> tuple[list[str], np.ndarray]:
    """Residue tokens (N-terminal mod dropped) and masses (mod folded in), N→C."""
    if peptide is None or (isinstance(peptide, str) and not peptide.strip()):
        return [], np.zeros(0, dtype=np.float64)
    parsed = parse_peptide(peptide, vocabulary)
    return list(parsed.residues), residue_masses_da(parsed, vocabulary)


def _walk(
    pred: np.ndarray,
    true: np.ndarray,
    order: Sequence[int] | None,
    matches: np.ndarray,
    pairs: list[tuple[int, int]],
    stop: int,
    prefix_tolerance_da: float,
    residue_tolerance_da: float,
) -> None:
    """One alignment pass; ``order`` None walks N→C, else C→N down to ``stop``."""
    forward = order is None
    i, j = (0, 0) if forward else (len(pred) - 1, len(true) - 1)
    step = 1 if forward else -1
    cum_pred = cum_true = 0.0

    def inside(index: int, length: int) -> bool:
        return index < length if forward else index >= stop

    while inside(i, len(pred)) and inside(j, len(true)):
        mass_pred, mass_true = pred[i], true[j]
        if abs((cum_pred + mass_pred) - (cum_true + mass_true)) < prefix_tolerance_da:
            matches[max(i, j)] = abs(mass_pred - mass_true) < residue_tolerance_da
            pairs.append((i, j))
            i, j = i + step, j + step
            cum_pred, cum_true = cum_pred + mass_pred, cum_true + mass_true
        elif cum_true + mass_true > cum_pred + mass_pred:
            i, cum_pred = i + step, cum_pred + mass_pred
        else:
            j, cum_true = j + step, cum_true + mass_true


def match_peptide(
    prediction: str | None,
    target: str,
    vocabulary: Vocabulary | None = None,
    prefix_tolerance_da: float = 0.5,
    residue_tolerance_da: float = 0.1,
) -> PeptideMatch:
    """Align a predicted peptide with its label (prefix pass, then suffix pass)."""
    true_tokens, true = _residues(target, vocabulary)
    if isinstance(prediction, UnreadablePrediction):
        n_pred = prediction.n_residues
        return PeptideMatch(matches=np.zeros(max(n_pred, len(true)), dtype=bool), n_pred=n_pred,
                            n_true=len(true), aligned=())
    pred_tokens, pred = _residues(prediction, vocabulary)
    matches = np.zeros(max(len(pred), len(true)), dtype=bool)
    pairs: list[tuple[int, int]] = []
    if len(pred):
        _walk(pred, true, None, matches, pairs, 0, prefix_tolerance_da, residue_tolerance_da)
        if not matches.all():
            stop = int(np.argmin(matches))  # first position the prefix pass left unmatched
            _walk(pred, true, (), matches, pairs, stop, prefix_tolerance_da, residue_tolerance_da)
    aligned = tuple((pred_tokens[i], true_tokens[j]) for i, j in sorted(set(pairs)))
    return PeptideMatch(matches=matches, n_pred=len(pred), n_true=len(true), aligned=aligned)


def precision_coverage(correct: Sequence[bool], scores: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """Precision–coverage curve, predictions ranked by score (highest first).

    ``scores[i]`` is None for a spectrum with no prediction; those are never
    ranked, so the curve ends at coverage = predicted / all spectra with
    precision = peptide precision. Returns ``(coverage, precision)``, each
    (n_predicted,), coverage over all spectra.
    """
    correct = np.asarray(correct, dtype=bool)
    has = np.array([s is not None and np.isfinite(s) for s in scores], dtype=bool)
    n_total = len(correct)
    if not has.any():
        return np.zeros(0), np.zeros(0)
    values = np.array([s for s, h in zip(scores, has) if h], dtype=np.float64)
    ranked = correct[has][np.argsort(-values, kind="stable")]
    rank = np.arange(1, len(ranked) + 1)
    return rank / n_total, np.cumsum(ranked) / rank


def area_under_curve(coverage: np.ndarray, precision: np.ndarray) -> float:
    """Trapezoid area under the precision–coverage curve, starting at coverage 0
    with the first point's precision (so a perfect ranking of every spectrum has area 1)."""
    if len(coverage) == 0:
        return 0.0
    x = np.concatenate([[0.0], coverage])
    y = np.concatenate([[precision[0]], precision])
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def fdr_at_thresholds(probability: Sequence[float], correct: Sequence[bool],
                      thresholds: Sequence[float] = (0.01, 0.05, 0.10)) -> list[dict]:
    """For each q-value threshold: PSMs kept (q ≤ threshold), how many are right, the estimated FDR (mean
    1 − p of the kept) and the actual FDR (share of the kept that are wrong)."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    q = q_values(p)
    rows = []
    for threshold in thresholds:
        kept = q <= threshold
        n = int(kept.sum())
        rows.append({"q_threshold": float(threshold), "kept": n, "right": int(y[kept].sum()),
                     "estimated_fdr": float((1 - p[kept]).mean()) if n else float("nan"),
                     "actual_fdr": float(1 - y[kept].mean()) if n else float("nan")})
    return rows


def calibration(correct: Sequence[bool], probabilities: Sequence[float], bins: int = 10) -> dict:
    """How well scores that claim to be probabilities are calibrated: expected calibration error, the reliability
    table (per equal-width bin: PSMs, mean score, fraction right) and estimated vs actual FDR at the 1%, 5% and
    10% q-value thresholds."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    index = np.minimum((p * bins).astype(int), bins - 1)
    table = [{"bin": [b / bins, (b + 1) / bins], "psms": int((index == b).sum()),
              "mean_score": float(p[index == b].mean()) if (index == b).any() else None,
              "fraction_right": float(y[index == b].mean()) if (index == b).any() else None} for b in range(bins)]
    return {"ece": expected_calibration_error(p, y, bins), "reliability": table, "fdr": fdr_at_thresholds(p, y)}


def evaluate_peptides(
    predictions: Sequence[str | None],
    targets: Sequence[str | None],
    scores: Sequence[float | None] | None = None,
    *,
    vocabulary: Vocabulary | None = None,
    prefix_tolerance_da: float = 0.5,
    residue_tolerance_da: float = 0.1,
    return_curve: bool = False,
) -> dict:
    """Standard metrics of ProForma predictions against labels.

    ``predictions[i]`` is None (or "") for a spectrum with no prediction;
    spectra whose target is None are left out (counted in ``n_unlabelled``).
    ``scores`` (higher = more confident; None where no prediction) adds the
    precision–coverage ``auc``; ``return_curve`` adds its ``coverage`` and
    ``precision`` lists; scores in [−1, 1] (read as probabilities, a negative one as a fallback's
    probability − 1) add ``calibration`` (`calibration`). Keys: aa_precision, aa_recall, peptide_recall,
    peptide_precision, n_spectra, n_predicted, n_peptides_correct, n_aa_pred,
    n_aa_true, n_aa_matched, n_unlabelled, confusions ({"I/L": n, ...}: aligned
    residue pairs that the tolerances count as matches though the residues differ).
    """
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions but {len(targets)} targets")
    if scores is not None and len(scores) != len(predictions):
        raise ValueError(f"{len(scores)} scores but {len(predictions)} predictions")
    n_aa_pred = n_aa_true = n_aa_matched = n_predicted = n_correct = n_unlabelled = 0
    confusions = {name: 0 for name in CONFUSION_PAIRS}
    correct: list[bool] = []
    kept_scores: list[float | None] = []
    for index, (prediction, target) in enumerate(zip(predictions, targets)):
        if target is None:
            n_unlabelled += 1
            continue
        predicted = prediction is not None and bool(str(prediction).strip())
        match = match_peptide(prediction if predicted else None, target, vocabulary, prefix_tolerance_da, residue_tolerance_da)
        n_aa_pred += match.n_pred
        n_aa_true += match.n_true
        n_aa_matched += match.n_matched
        n_predicted += predicted
        n_correct += match.peptide_match
        correct.append(match.peptide_match)
        for pred_token, true_token in match.aligned:
            for name, pair in CONFUSION_PAIRS.items():
                if pred_token != true_token and {pred_token, true_token} == pair:
                    confusions[name] += 1
        if scores is not None:
            kept_scores.append(scores[index] if predicted else None)
    n_spectra = len(correct)
    result: dict = {
        "aa_precision": n_aa_matched / n_aa_pred if n_aa_pred else 0.0,
        "aa_recall": n_aa_matched / n_aa_true if n_aa_true else 0.0,
        "peptide_recall": n_correct / n_spectra if n_spectra else 0.0,
        "peptide_precision": n_correct / n_predicted if n_predicted else 0.0,
        "n_spectra": n_spectra,
        "n_predicted": n_predicted,
        "n_peptides_correct": n_correct,
        "n_aa_pred": n_aa_pred,
        "n_aa_true": n_aa_true,
        "n_aa_matched": n_aa_matched,
        "n_unlabelled": n_unlabelled,
        "confusions": confusions,
    }
    if scores is not None:
        coverage, precision = precision_coverage(correct, kept_scores)
        result["auc"] = area_under_curve(coverage, precision)
        scored = [(c, s) for c, s in zip(correct, kept_scores) if s is not None and np.isfinite(s)]
        # Scores that can be read as probabilities; a score in [−1, 0) is a fallback PSM's probability − 1
        # (renovo sequence and Casanovo 4.x sort PSMs that miss the precursor below every matched one).
        if scored and all(-1.0 <= s <= 1.0 for _, s in scored):
            result["calibration"] = calibration([c for c, _ in scored], [s + 1.0 if s < 0 else s for _, s in scored])
        if return_curve:
            result["coverage"] = coverage.tolist()
            result["precision"] = precision.tolist()
    return result
