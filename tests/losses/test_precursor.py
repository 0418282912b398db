import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.losses import ExpectedSquaredPrecursorLoss, Log1pPPMPrecursorLoss, ScaledL1PrecursorLoss

ISOTOPE = 1.00335483507


def grad_at(loss_fn, pred_value, target_value, **kwargs):
    pred = torch.tensor([pred_value], dtype=torch.float64, requires_grad=True)
    loss = loss_fn(pred, torch.tensor([target_value], dtype=torch.float64), **kwargs)
    loss.backward()
    return loss.item(), pred.grad.item()


@pytest.mark.parametrize(
    "error_da, loss_value, gradient",
    # The proposal's table (1.2 kDa peptide: 200 Da <-> 167k ppm), to its printed precision.
    [(200, 0.98, 0.003), (100, 0.61, 0.005), (50, 0.35, 0.006), (10, 0.08, 0.008)],
)
def test_log1p_reproduces_seed_table(error_da, loss_value, gradient):
    value, grad = grad_at(Log1pPPMPrecursorLoss(), 1200.0 + error_da, 1200.0)
    assert value == pytest.approx(loss_value, abs=0.005)
    assert grad == pytest.approx(gradient, abs=0.0007)
    assert value == pytest.approx(math.log1p(error_da / 1200.0 * 10.0), rel=1e-12)


@pytest.mark.parametrize("error_da", [10, 50, 100, 200, -30])
def test_scaled_l1_constant_gradient(error_da):
    value, grad = grad_at(ScaledL1PrecursorLoss(), 1200.0 + error_da, 1200.0)
    assert value == pytest.approx(0.004 * abs(error_da))
    assert grad == pytest.approx(0.004 * math.copysign(1, error_da))


def test_isotope_tolerant_target():
    loss_fn = ScaledL1PrecursorLoss(isotope_offsets=2)
    measured = 1500.0
    # The true mass may be 0, 1 or 2 isotope spacings below the measured one.
    for n in range(3):
        value, _ = grad_at(loss_fn, measured - n * ISOTOPE + 0.01, measured)
        assert value == pytest.approx(0.004 * 0.01, abs=1e-9)
    value, _ = grad_at(loss_fn, measured + 0.984, measured)  # deamidation is not an isotope
    assert value == pytest.approx(0.004 * 0.984, abs=1e-9)
    value, _ = grad_at(ScaledL1PrecursorLoss(isotope_offsets=(-1, 0)), measured + ISOTOPE, measured)
    assert value == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        ScaledL1PrecursorLoss(isotope_offsets=-1)


@pytest.mark.parametrize("loss_cls", [ScaledL1PrecursorLoss, Log1pPPMPrecursorLoss, ExpectedSquaredPrecursorLoss])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_invalid_targets_are_skipped_with_finite_gradient(loss_cls, dtype):
    pred = torch.tensor([1000.0, 1200.0, 900.0, 800.0], dtype=dtype, requires_grad=True)
    target = torch.tensor([1010.0, float("nan"), float("inf"), 0.0], dtype=dtype)
    loss_fn = loss_cls()
    per = loss_fn(pred, target, reduction="none")
    assert torch.isfinite(per).all() and per.dtype == dtype
    assert per[1] == 0 and per[2] == 0
    mean = loss_fn(pred, target)
    valid = 2 if loss_cls is not Log1pPPMPrecursorLoss else 1  # ppm needs target > 0
    assert mean.item() == pytest.approx(per.sum().item() / valid, rel=1e-6)
    mean.backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[1] == 0 and pred.grad[2] == 0


@settings(max_examples=50, deadline=None)
@given(
    pred=st.floats(300.0, 6000.0),
    target=st.floats(300.0, 6000.0),
    k=st.integers(0, 3),
)
def test_isotope_option_never_increases_the_loss(pred, target, k):
    for cls in (ScaledL1PrecursorLoss, Log1pPPMPrecursorLoss):
        plain, _ = grad_at(cls(), pred, target)
        tolerant, _ = grad_at(cls(isotope_offsets=k), pred, target)
        assert 0 <= tolerant <= plain + 1e-12


def test_expected_squared_penalises_hedging():
    loss_fn = ExpectedSquaredPrecursorLoss(scale_factor=1.0)
    pred = torch.tensor([1000.0], dtype=torch.float64)
    target = torch.tensor([1000.0], dtype=torch.float64)
    assert loss_fn(pred, target).item() == 0.0
    assert loss_fn(pred, target, pred_mass_var_da2=torch.tensor([4.0])).item() == pytest.approx(4.0)
    assert loss_fn(pred + 3, target, pred_mass_var_da2=torch.tensor([4.0])).item() == pytest.approx(13.0)


def test_gradcheck_float64():
    pred = torch.tensor([1000.0, 1500.0, 2300.0], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([1012.3, 1490.1, 2200.0], dtype=torch.float64)
    var = torch.tensor([0.5, 2.0, 0.1], dtype=torch.float64, requires_grad=True)
    for fn in (ScaledL1PrecursorLoss(isotope_offsets=1), Log1pPPMPrecursorLoss(isotope_offsets=(0, 2))):
        assert torch.autograd.gradcheck(lambda p: fn(p, target, reduction="none"), (pred,))
    es = ExpectedSquaredPrecursorLoss()
    assert torch.autograd.gradcheck(lambda p, v: es(p, target, reduction="none", pred_mass_var_da2=v), (pred, var))
