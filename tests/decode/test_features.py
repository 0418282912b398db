"""Candidate features on exact masses: the ions against pyteomics, a spectrum made of a peptide's own ions."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyteomics import mass as pyteomics_mass

from renovo.chem import PROTON_MASS_DA, Tokenizer, peptide_mass_da
from renovo.decode import FEATURE_NAMES, Prediction, candidate_features
from renovo.decode.features import fragment_ions_mz, residue_masses_n_to_c

TOKENIZER = Tokenizer()


def _prediction(peptide: str, score: float = 0.5, match: bool = True) -> Prediction:
    ids = TOKENIZER.encode(peptide, add_eos=False)
    return Prediction(peptide=peptide, score=score, residue_scores=[score] * len(peptide), tokens=ids,
                      mass_da=peptide_mass_da(peptide), precursor_match=match)


def _batch(peptide: str, charge: int = 2, extra_peaks=()):
    masses = residue_masses_n_to_c(TOKENIZER, _prediction(peptide))
    ions = fragment_ions_mz(masses, (1,)).reshape(-1)
    mz = np.sort(np.concatenate([ions, np.asarray(extra_peaks, dtype=np.float64)]))
    precursor_mz = (peptide_mass_da(peptide) + charge * PROTON_MASS_DA) / charge
    return {"mz": torch.tensor(mz[None, :]), "intensity": torch.ones(1, len(mz)),
            "peak_mask": torch.ones(1, len(mz), dtype=torch.bool), "precursor_charge": torch.tensor([charge]),
            "precursor_mz": torch.tensor([precursor_mz], dtype=torch.float64),
            "precursor_mass_da": torch.tensor([peptide_mass_da(peptide)], dtype=torch.float64)}


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet="ACDEFGHIKLMNPQRSTVWY", min_size=2, max_size=25), st.sampled_from([1, 2, 3]))
def test_ions_agree_with_pyteomics(sequence, charge):
    masses = residue_masses_n_to_c(TOKENIZER, _prediction(sequence.replace("C", "C[Carbamidomethyl]")))
    ions = fragment_ions_mz(masses, (charge,))  # (2, 1, L-1)
    # Carbamidomethyl from its composition (57.02146372…): the rounded 57.021464 drifts past 1e-6 Da at 3+ Cs.
    carbamidomethyl_da = pyteomics_mass.calculate_mass(formula="H3C2NO")
    aa_mass = dict(pyteomics_mass.std_aa_mass, C=pyteomics_mass.std_aa_mass["C"] + carbamidomethyl_da)
    for i in range(1, len(sequence)):
        b = pyteomics_mass.fast_mass(sequence[:i], ion_type="b", charge=charge, aa_mass=aa_mass)
        y = pyteomics_mass.fast_mass(sequence[i:], ion_type="y", charge=charge, aa_mass=aa_mass)
        assert ions[0, 0, i - 1] == pytest.approx(b, abs=1e-6)
        assert ions[1, 0, i - 1] == pytest.approx(y, abs=1e-6)


def test_a_spectrum_of_the_peptides_own_ions_scores_it_fully_and_a_swap_less():
    true, swapped = "PEPTIDEK", "PEPITDEK"
    batch = _batch(true, extra_peaks=[300.123, 777.7])
    rows = candidate_features(batch, [[_prediction(true, 0.6), _prediction(swapped, 0.3)]], TOKENIZER)[0]
    f = {name: rows[:, i] for i, name in enumerate(FEATURE_NAMES)}
    assert f["ion_fraction"][0] == 1.0 and f["longest_run"][0] == 1.0
    assert f["explained_intensity"][0] == pytest.approx(14 / 16)  # 14 ions among 16 peaks
    assert f["gaussian_cosine_10mda"][0] == pytest.approx(math.sqrt(14 / 16), rel=1e-3)
    for name in ("ion_fraction", "explained_intensity", "longest_run", "gaussian_cosine_10mda"):
        assert f[name][1] < f[name][0], name
    assert f["abs_error_ppm"][0] == pytest.approx(0.0, abs=1e-6) and f["in_tolerance"][0] == 1.0
    assert f["mean_logp"][0] == pytest.approx(math.log(0.6)) and f["score_gap"][1] == pytest.approx(math.log(0.3 / 0.6))
    assert f["beam_rank"].tolist() == [0.0, 1.0] and f["length"][0] == 8 and f["charge"][0] == 2


def test_doubly_charged_ions_count_from_precursor_charge_three():
    peptide = "PEPTIDEK"
    masses = residue_masses_n_to_c(TOKENIZER, _prediction(peptide))
    doubly = fragment_ions_mz(masses, (2,)).reshape(-1)
    batch = _batch(peptide, charge=3)
    batch["mz"] = torch.tensor(np.sort(doubly)[None, :])  # only 2+ ions observed
    batch["intensity"] = torch.ones(1, len(doubly))
    batch["peak_mask"] = torch.ones(1, len(doubly), dtype=torch.bool)
    rows = candidate_features(batch, [[_prediction(peptide)]], TOKENIZER)[0]
    assert rows[0, FEATURE_NAMES.index("ion_fraction")] == pytest.approx(0.5)  # all 2+ of 1+ and 2+
    batch["precursor_charge"] = torch.tensor([2])  # same neutral mass, another charge
    rows = candidate_features(batch, [[_prediction(peptide)]], TOKENIZER)[0]
    assert rows[0, FEATURE_NAMES.index("ion_fraction")] == 0.0  # 2+ ions not expected at precursor charge 2


def test_empty_and_padded_inputs_are_finite():
    batch = _batch("PEPTIDEK")
    batch["peak_mask"][:] = False
    rows = candidate_features(batch, [[_prediction("PEPTIDEK"), _prediction("GK")]], TOKENIZER)[0]
    assert np.isfinite(rows).all() and rows[0, FEATURE_NAMES.index("ion_fraction")] == 0.0
    assert candidate_features(batch, [[]], TOKENIZER)[0].shape == (0, len(FEATURE_NAMES))
