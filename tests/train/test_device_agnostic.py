"""The training objective creates its tensors on the logits' device (see `foreign_factories` in tests/conftest.py)."""
from __future__ import annotations

import pytest
import torch

from renovo.model import build_model, model_config
from renovo.train.config import load_config
from renovo.train.objective import Objective, token_accuracy

CONFIGS = ["gaussian_losses", "old_losses", "gaussian_multiscale", "gaussian_variance_aware",
           "gaussian_straight_through", "gaussian_log1p"]


@pytest.mark.parametrize("physics_dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", CONFIGS)
def test_objective_forward_and_backward(foreign_factories, tokenizer, batch, name, physics_dtype):
    torch.manual_seed(0)
    config = load_config(name, [f"loss.physics_dtype={physics_dtype}"])
    model = build_model(model_config("tiny"), tokenizer)
    objective = Objective(config["loss"], tokenizer)
    logits = model(batch)  # (B, T, vocab)
    with foreign_factories():
        out = objective(logits, batch, (0.25, 0.08))
        out["total"].backward()
        accuracy = token_accuracy(logits, batch["tokens"])
    for value in [*out.values(), accuracy]:
        assert value.device.type == "cpu" and torch.isfinite(value)
    dtype = torch.float64 if physics_dtype == "float64" else torch.float32
    assert out["spectrum"].dtype == out["precursor"].dtype == dtype
