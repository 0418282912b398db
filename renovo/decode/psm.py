"""A peptide–spectrum match: one decoded peptide for one spectrum, with the
precursor-mass bookkeeping every output format reports."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from renovo.chem import isotope_offsets as as_isotope_offsets
from renovo.chem import isotope_shift_da, mass_from_mz, mz_from_mass, ppm_error


@dataclass
class PSM:
    """One predicted peptide for one spectrum (``rank`` 1 = best).

    ``source_file`` and ``index`` name the spectrum: the file it was first
    read from and its 0-based position there (for a renovo Parquet made from
    several MGFs, the MGF and its index in that MGF). Predictions read from a
    peer's file may name a spectrum by ``scan`` only (``index`` None).
    ``mass_error_ppm`` is measured against the precursor corrected by
    ``isotope_offset`` (the isotope peak the precursor was most likely picked at).
    ``score`` is the model's geometric mean token probability, or with a reranker the calibrated
    probability that the peptide is right.
    """

    source_file: str
    index: int | None
    peptide: str
    score: float
    residue_scores: list[float] = field(default_factory=list)
    rank: int = 1
    charge: int = 0
    precursor_mz: float = math.nan
    calc_mz: float = math.nan
    mass_error_ppm: float = math.nan
    precursor_match: bool | None = None
    retention_time_s: float | None = None
    title: str | None = None
    scan: str | None = None
    isotope_offset: int = 0
    #: With a reranker: ``score`` is the calibrated probability that the peptide is right, ``model_score`` the
    #: model's own (geometric mean token probability), ``features`` what the scorer read
    #: (renovo.decode.features), ``q_value`` the estimated FDR at this PSM's score.
    model_score: float | None = None
    q_value: float | None = None
    features: dict[str, float] = field(default_factory=dict)


def calc_mz(mass_da: float, charge: int) -> float:
    """m/z of a neutral mass (Da) at ``charge``; NaN for charge ≤ 0."""
    return mz_from_mass(mass_da, charge) if charge and charge > 0 else math.nan


def isotope_corrected_error_ppm(
    peptide_mass_da: float, precursor_mz: float, charge: int, isotope_offsets: Sequence[int] = (0,)
) -> tuple[float, int]:
    """(error in ppm, isotope offset) of a peptide against a measured precursor.

    The precursor may have been picked at isotope peak k (k·1.00335 Da above
    the monoisotopic mass); the offset among ``isotope_offsets`` that brings
    the measured mass closest to the peptide's is used, as the precursor-mass
    filter does. Error = `ppm_error` (peptide mass, corrected measured mass):
    (peptide − corrected) / corrected × 10⁶. NaN and offset 0 when the precursor
    is unusable; no offsets given means offset 0 alone.
    """
    if not (charge and charge > 0 and math.isfinite(precursor_mz) and math.isfinite(peptide_mass_da)):
        return math.nan, 0
    measured_da = mass_from_mz(precursor_mz, charge)
    best_ppm, best_offset = math.nan, 0
    for offset in as_isotope_offsets(isotope_offsets or (0,)):
        corrected_da = measured_da - isotope_shift_da(offset)
        if corrected_da <= 0:
            continue
        ppm = ppm_error(peptide_mass_da, corrected_da)
        if math.isnan(best_ppm) or abs(ppm) < abs(best_ppm):
            best_ppm, best_offset = ppm, int(offset)
    return best_ppm, best_offset
