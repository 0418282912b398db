"""Teacher-forced marginal rendering: a spectrum loss that judges each residue choice on its own.

Under teacher forcing the true prefix mass S_t before decoding position t is
known (a cumulative sum of the target tokens). Choosing residue v at t
completes one fragment ion, of neutral mass S_t + m_v on the decoded side, and
its complement, M − S_t − m_v (M the peptide's mass). The predicted spectrum
is the mixture

    P(x) = Σ_t Σ_v p_t(v) · [G(x; ion m/z of S_t + m_v) + G(x; complementary ion m/z)]

over the positions that have a cleavage after them and the cleaving candidates
v, with p_t the decoder's teacher-forced residue probabilities. The loss is
1 − cos(P, observed), both rendered with the same Gaussian kernel and closed-form
cosine as the analytic Gaussian loss (`GaussianSpectralLoss` with peak heights
p_t(v)). The ion m/z are those the ion-evidence features look up
(`renovo.model.ion_evidence`: same arithmetic, both decoding directions).

Why: the Gaussian loss on expected masses places each fragment at a sum of
soft residue masses; when those sums are off by more than a few σ every
predicted peak sits far from every observed one and the gradient vanishes.
Here each candidate's ion sits exactly where the spectrum would show it if v
were right, so ∂loss/∂p_t(v) is the candidate's own overlap with the spectrum:
it does not vanish however wrong the current distribution is.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from renovo.chem import Tokenizer
from renovo.losses.spectral import GaussianSpectralLoss
from renovo.model.ion_evidence import IonEvidence, IonEvidenceConfig, prefix_masses_da
from renovo.numerics import no_autocast


class MarginalSpectralLoss(nn.Module):
    """1 − cosine of the teacher-forced marginal rendering and the observed spectrum.

    Call: ``loss(token_probs, tokens, peptide_mass_da, precursor_charge, obs_mz, obs_intensity, obs_mask,
    reduction="mean")`` with token_probs (B, T, vocab) residue probabilities (rows sum to 1 over residues),
    tokens (B, T) targets in decoding order (PAD-padded, EOS-ended), peptide_mass_da (B,) neutral mass
    (M), precursor_charge (B,), obs_* (B, Q). Returns a scalar (or (B,) with ``reduction="none"``), each
    in [0, 1]: 1 for an empty rendering or spectrum.
    """

    def __init__(self, tokenizer: Tokenizer, sigma: float | Sequence[float] = 0.05, *,
                 sigma_weights: Sequence[float] | None = None, charges: Sequence[int] = (1,)):
        super().__init__()
        # The ion arithmetic of the ion-evidence features: decoded-side ion and complement, no isotope pick
        # (the true mass M is known), no neutral losses.
        self.ions = IonEvidence(tokenizer, IonEvidenceConfig(widths_da=(1.0,), charges=tuple(charges),
                                                             isotope_offsets=(0,)))
        self.cosine = GaussianSpectralLoss(sigma=sigma, sigma_weights=sigma_weights, render="analytic")
        nterm = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        nterm[list(tokenizer.n_terminal_ids)] = True
        self.register_buffer("nterm_tokens", nterm, persistent=False)
        self.register_buffer("cleaving", torch.tensor(self.ions.cleaves), persistent=False)

    def forward(self, token_probs, tokens, peptide_mass_da, precursor_charge, obs_mz, obs_intensity, obs_mask,
                reduction: str = "mean") -> torch.Tensor:
        device = token_probs.device
        dtype = torch.float64 if token_probs.dtype == torch.float64 else torch.float32
        with no_autocast(device):
            tokens = tokens.to(device)
            prefix = prefix_masses_da(tokens, self.ions.token_mass_da(device))  # (B, T) float64
            near, far, near_ok, far_ok, _ = self.ions.ions(prefix, peptide_mass_da.to(device), precursor_charge)
            # near (B, T, V', Z, 1), far (B, T, V', Z, 1, 1): one ion kind each side, one isotope offset
            batch, positions, candidates, n_charges = near.shape[:4]
            near, far = near[..., 0], far[..., 0, 0]  # (B, T, V', Z)
            near_ok, far_ok = near_ok[..., 0], far_ok[..., 0, 0]
            # A position counts when a cleavage follows the chosen residue: some real residue (not an
            # N-terminal modification) comes after it.
            residue = (tokens != Tokenizer.PAD) & (tokens != Tokenizer.EOS) & (tokens != Tokenizer.BOS)
            residue = residue & ~self.nterm_tokens[tokens]  # (B, T)
            after = residue.flip(1).cumsum(1).flip(1) - residue.long()  # residues after each position
            position_ok = residue & (after > 0)  # (B, T)
            probs = token_probs.to(dtype)[:, :, self.cleaving]  # (B, T, V')
            height = (probs * position_ok[..., None])[..., None].expand(-1, -1, -1, n_charges)  # (B, T, V', Z)
            mz = torch.cat([near, far], -1).reshape(batch, -1).to(dtype)  # (B, T·V'·2Z)
            mask = torch.cat([near_ok & position_ok[..., None, None], far_ok & position_ok[..., None, None]],
                             -1).reshape(batch, -1)
            weight = torch.cat([height, height], -1).reshape(batch, -1)
            mz = torch.where(mask, mz, torch.zeros((), dtype=dtype, device=device))
        return self.cosine(mz, mask, obs_mz, obs_intensity, obs_mask, reduction=reduction, pred_weight=weight)


__all__ = ["MarginalSpectralLoss"]
