"""Per-term gradient clipping (the clip controls) and the AdamW step shares of the gradient-flow monitor."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.train import load_config, read_metrics, train
from renovo.train.module import per_term_clipped_backward
from renovo.train.monitors import adamw_step_shares


def _losses(ce_scale: float, physics_scale: float):
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(5, 3))
    bias = torch.nn.Parameter(torch.randn(3))
    x = torch.randn(8, 5)
    out = x @ weight + bias
    ce = ce_scale * (out ** 2).mean()
    physics = physics_scale * out.sin().sum()
    return [weight, bias], ce, physics


def _grads(loss, params):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params, retain_graph=True)])


@settings(max_examples=30, deadline=None)
@given(ce_scale=st.floats(0.01, 50.0), physics_scale=st.floats(0.01, 50.0), clip=st.floats(0.1, 5.0),
       cap=st.one_of(st.none(), st.floats(0.05, 2.0)))
def test_each_part_is_clipped_on_its_own(ce_scale, physics_scale, clip, cap):
    params, ce, physics = _losses(ce_scale, physics_scale)
    g_ce, g_physics = _grads(ce, params), _grads(physics, params)
    stats = per_term_clipped_backward(ce, physics, params, clip, cap)
    combined = torch.cat([p.grad.reshape(-1) for p in params])
    ce_part = g_ce * min(1.0, clip / (float(g_ce.norm()) + 1e-6))
    physics_part = combined - ce_part
    # Cross-entropy's step is what it would be alone: the physics gradient cannot shrink it.
    assert torch.allclose(physics_part, g_physics * stats["physics_clip_scale"], atol=1e-5, rtol=1e-4)
    assert float(ce_part.norm()) <= clip * (1 + 1e-5)
    assert float(physics_part.norm()) <= clip * (1 + 1e-4) + 1e-6
    if cap is not None:
        assert float(physics_part.norm()) <= cap * float(ce_part.norm()) * (1 + 1e-4) + 1e-6
    assert stats["ce_norm_pre_clip"] == pytest.approx(float(g_ce.norm()), rel=1e-5)
    assert stats["physics_norm_pre_clip"] == pytest.approx(float(g_physics.norm()), rel=1e-5)


def test_small_gradients_pass_unchanged():
    params, ce, physics = _losses(0.001, 0.001)
    expected = _grads(ce + physics, params)
    stats = per_term_clipped_backward(ce, physics, params, 1.0)
    assert stats["ce_clip_scale"] == 1.0 and stats["physics_clip_scale"] == 1.0
    assert torch.allclose(torch.cat([p.grad.reshape(-1) for p in params]), expected, atol=1e-7)


def test_adamw_step_shares_add_up_and_follow_the_step():
    g_ce = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    g_spec = torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64)
    # A step along -g_ce only: all of the first-order decrease is cross-entropy's, whatever g_spec's size.
    shares = adamw_step_shares({"ce": g_ce, "spectrum": g_spec}, torch.tensor([-0.1, 0.0, 0.0], dtype=torch.float64))
    assert shares["grad/ce_adamw_step_share"] == pytest.approx(1.0)
    assert shares["grad/spectrum_adamw_step_share"] == pytest.approx(0.0)
    shares = adamw_step_shares({"ce": g_ce, "spectrum": g_spec}, torch.tensor([-0.1, -0.1, 0.5], dtype=torch.float64))
    assert shares["grad/ce_adamw_step_share"] + shares["grad/spectrum_adamw_step_share"] == pytest.approx(1.0)
    assert shares["grad/adamw_step_descent"] == pytest.approx(0.1 + 0.3)
    # A skipped step (no move) has no shares.
    assert adamw_step_shares({"ce": g_ce}, torch.zeros(3, dtype=torch.float64)) == {}


FAST = ["model.preset=tiny", "data.batch_size=4", "data.val_size=8", "data.val_batch_size=8",
        "trainer.log_every_n_steps=1", "trainer.progress_bar=false", "monitors.gradient_flow_every_n_steps=3",
        "trainer.max_steps=8", "trainer.val_every_n_steps=8", "curriculum.force_final=true"]


@pytest.mark.parametrize("name", ["gaussian_split_clip", "gaussian_capped_clip"])
def test_clip_controls_train_and_log_each_part(tmp_path, name):
    run = train(load_config(name, FAST), tmp_path / "run")
    metrics = read_metrics(run / "metrics.csv")
    rows = [m for m in metrics.values() if "grad/physics_clip_scale" in m]
    assert len(rows) == 8
    for row in rows:
        assert 0 < row["grad/ce_clip_scale"] <= 1 and 0 < row["grad/physics_clip_scale"] <= 1
        clipped_ce = row["grad/ce_norm_pre_clip"] * row["grad/ce_clip_scale"]
        assert clipped_ce <= 1.0 + 1e-4
        if name == "gaussian_capped_clip":
            assert row["grad/physics_norm_pre_clip"] * row["grad/physics_clip_scale"] <= 0.25 * clipped_ce + 1e-4
    shares = [m for m in metrics.values() if "grad/ce_adamw_step_share" in m]
    assert len(shares) == 3  # steps 0, 3, 6
    for row in shares:
        total = sum(row[f"grad/{t}_adamw_step_share"] for t in ("ce", "spectrum", "precursor"))
        assert math.isclose(total, 1.0, abs_tol=1e-6)
