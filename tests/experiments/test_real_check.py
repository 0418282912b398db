"""real_check on a few real spectra: the analytic Gaussian loss should prefer the true peptide to shuffles."""
from __future__ import annotations

import numpy as np
import pytest

from renovo.experiments.real_check import make_decoys, pairwise_auc, score_candidates


def test_pairwise_auc():
    assert pairwise_auc(np.array([0.1]), np.array([0.2, 0.3])) == 1.0
    assert pairwise_auc(np.array([0.5]), np.array([0.2, 0.5])) == 0.25
    assert np.isnan(pairwise_auc(np.array([]), np.array([0.1])))


def test_decoys_keep_mass_and_differ():
    from renovo.chem import peptide_mass_da

    rng = np.random.default_rng(0)
    tokens = tuple("PEPTIDEKNQ")
    decoys = make_decoys(tokens, rng)
    assert {kind for kind, _ in decoys} >= {"shuffle", "swap", "substitution", "isobaric"}
    true_mass = peptide_mass_da("".join(tokens))
    for kind, decoy in decoys:
        assert decoy != tokens
        if kind in ("shuffle", "swap", "isobaric"):
            assert peptide_mass_da("".join(decoy)) == pytest.approx(true_mass, abs=1e-6)


def test_gaussian_loss_ranks_true_peptide_above_shuffles(shared_data):
    from renovo.chem import Tokenizer, parse_peptide
    from renovo.data import PreprocessConfig, preprocess, read_spectra
    from renovo.losses import GaussianSpectralLoss

    path = shared_data / "real" / "casanovo_mouse_128.mgf"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    tokenizer = Tokenizer()
    loss = {"gaussian": GaussianSpectralLoss(sigma=0.05, render="analytic")}
    rng = np.random.default_rng(0)
    wins, scored = 0, 0
    for record in read_spectra(path):
        if scored == 12:
            break
        if not record.peptide:
            continue
        peptide = parse_peptide(record.peptide, tokenizer.vocabulary)
        shuffles = [t for kind, t in make_decoys(peptide.tokens, rng) if kind == "shuffle"]
        mz, intensity = preprocess(record.mz, record.intensity, record.precursor_mz, record.precursor_charge,
                                   PreprocessConfig())
        if not shuffles or len(mz) == 0:
            continue
        values = score_candidates([peptide.tokens] + shuffles, tokenizer, mz, intensity, record.precursor_charge,
                                  loss)["gaussian"]
        assert np.isfinite(values).all() and ((values >= 0) & (values <= 1 + 1e-9)).all()
        wins += int(values[0] < values[1:].min())
        scored += 1
    assert scored >= 8, f"only {scored} annotated spectra with shuffle decoys in {path.name}"
    assert wins / scored > 0.5, f"true peptide ranked first against shuffles in only {wins}/{scored} spectra"


def test_invalid_decoys_are_dropped():
    from renovo.chem import default_vocabulary
    from renovo.experiments.real_check import _mass_or_nan

    # A swap moves pyro-Glu's Q away from the N-terminus: not a peptide, so not a decoy.
    assert np.isnan(_mass_or_nan(("[Gln->pyro-Glu]-", "Y", "Q", "H"), default_vocabulary()))
    assert np.isfinite(_mass_or_nan(("[Gln->pyro-Glu]-", "Q", "Y", "H"), default_vocabulary()))
