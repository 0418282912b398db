"""Statistics of spectrum files, for comparing real and simulated spectra.

Computed on records as read (after centroiding, before preprocessing).
Annotation, for labelled spectra, matches each observed peak to the nearest
theoretical m/z within ``TOLERANCE_DA`` = 0.02 Da (≈ 20 ppm at m/z 1000;
fixed in Da because fragment m/z errors in the shared real files are
≤ 0.01 Da): b and y ions at charge 1, and 2 when the precursor charge is ≥ 3;
their H2O/NH3 losses; their +1 13C isotope peaks; immonium ions of the
peptide's residues; the precursor (m/z, −H2O, −NH3, +1 isotope, charge z).
A peak matching none of these is *noise*.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from renovo.chem import (
    H2O_MASS_DA,
    ISOTOPE_SPACING_DA,
    NH3_MASS_DA,
    a_ion_mass_da,
    fragment_charges,
    fragment_ladder,
    mz_from_mass,
    parse_peptide,
)
from renovo.chem.fragments import residue_masses_da
from renovo.data.records import SpectrumRecord

TOLERANCE_DA = 0.02

# Annotation categories, in priority order when two theoretical peaks coincide.
BY, LOSS, ISOTOPE, IMMONIUM, PRECURSOR = 1, 2, 3, 4, 5


@dataclass
class AnnotationPeaks:
    """The annotation candidates of a labelled spectrum, sorted by m/z. # (n,) each"""

    mz: np.ndarray
    kind: np.ndarray  # category constants above
    site: np.ndarray  # cleavage site 0..L-2 for b/y (b_i → i-1, y_j → L-1-j), -1 otherwise


def annotation_peaks(peptide: str, precursor_mz: float, precursor_charge: int) -> AnnotationPeaks:
    """Every ion an observed peak of this labelled spectrum is annotated with: b/y (charges per
    `fragment_charges`), their H2O/NH3 losses and 13C isotopes, immonium ions and precursor ions.
    (The training losses' `renovo.losses.theoretical_peaks` is a different thing: b/y only, from
    token probabilities.)"""
    masses = residue_masses_da(peptide)  # (L,)
    length = masses.shape[0]
    charges = fragment_charges(precursor_charge)
    ladders = fragment_ladder(peptide, ("b", "y"), charges, ("H2O", "NH3"))
    sites_b = np.arange(length - 1)  # b_{i+1} covers site i
    sites_y = sites_b[::-1]  # y_{j} (j = 1..L-1) covers site L-1-j
    mz, kind, site = [], [], []
    for (ion, charge, loss), values in ladders.items():
        sites = sites_b if ion == "b" else sites_y
        mz.append(values)
        kind.append(np.full(values.shape, BY if loss == "" else LOSS))
        site.append(sites if loss == "" else np.full(values.shape, -1))
        if loss == "":
            mz.append(values + ISOTOPE_SPACING_DA / charge)
            kind.append(np.full(values.shape, ISOTOPE))
            site.append(np.full(values.shape, -1))
    tokens = parse_peptide(peptide).residues
    # An immonium ion is the residue's a1 ion.
    immonium = np.unique(mz_from_mass(a_ion_mass_da(np.asarray([m for m in residue_masses_da(peptide)])[: len(tokens)]), 1))
    mz.append(immonium)
    kind.append(np.full(immonium.shape, IMMONIUM))
    site.append(np.full(immonium.shape, -1))
    z = precursor_charge
    precursor = precursor_mz + np.array([0.0, -H2O_MASS_DA / z, -NH3_MASS_DA / z, ISOTOPE_SPACING_DA / z])
    mz.append(precursor)
    kind.append(np.full(4, PRECURSOR))
    site.append(np.full(4, -1))
    mz_all = np.concatenate(mz)
    kind_all = np.concatenate(kind)
    site_all = np.concatenate(site)
    order = np.lexsort((kind_all, mz_all))
    return AnnotationPeaks(mz_all[order], kind_all[order], site_all[order])


def annotate(record: SpectrumRecord, tolerance_da: float = TOLERANCE_DA) -> tuple[np.ndarray, np.ndarray]:
    """Per observed peak: category (0 = noise) and b/y cleavage site (-1 if none). # (peaks,) each"""
    theory = annotation_peaks(record.peptide, record.precursor_mz, record.precursor_charge)
    mz = record.mz
    kinds = np.zeros(mz.shape, dtype=np.int64)
    sites = np.full(mz.shape, -1, dtype=np.int64)
    if theory.mz.shape[0] == 0 or mz.shape[0] == 0:
        return kinds, sites
    # Best (lowest category number) theoretical peak within tolerance of each observed peak.
    lo = np.searchsorted(theory.mz, mz - tolerance_da, side="left")  # (peaks,)
    hi = np.searchsorted(theory.mz, mz + tolerance_da, side="right")  # (peaks,)
    hits = hi > lo
    best_kind = np.full(mz.shape, 99)
    best_site = np.full(mz.shape, -1)
    width = int((hi - lo).max()) if hits.any() else 0
    for offset in range(width):  # width is a handful; vectorised over peaks
        j = lo + offset
        valid = j < hi
        jj = np.where(valid, j, 0)
        candidate = np.where(valid, theory.kind[jj], 99)
        better = candidate < best_kind
        best_kind = np.where(better, candidate, best_kind)
        best_site = np.where(better, theory.site[jj], best_site)
    kinds = np.where(best_kind == 99, 0, best_kind)
    sites = np.where(kinds == BY, best_site, -1)
    return kinds, sites


@dataclass
class SpectrumStats:
    n_peaks: int
    charge: int
    labelled: bool
    by_intensity_fraction: float = float("nan")
    annotated_intensity_fraction: float = float("nan")
    by_coverage: float = float("nan")
    noise_peaks: float = float("nan")
    by_peaks: float = float("nan")


def spectrum_stats(record: SpectrumRecord, tolerance_da: float = TOLERANCE_DA) -> SpectrumStats:
    stats = SpectrumStats(record.n_peaks, record.precursor_charge, record.peptide is not None)
    if record.peptide is None or record.n_peaks == 0:
        return stats
    kinds, sites = annotate(record, tolerance_da)
    intensity = record.intensity.astype(np.float64)
    total = intensity.sum()
    length = len(parse_peptide(record.peptide).residues)
    stats.by_intensity_fraction = float(intensity[kinds == BY].sum() / total) if total > 0 else 0.0
    stats.annotated_intensity_fraction = float(intensity[kinds > 0].sum() / total) if total > 0 else 0.0
    stats.by_coverage = float(np.unique(sites[sites >= 0]).shape[0] / max(1, length - 1))
    stats.noise_peaks = float(np.count_nonzero(kinds == 0))
    stats.by_peaks = float(np.count_nonzero(kinds == BY))
    return stats


def summarize(records: Iterable[SpectrumRecord], tolerance_da: float = TOLERANCE_DA) -> dict:
    """Summary statistics of a stream of records (medians over labelled spectra for annotation rows)."""
    rows = [spectrum_stats(r, tolerance_da) for r in records]
    n = len(rows)
    labelled = [r for r in rows if r.labelled]
    charges = np.array([r.charge for r in rows], dtype=np.int64)

    def median(values):
        values = [v for v in values if v == v]
        return float(np.median(values)) if values else float("nan")

    def mean(values):
        values = [v for v in values if v == v]
        return float(np.mean(values)) if values else float("nan")

    return {
        "spectra": n,
        "label_rate": len(labelled) / n if n else float("nan"),
        "peaks_median": median([r.n_peaks for r in rows]),
        "charge_fractions": {
            str(z): float(np.mean(charges == z)) if n else 0.0 for z in sorted(set(charges.tolist()))
        },
        "by_intensity_fraction_median": median([r.by_intensity_fraction for r in labelled]),
        "annotated_intensity_fraction_median": median([r.annotated_intensity_fraction for r in labelled]),
        "by_coverage_median": median([r.by_coverage for r in labelled]),
        "by_coverage_mean": mean([r.by_coverage for r in labelled]),
        "by_peaks_median": median([r.by_peaks for r in labelled]),
        "noise_peaks_median": median([r.noise_peaks for r in labelled]),
        "tolerance_da": tolerance_da,
    }


ROWS = (
    ("spectra", "spectra", "{:d}"),
    ("label_rate", "label rate", "{:.2f}"),
    ("peaks_median", "peaks / spectrum (median)", "{:.0f}"),
    ("charge_fractions", "precursor charge 2/3/4/5+", None),
    ("by_intensity_fraction_median", "intensity in b/y (median)", "{:.2f}"),
    ("annotated_intensity_fraction_median", "intensity annotated, any (median)", "{:.2f}"),
    ("by_coverage_median", "b/y coverage of sites (median)", "{:.2f}"),
    ("by_coverage_mean", "b/y coverage of sites (mean)", "{:.2f}"),
    ("by_peaks_median", "b/y peaks (median)", "{:.0f}"),
    ("noise_peaks_median", "noise peaks (median)", "{:.0f}"),
)


def _charges(fractions: dict) -> str:
    values = [fractions.get(str(z), 0.0) for z in (2, 3, 4)]
    values.append(sum(v for k, v in fractions.items() if int(k) >= 5))
    low = sum(v for k, v in fractions.items() if int(k) <= 1)
    text = "/".join(f"{v:.2f}" for v in values)
    return text + (f" (+{low:.2f} z=1)" if low else "")


def format_table(summaries: dict[str, dict]) -> str:
    """Rows = statistics, one column per file."""
    names = list(summaries)
    header = ["statistic"] + names
    body = []
    for key, label, fmt in ROWS:
        row = [label]
        for name in names:
            value = summaries[name].get(key)
            if key == "charge_fractions":
                row.append(_charges(value))
            elif value is None or (isinstance(value, float) and value != value):
                row.append("–")
            else:
                row.append(fmt.format(value))
        body.append(row)
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in [header] + body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n(annotation tolerance ±{summaries[names[0]]['tolerance_da'] if names else TOLERANCE_DA} Da; b/y at charge 1, and 2 for precursor charge ≥ 3)"


def write_json(summaries: dict[str, dict], path) -> None:
    from renovo.files import write_json as write_json_atomic

    write_json_atomic(path, summaries)
