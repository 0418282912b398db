"""The knapsack feasibility table behind the precursor-mass constraint."""
from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.chem import Tokenizer
from renovo.decode import MassFeasibility

TOKENIZER = Tokenizer()
FEASIBILITY = MassFeasibility(TOKENIZER)
MASS = TOKENIZER.vocabulary.mass_da


def _feasible(remaining_da: float, tolerance_da: float = 0.005) -> bool:
    return bool(FEASIBILITY.feasible(torch.tensor([remaining_da], dtype=torch.float64), torch.tensor([tolerance_da], dtype=torch.float64))[0])


def test_known_masses():
    assert _feasible(0.0)
    assert _feasible(MASS("G") + MASS("A"))
    assert _feasible(MASS("K") + MASS("[Acetyl]-"))
    assert not _feasible(1.0)
    assert not _feasible(50.0)  # lighter than glycine
    assert not _feasible(MASS("G") + 0.05, 0.01)
    assert _feasible(MASS("G") + 0.05, 0.06)
    assert _feasible(5000.0)  # above the exact range: assumed fillable


residues = st.lists(st.sampled_from([t for t in TOKENIZER.vocabulary.tokens if not t.endswith("-")]), min_size=1, max_size=7)


@settings(max_examples=200, deadline=None)
@given(residues)
def test_every_residue_combination_is_feasible(tokens):
    assert _feasible(sum(MASS(t) for t in tokens), 1e-3)


def test_vectorised_shape():
    remaining = torch.tensor([[0.0, 1.0], [MASS("W"), 3000.0]], dtype=torch.float64)
    out = FEASIBILITY.feasible(remaining, torch.tensor(0.01, dtype=torch.float64))
    assert out.tolist() == [[True, False], [True, True]]
