"""Shared helpers for the losses tests: residue masses from pyteomics (not renovo.chem), random spectra."""
from __future__ import annotations

import torch
from pyteomics import mass

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
N_SPECIAL = 3  # PAD=0, BOS=1, EOS=2 (mass 0), as renovo.chem.Tokenizer
EOS = 2


def residue_masses_da(dtype=torch.float64) -> torch.Tensor:
    """(vocab,) masses: 3 special tokens of mass 0, then the 20 standard residues."""
    values = [0.0] * N_SPECIAL + [mass.std_aa_mass[a] for a in AMINO_ACIDS]
    return torch.tensor(values, dtype=dtype)


def encode(sequence: str, reverse: bool = False) -> list[int]:
    residues = sequence[::-1] if reverse else sequence
    return [N_SPECIAL + AMINO_ACIDS.index(a) for a in residues] + [EOS]


def one_hot_batch(sequences: list[str], reverse: bool = False, dtype=torch.float64, pad_to: int | None = None):
    """One-hot (batch, positions, vocab) probabilities in decoding order, PAD-padded, and lengths."""
    ids = [encode(s, reverse) for s in sequences]
    width = max(pad_to or 0, max(len(i) for i in ids))
    tokens = torch.zeros(len(ids), width, dtype=torch.long)
    for row, seq_ids in enumerate(ids):
        tokens[row, : len(seq_ids)] = torch.tensor(seq_ids)
    vocab = N_SPECIAL + len(AMINO_ACIDS)
    probs = torch.nn.functional.one_hot(tokens, vocab).to(dtype)
    lengths = torch.tensor([len(s) for s in sequences])
    return probs, lengths


def random_spectra(seed, batch=3, n_pred=12, n_obs=16, lo=50.0, hi=250.0, dtype=torch.float64, near=0.5):
    """Random predicted/observed peaks; part of the observed peaks sit near predicted ones."""
    g = torch.Generator().manual_seed(seed)
    pred = lo + (hi - lo) * torch.rand(batch, n_pred, generator=g, dtype=dtype)
    n_near = min(n_pred, n_obs) // 2
    obs_near = pred[:, :n_near] + near * (torch.rand(batch, n_near, generator=g, dtype=dtype) - 0.5)
    obs_far = lo + (hi - lo) * torch.rand(batch, n_obs - n_near, generator=g, dtype=dtype)
    obs = torch.cat([obs_near, obs_far], dim=1)
    intensity = torch.rand(batch, n_obs, generator=g, dtype=dtype)
    pred_mask = torch.rand(batch, n_pred, generator=g) < 0.85
    obs_mask = torch.rand(batch, n_obs, generator=g) < 0.85
    variance = 0.2 * torch.rand(batch, n_pred, generator=g, dtype=dtype)
    return pred, pred_mask, obs, intensity, obs_mask, variance
