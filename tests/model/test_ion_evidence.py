"""Ion-evidence features on hand-built spectra, checked against pyteomics-verified fragment ladders."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.chem import ISOTOPE_SPACING_DA, Tokenizer, fragment_ladder, parse_peptide, peptide_mass_da
from renovo.model import IonEvidence, IonEvidenceConfig, build_model, model_config, prefix_masses_da

# Channel layout: (width, charge, kind) with kind 0 = decoded-side ion, 1 = complementary ion.
ONE_WIDTH = IonEvidenceConfig(widths_da=(0.02,), charges=(1, 2), isotope_offsets=(0,))


def channel(config: IonEvidenceConfig, width: int, charge_index: int, kind: int) -> int:
    return (width * len(config.charges) + charge_index) * config.n_ion_kinds + kind


def spectrum(mz_values, intensities=None):
    mz = torch.tensor([mz_values], dtype=torch.float64)
    intensity = torch.tensor([intensities if intensities is not None else [1.0] * len(mz_values)], dtype=torch.float64)
    return mz, intensity.float(), torch.ones_like(mz, dtype=torch.bool)


def features_for(peptide: str, tokenizer: Tokenizer, config: IonEvidenceConfig, mz, intensity, mask, charge=2,
                 precursor_mass_da=None):
    """Teacher-forced features (1, T, V, C) along the true peptide."""
    evidence = IonEvidence(tokenizer, config)
    tokens = torch.tensor([tokenizer.encode(peptide)])
    mass = peptide_mass_da(parse_peptide(peptide)) if precursor_mass_da is None else precursor_mass_da
    prefix = evidence.prefix_masses_da(tokens)
    args = (torch.tensor([mass], dtype=torch.float64), torch.tensor([charge]), mz, intensity, mask)
    return evidence.intensity(prefix, *args), tokens


@pytest.mark.parametrize("reverse", [True, False])
def test_ion_on_a_peak_scores_its_intensity_and_its_complement_too(reverse):
    peptide = "PEPTIDEK"
    tokenizer = Tokenizer(reverse=reverse)
    ladder = fragment_ladder(parse_peptide(peptide))  # b_i, y_i at charge 1 (verified against pyteomics)
    b, y = ladder[("b", 1, "")], ladder[("y", 1, "")]
    # One peak: y3 (TIDEK... no: y3 = DEK) with intensity 0.7; nothing else.
    mz, intensity, mask = spectrum([y[2]], [0.7])
    features, tokens = features_for(peptide, tokenizer, ONE_WIDTH, mz, intensity, mask)
    near, far = channel(ONE_WIDTH, 0, 0, 0), channel(ONE_WIDTH, 0, 0, 1)
    if reverse:  # C→N: choosing the 3rd residue from the C-terminus completes y3
        position, token = 2, tokens[0, 2]
        assert features[0, position, token, near].item() == pytest.approx(0.7, rel=1e-6)
        assert features[0, position, token, far].item() == 0.0
        # b5 (PEPTI) is y3's complement: a peak there lights the complementary channel at the same step.
        mz2, intensity2, mask2 = spectrum([b[4]], [0.4])
        features2, _ = features_for(peptide, tokenizer, ONE_WIDTH, mz2, intensity2, mask2)
        assert features2[0, position, token, far].item() == pytest.approx(0.4, rel=1e-6)
        assert features2[0, position, token, near].item() == 0.0
    else:  # N→C: choosing the 5th residue completes b5, whose complement is y3
        position, token = 4, tokens[0, 4]
        assert features[0, position, token, far].item() == pytest.approx(0.7, rel=1e-6)
        assert features[0, position, token, near].item() == 0.0
    # Every other (position, candidate) is far from the single peak, but for isobaric tokens
    # (D and N[Deamidated] share a mass to 1e-3 Da).
    masses = tokenizer.residue_masses_da
    isobaric = (masses - masses[token]).abs() < 0.005
    others = features[..., near].clone()
    others[0, position, isobaric] = 0
    assert others.abs().max().item() < 1e-6


def test_no_peak_gives_zero_and_empty_spectrum_gives_finite_zeros():
    tokenizer = Tokenizer()
    mz, intensity, mask = spectrum([10_000.0])
    features, _ = features_for("PEPTIDEK", tokenizer, ONE_WIDTH, mz, intensity, mask)
    assert torch.count_nonzero(features) == 0
    empty = torch.zeros(1, 0, dtype=torch.float64)
    features, _ = features_for("PEPTIDEK", tokenizer, ONE_WIDTH, empty, empty.float(), empty.bool())
    assert torch.isfinite(features).all() and torch.count_nonzero(features) == 0
    padded_only = torch.zeros(1, 4, dtype=torch.float64)
    features, _ = features_for("PEPTIDEK", tokenizer, ONE_WIDTH, padded_only + 500.0, padded_only.float() + 1,
                               padded_only.bool())
    assert torch.count_nonzero(features) == 0


def test_kernel_is_the_spectral_loss_gaussian():
    tokenizer = Tokenizer()
    ladder = fragment_ladder(parse_peptide("PEPTIDEK"))
    y3 = ladder[("y", 1, "")][2]
    offset = 0.015
    mz, intensity, mask = spectrum([y3 + offset], [1.0])
    features, tokens = features_for("PEPTIDEK", tokenizer, ONE_WIDTH, mz, intensity, mask)
    expected = math.exp(-offset**2 / (4 * 0.02**2))
    assert features[0, 2, tokens[0, 2], 0].item() == pytest.approx(expected, rel=1e-5)


def test_ppm_width_scales_with_mz():
    tokenizer = Tokenizer()
    config = IonEvidenceConfig(widths_da=(), widths_ppm=(20.0,), charges=(1,), isotope_offsets=(0,))
    ladder = fragment_ladder(parse_peptide("PEPTIDEK"))
    y3 = ladder[("y", 1, "")][2]
    sigma = y3 * 20e-6
    mz, intensity, mask = spectrum([y3 + sigma], [1.0])
    features, tokens = features_for("PEPTIDEK", tokenizer, config, mz, intensity, mask)
    assert features[0, 2, tokens[0, 2], 0].item() == pytest.approx(math.exp(-0.25), rel=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_peak_order_does_not_matter(seed):
    generator = np.random.default_rng(seed)
    tokenizer = Tokenizer()
    ladder = fragment_ladder(parse_peptide("ACDEFGHIK"), charges=(1, 2))
    peaks = np.concatenate([v for v in ladder.values()] + [generator.uniform(100, 1200, 20)])
    weights = generator.uniform(0.01, 1.0, peaks.shape[0])
    config = IonEvidenceConfig()
    a, _ = features_for("ACDEFGHIK", tokenizer, config, *spectrum(list(peaks), list(weights)), charge=3)
    order = generator.permutation(peaks.shape[0])
    b, _ = features_for("ACDEFGHIK", tokenizer, config, *spectrum(list(peaks[order]), list(weights[order])), charge=3)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_charge_two_fragments_only_above_charge_two():
    tokenizer = Tokenizer()
    ladder = fragment_ladder(parse_peptide("PEPTIDEK"), charges=(2,))
    y3_2 = ladder[("y", 2, "")][2]
    mz, intensity, mask = spectrum([y3_2], [1.0])
    z2 = channel(ONE_WIDTH, 0, 1, 0)
    for charge, expected in ((2, 0.0), (3, 1.0)):
        features, tokens = features_for("PEPTIDEK", tokenizer, ONE_WIDTH, mz, intensity, mask, charge=charge)
        assert features[0, 2, tokens[0, 2], z2].item() == pytest.approx(expected, abs=1e-6)


def test_modified_n_terminus_is_not_a_cleavage_site():
    for reverse in (True, False):
        tokenizer = Tokenizer(reverse=reverse)
        peptide = "[Acetyl]-PEPTIDEK"
        ladder = fragment_ladder(parse_peptide(peptide))
        peaks = np.concatenate([ladder[("b", 1, "")], ladder[("y", 1, "")]])
        features, tokens = features_for(peptide, tokenizer, ONE_WIDTH, *spectrum(list(peaks)))
        acetyl = tokenizer.token_to_id["[Acetyl]-"]
        assert torch.count_nonzero(features[0, :, acetyl]) == 0  # choosing the modification cuts nothing
        if not reverse:
            # N→C: after the modification, b1 of the modified peptide includes its mass.
            assert features[0, 1, tokens[0, 1], channel(ONE_WIDTH, 0, 0, 0)].item() == pytest.approx(1.0, rel=1e-6)
        for special in (Tokenizer.PAD, Tokenizer.BOS, Tokenizer.EOS):
            assert torch.count_nonzero(features[0, :, special]) == 0


def test_isotope_offset_precursor_still_finds_the_complement():
    tokenizer = Tokenizer()
    peptide = "PEPTIDEK"
    b5 = fragment_ladder(parse_peptide(peptide))[("b", 1, "")][4]
    mass = peptide_mass_da(parse_peptide(peptide)) + ISOTOPE_SPACING_DA  # picked one isotope high
    far = channel(ONE_WIDTH, 0, 0, 1)
    for offsets, expected in (((0,), 0.0), ((0, 1), 1.0)):
        config = IonEvidenceConfig(widths_da=(0.02,), charges=(1, 2), isotope_offsets=offsets)
        features, tokens = features_for(peptide, tokenizer, config, *spectrum([b5]), precursor_mass_da=mass)
        assert features[0, 2, tokens[0, 2], far].item() == pytest.approx(expected, abs=1e-6)


def test_unknown_precursor_mass_keeps_features_finite():
    tokenizer = Tokenizer()
    features, _ = features_for("PEPTIDEK", tokenizer, IonEvidenceConfig(), *spectrum([300.0, 400.0]),
                               precursor_mass_da=float("nan"))
    assert torch.isfinite(features).all()


def test_teacher_forced_and_step_by_step_features_are_equal():
    tokenizer = Tokenizer()
    evidence = IonEvidence(tokenizer, IonEvidenceConfig(a_ions=True, neutral_losses=True))
    ladder = fragment_ladder(parse_peptide("ACDEFGHIK"), charges=(1, 2))
    mz, intensity, mask = spectrum(list(np.concatenate(list(ladder.values()))))
    tokens = torch.tensor([tokenizer.encode("ACDEFGHIK")])
    precursor = torch.tensor([peptide_mass_da(parse_peptide("ACDEFGHIK"))], dtype=torch.float64)
    charge = torch.tensor([3])
    whole = evidence(evidence.prefix_masses_da(tokens), precursor, charge, mz, intensity, mask)
    assert whole.max() > 0.5
    running = torch.zeros(1, dtype=torch.float64)
    for t in range(tokens.shape[1]):
        step = evidence(running[:, None], precursor, charge, mz, intensity, mask)
        torch.testing.assert_close(step[:, 0], whole[:, t], rtol=0, atol=0)
        running = running + tokenizer.residue_masses_da[tokens[:, t]]


def test_prefix_masses_are_exclusive_cumulative_sums():
    tokenizer = Tokenizer()
    tokens = torch.tensor([tokenizer.encode("PEK")])
    masses = prefix_masses_da(tokens, tokenizer.residue_masses_da)
    expected = [0.0] + list(np.cumsum([tokenizer.residue_masses_da[t].item() for t in tokens[0, :-1]]))
    assert masses[0].tolist() == pytest.approx(expected)
    assert masses.dtype == torch.float64


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="at least one kernel width"):
        IonEvidenceConfig(widths_da=(), widths_ppm=())
    with pytest.raises(ValueError, match="unknown ion_evidence keys"):
        IonEvidenceConfig.from_dict({"width": 1})
    with pytest.raises(ValueError, match="into"):
        build_model(model_config("tiny", ion_evidence={"into": "nowhere"}))


def test_module_dtype_cast_does_not_touch_the_mass_arithmetic():
    tokenizer = Tokenizer()
    ladder = fragment_ladder(parse_peptide("WWWWK"))
    mz, intensity, mask = spectrum(list(ladder[("y", 1, "")]))
    evidence = IonEvidence(tokenizer, ONE_WIDTH)
    tokens = torch.tensor([tokenizer.encode("WWWWK")])
    args = (torch.tensor([peptide_mass_da(parse_peptide("WWWWK"))], dtype=torch.float64), torch.tensor([2]),
            mz, intensity, mask)
    before = evidence(evidence.prefix_masses_da(tokens), *args)
    evidence.to(torch.bfloat16)  # e.g. a whole model cast for inference
    after = evidence(evidence.prefix_masses_da(tokens), *args)
    assert after.dtype == torch.float32 and before.max() > 0
    torch.testing.assert_close(after, before, rtol=0, atol=0)


def test_features_are_log_scaled_relative_to_the_base_peak():
    tokenizer = Tokenizer()
    y = fragment_ladder(parse_peptide("PEPTIDEK"))[("y", 1, "")]
    evidence = IonEvidence(tokenizer, ONE_WIDTH)
    tokens = torch.tensor([tokenizer.encode("PEPTIDEK")])
    mass = torch.tensor([peptide_mass_da(parse_peptide("PEPTIDEK"))], dtype=torch.float64)
    for scale in (1.0, 1e-3):  # the features do not depend on the spectrum's absolute intensity
        mz, intensity, mask = spectrum([y[1], y[2]], [0.5 * scale, 0.005 * scale])
        features = evidence(evidence.prefix_masses_da(tokens), mass, torch.tensor([2]), mz, intensity, mask)
        assert features[0, 1, tokens[0, 1], 0].item() == pytest.approx(1.0, rel=1e-5)  # the base peak
        assert features[0, 2, tokens[0, 2], 0].item() == pytest.approx(math.log1p(1.0) / math.log1p(100.0), rel=1e-5)
        assert features.dtype == torch.float32
