"""Simulator: determinism, per-index independence, chemistry, calibration."""
from __future__ import annotations

import numpy as np
import pytest

from renovo.chem import ISOTOPE_SPACING_DA, PROTON_MASS_DA, default_vocabulary, parse_peptide, peptide_mass_da
from renovo.data import SimulatorConfig, read_spectra, simulate_records, summarize
from renovo.data.simulate import Simulator


def _key(record):
    return (record.peptide, record.precursor_mz, record.precursor_charge, record.mz.tobytes(), record.intensity.tobytes())


def test_same_seed_same_spectra_different_seed_different():
    a = [_key(r) for r in simulate_records(30, seed=7)]
    b = [_key(r) for r in simulate_records(30, seed=7)]
    c = [_key(r) for r in simulate_records(30, seed=8)]
    assert a == b
    assert sum(x == y for x, y in zip(a, c)) == 0


def test_ith_spectrum_depends_only_on_seed_and_index():
    full = [_key(r) for r in simulate_records(40, seed=1)]
    assert [_key(r) for r in simulate_records(10, seed=1)] == full[:10]
    assert [_key(r) for r in simulate_records(5, seed=1, start_index=33)] == full[33:38]
    assert _key(Simulator().spectrum(1, 17)) == full[17]


def test_spectra_are_chemically_consistent():
    records = list(simulate_records(300, seed=2))
    vocabulary = default_vocabulary()
    isotope_errors = 0
    for r in records:
        peptide = parse_peptide(r.peptide)
        assert peptide.proforma == r.peptide  # canonical
        assert 7 <= len(peptide.residues) <= 30
        assert r.precursor_charge in (2, 3, 4)
        assert np.all(np.diff(r.mz) >= 0) and np.all(r.intensity > 0)
        assert r.mz.dtype == np.float64 and r.intensity.dtype == np.float32
        measured = (r.precursor_mz - PROTON_MASS_DA) * r.precursor_charge
        error = measured - peptide_mass_da(r.peptide, vocabulary)
        if abs(error - ISOTOPE_SPACING_DA) < 0.05:
            isotope_errors += 1
        else:
            assert abs(error) / measured * 1e6 < 20  # ppm
    assert 0 < isotope_errors < 30  # "occasional": 2% of 300
    text = " ".join(r.peptide for r in records)
    for token in ("M[Oxidation]", "C[Carbamidomethyl]", "[Deamidated]", "-"):
        assert token in text
    assert sum(r.peptide[-1] in "KR" for r in records) > 0.9 * len(records)


def test_vocabulary_limits_modifications():
    vocabulary = default_vocabulary(variable_mods=())
    for r in simulate_records(100, seed=4, vocabulary=vocabulary):
        assert "[" not in r.peptide.replace("C[Carbamidomethyl]", "")


def test_fasta_peptides(shared_data):
    fasta = shared_data / "fasta" / "mouse_148_proteins.fasta"
    if not fasta.is_file():
        pytest.skip(f"{fasta} missing")
    simulator = Simulator(fasta=fasta)
    records = list(simulate_records(40, seed=0, fasta=fasta))
    assert [_key(r) for r in records] == [_key(r) for r in simulate_records(40, seed=0, fasta=fasta)]
    digest = set(simulator.peptides)
    for r in records:
        bare = "".join(t[0] for t in parse_peptide(r.peptide).residues)
        assert bare in digest


def test_config_round_trip_and_unknown_keys():
    config = SimulatorConfig(noise_peaks_mean=10.0)
    assert SimulatorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown simulator settings"):
        SimulatorConfig.from_dict({"noise": 3})


def test_noise_setting_changes_noise_peaks():
    quiet = summarize(simulate_records(100, seed=0, config=SimulatorConfig(noise_peaks_mean=5.0)))
    loud = summarize(simulate_records(100, seed=0, config=SimulatorConfig(noise_peaks_mean=80.0)))
    assert quiet["noise_peaks_median"] < 15 < 60 < loud["noise_peaks_median"]


def test_statistics_near_massivekb(real_dir):
    """Calibration: the default simulator lands near massivekb_500 (the calibration file)."""
    real = summarize(read_spectra(real_dir / "massivekb_500.mgf"))
    simulated = summarize(simulate_records(400, seed=0))
    assert simulated["peaks_median"] == pytest.approx(real["peaks_median"], rel=0.2)
    assert simulated["by_intensity_fraction_median"] == pytest.approx(real["by_intensity_fraction_median"], abs=0.07)
    assert simulated["by_coverage_median"] == pytest.approx(real["by_coverage_median"], abs=0.1)
    assert simulated["noise_peaks_median"] == pytest.approx(real["noise_peaks_median"], rel=0.2)
    for z in ("2", "3", "4"):
        assert simulated["charge_fractions"][z] == pytest.approx(real["charge_fractions"][z], abs=0.06)
