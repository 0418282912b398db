"""The candidate scorer: P(candidate is the right peptide) from its features, and q-values from it.

A scorer is a logistic regression over standardised `renovo.decode.features` followed by an isotonic
calibration map, fitted by `renovo.evaluate.calibrate` (scikit-learn) and stored as plain JSON beside the
checkpoint it was fitted for (``CKPT.scorer.json``): no pickle, so loading one runs no code. Applying it
needs only numpy: p = isotonic(sigmoid(w · (x − mean) / scale + b)).

``format_version`` says how the file is laid out; ``checkpoint_sha256`` binds it to the checkpoint whose
log-probabilities it learned (a scorer fitted for another checkpoint is refused, not silently used).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from renovo.errors import RenovoError

SCORER_FORMAT_VERSION = 1
SCORER_SUFFIX = ".scorer.json"


class ScorerError(RenovoError):
    """A scorer file that cannot be used (unreadable, another format, or fitted for another checkpoint)."""


@dataclass
class CandidateScorer:
    """A fitted scorer; `probability` maps feature rows to calibrated probabilities."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    calibration_x: list[float]  # isotonic map: decision value -> probability (piecewise linear between points)
    calibration_y: list[float]
    checkpoint_sha256: str = ""
    fitted_on: dict = field(default_factory=dict)  # what it was fitted on: source, spectra, candidates, positives
    format_version: int = SCORER_FORMAT_VERSION

    def decision(self, rows: np.ndarray) -> np.ndarray:
        """The logistic regression's linear score. rows (N, features) -> (N,)"""
        rows = np.asarray(rows, dtype=np.float64)
        z = (rows - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + float(self.intercept)

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """Calibrated P(right peptide) per row, in [0, 1]. rows (N, features) -> (N,)"""
        decision = self.decision(rows)
        if not self.calibration_x:
            return 1.0 / (1.0 + np.exp(-decision))
        return np.interp(decision, self.calibration_x, self.calibration_y)

    def columns(self, names: Sequence[str]) -> list[int]:
        """The positions of this scorer's features among ``names`` (the features a decoder computed)."""
        missing = [f for f in self.features if f not in names]
        if missing:
            raise ScorerError(f"the scorer needs features {missing} this version of renovo does not compute")
        return [list(names).index(f) for f in self.features]

    def save(self, path: str | Path) -> Path:
        from renovo.files import write_text

        write_text(Path(path), json.dumps(asdict(self), indent=1) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, checkpoint: str | Path | None = None) -> "CandidateScorer":
        """Read a scorer file; with ``checkpoint``, refuse one fitted for another checkpoint."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ScorerError(f"{path}: not a readable scorer file ({error})") from None
        if not isinstance(data, dict) or data.get("format_version") != SCORER_FORMAT_VERSION:
            raise ScorerError(f"{path}: scorer format {data.get('format_version') if isinstance(data, dict) else '?'}"
                              f", this renovo reads format {SCORER_FORMAT_VERSION}; refit it with renovo calibrate")
        try:
            scorer = cls(**data)
        except TypeError as error:
            raise ScorerError(f"{path}: malformed scorer file ({error})") from None
        lengths = {len(scorer.features), len(scorer.mean), len(scorer.scale), len(scorer.coef)}
        if len(lengths) != 1 or len(scorer.calibration_x) != len(scorer.calibration_y):
            raise ScorerError(f"{path}: malformed scorer file (arrays of different lengths)")
        if checkpoint is not None and scorer.checkpoint_sha256 and scorer.checkpoint_sha256 != file_sha256(checkpoint):
            raise ScorerError(f"{path} was fitted for another checkpoint than {checkpoint}; refit it with "
                              f"renovo calibrate --model {checkpoint}")
        return scorer


def scorer_path(checkpoint: str | Path) -> Path:
    """Where the scorer of a checkpoint lives: ``CKPT.scorer.json`` beside it."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + SCORER_SUFFIX)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def q_values(probabilities: Sequence[float], scores: Sequence[float] | None = None) -> np.ndarray:
    """Estimated FDR of each PSM's score threshold from calibrated probabilities: the expected share of wrong
    PSMs among all PSMs scoring at least as high, Σ(1 − p) / n, made monotone (the smallest FDR of any
    threshold at or below the PSM's score), as target–decoy q-values are. ``scores`` (default: the
    probabilities) orders the thresholds, e.g. fallback PSMs' probability − 1. # (N,) in the input's order"""
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size == 0:
        return p.copy()
    key = p if scores is None else np.asarray(scores, dtype=np.float64)
    order = np.argsort(-key, kind="stable")
    ranked = p[order]
    # Ties share one threshold: every PSM with the same score gets the FDR of the whole tie.
    ends = np.r_[np.flatnonzero(np.diff(key[order]) != 0), len(ranked) - 1]
    fdr_at_end = np.cumsum(1.0 - ranked)[ends] / (ends + 1)
    fdr = np.repeat(fdr_at_end, np.diff(np.r_[-1, ends]))
    q_sorted = np.minimum.accumulate(fdr[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = q_sorted
    return out


def expected_calibration_error(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Σ_bins (n_bin / n) · |mean predicted − fraction correct| over equal-width probability bins."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if p.size == 0:
        return math.nan
    index = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            total += chosen.mean() * abs(p[chosen].mean() - y[chosen].mean())
    return float(total)


__all__ = ["CandidateScorer", "SCORER_FORMAT_VERSION", "ScorerError", "expected_calibration_error", "file_sha256",
           "q_values", "scorer_path"]
