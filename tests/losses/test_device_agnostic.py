"""Every tensor the losses create takes its device and dtype from their inputs.

Run under `foreign_factories` (tests/conftest.py): factories without an
explicit device build ``meta`` tensors and float factories without a dtype
build float64, so a loss that creates a tensor from nowhere fails here on CPU
the way it would fail (or silently promote) on a GPU or in float32.
"""
from __future__ import annotations

import pytest
import torch

from renovo.losses import (
    ExpectedSquaredPrecursorLoss,
    GaussianSpectralLoss,
    HuberPeakDistanceLoss,
    Log1pPPMPrecursorLoss,
    ScaledL1PrecursorLoss,
    theoretical_fragments,
)

from .helpers import N_SPECIAL, one_hot_batch, random_spectra, residue_masses_da

DTYPES = [torch.float32, torch.float64]


def soft_batch(dtype):
    probs, lengths = one_hot_batch(["PEPTIDEK", "ACDK", "W"], reverse=True, dtype=dtype, pad_to=12)
    probs = (0.9 * probs + 0.1 / probs.shape[-1]).requires_grad_(True)  # soft, with a gradient
    nterm = torch.zeros(probs.shape[-1], dtype=torch.bool)
    nterm[N_SPECIAL] = True  # pretend the first residue token is an N-terminal modification
    return probs, lengths, nterm


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mass_mode", ["expected", "straight_through"])
def test_theoretical_fragments(foreign_factories, dtype, mass_mode):
    probs, lengths, nterm = soft_batch(dtype)
    masses = residue_masses_da()
    with foreign_factories():
        fragments = theoretical_fragments(probs, masses, lengths, (1, 2), mass_mode, reverse=True,
                                          nterm_token_mask=nterm)
        fragments.mz[fragments.mask].sum().backward()
    for value in fragments:
        assert value.device.type == "cpu"
    assert fragments.mz.dtype == fragments.peptide_mass_da.dtype == dtype
    assert probs.grad is not None and probs.grad.device.type == "cpu"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [
    dict(render="analytic"),
    dict(render="grid", max_mz=300.0),
    dict(render="analytic", sigma=[0.05, 0.5], variance_aware=True),
    dict(render="grid", max_mz=300.0, variance_aware=True),
])
def test_gaussian_spectral_loss(foreign_factories, dtype, options):
    pred, pred_mask, obs, intensity, obs_mask, variance = random_spectra(0, dtype=dtype)
    pred.requires_grad_(True)
    loss = GaussianSpectralLoss(**options)
    extra = {"pred_variance": variance} if options.get("variance_aware") else {}
    with foreign_factories():
        value = loss(pred, pred_mask, obs, intensity, obs_mask, reduction="none", **extra)
        value.sum().backward()
    assert value.device.type == "cpu" and value.dtype == dtype
    assert torch.isfinite(value).all() and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_spectral_loss_empty_inputs(foreign_factories, dtype):
    empty_pred = torch.zeros(2, 0, dtype=dtype, requires_grad=True)
    empty_obs = torch.zeros(2, 0, dtype=dtype)
    no_peaks = torch.zeros(2, 0, dtype=torch.bool)
    with foreign_factories():
        value = GaussianSpectralLoss()(empty_pred, no_peaks, empty_obs, empty_obs, no_peaks, reduction="none")
    assert value.device.type == "cpu" and value.dtype == dtype and value.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_peak_distance_loss(foreign_factories, dtype):
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(1, dtype=dtype)
    obs_mask[0] = False  # one spectrum without observed peaks
    pred.requires_grad_(True)
    with foreign_factories():
        value = HuberPeakDistanceLoss()(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
        value.sum().backward()
    assert value.device.type == "cpu" and value.dtype == dtype and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", [
    ScaledL1PrecursorLoss(isotope_offsets=1),
    Log1pPPMPrecursorLoss(isotope_offsets=(-1, 2)),
    ExpectedSquaredPrecursorLoss(),
    ScaledL1PrecursorLoss(),
], ids=["scaled_l1_iso", "log1p_iso", "expected_squared", "scaled_l1"])
def test_precursor_losses(foreign_factories, dtype, loss):
    pred = torch.tensor([1000.0, 1201.0, 800.0], dtype=dtype, requires_grad=True)
    target = torch.tensor([1001.0, float("nan"), 800.5], dtype=torch.float64)  # one unlabelled spectrum
    extra = {"pred_mass_var_da2": torch.ones(3, dtype=dtype)} if isinstance(loss, ExpectedSquaredPrecursorLoss) else {}
    with foreign_factories():
        value = loss(pred, target, "mean", **extra)
        value.backward()
    assert value.device.type == "cpu" and value.dtype == dtype and torch.isfinite(pred.grad).all()
