"""The plots people expect of a de novo run: an annotated mirror plot of a prediction against its
spectrum (and its label), the amino-acid-level precision–coverage curve and the precursor
mass-error histogram. Each writes one PNG (matplotlib, Agg backend)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from renovo.chem import Vocabulary, fragment_charges, fragment_ladder, parse_peptide
from renovo.decode.config import DEFAULTS
from renovo.decode.psm import PSM
from renovo.evaluate.metrics import area_under_curve, match_peptide
from renovo.files import atomic_path

#: Fragment m/z tolerance for annotating peaks, Da.
FRAGMENT_TOLERANCE_DA = 0.05
_ION_COLOURS = {"b": "tab:blue", "y": "tab:red"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def ion_annotations(peptide: str, mz: np.ndarray, precursor_charge: int, vocabulary: Vocabulary | None = None,
                    tolerance_da: float = FRAGMENT_TOLERANCE_DA) -> tuple[list[tuple[str, float]], np.ndarray]:
    """(theoretical ions [(name, m/z)], per observed peak the matched ion name or ""). b and y ions at
    charge 1 (and 2 for precursors of charge ≥ 3); a peak takes the nearest ion within tolerance."""
    parsed = parse_peptide(peptide, vocabulary)
    charges = fragment_charges(precursor_charge)
    ions: list[tuple[str, float]] = []
    for (ion, charge, _), values in fragment_ladder(parsed, ("b", "y"), charges, vocabulary=vocabulary).items():
        suffix = "+" * charge if charge > 1 else ""
        ions += [(f"{ion}{i}{suffix}", float(v)) for i, v in enumerate(values, start=1)]
    labels = np.full(mz.shape, "", dtype=object)  # (peaks,)
    if ions and mz.shape[0]:
        theory = np.array([m for _, m in ions])  # (ions,)
        distance = np.abs(mz[:, None] - theory[None, :])  # (peaks, ions)
        nearest = distance.argmin(axis=1)
        hit = distance[np.arange(mz.shape[0]), nearest] <= tolerance_da
        labels[hit] = [ions[k][0] for k in nearest[hit]]
    return ions, labels


def _mirror_panel(axis, mz, intensity, peptide, charge, vocabulary, title):
    relative = intensity / intensity.max() if intensity.size and intensity.max() > 0 else intensity
    ions, labels = ion_annotations(peptide, mz, charge, vocabulary)
    colours = [_ION_COLOURS.get(label[:1], "0.6") if label else "0.6" for label in labels]
    axis.vlines(mz, 0, relative, colors=colours, linewidth=0.8)
    for x, y, label in zip(mz, relative, labels):
        if label and y > 0.05:
            axis.text(x, y + 0.02, label, fontsize=5, ha="center", va="bottom", color=_ION_COLOURS[label[0]])
    for name, x in ions:
        axis.vlines(x, 0, -0.5, colors=_ION_COLOURS[name[0]], linewidth=0.6, alpha=0.7)
    axis.axhline(0, color="black", linewidth=0.5)
    matched = int(sum(1 for label in labels if label))
    explained = float(relative[[bool(label) for label in labels]].sum() / relative.sum()) if relative.sum() > 0 else 0.0
    axis.set_ylim(-0.6, 1.15)
    axis.set_ylabel("relative intensity (theory below)")
    axis.set_title(f"{title}: {peptide}  ({matched} peaks matched, {explained:.0%} of intensity)", fontsize=8)


def plot_mirror(mz: np.ndarray, intensity: np.ndarray, precursor_charge: int, prediction: str, path: str | Path,
                label: str | None = None, vocabulary: Vocabulary | None = None, title: str = "") -> Path:
    """The spectrum above, the prediction's b (blue) and y (red) ions below, matched peaks named;
    a second panel does the same for the label when there is one."""
    plt = _pyplot()
    panels = [("prediction", prediction)] + ([("label", label)] if label else [])
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), sharex=True, squeeze=False)
    for axis, (name, peptide) in zip(axes[:, 0], panels):
        _mirror_panel(axis, np.asarray(mz, dtype=np.float64), np.asarray(intensity, dtype=np.float64),
                      peptide, precursor_charge, vocabulary, name)
    axes[-1, 0].set_xlabel("m/z")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a killed run never leaves half a PNG
        figure.savefig(tmp, dpi=130, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path)


def aa_precision_coverage(predictions: Sequence[str | None], targets: Sequence[str | None],
                          residue_scores: Sequence[Sequence[float] | None],
                          vocabulary: Vocabulary | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Amino-acid-level precision–coverage: predicted residues ranked by their own score; at each
    rank, coverage = residues kept / all predicted residues, precision = matched among them.
    A residue matches as in the standard metrics (0.1 Da residue, 0.5 Da prefix). # (residues,) each"""
    flags: list[bool] = []
    scores: list[float] = []
    for prediction, target, residue_score in zip(predictions, targets, residue_scores):
        if not prediction or target is None:
            continue
        match = match_peptide(prediction, target, vocabulary)
        values = list(residue_score or [])
        if len(values) != match.n_pred:
            values = [math.nan] * match.n_pred
        flags += [bool(match.matches[i]) for i in range(match.n_pred)]
        scores += values
    if not flags:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-1.0), kind="stable")
    ranked = np.asarray(flags)[order]
    rank = np.arange(1, len(ranked) + 1)
    return rank / len(ranked), np.cumsum(ranked) / rank


def plot_aa_precision_coverage(coverage: np.ndarray, precision: np.ndarray, path: str | Path, title: str = "") -> Path:
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(4.5, 4))
    auc = area_under_curve(coverage, precision)
    if len(coverage):
        axis.plot(coverage, precision, lw=1.5, label=f"AUC {auc:.3f}")
        axis.legend(loc="lower left")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("coverage (fraction of predicted residues)")
    axis.set_ylabel("amino-acid precision")
    axis.set_title(title or "amino-acid precision–coverage", fontsize=9)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a killed run never leaves half a PNG
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path)


#: Isotope peaks a mass error computed from the m/z columns is corrected for: Casanovo's default
#: isotope_error_range [0, 1] (its mzTab has no isotope column of its own).
MZ_ISOTOPE_OFFSETS = (0, 1)


def _mass_error_ppm(psm: PSM) -> tuple[float, bool]:
    """(isotope-corrected error in ppm, whether it was computed here): renovo's own column when the file has
    it, else from ``exp_mass_to_charge`` and ``calc_mass_to_charge`` (Casanovo's mzTab), else NaN."""
    if math.isfinite(psm.mass_error_ppm):
        return psm.mass_error_ppm, False
    if psm.charge and psm.charge > 0 and math.isfinite(psm.precursor_mz) and math.isfinite(psm.calc_mz):
        from renovo.chem import mass_from_mz
        from renovo.decode.psm import isotope_corrected_error_ppm

        mass = mass_from_mz(psm.calc_mz, psm.charge)
        return isotope_corrected_error_ppm(mass, psm.precursor_mz, psm.charge, MZ_ISOTOPE_OFFSETS)[0], True
    return math.nan, False


def plot_mass_error(psms: Sequence[PSM], path: str | Path,
                    tolerance_ppm: float | None = DEFAULTS.precursor_tolerance_ppm, title: str = "", bins: int = 60) -> tuple[Path, dict]:
    """Histogram of the rank-1 predictions' isotope-corrected precursor mass error (ppm), the
    tolerance marked; returns the path and counts (``predictions`` with an error, ``within_tolerance``,
    ``computed_from_mz``, ``outside_axis``, ``axis_ppm``).

    The axis spans 2× the tolerance (without one, the 99th percentile of |error|), so a few far-off PSMs
    (fallbacks outside the tolerance, at tens of thousands of ppm) cannot squash the distribution into
    one bar; they are counted in the plot instead. The error is the file's own column, else computed
    from its exp/calc m/z (Casanovo), corrected for the isotope peaks ``MZ_ISOTOPE_OFFSETS``.
    """
    plt = _pyplot()
    pairs = [_mass_error_ppm(p) for p in psms if p.rank == 1]
    errors = np.array([e for e, _ in pairs if math.isfinite(e)])
    figure, axis = plt.subplots(figsize=(5, 3.6))
    counts = {"predictions": int(errors.size), "computed_from_mz": sum(c for e, c in pairs if math.isfinite(e))}
    if errors.size:
        if tolerance_ppm:
            limit = 2.0 * tolerance_ppm
        else:
            limit = max(float(np.percentile(np.abs(errors), 99)), 1.0)
        inside = errors[np.abs(errors) <= limit]
        outside = errors[np.abs(errors) > limit]
        counts["outside_axis"], counts["axis_ppm"] = int(outside.size), float(limit)
        axis.hist(inside, bins=bins, range=(-limit, limit), color="tab:blue", alpha=0.8)
        axis.set_xlim(-limit, limit)
        if outside.size:
            axis.text(0.98, 0.95, f"{outside.size} outside ±{limit:g} ppm\n({outside.min():+.0f} … {outside.max():+.0f})",
                      transform=axis.transAxes, ha="right", va="top", fontsize=7, color="tab:red")
    if tolerance_ppm:
        for x in (-tolerance_ppm, tolerance_ppm):
            axis.axvline(x, color="tab:red", linestyle="--", linewidth=0.8)
        counts["within_tolerance"] = int((np.abs(errors) <= tolerance_ppm).sum())
    axis.set_xlabel("precursor mass error (ppm, isotope-corrected)")
    axis.set_ylabel("predictions")
    axis.set_title(title or f"precursor mass error ({errors.size} predictions)", fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a killed run never leaves half a PNG
        figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path), counts
