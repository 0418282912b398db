"""The teacher-forced marginal rendering loss: exact on a one-hot truth, float64 gradcheck, finite on empty and
padded inputs, and a gradient that does not vanish where the expected-mass Gaussian loss's does."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer, fragment_ladder, parse_peptide, peptide_mass_da
from renovo.losses import GaussianSpectralLoss, MarginalSpectralLoss, build_spectrum_loss, theoretical_fragments
from renovo.train.objective import peptide_lengths

TOKENIZER = Tokenizer()
PEPTIDES = ("PEPTIDEK", "ACDEFGHIKR")


def _batch(peptides=PEPTIDES, charge=2):
    """Observed spectra = the true b/y ladders (charge 1) at intensity 1; targets in decoding order."""
    encoded = [TOKENIZER.encode(p) for p in peptides]
    width = max(len(e) for e in encoded)
    tokens = torch.zeros(len(peptides), width, dtype=torch.long)
    ladders = []
    for i, (p, e) in enumerate(zip(peptides, encoded)):
        tokens[i, :len(e)] = torch.tensor(e)
        ladder = fragment_ladder(parse_peptide(p))
        ladders.append(torch.tensor(sorted(float(x) for v in ladder.values() for x in v), dtype=torch.float64))
    q = max(len(x) for x in ladders) + 3  # + padding
    mz = torch.zeros(len(peptides), q, dtype=torch.float64)
    mask = torch.zeros(len(peptides), q, dtype=torch.bool)
    for i, x in enumerate(ladders):
        mz[i, :len(x)], mask[i, :len(x)] = x, True
    mass = torch.tensor([peptide_mass_da(parse_peptide(p)) for p in peptides], dtype=torch.float64)
    return {"tokens": tokens, "mz": mz, "intensity": mask.double(), "peak_mask": mask, "peptide_mass_da": mass,
            "precursor_mass_da": mass, "precursor_charge": torch.full((len(peptides),), charge)}


def _probs(logits):
    special = torch.zeros(TOKENIZER.vocab_size, dtype=torch.bool)
    special[[Tokenizer.PAD, Tokenizer.BOS, Tokenizer.EOS]] = True
    return logits.masked_fill(special, float("-inf")).softmax(-1)


def _one_hot_logits(tokens, scale=30.0):
    return torch.nn.functional.one_hot(tokens, TOKENIZER.vocab_size).double() * scale


def _loss(batch, probs, sigma=0.05, reduction="mean"):
    loss = MarginalSpectralLoss(TOKENIZER, sigma=sigma)
    return loss(probs, batch["tokens"], batch["peptide_mass_da"], batch["precursor_charge"], batch["mz"],
                batch["intensity"], batch["peak_mask"], reduction=reduction)


def test_one_hot_truth_renders_the_observed_ladder():
    batch = _batch()
    value = _loss(batch, _probs(_one_hot_logits(batch["tokens"])), reduction="none")
    assert torch.all(value < 1e-6), value  # the rendering is the observed ladder itself


def test_wrong_sequence_scores_worse_and_loss_is_bounded():
    batch = _batch()
    wrong = batch["tokens"].clone()
    wrong[:, :3] = TOKENIZER.token_to_id["G"]
    right = _loss(batch, _probs(_one_hot_logits(batch["tokens"])), reduction="none")
    bad = _loss(batch, _probs(_one_hot_logits(wrong)), reduction="none")
    assert torch.all(bad > right + 0.05)
    uniform = _loss(batch, _probs(torch.zeros(*batch["tokens"].shape, TOKENIZER.vocab_size, dtype=torch.float64)),
                    reduction="none")
    assert torch.all((uniform >= 0) & (uniform <= 1))


def test_gradcheck_float64():
    batch = _batch(("PEPTK",))
    logits = torch.randn(*batch["tokens"].shape, TOKENIZER.vocab_size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    logits.requires_grad_(True)
    # A wide kernel so the check sees non-trivial overlaps everywhere.
    assert torch.autograd.gradcheck(lambda x: _loss(batch, _probs(x), sigma=0.5), (logits,), eps=1e-6, atol=1e-6)


def test_finite_on_empty_and_padded_inputs():
    batch = _batch()
    batch["peak_mask"][1] = False  # an empty observed spectrum
    batch["intensity"][1] = 0.0
    batch["tokens"][0, 3:] = Tokenizer.PAD  # a row that is nearly all padding (no EOS)
    logits = torch.randn(*batch["tokens"].shape, TOKENIZER.vocab_size, dtype=torch.float64, requires_grad=True)
    value = _loss(batch, _probs(logits), reduction="none")
    assert torch.isfinite(value).all() and value[1] == 1.0
    value.sum().backward()
    assert torch.isfinite(logits.grad).all()
    empty = _batch(("PK",))
    empty["tokens"][:] = Tokenizer.PAD
    logits = torch.zeros(*empty["tokens"].shape, TOKENIZER.vocab_size, dtype=torch.float64, requires_grad=True)
    value = _loss(empty, _probs(logits))
    value.backward()
    assert value.item() == 1.0 and torch.isfinite(logits.grad).all()


def test_gradient_does_not_vanish_when_soft_masses_are_far_off():
    """Probability mass on a heavy wrong residue puts every expected-mass fragment tens of Da off: the σ 0.05
    Gaussian loss gets no gradient; the marginal loss still pushes each position toward its true residue."""
    batch = _batch(("PEPTIDEK",))
    tokens = batch["tokens"]
    heavy = TOKENIZER.token_to_id["W"]
    logits = _one_hot_logits(tokens, 1.0) + _one_hot_logits(torch.full_like(tokens, heavy), 6.0)
    logits.requires_grad_(True)
    probs = _probs(logits)
    lengths = peptide_lengths(tokens)
    fragments = theoretical_fragments(probs, TOKENIZER.residue_masses_da, lengths, reverse=TOKENIZER.reverse)
    gaussian = GaussianSpectralLoss(sigma=0.05)(fragments.mz, fragments.mask, batch["mz"], batch["intensity"],
                                                batch["peak_mask"])
    (g_gauss,) = torch.autograd.grad(gaussian, logits, retain_graph=True)
    marginal = _loss(batch, probs)
    (g_marg,) = torch.autograd.grad(marginal, logits)
    assert g_gauss.abs().max() < 1e-12
    inside = tokens[0] != Tokenizer.EOS
    true_grad = g_marg[0, inside].gather(1, tokens[0, inside, None]).squeeze(1)  # (L,)
    # Descent raises every true residue's logit at the positions followed by a cleavage (all but the last).
    assert torch.all(true_grad[:-1] < -1e-4), true_grad


def test_registry_builds_it_and_objective_runs_it():
    from renovo.train.config import load_config
    from renovo.train.objective import Objective

    config = load_config("gaussian_marginal")
    term = build_spectrum_loss(config["loss"]["spectrum"], TOKENIZER)
    assert term.kind == "gaussian_marginal"
    batch = _batch()
    objective = Objective(config["loss"], TOKENIZER)
    logits = torch.randn(*batch["tokens"].shape, TOKENIZER.vocab_size, requires_grad=True)
    out = objective(logits, batch, (0.1, 0.01))
    assert torch.isfinite(out["spectrum"]) and 0 <= out["spectrum"].item() <= 1
    out["total"].backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(Exception, match="gaussian_marginal"):
        build_spectrum_loss({**config["loss"]["spectrum"], "mass_mode": "straight_through"}, TOKENIZER)
