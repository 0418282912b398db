"""The loss registry: every configured loss is built by type and called as loss(fragments, batch)."""
from __future__ import annotations

import pytest
import torch

from renovo.errors import RenovoError
from renovo.losses import (GaussianSpectralLoss, HuberPeakDistanceLoss, Log1pPPMPrecursorLoss, PRECURSOR_LOSSES,
                           SPECTRUM_LOSSES, ExpectedSquaredPrecursorLoss, ScaledL1PrecursorLoss,
                           build_precursor_loss, build_spectrum_loss, theoretical_fragments)

from .helpers import one_hot_batch, residue_masses_da

SPECTRUM = {"type": "gaussian", "render": "analytic", "sigma": 0.05, "sigma_weights": None, "bin_size": 0.1,
            "max_mz": 2000.0, "variance_aware": False, "mass_mode": "expected", "charges": [1], "huber_delta": 1.0}
PRECURSOR = {"type": "scaled_l1", "scale_factor": 0.004, "ppm_scale": 1e5, "target": "label", "isotope_offsets": 0}


@pytest.fixture
def fragments_and_batch():
    probs, lengths = one_hot_batch(["PEPTIDEK", "ACDK"])
    fragments = theoretical_fragments(probs, residue_masses_da(), lengths)
    g = torch.Generator().manual_seed(0)
    observed = fragments.mz[:, :6].detach() + 0.01 * torch.randn(2, 6, generator=g, dtype=torch.float64)
    batch = {"mz": observed.float(), "intensity": torch.rand(2, 6, generator=g), "peak_mask": torch.ones(2, 6, dtype=torch.bool),
             "peptide_mass_da": fragments.peptide_mass_da.detach() + 3.0,
             "precursor_mass_da": fragments.peptide_mass_da.detach() - 1.0}
    return fragments, batch


def test_registries_cover_the_config_types():
    assert set(SPECTRUM_LOSSES) == {"gaussian", "huber"}
    assert set(PRECURSOR_LOSSES) == {"scaled_l1", "log1p", "expected_squared"}
    assert build_spectrum_loss({**SPECTRUM, "type": "none"}) is None
    assert build_precursor_loss({**PRECURSOR, "type": "none"}) is None


@pytest.mark.parametrize("kind, direct", [
    ("gaussian", GaussianSpectralLoss(sigma=0.05)),
    ("huber", HuberPeakDistanceLoss(delta=1.0)),
])
def test_spectrum_terms_equal_the_tensor_level_losses(kind, direct, fragments_and_batch):
    fragments, batch = fragments_and_batch
    term = build_spectrum_loss({**SPECTRUM, "type": kind})
    expected = direct(fragments.mz, fragments.mask, batch["mz"].double(), batch["intensity"].double(), batch["peak_mask"])
    assert term.kind == kind
    torch.testing.assert_close(term(fragments, batch), expected)


@pytest.mark.parametrize("kind, direct", [
    ("scaled_l1", ScaledL1PrecursorLoss(0.004)),
    ("log1p", Log1pPPMPrecursorLoss(1e5)),
    ("expected_squared", ExpectedSquaredPrecursorLoss(0.004)),
])
@pytest.mark.parametrize("target, key", [("label", "peptide_mass_da"), ("measured", "precursor_mass_da")])
def test_precursor_terms_compare_with_the_configured_target(kind, direct, target, key, fragments_and_batch):
    fragments, batch = fragments_and_batch
    term = build_precursor_loss({**PRECURSOR, "type": kind, "target": target})
    extra = {"pred_mass_var_da2": fragments.peptide_mass_var_da2} if kind == "expected_squared" else {}
    torch.testing.assert_close(term(fragments, batch), direct(fragments.peptide_mass_da, batch[key], **extra))


def test_bad_settings_name_the_config_key():
    with pytest.raises(RenovoError, match="loss.spectrum.type"):
        build_spectrum_loss({**SPECTRUM, "type": "cosine"})
    with pytest.raises(RenovoError, match="loss.precursor.target"):
        build_precursor_loss({**PRECURSOR, "target": "nearest"})
    with pytest.raises(RenovoError, match="loss.spectrum"):
        build_spectrum_loss({**SPECTRUM, "render": "raytraced"})
