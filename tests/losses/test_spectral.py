import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.losses import GaussianSpectralLoss, spectral

from .helpers import random_spectra


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), sigma=st.sampled_from([0.05, 0.2]), variance_aware=st.booleans())
def test_analytic_matches_grid_on_a_fine_grid(seed, sigma, variance_aware):
    pred, pred_mask, obs, intensity, obs_mask, variance = random_spectra(seed)
    kwargs = dict(pred_variance=variance) if variance_aware else {}
    analytic = GaussianSpectralLoss(sigma, render="analytic", variance_aware=variance_aware)
    grid = GaussianSpectralLoss(sigma, bin_size=sigma / 10, max_mz=300.0, render="grid", variance_aware=variance_aware)
    a = analytic(pred, pred_mask, obs, intensity, obs_mask, reduction="none", **kwargs)
    b = grid(pred, pred_mask, obs, intensity, obs_mask, reduction="none", **kwargs)
    assert (a - b).abs().max().item() <= 1e-4


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    sigma=st.one_of(st.floats(0.01, 3.0), st.just([0.05, 0.5, 2.0])),
    variance_aware=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    near=st.sampled_from([0.0, 0.1, 5.0]),
)
def test_loss_lies_in_unit_interval_with_finite_gradient(seed, sigma, variance_aware, dtype, near):
    pred, pred_mask, obs, intensity, obs_mask, variance = random_spectra(seed, dtype=dtype, near=near, hi=1500.0)
    variance = variance * 50  # far wider than sigma too
    pred.requires_grad_(True)
    variance.requires_grad_(True)
    loss_fn = GaussianSpectralLoss(sigma, variance_aware=variance_aware)
    loss = loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="none", pred_variance=variance)
    assert loss.dtype == dtype
    assert torch.all(loss >= 0) and torch.all(loss <= 1)
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert variance.grad is None if not variance_aware else torch.isfinite(variance.grad).all()


def test_identical_spectra_give_zero_and_disjoint_give_one():
    pred = torch.tensor([[100.0, 200.0, 300.0]], dtype=torch.float64)
    mask = torch.ones_like(pred, dtype=torch.bool)
    for render in ("analytic", "grid"):
        loss_fn = GaussianSpectralLoss(0.05, bin_size=0.005, max_mz=400.0, render=render)
        assert loss_fn(pred, mask, pred, torch.ones_like(pred), mask).item() == pytest.approx(0.0, abs=1e-9)
        far = loss_fn(pred, mask, pred + 50.0, torch.ones_like(pred), mask).item()
        assert far == pytest.approx(1.0, abs=1e-9)


def test_single_pair_closed_form():
    sigma, d = 0.05, 0.07
    loss = GaussianSpectralLoss(sigma)(
        torch.tensor([[500.0 + d]], dtype=torch.float64), torch.tensor([[True]]),
        torch.tensor([[500.0]], dtype=torch.float64), torch.tensor([[3.0]], dtype=torch.float64), torch.tensor([[True]]),
    )
    assert loss.item() == pytest.approx(1 - math.exp(-(d**2) / (4 * sigma**2)), rel=1e-12)


def test_variance_aware_single_pair_closed_form():
    sigma, d, s2 = 0.05, 0.4, 0.25
    loss = GaussianSpectralLoss(sigma, variance_aware=True)(
        torch.tensor([[500.0 + d]], dtype=torch.float64), torch.tensor([[True]]),
        torch.tensor([[500.0]], dtype=torch.float64), torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[True]]),
        pred_variance=torch.tensor([[s2]], dtype=torch.float64),
    )
    v_p, v_o = sigma**2 + s2, sigma**2
    # N(d; 0, v_p+v_o) / sqrt(N(0; 0, 2 v_p) N(0; 0, 2 v_o))
    cos = math.exp(-(d**2) / (2 * (v_p + v_o))) * math.sqrt(2 * math.sqrt(v_p * v_o) / (v_p + v_o))
    assert loss.item() == pytest.approx(1 - cos, rel=1e-12)


def test_zero_variance_equals_plain_kernel():
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(3)
    plain = GaussianSpectralLoss(0.05)(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
    aware = GaussianSpectralLoss(0.05, variance_aware=True)(
        pred, pred_mask, obs, intensity, obs_mask, reduction="none", pred_variance=torch.zeros_like(pred)
    )
    torch.testing.assert_close(plain, aware)


def test_multiscale_is_weighted_sum_of_single_scales():
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(4)
    args = (pred, pred_mask, obs, intensity, obs_mask)
    single = [GaussianSpectralLoss(s)(*args, reduction="none") for s in (0.05, 0.5, 2.0)]
    multi = GaussianSpectralLoss([0.05, 0.5, 2.0], sigma_weights=[1, 2, 1])(*args, reduction="none")
    torch.testing.assert_close(multi, 0.25 * single[0] + 0.5 * single[1] + 0.25 * single[2])
    equal = GaussianSpectralLoss([0.05, 0.5, 2.0])(*args, reduction="none")
    torch.testing.assert_close(equal, sum(single) / 3)


def test_masked_entries_are_ignored_whatever_they_hold():
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(5)
    loss_fn = GaussianSpectralLoss(0.05)
    base = loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
    garbage_pred = torch.where(pred_mask, pred, torch.full_like(pred, 1e30))
    garbage_obs = torch.where(obs_mask, obs, torch.full_like(obs, -7.0))
    garbage_int = torch.where(obs_mask, intensity, torch.full_like(intensity, 1e6))
    torch.testing.assert_close(loss_fn(garbage_pred, pred_mask, garbage_obs, garbage_int, obs_mask, reduction="none"), base)


@pytest.mark.parametrize("render", ["analytic", "grid"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", ["empty_observed", "zero_intensity", "zero_length", "all_padding"])
def test_degenerate_inputs_give_loss_one_and_finite_gradient(render, dtype, case):
    pred, pred_mask, obs, intensity, obs_mask, variance = random_spectra(6, batch=2, dtype=dtype)
    if case == "empty_observed":
        obs_mask = torch.zeros_like(obs_mask)
    elif case == "zero_intensity":
        intensity = torch.zeros_like(intensity)
    elif case == "zero_length":
        pred_mask = torch.zeros_like(pred_mask)
    else:
        pred = pred[:, :0]
        pred_mask = pred_mask[:, :0]
        variance = variance[:, :0]
    pred.requires_grad_(True)
    intensity.requires_grad_(True)
    for variance_aware in (False, True):
        loss_fn = GaussianSpectralLoss([0.05, 1.0], bin_size=0.1, max_mz=300.0, render=render, variance_aware=variance_aware)
        loss = loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="none", pred_variance=variance)
        torch.testing.assert_close(loss, torch.ones(2, dtype=dtype))
        grads = torch.autograd.grad(loss.mean(), (pred, intensity), allow_unused=True)
        assert all(g is None or torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(
    "kwargs",
    [dict(render="analytic"), dict(render="grid", bin_size=0.5, max_mz=120.0), dict(sigma=[0.3, 1.0]), dict(variance_aware=True)],
)
def test_gradcheck_float64(kwargs):
    kwargs = dict(kwargs)
    kwargs.setdefault("sigma", 0.4)
    loss_fn = GaussianSpectralLoss(**kwargs)
    g = torch.Generator().manual_seed(7)
    pred = (60 + 40 * torch.rand(2, 4, generator=g, dtype=torch.float64)).requires_grad_(True)
    obs = torch.cat([pred.detach()[:, :2] + 0.3, 60 + 40 * torch.rand(2, 3, generator=g, dtype=torch.float64)], 1)
    intensity = torch.rand(2, 5, generator=g, dtype=torch.float64).requires_grad_(True)
    variance = (0.1 + torch.rand(2, 4, generator=g, dtype=torch.float64)).requires_grad_(True)
    pred_mask = torch.tensor([[True, True, True, False], [True, False, True, True]])
    obs_mask = torch.tensor([[True, True, False, True, True], [True, True, True, True, False]])

    def fn(p, i, v):
        return loss_fn(p, pred_mask, obs, i, obs_mask, reduction="none", pred_variance=v)

    assert torch.autograd.gradcheck(fn, (pred, intensity, variance))


def test_reductions():
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(8)
    loss_fn = GaussianSpectralLoss()
    per = loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
    assert per.shape == (3,)
    torch.testing.assert_close(loss_fn(pred, pred_mask, obs, intensity, obs_mask), per.mean())
    torch.testing.assert_close(loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="sum"), per.sum())
    with pytest.raises(ValueError):
        loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="max")


def test_grid_at_seed_defaults_aliases_with_position_in_bin():
    # docs/background.md §2: with bin = 2σ a lone peak's rendered norm depends on where it sits in a bin.
    loss_fn = GaussianSpectralLoss(0.05, bin_size=0.1, max_mz=200.0, render="grid")
    mask = torch.tensor([[True]])
    norms = []
    for offset in np.linspace(0, 0.1, 11):
        mz = torch.tensor([[100.0 + offset]], dtype=torch.float64)
        # Observed = the same peak: a perfect grid would give loss 0 everywhere; it does, but
        # a peak 0.03 off is scored differently depending on bin phase.
        off = loss_fn(mz + 0.03, mask, mz, torch.ones_like(mz), mask).item()
        norms.append(off)
    assert max(norms) - min(norms) > 1e-3
    analytic = GaussianSpectralLoss(0.05)
    mz = torch.tensor([[100.0]], dtype=torch.float64)
    values = [analytic(mz + o + 0.03, mask, mz + o, torch.ones_like(mz), mask).item() for o in np.linspace(0, 0.1, 11)]
    assert max(values) - min(values) < 1e-9


def test_variance_aware_requires_variance():
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(9)
    with pytest.raises(ValueError):
        GaussianSpectralLoss(variance_aware=True)(pred, pred_mask, obs, intensity, obs_mask)
    with pytest.raises(ValueError):
        GaussianSpectralLoss(render="bins")
    with pytest.raises(ValueError):
        GaussianSpectralLoss(sigma=[0.05, 0.5], sigma_weights=[1.0])


def reference_quadratic_form(x, y, u, w, v_ref, vx=None, vy=None):
    """Plain-autograd uᵀ K w with K_ij = sqrt(v_ref / V_ij) exp(-Δ_ij² / (2 V_ij))."""
    vx = torch.full_like(x, v_ref / 2) if vx is None else vx
    vy = torch.full_like(y, v_ref / 2) if vy is None else vy
    total = vx.unsqueeze(-1) + vy.unsqueeze(-2)
    kernel = torch.exp(-(x.unsqueeze(-1) - y.unsqueeze(-2)).square() / (2 * total)) * torch.sqrt(v_ref / total)
    return torch.einsum("bp,bpq,bq->b", u, kernel, w)


@pytest.mark.parametrize("spread", [3.0, 300.0])  # clustered: windows hold every peak; spread: a few
@pytest.mark.parametrize("with_variance", [False, True])
def test_windowed_kernel_matches_dense_reference(with_variance, spread):
    g = torch.Generator().manual_seed(11)
    b, p, q = 7, 6, 9
    x = (100 + spread * torch.rand(b, p, generator=g, dtype=torch.float64)).requires_grad_(True)
    y = (100 + spread * torch.rand(b, q, generator=g, dtype=torch.float64)).requires_grad_(True)
    u = torch.rand(b, p, generator=g, dtype=torch.float64)
    w = torch.rand(b, q, generator=g, dtype=torch.float64)
    x_mask = torch.ones(b, p, dtype=torch.bool)
    x_mask[:, -2:] = False  # padding: weight 0, parked out of every window
    u[~x_mask] = 0
    w[0] = 0  # all-zero intensities: gradients still as the dense sum's
    u.requires_grad_(True)
    w.requires_grad_(True)
    vx = (0.01 + torch.rand(b, p, generator=g, dtype=torch.float64)).requires_grad_(True) if with_variance else None
    vy = (0.01 + torch.rand(b, q, generator=g, dtype=torch.float64)).requires_grad_(True) if with_variance else None
    inputs = [t for t in (x, y, u, w, vx, vy) if t is not None]
    ours = spectral._overlap_quadratic_form(x, y, u, w, 0.08, vx=vx, vy=vy, x_mask=x_mask)
    ref = reference_quadratic_form(x, y, u, w, 0.08, vx=vx, vy=vy)
    torch.testing.assert_close(ours, ref)
    weights = torch.rand(b, generator=g, dtype=torch.float64)
    for a, r in zip(torch.autograd.grad((ours * weights).sum(), inputs), torch.autograd.grad((ref * weights).sum(), inputs)):
        if a.shape == x_mask.shape:  # parked padding: its gradient is 0 by design
            r = torch.where(x_mask, r, torch.zeros_like(r))
        torch.testing.assert_close(a, r)
