import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pyteomics import mass

from renovo.losses import TheoreticalFragments, theoretical_fragments, theoretical_peaks

from .helpers import AMINO_ACIDS, N_SPECIAL, one_hot_batch, residue_masses_da

sequences = st.text(alphabet=AMINO_ACIDS, min_size=1, max_size=25)


def pyteomics_fragments(sequence: str, charges) -> list[float]:
    out = []
    for z in charges:
        for i in range(1, len(sequence)):
            out.append(mass.fast_mass(sequence[:i], ion_type="b", charge=z))
            out.append(mass.fast_mass(sequence[-i:], ion_type="y", charge=z))
    return sorted(out)


@settings(max_examples=60, deadline=None)
@given(
    batch=st.lists(sequences, min_size=1, max_size=4),
    charges=st.sampled_from([(1,), (1, 2), (2, 3)]),
    reverse=st.booleans(),
)
def test_one_hot_matches_pyteomics(batch, charges, reverse):
    probs, lengths = one_hot_batch(batch, reverse=reverse, pad_to=30)
    fragments = theoretical_fragments(probs, residue_masses_da(), lengths, charges=charges, reverse=reverse)
    assert fragments.mz.shape == fragments.mask.shape == (len(batch), len(charges) * 2 * 29)
    for row, sequence in enumerate(batch):
        ours = sorted(fragments.mz[row][fragments.mask[row]].tolist())
        expected = pyteomics_fragments(sequence, charges)
        assert len(ours) == len(expected)
        for a, b in zip(ours, expected):
            assert abs(a - b) <= 1e-6
        assert abs(fragments.peptide_mass_da[row].item() - mass.fast_mass(sequence)) <= 1e-6
    assert torch.all(fragments.variance_mz2 == 0)
    assert torch.all(fragments.peptide_mass_var_da2 == 0)


def test_layout_is_b_then_y_by_ion_index():
    sequence = "PEPTIDEK"
    for reverse in (False, True):
        probs, lengths = one_hot_batch([sequence], reverse=reverse)
        mz, mask = theoretical_peaks(probs, residue_masses_da(), lengths, charges=(1,), reverse=reverse)
        n = probs.shape[1] - 1
        b = [mass.fast_mass(sequence[:i], ion_type="b", charge=1) for i in range(1, len(sequence))]
        y = [mass.fast_mass(sequence[-i:], ion_type="y", charge=1) for i in range(1, len(sequence))]
        torch.testing.assert_close(mz[0, : len(b)], torch.tensor(b, dtype=torch.float64), atol=1e-9, rtol=0)
        torch.testing.assert_close(mz[0, n : n + len(y)], torch.tensor(y, dtype=torch.float64), atol=1e-9, rtol=0)
        assert mask[0].sum() == 2 * (len(sequence) - 1)


def test_float32_inputs_compute_in_float32_and_stay_accurate():
    probs, lengths = one_hot_batch(["PEPTIDEKWWWWRRRR"], dtype=torch.float32)
    mz, mask = theoretical_peaks(probs, residue_masses_da(torch.float64), lengths, charges=(1, 2))
    assert mz.dtype == torch.float32
    reference, _ = theoretical_peaks(probs.double(), residue_masses_da(), lengths, charges=(1, 2))
    assert (mz.double() - reference)[mask].abs().max() < 1e-3


def test_bf16_probabilities_and_autocast_do_not_lower_precision():
    probs, lengths = one_hot_batch(["PEPTIDEKWWWWRRRR"], dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mz, mask = theoretical_peaks(probs, residue_masses_da(), lengths)
    assert mz.dtype == torch.float32
    reference, _ = theoretical_peaks(probs.double(), residue_masses_da(), lengths)
    assert (mz.double() - reference)[mask].abs().max() < 1e-3


def test_padding_and_positions_beyond_length_contribute_nothing():
    torch.manual_seed(0)
    probs, lengths = one_hot_batch(["PEPTIDE", "AC"], pad_to=12)
    noisy = probs.clone()
    # Garbage probabilities on positions past each length (EOS and PAD slots)
    for row, length in enumerate(lengths.tolist()):
        noisy[row, length:] = torch.softmax(torch.randn(12 - length, probs.shape[-1], dtype=torch.float64), -1)
    clean = theoretical_fragments(probs, residue_masses_da(), lengths)
    dirty = theoretical_fragments(noisy, residue_masses_da(), lengths)
    torch.testing.assert_close(clean.mz[clean.mask], dirty.mz[dirty.mask])
    torch.testing.assert_close(clean.peptide_mass_da, dirty.peptide_mass_da)
    assert torch.equal(clean.mask, dirty.mask)
    assert clean.mask[1].sum() == 2  # "AC": b1, y1


def test_zero_length_peptides_are_fully_masked_and_finite():
    probs = torch.softmax(torch.randn(2, 5, N_SPECIAL + 20, dtype=torch.float64, requires_grad=True), -1)
    fragments = theoretical_fragments(probs, residue_masses_da(), torch.tensor([0, 1]))
    assert not fragments.mask.any()  # length 1 has no cleavage either
    assert torch.isfinite(fragments.mz).all()
    torch.testing.assert_close(fragments.peptide_mass_da[0], torch.tensor(mass.calculate_mass(formula="H2O"), dtype=torch.float64))
    fragments.mz.sum().backward()


def test_expected_mass_and_variance_of_a_mixture():
    masses = residue_masses_da()
    g, w = N_SPECIAL + AMINO_ACIDS.index("G"), N_SPECIAL + AMINO_ACIDS.index("W")
    probs = torch.zeros(1, 3, masses.numel(), dtype=torch.float64)
    probs[0, :, g] = 0.6
    probs[0, :, w] = 0.4
    fragments = theoretical_fragments(probs, masses, torch.tensor([3]), charges=(1, 2))
    m_g, m_w = masses[g].item(), masses[w].item()
    mean = 0.6 * m_g + 0.4 * m_w
    var = 0.6 * 0.4 * (m_w - m_g) ** 2
    proton = mass.nist_mass["H+"][0][0]
    assert fragments.mz[0, 0].item() == pytest.approx(mean + proton, abs=1e-9)  # b1, charge 1
    assert fragments.variance_mz2[0, 0].item() == pytest.approx(var, rel=1e-12)
    assert fragments.variance_mz2[0, 1].item() == pytest.approx(2 * var, rel=1e-12)  # b2
    assert fragments.variance_mz2[0, 4].item() == pytest.approx(var / 4, rel=1e-12)  # b1, charge 2
    assert fragments.peptide_mass_var_da2[0].item() == pytest.approx(3 * var, rel=1e-12)
    assert fragments.peptide_mass_da[0].item() == pytest.approx(3 * mean + mass.calculate_mass(formula="H2O"), abs=1e-9)


def test_straight_through_uses_argmax_forward_and_expected_gradient():
    torch.manual_seed(1)
    logits = torch.randn(2, 6, N_SPECIAL + 20, dtype=torch.float64, requires_grad=True)
    masses = residue_masses_da()
    lengths = torch.tensor([5, 3])
    st_frag = theoretical_fragments(torch.softmax(logits, -1), masses, lengths, mass_mode="straight_through")
    hard = torch.nn.functional.one_hot(logits.argmax(-1), masses.numel()).double()
    hard_frag = theoretical_fragments(hard, masses, lengths)
    torch.testing.assert_close(st_frag.mz[st_frag.mask], hard_frag.mz[hard_frag.mask])
    (grad_st,) = torch.autograd.grad(st_frag.mz[st_frag.mask].sum(), logits)
    exp_frag = theoretical_fragments(torch.softmax(logits, -1), masses, lengths)
    (grad_exp,) = torch.autograd.grad(exp_frag.mz[exp_frag.mask].sum(), logits)
    torch.testing.assert_close(grad_st, grad_exp)
    assert grad_st.abs().sum() > 0


def test_gradcheck_float64():
    torch.manual_seed(2)
    logits = torch.randn(2, 4, N_SPECIAL + 20, dtype=torch.float64, requires_grad=True)
    masses = residue_masses_da()
    lengths = torch.tensor([4, 2])

    def fn(x):
        f = theoretical_fragments(torch.softmax(x, -1), masses, lengths, charges=(1, 2), reverse=True)
        return f.mz, f.variance_mz2, f.peptide_mass_da, f.peptide_mass_var_da2

    assert torch.autograd.gradcheck(fn, (logits,), fast_mode=True)


def test_wrapper_returns_mz_and_mask():
    probs, lengths = one_hot_batch(["ACK"])
    result = theoretical_fragments(probs, residue_masses_da(), lengths)
    assert isinstance(result, TheoreticalFragments)
    mz, mask = theoretical_peaks(probs, residue_masses_da(), lengths)
    assert torch.equal(mz, result.mz) and torch.equal(mask, result.mask)


def test_rejects_bad_arguments():
    probs, lengths = one_hot_batch(["ACK"])
    with pytest.raises(ValueError):
        theoretical_peaks(probs, residue_masses_da(), lengths, mass_mode="nope")
    with pytest.raises(ValueError):
        theoretical_peaks(probs, residue_masses_da(), lengths, charges=(0,))
    with pytest.raises(ValueError):
        theoretical_peaks(probs, residue_masses_da()[:-1], lengths)


@pytest.mark.parametrize("reverse", [True, False])
def test_matches_renovo_chem_ladder_with_nterm_modification(reverse):
    chem = pytest.importorskip("renovo.chem")
    tokenizer = chem.Tokenizer(reverse=reverse)
    nterm = torch.tensor([token.endswith("-") for token in tokenizer.tokens])
    peptides = ["[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K", "PEPTIDEK", "[Acetyl]-AK"]
    ids = [tokenizer.encode(chem.parse_peptide(p)) for p in peptides]
    width = max(map(len, ids))
    tokens = torch.tensor([i + [tokenizer.PAD] * (width - len(i)) for i in ids])
    probs = torch.nn.functional.one_hot(tokens, tokenizer.vocab_size).double()
    lengths = torch.tensor([len(i) - 1 for i in ids])  # residue positions before EOS
    fragments = theoretical_fragments(
        probs, tokenizer.residue_masses_da, lengths, charges=(1, 2), reverse=reverse, nterm_token_mask=nterm
    )
    for row, text in enumerate(peptides):
        ladder = chem.fragment_ladder(chem.parse_peptide(text), charges=(1, 2))
        expected = sorted(float(v) for values in ladder.values() for v in values)
        ours = sorted(fragments.mz[row][fragments.mask[row]].tolist())
        assert len(ours) == len(expected)
        assert max(abs(a - b) for a, b in zip(ours, expected)) <= 1e-6
        assert fragments.peptide_mass_da[row].item() == pytest.approx(chem.peptide_mass_da(chem.parse_peptide(text)), abs=1e-6)
