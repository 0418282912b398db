"""Annotation statistics."""
from __future__ import annotations

import numpy as np
import pytest

from renovo.chem import fragment_ladder, precursor_mz
from renovo.data import SpectrumRecord, annotate, format_table, spectrum_stats, summarize
from renovo.data.stats import BY, IMMONIUM, ISOTOPE, LOSS, PRECURSOR


def test_annotation_of_a_constructed_spectrum():
    peptide = "PEPTIDEK"
    ladder = fragment_ladder(peptide, ("b", "y"), (1,), ("H2O",))
    b, y, b_water = ladder[("b", 1, "")], ladder[("y", 1, "")], ladder[("b", 1, "H2O")]
    precursor = precursor_mz(peptide, 2)
    noise = np.array([333.333, 444.444])
    mz = np.concatenate([b[[1, 2]], y[[0, 3]] + 0.01, b_water[[4]], y[[0]] + 1.00336, [70.0651], [precursor], noise])
    intensity = np.array([1, 1, 2, 2, 1, 1, 1, 1, 1, 1], dtype=np.float32)
    order = np.argsort(mz)
    record = SpectrumRecord(mz[order], intensity[order], precursor, 2, peptide)
    kinds, sites = annotate(record)
    kinds = kinds[np.argsort(order)]
    assert kinds.tolist() == [BY, BY, BY, BY, LOSS, ISOTOPE, IMMONIUM, PRECURSOR, 0, 0]
    stats = spectrum_stats(record)
    assert stats.by_intensity_fraction == pytest.approx(6 / 12)
    # sites: b2 → 1, b3 → 2, y1 → 6, y4 → 3 of the 7 cleavage sites
    assert stats.by_coverage == pytest.approx(4 / 7)
    assert stats.noise_peaks == 2
    # outside the 0.02 Da tolerance nothing matches
    shifted = SpectrumRecord(record.mz + 0.05, record.intensity, precursor, 2, peptide)
    assert spectrum_stats(shifted).by_peaks == 0


def test_summary_and_table(real_dir):
    from renovo.data import read_spectra

    summary = summarize(read_spectra(real_dir / "massivekb_500.mgf"))
    assert summary["spectra"] == 500 and summary["label_rate"] == 1.0
    assert 0.2 < summary["by_intensity_fraction_median"] < 0.5
    assert 0.6 < summary["by_coverage_median"] < 0.95
    unlabeled = summarize([SpectrumRecord(np.array([100.0]), np.array([1.0]), 500.0, 2)])
    assert unlabeled["label_rate"] == 0.0 and unlabeled["by_coverage_median"] != unlabeled["by_coverage_median"]
    table = format_table({"real": summary, "none": unlabeled})
    assert "b/y coverage" in table and "real" in table and "–" in table
