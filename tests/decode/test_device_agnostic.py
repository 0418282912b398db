"""Decoding creates its tensors on its inputs' device (see `foreign_factories` in tests/conftest.py)."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.data import SpectrumCollator
from renovo.data.simulate import simulate_records
from renovo.decode import MassFeasibility, beam_search
from renovo.model import build_model, model_config

TOKENIZER = Tokenizer()


def test_mass_feasibility(foreign_factories):
    feasibility = MassFeasibility(TOKENIZER)
    remaining_da = torch.tensor([[0.0, 57.02146, 57.5, 900.0], [-1.0, 128.05858, 186.07931, 10.0]],
                                dtype=torch.float64)
    tolerance_da = torch.full((2, 1), 0.01, dtype=torch.float64)
    with foreign_factories():
        feasible = feasibility.feasible(remaining_da, tolerance_da)
    assert feasible.device.type == "cpu"
    assert feasible.tolist() == [[True, True, False, True], [False, True, True, False]]


@pytest.mark.parametrize("options", [dict(beam_size=1), dict(beam_size=3, precursor_tolerance_ppm=50.0)],
                         ids=["greedy", "beam3_mass"])
def test_beam_search_with_a_real_model(foreign_factories, options):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", ion_evidence=True), TOKENIZER).eval()
    batch = SpectrumCollator(TOKENIZER)(list(simulate_records(3, seed=2)))
    beam_search(model, batch, max_length=4, **options)  # once outside: lazily built tables are not the point
    with foreign_factories():
        predictions = beam_search(model, batch, max_length=6, **options)
    assert len(predictions) == 3
