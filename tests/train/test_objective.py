"""The objective: every component finite and present, weights, dtype, gradients."""
from __future__ import annotations

import pytest
import torch

from renovo.model import build_model, model_config
from renovo.train.config import load_config
from renovo.train.objective import Objective, peptide_lengths, token_accuracy

ALL = ["gaussian_losses", "old_losses", "ce_only", "gaussian_log1p", "huber_l1", "gaussian_multiscale",
       "gaussian_variance_aware", "gaussian_straight_through", "gaussian_marginal"]


def setup(name, tokenizer, overrides=()):
    torch.manual_seed(0)
    config = load_config(name, overrides)
    model = build_model(model_config("tiny"), tokenizer)
    return model, Objective(config["loss"], tokenizer)


def test_peptide_lengths():
    tokens = torch.tensor([[5, 6, 2, 0], [5, 2, 0, 0], [5, 6, 7, 8]])
    assert peptide_lengths(tokens).tolist() == [2, 1, 4]


@pytest.mark.parametrize("name", ALL)
def test_every_config_gives_finite_components(name, tokenizer, batch):
    model, objective = setup(name, tokenizer)
    logits = model(batch)
    for weights in [(0.0, 0.0), (0.25, 0.08)]:
        out = objective(logits, batch, weights)
        assert set(out) == {"ce", "spectrum", "precursor", "total"}  # logged whatever the weight
        assert all(torch.isfinite(v) and v.dim() == 0 for v in out.values())
        expected = out["ce"] + weights[0] * out["spectrum"] + weights[1] * out["precursor"]
        torch.testing.assert_close(out["total"].double(), expected.double())
    out["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_zero_weight_components_have_no_graph_unless_asked(tokenizer, batch):
    model, objective = setup("gaussian_losses", tokenizer)
    logits = model(batch)
    out = objective(logits, batch, (0.0, 0.0))
    assert not out["spectrum"].requires_grad and not out["precursor"].requires_grad
    out = objective(logits, batch, (0.0, 0.0), graph_for_all=True)
    assert out["spectrum"].requires_grad and out["precursor"].requires_grad
    out = objective(logits, batch, (0.1, 0.0))
    assert out["spectrum"].requires_grad and not out["precursor"].requires_grad


def test_physics_in_float64_even_under_bf16_autocast(tokenizer, batch):
    model, objective = setup("gaussian_losses", tokenizer)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
        out = objective(logits, batch, (0.25, 0.08))
    assert logits.dtype == torch.bfloat16
    assert out["spectrum"].dtype == torch.float64 and out["precursor"].dtype == torch.float64
    assert torch.isfinite(out["total"])


def test_perfect_logits_give_exact_precursor_and_low_spectrum(tokenizer, batch):
    _, objective = setup("gaussian_losses", tokenizer, ["loss.label_smoothing=0.0"])
    tokens = batch["tokens"]
    logits = torch.full((*tokens.shape, tokenizer.vocab_size), -30.0)
    logits.scatter_(2, tokens.unsqueeze(-1), 30.0)
    out = objective(logits, batch, (0.25, 0.08))
    assert out["precursor"].item() < 1e-6  # expected mass of one-hot residues = label mass
    assert out["ce"].item() < 1e-6
    assert token_accuracy(logits, tokens).item() == 1.0
    # A wrong sequence (every residue shifted to another token) scores worse on the spectrum.
    shifted = torch.where(tokens > 2, (tokens - 3 + 5) % (tokenizer.vocab_size - 3) + 3, tokens)
    bad = torch.full_like(logits, -30.0).scatter_(2, shifted.unsqueeze(-1), 30.0)
    assert objective(bad, batch, (0.25, 0.08))["spectrum"] > out["spectrum"] + 0.2


def test_measured_target_and_isotopes(tokenizer, batch):
    _, objective = setup("gaussian_losses", tokenizer, ["loss.precursor.target=measured",
                                                         "loss.precursor.isotope_offsets=1"])
    tokens = batch["tokens"]
    logits = torch.full((*tokens.shape, tokenizer.vocab_size), -30.0).scatter_(2, tokens.unsqueeze(-1), 30.0)
    batch = dict(batch)
    batch["precursor_mass_da"] = batch["peptide_mass_da"] + 1.0033548  # precursor picked on the 13C peak
    assert objective(logits, batch, (0.0, 0.1))["precursor"].item() < 1e-6


def test_unknown_type_is_error(tokenizer):
    from renovo.errors import RenovoError

    with pytest.raises(RenovoError, match="loss.spectrum.type"):
        Objective(load_config(overrides=["loss.spectrum.type=cosine"])["loss"], tokenizer)


def test_empty_batch_rows_stay_finite(tokenizer, batch):
    model, objective = setup("gaussian_losses", tokenizer)
    batch = dict(batch)
    batch["peak_mask"] = batch["peak_mask"].clone()
    batch["peak_mask"][0] = False
    batch["peptide_mass_da"] = batch["peptide_mass_da"].clone()
    batch["peptide_mass_da"][1] = float("nan")
    out = objective(model(batch), batch, (0.25, 0.08))
    assert all(torch.isfinite(v) for v in out.values())
    out["total"].backward()


def test_precursor_mass_mode_is_its_own_setting(tokenizer, batch):
    """A straight-through spectrum loss leaves the precursor loss on expected masses unless
    loss.precursor.mass_mode says otherwise."""
    from renovo.losses import theoretical_fragments
    from renovo.train.objective import peptide_lengths as lengths_of

    model, _ = setup("gaussian_losses", tokenizer)
    logits = model(batch).detach().double()
    spectrum_st = ["loss.spectrum.mass_mode=straight_through"]
    split = Objective(load_config("gaussian_losses", spectrum_st)["loss"], tokenizer)
    both = Objective(load_config("gaussian_losses", spectrum_st + ["loss.precursor.mass_mode=straight_through"])["loss"],
                     tokenizer)
    assert load_config("gaussian_straight_through")["loss"]["precursor"]["mass_mode"] == "straight_through"
    probs = split.residue_probabilities(logits)
    lengths = lengths_of(batch["tokens"])
    masses = {mode: theoretical_fragments(probs, split.residue_masses_da, lengths, mass_mode=mode,
                                          reverse=tokenizer.reverse).peptide_mass_da for mode in
              ("expected", "straight_through")}
    assert not torch.allclose(masses["expected"], masses["straight_through"])  # an untrained model: they differ
    expected = split.precursor_loss.loss(masses["expected"], batch["peptide_mass_da"].double())
    argmax = both.precursor_loss.loss(masses["straight_through"], batch["peptide_mass_da"].double())
    torch.testing.assert_close(split(logits, batch, (0.1, 0.1))["precursor"], expected)
    torch.testing.assert_close(both(logits, batch, (0.1, 0.1))["precursor"], argmax)
    # The spectrum loss is straight-through in both.
    torch.testing.assert_close(split(logits, batch, (0.1, 0.1))["spectrum"], both(logits, batch, (0.1, 0.1))["spectrum"])


def test_zero_weight_computation_can_be_switched_per_call(tokenizer, batch):
    model, objective = setup("gaussian_losses", tokenizer)
    logits = model(batch)
    assert objective.compute_zero_weight
    out = objective(logits, batch, (0.0, 0.0), compute_zero_weight=False)
    assert set(out) == {"ce", "total"}
    out = objective(logits, batch, (0.1, 0.0), compute_zero_weight=False)
    assert set(out) == {"ce", "spectrum", "total"}  # a weighted component is always computed
    logged = objective(logits, batch, (0.0, 0.0), compute_zero_weight=True)
    assert set(logged) == {"ce", "spectrum", "precursor", "total"}


def test_label_weight_keeps_a_label_out_of_the_cross_entropy(tokenizer, batch):
    """A weight-0 label (a decoded peptide in label-free adaptation) adds no cross-entropy, and its spectrum
    still gets the physics losses' gradient."""
    model, objective = setup("gaussian_marginal", tokenizer)
    logits = model(batch)
    n = batch["tokens"].shape[0]
    assert batch["label_weight"].tolist() == [1.0] * n  # labelled records weigh 1 by default
    full = objective(logits, batch, (0.0, 0.0))["ce"]
    first = {k: (v[:1] if torch.is_tensor(v) else v[:1]) for k, v in batch.items()}
    only_first = objective(model(first), first, (0.0, 0.0))["ce"]
    weighted = dict(batch, label_weight=torch.tensor([1.0] + [0.0] * (n - 1)))
    torch.testing.assert_close(objective(logits, weighted, (0.0, 0.0))["ce"], only_first, rtol=1e-5, atol=1e-6)
    assert not torch.isclose(full, only_first)
    none = dict(batch, label_weight=torch.zeros(n))
    out = objective(logits, none, (1.0, 0.1))
    assert float(out["ce"]) == 0.0 and out["total"].requires_grad and torch.isfinite(out["total"])
    out["total"].backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
