"""The model's features and forward pass create tensors on their inputs' device (see `foreign_factories`)."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.data import SpectrumCollator
from renovo.data.simulate import simulate_records
from renovo.model import build_model, model_config

TOKENIZER = Tokenizer()


@pytest.mark.parametrize("ion_evidence", [False, True], ids=["plain", "ion_evidence"])
def test_teacher_forced_forward_and_backward(foreign_factories, ion_evidence):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence), TOKENIZER)
    batch = SpectrumCollator(TOKENIZER)(list(simulate_records(3, seed=1)))
    with foreign_factories():
        logits = model(batch)  # (B, T, vocab)
        logits.float().logsumexp(-1).sum().backward()
    assert logits.device.type == "cpu" and logits.dtype == torch.float32
    assert all(p.grad is None or p.grad.device.type == "cpu" for p in model.parameters())
