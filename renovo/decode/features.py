"""How well each decoded candidate explains its spectrum: the features the reranker scores.

For every candidate peptide the beam keeps, on exact (float64) masses, outside any autocast:

- ``gaussian_cosine_10mda`` / ``gaussian_cosine_50mda``: the analytic Gaussian spectral cosine (the
  closed form of the spectrum loss, ``renovo.losses``) between the candidate's singly charged b and y
  ions (unit intensities) and the observed peaks (the model's preprocessed intensities), at σ 0.01 and
  0.05 Da: cos = aᵀK_po b / √(aᵀK_pp a · bᵀK_oo b), K_ij = exp(−(x_i − y_j)² / 4σ²).
- ``ion_fraction``: the fraction of the candidate's b and y ions (charge 1, and 2 from precursor charge 3
  up) with an observed peak within ``fragment_tolerance_da``.
- ``explained_intensity``: the fraction of the observed (preprocessed) intensity in peaks that some such
  ion matches.
- ``longest_run``: the longest run of consecutive cleavages with a matched b or y ion, over the number of
  cleavages (a ladder, not scattered hits).
- ``abs_error_ppm``: |precursor mass error| in ppm after the isotope choice (the offset that fits best).
- ``in_tolerance``: 1 when the candidate fits the precursor within the search tolerance, else 0.
- ``mean_logp`` / ``min_logp``: the model's mean token log-probability (the beam's score) and its least
  sure residue's log-probability.
- ``score_gap``: ``mean_logp`` minus the best ``mean_logp`` among the spectrum's candidates (≤ 0).
- ``beam_rank``: the candidate's rank in the beam (0 = the model's first choice).
- ``length``, ``charge``: residues, precursor charge.

`candidate_features` computes them for a batch in one pass; tests check the ions against pyteomics.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from renovo.chem import cleavage_ions_mz, fragment_charges, mz_from_mass
from renovo.decode.psm import isotope_corrected_error_ppm
from renovo.decode.search import Prediction
from renovo.losses import gaussian_cosine

FEATURE_NAMES = ("gaussian_cosine_10mda", "gaussian_cosine_50mda", "ion_fraction", "explained_intensity",
                 "longest_run", "abs_error_ppm", "in_tolerance", "mean_logp", "min_logp", "score_gap",
                 "beam_rank", "length", "charge")
#: Peak-matching tolerance for the ion features, Da (high-resolution fragment spectra).
FRAGMENT_TOLERANCE_DA = 0.02
GAUSSIAN_SIGMAS_DA = (0.01, 0.05)
#: |error| above this is clipped: a fallback candidate that misses by 10⁴ ppm is no worse than one at 10³.
MAX_ERROR_PPM = 1000.0


def residue_masses_n_to_c(tokenizer, prediction: Prediction, table: np.ndarray | None = None) -> np.ndarray:
    """The candidate's residue masses N→C (Da), an N-terminal modification folded into the first. # (L,)
    ``table``: the tokenizer's residue-mass table, when the caller already has it."""
    table = tokenizer.residue_masses_da.numpy() if table is None else table
    ids = list(reversed(prediction.tokens)) if tokenizer.reverse else list(prediction.tokens)
    n_terminal = set(tokenizer.n_terminal_ids)
    masses: list[float] = []
    carry = 0.0
    for token_id in ids:
        if token_id in n_terminal:
            carry += table[token_id]
            continue
        masses.append(table[token_id] + carry)
        carry = 0.0
    return np.asarray(masses, dtype=np.float64)


#: b and y ion m/z per cleavage (2, Z, L-1): the ladder lives in renovo.chem (`cleavage_ions_mz`).
fragment_ions_mz = cleavage_ions_mz


def _longest_true_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _within(values: torch.Tensor, targets: torch.Tensor, target_mask: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Whether each value has a real target within ``tolerance`` (searchsorted on the sorted targets).
    values (N, A), targets / target_mask (N, B) -> (N, A) bool"""
    parked = torch.where(target_mask, targets, torch.full_like(targets, 1e12))  # padding far away
    ordered = parked.sort(dim=1).values.contiguous()
    index = torch.searchsorted(ordered, (values - tolerance).contiguous())  # first target ≥ value − tol
    found = ordered.gather(1, index.clamp(max=ordered.shape[1] - 1))
    return (index < ordered.shape[1]) & (found <= values + tolerance)


# long function: one tensor pass over every candidate of a batch; the steps share the padded ion arrays.
def candidate_features(batch: dict, predictions: Sequence[Sequence[Prediction]], tokenizer,
                       isotope_offsets: Sequence[int] = (0, 1),
                       fragment_tolerance_da: float = FRAGMENT_TOLERANCE_DA) -> list[np.ndarray]:
    """Per spectrum of ``batch`` (the collate dict), a (candidates, len(FEATURE_NAMES)) float64 array for its
    ``predictions`` (ranked as the beam left them)."""
    rows = [(b, j, p) for b, candidates in enumerate(predictions) for j, p in enumerate(candidates)]
    out = [np.zeros((len(c), len(FEATURE_NAMES)), dtype=np.float64) for c in predictions]
    if not rows:
        return out
    charges_of = batch["precursor_charge"].tolist()
    # m/z from the neutral mass every batch carries (the collate dict and the decoding stand-ins alike),
    # in the order the reranker was fitted with (divide first).
    precursor_mz = [mz_from_mass(m, z, divide_first=True) if z > 0 else math.nan
                    for m, z in zip(batch["precursor_mass_da"].tolist(), charges_of)]
    table = tokenizer.residue_masses_da.numpy()
    lengths, ladders = [], []
    for b, _, prediction in rows:
        masses = residue_masses_n_to_c(tokenizer, prediction, table)
        lengths.append(len(masses))
        ladders.append(fragment_ions_mz(masses, (1, 2)) if len(masses) > 1 else np.zeros((2, 2, 0)))
    cleavages = max(1, max(ladder.shape[2] for ladder in ladders))
    n = len(rows)
    ions = np.zeros((n, 2, 2, cleavages))  # (N, ion type, charge, cleavage)
    ion_mask = np.zeros((n, 2, 2, cleavages), dtype=bool)
    for r, ((b, _, _), ladder) in enumerate(zip(rows, ladders)):
        k = ladder.shape[2]
        ions[r, :, :, :k] = ladder
        allowed = fragment_charges(int(charges_of[b]))
        for zi, z in enumerate((1, 2)):
            ion_mask[r, :, zi, :k] = z in allowed
    spectrum = torch.as_tensor([b for b, _, _ in rows], dtype=torch.long)
    obs_mz = batch["mz"].detach().cpu().double()[spectrum]  # (N, Q)
    obs_intensity = batch["intensity"].detach().cpu().double()[spectrum]  # (N, Q)
    obs_mask = batch["peak_mask"].detach().cpu()[spectrum]  # (N, Q)
    obs_intensity = obs_intensity * obs_mask
    ions_t, ion_mask_t = torch.from_numpy(ions), torch.from_numpy(ion_mask)
    ion_matched = _within(ions_t.reshape(n, -1), obs_mz, obs_mask, fragment_tolerance_da).view(ions_t.shape)
    ion_matched &= ion_mask_t  # (N, 2, 2, C)
    n_ions = ion_mask_t.sum((1, 2, 3)).clamp(min=1)
    ion_fraction = ion_matched.sum((1, 2, 3)) / n_ions
    expected = torch.where(ion_mask_t, ions_t, torch.full_like(ions_t, -1e9)).reshape(n, -1)  # (N, ions)
    peak_matched = _within(obs_mz, expected, ion_mask_t.reshape(n, -1), fragment_tolerance_da) & obs_mask
    explained = (peak_matched.double() * obs_intensity).sum(-1) / obs_intensity.sum(-1).clamp(min=1e-12)
    cleavage_matched = ion_matched.any(1).any(1).numpy()  # (N, C)

    # Gaussian cosine on singly charged b and y ions, unit intensities (the spectrum loss's closed form).
    singly = ions_t[:, :, 0, :].reshape(n, -1)  # (N, 2C)
    singly_mask = torch.from_numpy(np.concatenate([ion_mask[:, 0, 0, :], ion_mask[:, 1, 0, :]], axis=1))
    cosines = [gaussian_cosine(singly, singly_mask.double(), obs_mz, obs_intensity, sigma, singly_mask, obs_mask)
               for sigma in GAUSSIAN_SIGMAS_DA]

    best = {}
    for b, _, p in rows:
        best[b] = max(best.get(b, -math.inf), math.log(max(p.score, 1e-300)))
    for r, (b, j, p) in enumerate(rows):
        length = lengths[r]
        k = ladders[r].shape[2]
        error_ppm, _ = isotope_corrected_error_ppm(p.mass_da, precursor_mz[b], int(charges_of[b]), isotope_offsets)
        mean_logp = math.log(max(p.score, 1e-300))
        min_logp = math.log(max(min(p.residue_scores), 1e-300)) if p.residue_scores else mean_logp
        out[b][j] = (
            float(cosines[0][r]), float(cosines[1][r]), float(ion_fraction[r]), float(explained[r]),
            _longest_true_run(cleavage_matched[r, :k]) / max(k, 1),
            min(abs(error_ppm), MAX_ERROR_PPM) if math.isfinite(error_ppm) else MAX_ERROR_PPM,
            float(bool(p.precursor_match)), mean_logp, min_logp, mean_logp - best[b], float(j), float(length),
            float(charges_of[b]),
        )
    return out


__all__ = ["FEATURE_NAMES", "FRAGMENT_TOLERANCE_DA", "candidate_features", "fragment_ions_mz",
           "residue_masses_n_to_c"]
