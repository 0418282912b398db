"""Simulated annotated MS2 spectra: training data with no download.

Each spectrum ``i`` of a stream with seed ``seed`` is drawn from its own
generator ``np.random.default_rng([seed, i])``, so it depends on (seed, i)
only — not on how many spectra are drawn, nor on which worker or rank draws
it.

Model, per spectrum: precursor charge; a tryptic-like peptide (embedded
generator, or a digested FASTA) of a length that grows with the charge;
variable modifications; b/y ions at charge 1 (and 2 for precursor charge ≥
3) observed with position-dependent probabilities; an intensity model (y > b,
cleavage N-terminal to proline and C-terminal to aspartate enhanced,
lognormal scatter); H2O/NH3 losses; a ions; internal fragments; +1 isotope
peaks; immonium ions; residual
precursor; noise peaks; ppm error on fragments and precursor; occasional
precursor isotope error.

Constants are calibrated against the shared real files with
``renovo data stats`` (see ``SimulatorConfig`` comments: MKB =
massivekb_500.mgf + peprec, CAS = casanovo_mouse_128.mgf, HELA =
winnow_hela_profile_100.mgf).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from renovo.chem import (
    CO_MASS_DA,
    H2O_MASS_DA,
    ISOTOPE_SPACING_DA,
    NH3_MASS_DA,
    Vocabulary,
    a_ion_mass_da,
    b_ion_mass_da,
    default_vocabulary,
    fragment_charges,
    mz_from_mass,
    y_ion_mass_da,
)
from renovo.data.records import SpectrumRecord

# Human proteome amino-acid frequencies (UniProt human, %), for the embedded
# peptide generator; K and R are placed by the tryptic rules below.
_AA_FREQUENCY = {
    "L": 9.96, "S": 8.33, "E": 7.10, "A": 7.00, "G": 6.57, "P": 6.31, "V": 5.96, "T": 5.36,
    "Q": 4.77, "D": 4.73, "I": 4.33, "F": 3.65, "N": 3.58, "Y": 2.66, "H": 2.63, "C": 2.30,
    "M": 2.13, "W": 1.22, "K": 5.72, "R": 5.64,
}
_INTERIOR = [aa for aa in _AA_FREQUENCY if aa not in "KR"]
_INTERIOR_P = np.array([_AA_FREQUENCY[aa] for aa in _INTERIOR]) / sum(_AA_FREQUENCY[aa] for aa in _INTERIOR)
_ALL = list(_AA_FREQUENCY)
_ALL_P = np.array([_AA_FREQUENCY[aa] for aa in _ALL]) / sum(_AA_FREQUENCY.values())

# long module: the simulator is one calibrated model (settings, sequence sources, ion intensities,
# noise) whose parts are tuned together against the real files; split it when a part is reused elsewhere.

# Residues with a prominent immonium ion (m/z = residue − CO + proton).
_IMMONIUM_RESIDUES = frozenset("HYFLIWMPKQE")


@dataclass(frozen=True)
class SimulatorConfig:
    # --- precursor -------------------------------------------------------
    #: P(charge 2, 3, 4). MKB: 0.50/0.38/0.12 (CAS is 0.99 charge 2, HELA 0.33/0.58/0.08).
    charge_probabilities: tuple[float, float, float] = (0.50, 0.38, 0.12)
    #: Median peptide length per charge 2/3/4. MKB medians: 12/16/20; CAS 9/11; HELA 9/11/15.5.
    length_median_by_charge: tuple[float, float, float] = (11.0, 14.0, 18.0)
    #: Log-normal spread of the length. MKB lengths 10–90%: 9–23.
    length_log_sigma: float = 0.28
    min_length: int = 7
    max_length: int = 30
    #: Precursor m/z error, ppm, normal sd. MKB 5–95%: −3.6…7.9 ppm; CAS ±1.5; HELA −6…−1.
    precursor_ppm_sd: float = 3.0
    #: Fraction of precursors reported one 13C isotope high (none seen in the 728 real ones; docs/background.md §6 wants some).
    precursor_isotope_error_rate: float = 0.02
    # --- peptide ---------------------------------------------------------
    #: Interior K/R per peptide ~ Poisson(a + b·L); MKB mean 0.65 at median length 14, CAS 0.52, HELA 1.0.
    missed_cleavage_base: float = 0.1
    missed_cleavage_per_residue: float = 0.04
    #: Fraction of C-termini that are not K/R (protein C-termini). MKB: 7/500.
    nontryptic_c_term_rate: float = 0.02
    #: P(C-terminal K | K or R). MKB 255/473, CAS 81/126, HELA 58/100.
    c_term_k_fraction: float = 0.55
    # --- modifications (rates per eligible site) ---------------------------
    #: M[Oxidation] per M. MKB 30/133, CAS 4/12, HELA 18/40.
    oxidation_rate: float = 0.3
    #: N/Q[Deamidated] per N or Q. MKB 47/704, CAS 2/118.
    deamidation_rate: float = 0.05
    #: [Acetyl]- per peptide. MKB 13/500.
    acetyl_rate: float = 0.025
    #: [Carbamyl]- per peptide. MKB 20/500.
    carbamyl_rate: float = 0.04
    #: [Gln->pyro-Glu]- per peptide starting with Q. MKB 12/25.
    pyro_glu_rate: float = 0.5
    # --- fragment observation ---------------------------------------------
    #: P(b_i observed) = b_scale·exp(−b_decay·i/L), b1 separately. MKB by site (N→C): 0.31 0.69 0.53 0.39 0.29 0.20 0.11 0.07 0.03 0.02.
    b_scale: float = 1.0
    b_decay: float = 2.9
    b1_probability: float = 0.15
    #: P(y_j observed) = y_top − y_slope·(j/L)^1.5. MKB by y fraction: 0.82 (short) … 0.13 (long).
    y_top: float = 0.85
    y_slope: float = 0.72
    #: Per-spectrum quality multiplies these probabilities: Beta(a, b) scaled to mean 1 (spread of MKB coverage: 10–90% ≈ 0.45–1.0).
    quality_beta: tuple[float, float] = (4.0, 1.6)
    #: Doubly charged fragments (precursor charge ≥ 3): probability factor, rising with fragment length.
    charge2_factor: float = 0.45
    # --- intensities ------------------------------------------------------
    #: y over b intensity. MKB y/(y+b) intensity 0.71, CAS 0.71, HELA 0.68 (all peaks of the
    #: ion series within 0.02 Da: MKB y 24.5% / b 8.6% of the intensity, CAS 18% / 7%; 2.4 gave 26% / 5%).
    y_intensity_factor: float = 1.7
    #: Cleavage N-terminal to P, and C-terminal to D, enhancement.
    proline_factor: float = 4.0
    aspartate_factor: float = 2.0
    #: Lognormal sd (natural log) of fragment intensity. MKB b/y relative intensity 10/50/90%: 0.05/0.21/0.73.
    fragment_log_sigma: float = 1.0
    #: Neutral losses: P(H2O or NH3 loss peak per observed b/y) and its intensity ratio.
    #: MKB/CAS/HELA: 8.3/5.0/5.2 loss peaks per spectrum holding 9%/10%/8.5% of the intensity
    #: (annotated within 0.02 Da); 0.35/0.3 gave 3.8 and 4%.
    neutral_loss_rate: float = 0.5
    neutral_loss_ratio: float = 0.45
    #: a ions (b − CO) per observed b ion: P(a2) and P(a_i, i > 2), intensity ratio to the b ion.
    #: MKB/CAS/HELA: 1.8/1.3/1.4 a ions per spectrum, 4.3%/4.7%/4.0% of the intensity (0.2 and 0.2% without them).
    a2_probability: float = 0.9
    a_probability: float = 0.35
    a_ratio: float = 0.9
    #: Internal fragments (b-type, 2–6 residues from interior cleavages; those starting at P
    #: favoured): Poisson mean per spectrum and intensity vs the median fragment.
    #: MKB 7.3 per spectrum (6.5% of intensity), CAS 1.7 (2.5%), HELA 2.1 (1.9%); 0.1 without them.
    internal_mean: float = 4.0
    internal_ratio: float = 1.0
    internal_proline_factor: float = 3.0
    #: +1 isotope ratio per Da of fragment mass (13C, ≈ 1/1800 per Da). MKB isotope intensity 11% of total.
    isotope_ratio_per_da: float = 1 / 1800
    #: P(immonium ion per eligible residue) and intensity vs median fragment. CAS 7%, MKB 4%, HELA 3% of intensity.
    immonium_rate: float = 0.5
    immonium_ratio: float = 0.5
    #: P(residual precursor peak) and its intensity vs the base fragment. HELA 10% of intensity, MKB 0 (removed).
    precursor_peak_rate: float = 0.5
    precursor_peak_ratio: float = 0.4
    # --- noise --------------------------------------------------------------
    #: Noise peaks ~ negative binomial, mean and dispersion. Median noise peaks: MKB 44, CAS 34, HELA 50
    #: (52 before internal, a and more loss peaks were simulated: unexplained peaks were 48/spectrum vs MKB 39).
    noise_peaks_mean: float = 44.0
    noise_peaks_dispersion: float = 4.0
    #: (Drawn before the detection floor, which removes the faintest ~15%.)
    #: Noise intensity relative to the median fragment, lognormal; tuned so the b/y share of
    #: intensity lands at MKB's 0.31 (CAS 0.23, HELA 0.23). MKB noise/base 10/50/90%: 0.016/0.06/0.23.
    noise_intensity_median: float = 0.8
    noise_log_sigma: float = 1.05
    #: Fragment m/z error, ppm: per-spectrum offset sd + per-peak sd. MKB 5–95%: −6.7…8.6 ppm.
    fragment_ppm_offset_sd: float = 2.0
    fragment_ppm_sd: float = 4.0
    #: Fragments outside this m/z window are not recorded.
    min_mz: float = 50.0
    max_mz: float = 2500.0
    #: Peaks below this fraction of the base peak are not recorded (instrument floor; MKB noise 10% quantile 0.016 of base).
    detection_floor: float = 0.01
    #: Absolute intensity scale, log10 of the base peak (MKB base peaks ~1e3–1e5).
    log10_base_intensity: tuple[float, float] = (4.0, 0.5)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SimulatorConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown simulator settings {sorted(unknown)}; known: {sorted(known)}")
        converted = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**converted)


@lru_cache(maxsize=8)
def _fasta_peptides(path: str, min_length: int, max_length: int) -> tuple[str, ...]:
    """Unique fully tryptic peptides (up to 2 missed cleavages) of a FASTA, sorted (deterministic)."""
    from pyteomics import fasta, parser

    peptides: set[str] = set()
    with fasta.read(path) as entries:
        for entry in entries:
            sequence = entry.sequence.upper()
            for peptide in parser.cleave(sequence, parser.expasy_rules["trypsin"], missed_cleavages=2,
                                         min_length=min_length, max_length=max_length):
                if set(peptide) <= set(_AA_FREQUENCY):
                    peptides.add(peptide)
    if not peptides:
        from renovo.errors import RenovoError

        raise RenovoError(f"{path}: no tryptic peptides of length {min_length}–{max_length}")
    return tuple(sorted(peptides))


class Simulator:
    """Draws spectrum ``i`` for a seed; stateless between spectra."""

    def __init__(self, config: SimulatorConfig | None = None, fasta: str | Path | None = None,
                 vocabulary: Vocabulary | None = None):
        self.config = config or SimulatorConfig()
        self.vocabulary = vocabulary or default_vocabulary()
        self.fasta = str(fasta) if fasta is not None else None
        self.peptides = (
            _fasta_peptides(self.fasta, self.config.min_length, self.config.max_length) if self.fasta else None
        )
        v = self.vocabulary
        self.fixed = dict(v.fixed)
        self.mods = {
            "oxidation": "M[Oxidation]" in v,
            "deamidation": ("N[Deamidated]" in v, "Q[Deamidated]" in v),
            "acetyl": "[Acetyl]-" in v,
            "carbamyl": "[Carbamyl]-" in v,
            "pyro_glu": "[Gln->pyro-Glu]-" in v,
        }
        for aa in _AA_FREQUENCY:
            if self.fixed.get(aa, aa) not in v:
                raise ValueError(f"vocabulary lacks residue {aa!r}, which the simulator draws")

    # --- peptides ----------------------------------------------------------
    def _length(self, rng: np.random.Generator, charge: int) -> int:
        c = self.config
        median = c.length_median_by_charge[min(charge, 4) - 2]
        length = int(round(median * math.exp(c.length_log_sigma * rng.standard_normal())))
        return min(c.max_length, max(c.min_length, length))

    def _sequence(self, rng: np.random.Generator, charge: int) -> str:
        c = self.config
        if self.peptides is not None:
            # Prefer a peptide of the charge's typical length, so charge and length stay correlated.
            target = self._length(rng, charge)
            for _ in range(8):
                candidate = self.peptides[int(rng.integers(len(self.peptides)))]
                if abs(len(candidate) - target) <= 2:
                    return candidate
            return candidate
        length = self._length(rng, charge)
        residues = list(rng.choice(_INTERIOR, size=length, p=_INTERIOR_P))
        if rng.random() < c.nontryptic_c_term_rate:
            residues[-1] = str(rng.choice(_ALL, p=_ALL_P))
        else:
            residues[-1] = "K" if rng.random() < c.c_term_k_fraction else "R"
        missed = min(length - 2, rng.poisson(c.missed_cleavage_base + c.missed_cleavage_per_residue * length))
        if missed > 0:
            for position in rng.choice(np.arange(0, length - 1), size=missed, replace=False):
                residues[int(position)] = "K" if rng.random() < 0.5 else "R"
        return "".join(residues)

    def _modify(self, rng: np.random.Generator, sequence: str) -> list[str]:
        """Canonical tokens N→C with fixed and variable modifications."""
        c = self.config
        tokens = [self.fixed.get(aa, aa) for aa in sequence]
        draws = rng.random(len(tokens))
        for i, aa in enumerate(sequence):
            if aa == "M" and self.mods["oxidation"] and draws[i] < c.oxidation_rate:
                tokens[i] = "M[Oxidation]"
            elif aa == "N" and self.mods["deamidation"][0] and draws[i] < c.deamidation_rate:
                tokens[i] = "N[Deamidated]"
            elif aa == "Q" and self.mods["deamidation"][1] and draws[i] < c.deamidation_rate:
                tokens[i] = "Q[Deamidated]"
        roll = rng.random()
        if sequence[0] == "Q" and tokens[0] == "Q" and self.mods["pyro_glu"] and roll < c.pyro_glu_rate:
            tokens.insert(0, "[Gln->pyro-Glu]-")
        elif self.mods["acetyl"] and roll < c.acetyl_rate:
            tokens.insert(0, "[Acetyl]-")
        elif self.mods["carbamyl"] and c.acetyl_rate <= roll < c.acetyl_rate + c.carbamyl_rate:
            tokens.insert(0, "[Carbamyl]-")
        return tokens

    # --- spectrum ----------------------------------------------------------
    # long function: one spectrum's random draws in a fixed order; that order defines the stream for a seed,
    # so it stays in one piece that reads top to bottom.
    def spectrum(self, seed: int, index: int) -> SpectrumRecord:
        c = self.config
        rng = np.random.default_rng([int(seed), int(index)])
        charge = int(rng.choice((2, 3, 4), p=np.asarray(c.charge_probabilities) / sum(c.charge_probabilities)))
        tokens = self._modify(rng, self._sequence(rng, charge))
        masses = np.array([self.vocabulary.mass_da(t) for t in tokens])  # (tokens,)
        residues = [t for t in tokens if not t.endswith("-")]
        if tokens[0].endswith("-"):
            masses = np.concatenate([[masses[0] + masses[1]], masses[2:]])  # (L,)
        length = masses.shape[0]
        peptide_mass = float(masses.sum() + H2O_MASS_DA)

        # Precursor m/z with ppm error and an occasional +1 isotope pick.
        measured_mass = peptide_mass + (ISOTOPE_SPACING_DA if rng.random() < c.precursor_isotope_error_rate else 0.0)
        precursor = mz_from_mass(measured_mass, charge)
        precursor *= 1 + c.precursor_ppm_sd * 1e-6 * rng.standard_normal()

        # b_i / y_j neutral masses, i, j = 1..L-1; site k (0..L-2) lies between residues k and k+1.
        prefix = b_ion_mass_da(np.cumsum(masses)[:-1])  # (L-1,) b_{k+1}
        suffix = y_ion_mass_da(np.cumsum(masses[::-1])[:-1][::-1])  # (L-1,) y at site k = y_{L-1-k}
        site = np.arange(length - 1)
        b_number = site + 1
        y_number = length - 1 - site
        quality = rng.beta(*c.quality_beta) * (sum(c.quality_beta) / c.quality_beta[0])
        p_b = np.minimum(1.0, c.b_scale * np.exp(-c.b_decay * b_number / length)) * quality
        p_b[0] = c.b1_probability * quality
        p_y = np.clip(c.y_top - c.y_slope * (y_number / length) ** 1.5, 0.02, 1.0) * quality
        # Cleavage enhancement: N-terminal to P (residue k+1 is P), C-terminal to D (residue k is D).
        enhance = np.ones(length - 1)
        next_is_p = np.array([residues[k + 1][0] == "P" for k in site])
        this_is_d = np.array([residues[k][0] == "D" for k in site])
        enhance[next_is_p] *= c.proline_factor
        enhance[this_is_d] *= c.aspartate_factor
        p_b = np.clip(p_b * np.sqrt(enhance), 0, 0.98)
        p_y = np.clip(p_y * np.sqrt(enhance), 0, 0.98)

        neutral = np.concatenate([prefix, suffix])  # (2(L-1),)
        is_y = np.concatenate([np.zeros(length - 1, bool), np.ones(length - 1, bool)])
        p_observe = np.concatenate([p_b, p_y])
        base_intensity = np.concatenate([enhance, enhance * c.y_intensity_factor])
        charges = fragment_charges(charge)
        mz_parts, intensity_parts = [], []
        for z in charges:
            factor = 1.0 if z == 1 else c.charge2_factor * np.clip(neutral / 1000.0, 0.2, 1.5)
            observed = rng.random(neutral.shape[0]) < p_observe * factor
            ion_mz = mz_from_mass(neutral[observed], z)
            ion_intensity = base_intensity[observed] * np.exp(c.fragment_log_sigma * rng.standard_normal(ion_mz.shape[0]))
            if z == 2:
                ion_intensity *= 0.5
            mz_parts.append(ion_mz)
            intensity_parts.append(ion_intensity)
            # +1 isotope peaks of every ion.
            mz_parts.append(ion_mz + ISOTOPE_SPACING_DA / z)
            intensity_parts.append(ion_intensity * neutral[observed] * c.isotope_ratio_per_da)
            # Neutral losses.
            lossy = rng.random(ion_mz.shape[0]) < c.neutral_loss_rate
            loss_da = np.where(rng.random(ion_mz.shape[0]) < 0.6, H2O_MASS_DA, NH3_MASS_DA)
            mz_parts.append(ion_mz[lossy] - loss_da[lossy] / z)
            intensity_parts.append(ion_intensity[lossy] * c.neutral_loss_ratio
                                   * np.exp(0.5 * rng.standard_normal(int(lossy.sum()))))
            # a ions of the observed b ions (b − CO), a2 the most common.
            if z == 1:
                is_b = ~is_y[observed]
                numbers = np.where(is_b, np.concatenate([b_number, y_number])[observed], 0)
                p_a = np.where(numbers == 2, c.a2_probability, c.a_probability) * is_b
                shown = rng.random(ion_mz.shape[0]) < p_a
                mz_parts.append(ion_mz[shown] - CO_MASS_DA)
                intensity_parts.append(ion_intensity[shown] * c.a_ratio * np.exp(0.5 * rng.standard_normal(int(shown.sum()))))
        fragments = np.concatenate(intensity_parts) if intensity_parts else np.empty(0)
        reference = float(np.median(fragments)) if fragments.size else 1.0

        # Internal fragments: residues i..j-1 of the interior (neither terminus), b-type, singly charged.
        n_internal = int(rng.poisson(c.internal_mean)) if length >= 5 else 0
        if n_internal:
            starts = np.arange(1, length - 2)
            weight = np.where([residues[k][0] == "P" for k in starts], c.internal_proline_factor, 1.0)
            first = rng.choice(starts, size=n_internal, p=weight / weight.sum())
            spans = rng.integers(2, 7, size=n_internal)
            last = np.minimum(first + spans, length - 1)
            cumulative = np.concatenate([[0.0], np.cumsum(masses)])
            internal = cumulative[last] - cumulative[first]
            keep_internal = last - first >= 2
            mz_parts.append(mz_from_mass(b_ion_mass_da(internal[keep_internal]), 1))
            intensity_parts.append(reference * c.internal_ratio
                                   * np.exp(0.8 * rng.standard_normal(int(keep_internal.sum()))))

        # Immonium ions of residues that show them.
        immonium = np.unique([self.vocabulary.mass_da(t) for t in residues if t[0] in _IMMONIUM_RESIDUES])
        if immonium.size:
            shown = rng.random(immonium.shape[0]) < c.immonium_rate
            mz_parts.append(mz_from_mass(a_ion_mass_da(immonium[shown]), 1))  # an immonium ion is an a1 ion
            intensity_parts.append(reference * c.immonium_ratio * np.exp(0.8 * rng.standard_normal(int(shown.sum()))))
        # Residual precursor (and its water loss).
        if rng.random() < c.precursor_peak_rate:
            mz_parts.append(np.array([precursor, precursor - H2O_MASS_DA / charge]))
            level = float(fragments.max()) if fragments.size else 1.0
            intensity_parts.append(level * c.precursor_peak_ratio * np.exp(0.7 * rng.standard_normal(2)) * np.array([1.0, 0.3]))

        # Noise peaks: negative binomial count, uniform m/z below the precursor mass, lognormal intensity.
        k = c.noise_peaks_dispersion
        n_noise = int(rng.poisson(rng.gamma(k, c.noise_peaks_mean / k)))
        upper = min(c.max_mz, mz_from_mass(peptide_mass, 1))
        mz_parts.append(rng.uniform(c.min_mz + 50.0, max(upper, c.min_mz + 100.0), n_noise))
        intensity_parts.append(reference * c.noise_intensity_median * np.exp(c.noise_log_sigma * rng.standard_normal(n_noise)))

        mz = np.concatenate(mz_parts)  # (peaks,)
        intensity = np.concatenate(intensity_parts)  # (peaks,)
        # Fragment m/z error: systematic per-spectrum offset + per-peak scatter, ppm.
        ppm = c.fragment_ppm_offset_sd * rng.standard_normal() + c.fragment_ppm_sd * rng.standard_normal(mz.shape[0])
        mz = mz * (1 + 1e-6 * ppm)
        keep = (mz >= c.min_mz) & (mz <= c.max_mz) & (intensity > 0)
        if keep.any():
            keep &= intensity >= c.detection_floor * intensity[keep].max()
        mz, intensity = mz[keep], intensity[keep]
        order = np.argsort(mz, kind="stable")
        mz, intensity = mz[order], intensity[order]
        if intensity.size:
            base = 10 ** (c.log10_base_intensity[0] + c.log10_base_intensity[1] * rng.standard_normal())
            intensity = intensity / intensity.max() * base
        return SpectrumRecord(
            mz=mz,
            intensity=intensity.astype(np.float32),
            precursor_mz=float(precursor),
            precursor_charge=charge,
            peptide="".join(tokens),
            source_file=f"simulated:seed={seed}",
            index=int(index),
            title=f"sim:{seed}:{index}",
            scan=str(index),
            retention_time_s=None,
        )


def simulate_records(
    n: int | None,
    seed: int,
    config: SimulatorConfig | None = None,
    fasta: str | Path | None = None,
    vocabulary: Vocabulary | None = None,
    start_index: int = 0,
) -> Iterator[SpectrumRecord]:
    """Spectra ``start_index … start_index + n − 1`` of the stream for ``seed`` (n=None: endless)."""
    simulator = Simulator(config, fasta, vocabulary)
    index = start_index
    while n is None or index < start_index + n:
        yield simulator.spectrum(seed, index)
        index += 1
