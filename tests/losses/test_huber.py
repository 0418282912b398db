import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.losses import HuberPeakDistanceLoss

from .helpers import random_spectra


def brute_force(pred, pred_mask, obs, obs_mask, delta, empty):
    out = []
    for p, pm, o, om in zip(pred.tolist(), pred_mask.tolist(), obs.tolist(), obs_mask.tolist()):
        real_obs = [x for x, keep in zip(o, om) if keep]
        values = []
        for x, keep in zip(p, pm):
            if not keep:
                continue
            d = min(abs(x - y) for y in real_obs) if real_obs else empty
            values.append(0.5 * d * d if d < delta else delta * (d - 0.5 * delta))
        out.append(float(np.mean(values)) if values else 0.0)
    return torch.tensor(out, dtype=torch.float64)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), delta=st.sampled_from([0.1, 1.0, 5.0]), near=st.sampled_from([0.1, 3.0]))
def test_matches_brute_force(seed, delta, near):
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(seed, near=near)
    obs_mask[0] = False  # one spectrum without observed peaks
    loss = HuberPeakDistanceLoss(delta)(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
    torch.testing.assert_close(loss, brute_force(pred, pred_mask, obs, obs_mask, delta, 10.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_degenerate_inputs_finite(dtype):
    pred, pred_mask, obs, intensity, obs_mask, _ = random_spectra(1, batch=3, dtype=dtype)
    obs_mask[0] = False  # empty observed: every distance is empty_distance_mz
    pred_mask[1] = False  # zero-length peptide: loss 0
    pred.requires_grad_(True)
    loss_fn = HuberPeakDistanceLoss()
    loss = loss_fn(pred, pred_mask, obs, intensity, obs_mask, reduction="none")
    assert loss.dtype == dtype
    assert loss[0].item() == pytest.approx(9.5)  # huber(10, delta=1)
    assert loss[1].item() == 0.0
    loss.sum().backward()
    assert torch.isfinite(pred.grad).all()
    assert torch.all(pred.grad[:2] == 0)
    empty = loss_fn(pred[:, :0], pred_mask[:, :0], obs[:, :0], intensity[:, :0], obs_mask[:, :0], reduction="none")
    assert torch.equal(empty, torch.zeros(3, dtype=dtype))


def test_gradient_is_clipped_distance():
    loss_fn = HuberPeakDistanceLoss(delta=1.0)
    obs = torch.tensor([[500.0, 520.0]], dtype=torch.float64)
    mask = torch.ones_like(obs, dtype=torch.bool)
    for d, expected in [(0.3, 0.3), (3.0, 1.0), (-0.5, -0.5)]:
        pred = torch.tensor([[500.0 + d]], dtype=torch.float64, requires_grad=True)
        loss_fn(pred, torch.tensor([[True]]), obs, torch.ones_like(obs), mask).backward()
        assert pred.grad.item() == pytest.approx(expected)


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    pred = (100 + 50 * torch.rand(2, 5, generator=g, dtype=torch.float64)).requires_grad_(True)
    obs = 100 + 50 * torch.rand(2, 7, generator=g, dtype=torch.float64)
    pred_mask = torch.tensor([[True] * 4 + [False], [True] * 5])
    obs_mask = torch.tensor([[True] * 7, [True] * 3 + [False] * 4])
    loss_fn = HuberPeakDistanceLoss(delta=2.0)
    assert torch.autograd.gradcheck(lambda p: loss_fn(p, pred_mask, obs, None, obs_mask, reduction="none"), (pred,))
