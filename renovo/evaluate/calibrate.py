"""Fit the candidate scorer (`renovo.decode.scorer`) on labelled spectra a model never trained on.

`labelled_candidates` decodes labelled spectra with the search `renovo sequence` runs, keeps every
candidate of the beam with its features (`renovo.decode.features`) and whether it is the labelled peptide
(the standard peptide match of `renovo.evaluate.metrics`, so the probability means what peptide recall
counts). `fit_scorer` fits scikit-learn's logistic regression on the standardised features and calibrates
it with isotonic regression on out-of-fold decision values of each spectrum's top-ranked candidate — the
PSM a user sees — so that among PSMs reported at probability p, about p are right.

The default fitting set is simulated (`simulated_records`: the model's own simulator settings, a seed
stream no training or validation set uses); a user's database-search results refit it to their data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from renovo.decode import FEATURE_NAMES, CandidateScorer, DecodeConfig, Decoder, candidate_features, file_sha256
from renovo.errors import RenovoError
from renovo.evaluate.metrics import fdr_at_thresholds, match_peptide

#: Added to a model's seed for the simulated calibration spectra (the validation set uses + 1,000,003).
CALIBRATION_SEED_OFFSET = 2_000_003
#: Fewer right top-ranked candidates than this and the calibration map is mostly guesswork.
MIN_POSITIVES = 10


@dataclass
class CandidateTable:
    """Every candidate of every labelled spectrum: features, label, spectrum, beam rank. # (N, F), (N,) …"""

    features: np.ndarray
    correct: np.ndarray
    spectrum: np.ndarray
    beam_rank: np.ndarray
    spectra: int = 0
    peptides: list[str] = field(default_factory=list)  # each candidate's peptide (ProForma)

    @classmethod
    def empty(cls) -> "CandidateTable":
        return cls(np.zeros((0, len(FEATURE_NAMES))), np.zeros(0, bool), np.zeros(0, int), np.zeros(0, int))


def simulated_records(model, n: int, seed: int | None = None) -> Iterable:
    """``n`` simulated spectra from the model's simulator settings, on a seed stream no training or validation
    set of the model's config draws from."""
    from renovo.data import simulate_records
    from renovo.train.config import run_config_of, simulator_config

    config = run_config_of(model)
    base = config.seed if seed is None else seed
    return simulate_records(n, base + CALIBRATION_SEED_OFFSET, simulator_config(config),
                            vocabulary=model.tokenizer.vocabulary)


def labelled_candidates(model, records: Iterable, settings: DecodeConfig,
                        on_batch: Callable[[int], None] | None = None) -> CandidateTable:
    """Decode labelled ``records`` (unlabelled ones are skipped) as `renovo sequence` does and tabulate every
    candidate the beam keeps."""
    decoder = Decoder(model, settings)
    collate = decoder.collate
    vocabulary = model.tokenizer.vocabulary
    rows, correct, spectrum, ranks, peptides = [], [], [], [], []
    batch_records: list = []
    count = 0

    def flush() -> None:
        nonlocal count
        batch = collate(batch_records)
        results = decoder.search(batch, top_k=settings.beam)
        features = candidate_features(batch, results, model.tokenizer, settings.isotope_offsets)
        for record, predictions, table in zip(batch_records, results, features):
            for j, prediction in enumerate(predictions):
                rows.append(table[j])
                correct.append(match_peptide(prediction.peptide or None, record.peptide, vocabulary).peptide_match)
                spectrum.append(count)
                ranks.append(j)
                peptides.append(prediction.peptide)
            count += 1
        if on_batch is not None:
            on_batch(len(batch_records))
        batch_records.clear()

    for record in records:
        if record.peptide is None:
            continue
        batch_records.append(record)
        if len(batch_records) == settings.batch_size:
            flush()
    if batch_records:
        flush()
    if not rows:
        return CandidateTable.empty()
    return CandidateTable(np.asarray(rows), np.asarray(correct, bool), np.asarray(spectrum), np.asarray(ranks),
                          spectra=count, peptides=peptides)


def _top_per_spectrum(decision: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
    """Index of the highest-decision candidate of each spectrum. # (spectra with candidates,)"""
    order = np.lexsort((-decision, spectrum))
    first = np.r_[True, spectrum[order][1:] != spectrum[order][:-1]]
    return order[first]


def fit_scorer(table: CandidateTable, checkpoint: str | None = None, source: str = "",
               folds: int = 5, seed: int = 0) -> CandidateScorer:
    """Logistic regression on standardised features, isotonic calibration of each spectrum's top candidate on
    out-of-fold decisions (folds by spectrum), the regression then refitted on everything."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    X, y, groups = table.features, table.correct, table.spectrum
    if len(X) == 0 or y.all() or not y.any():
        raise RenovoError(f"cannot fit a scorer: {int(y.sum())} right of {len(y)} candidates (need both right and "
                          "wrong ones; more spectra, or a model that gets some right)")
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale

    def regression():
        return LogisticRegression(C=1.0, max_iter=2000, random_state=seed)

    decision = np.zeros(len(y))
    n_folds = min(folds, len(np.unique(groups)))
    for train, test in GroupKFold(n_splits=n_folds).split(Z, y, groups):
        if y[train].all() or not y[train].any():
            decision[test] = 0.0
            continue
        decision[test] = regression().fit(Z[train], y[train]).decision_function(Z[test])
    top = _top_per_spectrum(decision, groups)
    if int(y[top].sum()) < MIN_POSITIVES:
        raise RenovoError(f"cannot calibrate a scorer: only {int(y[top].sum())} of {len(top)} spectra have a right "
                          f"top candidate (need ≥ {MIN_POSITIVES}; more spectra, or a better model)")
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(decision[top], y[top])
    calibration_y = _shrunk_blocks(isotonic, decision[top], y[top])
    final = regression().fit(Z, y)
    return CandidateScorer(
        features=list(FEATURE_NAMES), mean=mean.tolist(), scale=scale.tolist(), coef=final.coef_[0].tolist(),
        intercept=float(final.intercept_[0]), calibration_x=isotonic.X_thresholds_.tolist(),
        calibration_y=calibration_y.tolist(),
        checkpoint_sha256=file_sha256(checkpoint) if checkpoint else "",
        fitted_on={"source": source, "spectra": int(table.spectra), "candidates": int(len(y)),
                   "right_candidates": int(y.sum()), "right_top_candidates_out_of_fold": int(y[top].sum()),
                   "spectra_with_candidates": int(len(top))},
    )


def _shrunk_blocks(isotonic, decision: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The isotonic map's values with each block's fraction right k/n replaced by (k + 1)/(n + 2) (Laplace's
    rule), kept monotone: a block of 15 PSMs all right says "about 94%", not "certainly right", so a q-value
    is never 0 on the strength of a handful of spectra."""
    fitted = isotonic.predict(decision)
    adjusted = {}
    for value in np.unique(fitted):
        block = fitted == value
        adjusted[value] = (right[block].sum() + 1.0) / (block.sum() + 2.0)
    values = np.array([adjusted.get(v, v) for v in isotonic.predict(isotonic.X_thresholds_)])
    return np.maximum.accumulate(values)


def scored_top(table: CandidateTable, scorer: CandidateScorer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probability, right, spectrum) of each spectrum's top candidate after reranking with ``scorer``."""
    probability = scorer.probability(table.features[:, scorer.columns(FEATURE_NAMES)])
    top = _top_per_spectrum(probability, table.spectrum)
    return probability[top], table.correct[top], table.spectrum[top]


def out_of_fold_check(table: CandidateTable, folds: int = 5, seed: int = 0) -> dict:
    """How calibrated a scorer fitted this way is on spectra it did not see: fit on all folds but one, score
    that fold's top candidates, over every fold; {ece, fdr (per q threshold), recall_rank1, recall_reranked}."""
    from sklearn.model_selection import GroupKFold

    from renovo.decode import expected_calibration_error

    probabilities, right = [], []
    spectra = np.unique(table.spectrum)
    for train_spectra, test_spectra in GroupKFold(n_splits=min(folds, len(spectra))).split(spectra, groups=spectra):
        train = np.isin(table.spectrum, spectra[train_spectra])
        try:
            scorer = fit_scorer(_subset(table, train), seed=seed)
        except RenovoError:
            continue
        p, y, _ = scored_top(_subset(table, ~train), scorer)
        probabilities.extend(p.tolist())
        right.extend(y.tolist())
    if not probabilities:
        return {}
    n = max(table.spectra, 1)
    return {"ece": expected_calibration_error(probabilities, right), "fdr": fdr_at_thresholds(probabilities, right),
            "recall_rank1": float(table.correct[table.beam_rank == 0].sum() / n),
            "recall_reranked": float(np.sum(right) / n), "spectra": int(table.spectra)}


def _subset(table: CandidateTable, rows: np.ndarray) -> CandidateTable:
    return CandidateTable(table.features[rows], table.correct[rows], table.spectrum[rows], table.beam_rank[rows],
                          spectra=len(np.unique(table.spectrum[rows])))


def calibrate(model, checkpoint: str, records: Iterable, settings: DecodeConfig, source: str,
              on_batch: Callable[[int], None] | None = None) -> tuple[CandidateScorer, dict]:
    """Decode ``records``, fit the scorer for ``checkpoint`` on them and check it out of fold: (scorer, summary)."""
    table = labelled_candidates(model, records, settings, on_batch=on_batch)
    scorer = fit_scorer(table, checkpoint, source)
    check = out_of_fold_check(table)
    scorer.fitted_on.update({"beam": settings.beam, "precursor_tolerance_ppm": settings.precursor_tolerance_ppm,
                             "out_of_fold": check})
    return scorer, check


def describe_check(check: dict) -> str:
    """Out-of-fold calibration in a few lines."""
    if not check:
        return "out-of-fold check: not enough spectra per fold"
    lines = [f"out of fold ({check['spectra']} spectra): rank-1 peptide recall {check['recall_rank1']:.3f} → "
             f"{check['recall_reranked']:.3f} reranked; expected calibration error {check['ece']:.3f}"]
    for row in check["fdr"]:
        rates = (f"; estimated FDR {row['estimated_fdr']:.1%}, actual {row['actual_fdr']:.1%}" if row["kept"] else "")
        lines.append(f"  q ≤ {row['q_threshold']:.0%}: {row['kept']} PSMs kept, {row['right']} right{rates}")
    return "\n".join(lines)


__all__ = ["CALIBRATION_SEED_OFFSET", "calibrate", "describe_check", "out_of_fold_check", "CandidateTable", "fit_scorer", "labelled_candidates",
           "scored_top", "simulated_records"]
