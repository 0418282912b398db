"""Ion-evidence features: how much observed intensity supports each candidate residue.

At decoding position t the decoder has emitted a prefix of residues whose
masses sum to S_t (Da). Choosing residue v next completes one fragment ion
and, with the measured precursor mass M, its complementary ion:

- C→N decoding (the default; the prefix is the peptide's C-terminal end):
  the y ion of S_t + m_v, m/z = (S_t + m_v + H2O + z·proton) / z, and the
  complementary b ion, m/z = (M − H2O − S_t − m_v + z·proton) / z.
- N→C decoding: the b ion of S_t + m_v and the complementary y ion,
  m/z = (M − S_t − m_v + z·proton) / z.

Fragment charge z is 1, and 2 where the precursor charge is at least 3
(``charges``); optional channels add the a ion of the b side (b − CO) and
H2O / NH3 losses of both. The complementary ion is also evaluated for a
measured precursor picked ``k`` isotope peaks high (M − k·1.00336 Da,
``isotope_offsets``), keeping the best-supported offset.

The evidence for one ion is the observed intensity near it, with the same
Gaussian kernel as the analytic spectral loss: E = Σ_j I_j · exp(−Δ_j² / (4σ²)),
σ a width in Da or in ppm of the ion's m/z. An ion exactly on a peak gets
the peak's intensity (the kernel's maximum is 1), an ion with no peak within
reach gets 0. The feature the model reads is E relative to the spectrum's
base peak on a log scale, log1p(E / (0.01·base)) / log1p(100): 0 stays 0, the
base peak gives 1, and a peak at 1% of the base still gives 0.15 — raw
intensities span three orders of magnitude and a linear map would hear only
the largest. It is
computed in closed form against the peak list (no m/z grid), in float64 with
autocast off (the kernel of the m/z differences in float32): only the peaks within 6σ
of each ion are visited (found by
binary search), so the cost is batch × positions × vocabulary × ions × a few
peaks, not × the whole spectrum.

Candidates that complete no cleavage site get 0 in every channel: special
tokens (PAD, BOS, EOS) and N-terminal modification tokens (the modification
adds its mass to the N-terminal fragments, but choosing it cuts nothing).

The same function serves teacher forcing (all positions at once, prefix masses
from a cumulative sum of the target tokens) and step-by-step decoding (the
prefix mass each beam carries), so both see identical features.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from renovo.chem import (
    H2O_MASS_DA,
    NH3_MASS_DA,
    Tokenizer,
    a_ion_mass_da,
    b_ion_mass_da,
    fragment_charge_allowed,
    isotope_offsets as as_isotope_offsets,
    isotope_shift_da,
    mz_from_mass,
    y_ion_mass_da,
)
from renovo.numerics import no_autocast

# exp(-Δ²/(4σ²)) < 1.3e-4 beyond 6σ: those peaks are not visited.
_REACH_SIGMAS = 6.0
# Evidence is reported as log1p(E / (floor · base peak)) / log1p(1 / floor).
_RELATIVE_FLOOR = 0.01


@dataclass(frozen=True)
class IonEvidenceConfig:
    """Which ions are looked up and how wide the kernel is.

    ``widths_da`` / ``widths_ppm``: kernel widths σ (each gives its own set of
    channels); ``charges``: fragment charges (z > 1 only where the precursor
    charge exceeds z); ``a_ions``: add the a ion (b − CO); ``neutral_losses``:
    add H2O and NH3 losses of both ions; ``isotope_offsets``: precursor
    isotope picks tried for the complementary ion (best kept).
    """

    widths_da: tuple[float, ...] = (0.02, 0.1)
    widths_ppm: tuple[float, ...] = ()
    charges: tuple[int, ...] = (1, 2)
    a_ions: bool = False
    neutral_losses: bool = False
    isotope_offsets: tuple[int, ...] = (0, 1)

    def __post_init__(self):
        for name in ("widths_da", "widths_ppm", "charges"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        # A count, a range or the offsets, as decoding and the precursor losses read them.
        object.__setattr__(self, "isotope_offsets", as_isotope_offsets(self.isotope_offsets))
        if not self.widths_da and not self.widths_ppm:
            raise ValueError("ion evidence needs at least one kernel width (widths_da or widths_ppm)")
        if any(w <= 0 for w in self.widths_da + self.widths_ppm):
            raise ValueError(f"kernel widths must be > 0, got {self.widths_da + self.widths_ppm}")
        if not self.charges or any(z < 1 for z in self.charges):
            raise ValueError(f"fragment charges must be ≥ 1, got {self.charges}")
        if not self.isotope_offsets or any(k < 0 for k in self.isotope_offsets):
            raise ValueError(f"isotope offsets must be ≥ 0, got {self.isotope_offsets}")

    @property
    def n_ion_kinds(self) -> int:
        """Ion kinds per charge: prefix-side and complementary ion, + a ion, + 2 losses each."""
        kinds = 2 + (1 if self.a_ions else 0) + (4 if self.neutral_losses else 0)
        return kinds

    @property
    def n_channels(self) -> int:
        """Features per (position, candidate): widths × charges × ion kinds."""
        return (len(self.widths_da) + len(self.widths_ppm)) * len(self.charges) * self.n_ion_kinds

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict | None) -> "IonEvidenceConfig":
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown ion_evidence keys {unknown}; valid: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def prefix_masses_da(tokens: torch.Tensor, token_mass_da: torch.Tensor) -> torch.Tensor:
    """Mass (Da, float64) of the tokens before each position: S_t = Σ_{i<t} m(tokens_i). # (B, T)

    tokens (B, T) int64; token_mass_da (vocab,) float64 with 0 for special tokens.
    """
    masses = token_mass_da.to(tokens.device)[tokens]  # (B, T)
    return torch.cumsum(masses, dim=1) - masses


class IonEvidence(nn.Module):
    """Evidence features (B, T, vocab, channels) from prefix masses and the peak list."""

    def __init__(self, tokenizer: Tokenizer, config: IonEvidenceConfig | None = None):
        super().__init__()
        self.config = config or IonEvidenceConfig()
        self.reverse = bool(tokenizer.reverse)
        # Kept as Python floats, not a buffer: a module-wide `.to(bfloat16)` would
        # round a buffer's masses (4 Da spacing at 1000). Tensors are made on the
        # inputs' device at use.
        self.token_masses_da: tuple[float, ...] = tuple(tokenizer.residue_masses_da.tolist())
        cleaves = [True] * tokenizer.vocab_size
        for token_id in list(range(Tokenizer.EOS + 1)) + list(tokenizer.n_terminal_ids):
            cleaves[token_id] = False
        self.cleaves: tuple[bool, ...] = tuple(cleaves)

    def token_mass_da(self, device: torch.device) -> torch.Tensor:
        """Residue mass per token id, Da, float64 (0 for special tokens). # (vocab,)"""
        return torch.tensor(self.token_masses_da, dtype=torch.float64, device=device)

    @property
    def n_channels(self) -> int:
        return self.config.n_channels

    def prefix_masses_da(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: prefix mass before each position of ``tokens`` (B, T). # (B, T) float64"""
        return prefix_masses_da(tokens, self.token_mass_da(tokens.device))

    def ions(self, prefix_mass_da, precursor_mass_da, precursor_charge):
        """m/z of the looked-up ions of the cleaving candidates (V' of them), in two groups.

        Returns (near (B, T, V', Z, kn), far (B, T, V', Z, kf, K), validity of each, kind
        order): decoded-side ions do not depend on the precursor (no isotope axis K);
        complementary ions have one entry per isotope offset. ``order`` maps the
        channel layout [near, far, (a), (near−H2O, near−NH3, far−H2O, far−NH3)] to
        positions in cat([near kinds, far kinds]).
        """
        c = self.config
        device = prefix_mass_da.device
        f64 = torch.float64
        cleaving = torch.tensor(self.cleaves, device=device)
        residue = self.token_mass_da(device)[cleaving]  # (V',)
        decoded = prefix_mass_da[:, :, None] + residue[None, None, :]  # (B, T, V') residues on the decoded side
        total = precursor_mass_da.to(device=device, dtype=f64)[:, None, None, None]  # (B, 1, 1, 1)
        offsets = isotope_shift_da(torch.tensor(c.isotope_offsets, dtype=f64, device=device))  # (K,)
        # Neutral masses (without charge protons): the decoded-side ion and its complement per offset.
        # The complement is the precursor less the decoded side, taken from M (one rounding fewer than
        # summing the other side's residues, which are not known yet).
        if self.reverse:  # decoded side = C-terminal: y ion; complement = b ion
            near, far = [y_ion_mass_da(decoded)], [total - offsets - H2O_MASS_DA - decoded[..., None]]
        else:  # decoded side = N-terminal: b ion; complement = y ion
            near, far = [b_ion_mass_da(decoded)], [total - offsets - decoded[..., None]]
        kinds = [("near", 0), ("far", 0)]
        if c.a_ions:  # a = b − CO, on whichever side the b ion is
            side = far if self.reverse else near
            side.append(a_ion_mass_da(side[0]))
            kinds.append(("far" if self.reverse else "near", len(side) - 1))
        if c.neutral_losses:
            for name, side in (("near", near), ("far", far)):
                base = side[0]
                side += [base - H2O_MASS_DA, base - NH3_MASS_DA]
                kinds += [(name, len(side) - 2), (name, len(side) - 1)]
        charges = torch.tensor(c.charges, dtype=f64, device=device)  # (Z,)
        near_mz = mz_from_mass(torch.stack(near, -1)[:, :, :, None], charges[:, None])  # (B, T, V', Z, kn)
        far_mz = mz_from_mass(torch.stack(far, -2)[:, :, :, None], charges[:, None, None])  # (B, T, V', Z, kf, K)
        # Fragment charge z > 1 only when the precursor carries more than z charges. # (B, Z)
        charge_ok = fragment_charge_allowed(precursor_charge.to(device)[:, None].long(), charges.long()[None, :])
        near_ok = charge_ok[:, None, None, :, None] & torch.isfinite(near_mz) & (near_mz > 0)
        far_ok = charge_ok[:, None, None, :, None, None] & torch.isfinite(far_mz) & (far_mz > 0)
        order = [index if name == "near" else len(near) + index for name, index in kinds]
        return near_mz, far_mz, near_ok, far_ok, order

    def intensity(
        self,
        prefix_mass_da: torch.Tensor,
        precursor_mass_da: torch.Tensor,
        precursor_charge: torch.Tensor,
        mz: torch.Tensor,
        intensity: torch.Tensor,
        peak_mask: torch.Tensor,
        position_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Observed intensity E at each looked-up ion: (B, T, V, channels) float64.

        prefix_mass_da (B, T) Da; precursor_mass_da (B,) Da (NaN = unknown: the
        complementary channels are 0); precursor_charge (B,); mz (B, P) m/z,
        intensity (B, P), peak_mask (B, P) bool True = real peak; position_mask
        (B, T) bool, False = a padded position (its features are 0, not computed).
        """
        with no_autocast(prefix_mass_da.device):
            return self._intensity(prefix_mass_da.to(torch.float64), precursor_mass_da, precursor_charge,
                                   mz.to(torch.float64), intensity.to(torch.float64), peak_mask.bool(),
                                   None if position_mask is None else position_mask.bool())

    def forward(self, prefix_mass_da, precursor_mass_da, precursor_charge, mz, intensity, peak_mask,
                position_mask=None) -> torch.Tensor:
        """The features the model reads (B, T, V, channels) float32: E relative to the base peak, log scale."""
        with no_autocast(prefix_mass_da.device):
            evidence = self.intensity(prefix_mass_da, precursor_mass_da, precursor_charge, mz, intensity, peak_mask,
                                      position_mask)
            zero = torch.zeros((), dtype=torch.float64, device=intensity.device)
            weights = torch.where(peak_mask.bool(), intensity.to(torch.float64), zero)  # (B, P)
            if weights.shape[1]:
                base = weights.amax(dim=1).clamp_min(1e-12)  # (B,) base peak; empty spectra: E is 0 anyway
            else:
                base = torch.ones(weights.shape[0], dtype=torch.float64, device=weights.device)
            relative = evidence / (_RELATIVE_FLOOR * base[:, None, None, None])
            return (torch.log1p(relative) / math.log1p(1.0 / _RELATIVE_FLOOR)).float()

    def _intensity(self, prefix_mass_da, precursor_mass_da, precursor_charge, mz, intensity, peak_mask,
                   position_mask=None):
        c = self.config
        batch, steps = prefix_mass_da.shape
        near_mz, far_mz, near_ok, far_ok, order = self.ions(prefix_mass_da, precursor_mass_da, precursor_charge)
        far_ok_any = far_ok.any(-1)  # (B, T, V', Z, kf) some offset valid
        far_shape = far_mz.shape
        if position_mask is not None:  # positions nobody reads (padding) are not looked up
            near_ok = near_ok & position_mask[:, :, None, None, None]
            far_ok = far_ok & position_mask[:, :, None, None, None, None]
        flat_mz = torch.cat([near_mz.reshape(batch, -1), far_mz.reshape(batch, -1)], dim=1)  # (B, N)
        # Ions beyond any spectrum's range (a garbage precursor mass) would reach into the next row's axis.
        valid = torch.cat([near_ok.reshape(batch, -1), far_ok.reshape(batch, -1)], dim=1)
        valid = valid & (flat_mz < 0.25 * _ROW_SPACING_MZ)
        flat_mz = torch.where(valid, flat_mz, torch.zeros((), dtype=flat_mz.dtype, device=flat_mz.device))
        n_near = near_mz[0].numel() if batch else 0
        # Padded peaks go above any ion (and below the next row's offset) and carry no intensity.
        peaks = torch.where(peak_mask, mz, torch.full((), 0.5 * _ROW_SPACING_MZ, dtype=mz.dtype, device=mz.device))
        weights = torch.where(peak_mask, intensity, torch.zeros((), dtype=intensity.dtype, device=intensity.device))
        peaks, order_peaks = torch.sort(peaks, dim=1)
        weights = weights.gather(1, order_peaks)
        channels = []
        sums = []
        if c.widths_da:
            sums += _kernel_sums(flat_mz, valid, [torch.full_like(flat_mz, w) for w in c.widths_da], peaks, weights)
        if c.widths_ppm:
            sums += _kernel_sums(flat_mz, valid, [flat_mz * (w * 1e-6) for w in c.widths_ppm], peaks, weights)
        for evidence in sums:  # (B, N) per kernel width
            near_e = evidence[:, :n_near].view(near_mz.shape)  # (B, T, V', Z, kn)
            far_e = evidence[:, n_near:].view(far_shape).amax(-1)  # best isotope offset, (B, T, V', Z, kf)
            both = torch.cat([near_e.where(near_ok, torch.zeros_like(near_e)),
                              far_e.where(far_ok_any, torch.zeros_like(far_e))], dim=-1)
            channels.append(both[..., order])  # (B, T, V', Z, kinds)
        evidence = torch.stack(channels, dim=3).reshape(batch, steps, near_mz.shape[2], -1)  # (B, T, V', C)
        full = evidence.new_zeros(batch, steps, len(self.token_masses_da), evidence.shape[-1])  # (B, T, V, C)
        full[:, :, torch.tensor(self.cleaves, device=full.device)] = evidence
        return full


# Rows of the batch are laid end to end on one m/z axis, this far apart (above any ion or peak m/z).
_ROW_SPACING_MZ = 1e5


def _kernel_sums(ion_mz: torch.Tensor, valid: torch.Tensor, sigmas: list[torch.Tensor], peaks: torch.Tensor,
                 weights: torch.Tensor) -> list[torch.Tensor]:
    """For each σ in ``sigmas``: Σ_j w_j exp(−(ion − peak_j)² / (4σ²)) over the peaks within 6σ of
    the widest; each (B, N), 0 where not ``valid``.

    ion_mz, valid and every σ (B, N); peaks (B, P) sorted ascending (padding at
    the end, ≥ 5e4), weights (B, P). Only valid ions are evaluated: the rows are
    laid end to end on one axis (row b shifted by b · 1e5) so one binary search
    finds every ion's window of peaks, shared by all σ.
    """
    batch, n = ion_mz.shape
    p = peaks.shape[1]
    sums = [torch.zeros_like(ion_mz) for _ in sigmas]
    rows, columns = valid.nonzero(as_tuple=True)  # (M,) each
    if p == 0 or rows.numel() == 0:
        return sums
    shift = torch.arange(batch, dtype=peaks.dtype, device=peaks.device)[:, None] * _ROW_SPACING_MZ
    axis = (peaks + shift).reshape(-1)  # (B·P,) ascending
    ions = ion_mz[rows, columns] + shift[rows, 0]  # (M,)
    chosen = [sigma[rows, columns] for sigma in sigmas]  # (M,) each
    reach = _REACH_SIGMAS * torch.stack(chosen).amax(0)
    lo = torch.searchsorted(axis, (ions - reach).contiguous())  # (M,)
    hi = torch.searchsorted(axis, (ions + reach).contiguous(), right=True)
    width = int((hi - lo).max())
    if width == 0:
        return sums
    index = lo.unsqueeze(-1) + torch.arange(width, device=ions.device)  # (M, W)
    inside = index < hi.unsqueeze(-1)
    index = index.clamp_max(axis.numel() - 1)
    near_w = weights.reshape(-1)[index].float()
    near_w = torch.where(inside, near_w, torch.zeros((), dtype=near_w.dtype, device=near_w.device))
    # Differences in float64 (m/z to 1e-6 Da); the kernel itself in float32, exact enough for a weight.
    delta = ions.unsqueeze(-1) - axis[index]  # (M, W) float64
    for total, sigma in zip(sums, chosen):
        scaled = (delta / (2.0 * sigma.unsqueeze(-1))).float()
        total[rows, columns] = (torch.exp(-scaled.square()) * near_w).sum(-1).to(total.dtype)
    return sums


__all__ = ["IonEvidence", "IonEvidenceConfig", "prefix_masses_da"]
