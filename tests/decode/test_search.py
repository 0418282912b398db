"""Greedy and beam search on stand-in models whose best answers are known."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from renovo.chem import H2O_MASS_DA, ISOTOPE_SPACING_DA, Tokenizer, peptide_mass_da
from renovo.decode import beam_search, greedy_decode
from tests.decode.standins import PrefixModel, TableModel, make_batch, script_tables

TOKENIZER = Tokenizer()
PEK = [{"K": 0.9}, {"E": 0.9}, {"P": 0.9, "G": 0.05}, {"<eos>": 0.9, "G": 0.05}, {"<eos>": 0.9}]


def test_greedy_follows_the_argmax_and_reports_scores_n_to_c():
    model = TableModel(script_tables(TOKENIZER, [PEK]))
    [[prediction]] = greedy_decode(model, make_batch(1))
    assert prediction.peptide == "PEK"  # decoded C→N: K, E, P
    assert prediction.residue_scores == pytest.approx([0.9, 0.9, 0.9], rel=1e-5)
    assert prediction.score == pytest.approx(0.9, rel=1e-5)  # geometric mean over P, E, K and the stop
    assert prediction.tokens == [TOKENIZER.token_to_id[t] for t in "KEP"]
    assert prediction.mass_da == pytest.approx(peptide_mass_da("PEK"))
    assert prediction.precursor_match is None and prediction.complete


def test_beam_search_finds_the_better_path_that_greedy_misses():
    model = PrefixModel(
        {
            (): {"K": 0.55, "R": 0.45},
            ("K",): {"A": 0.24, "G": 0.24, "S": 0.24, "T": 0.24},
            ("R",): {"P": 0.95},
            ("R", "P"): {"<eos>": 0.99},
        },
        default={"<eos>": 0.99},
    )
    [[greedy]] = greedy_decode(model, make_batch(1))
    assert greedy.peptide.endswith("K") and len(greedy.peptide) == 2
    [[best, second]] = beam_search(model, make_batch(1), beam_size=5, top_k=2)
    assert best.peptide == "PR"
    assert best.score == pytest.approx(math.exp((math.log(0.45) + math.log(0.95) + math.log(0.99)) / 3), rel=1e-4)
    assert second.score <= best.score


def test_top_k_candidates_are_distinct_and_sorted():
    torch.manual_seed(0)
    model = TableModel(torch.randn(2, 12, TOKENIZER.vocab_size) * 2)
    results = beam_search(model, make_batch(2), beam_size=6, top_k=4, max_length=10)
    for predictions in results:
        assert len(predictions) == 4
        assert len({p.peptide for p in predictions}) == 4
        assert [p.score for p in predictions] == sorted((p.score for p in predictions), reverse=True)


def test_n_terminal_modifications_only_where_they_can_be_written():
    script = [
        {"[Acetyl]-": 0.6, "K": 0.3},  # cannot be the first token C→N
        {"[Gln->pyro-Glu]-": 0.6, "E": 0.3},  # pyro-Glu from Gln needs a Q before it
        {"[Acetyl]-": 0.6, "P": 0.3},  # allowed: closes the peptide
        {"K": 0.9, "<eos>": 0.05},  # after an N-terminal token only the stop
    ]
    model = TableModel(script_tables(TOKENIZER, [script]))
    [[prediction]] = greedy_decode(model, make_batch(1))
    assert prediction.peptide == "[Acetyl]-EK"
    assert prediction.residue_scores == pytest.approx([0.6 * 0.3, 0.3], rel=1e-5)


def test_never_emits_an_empty_peptide():
    model = TableModel(script_tables(TOKENIZER, [[{"<eos>": 0.99}, {"<eos>": 0.99}]]))
    [[prediction]] = beam_search(model, make_batch(1), beam_size=3)
    assert len(prediction.peptide) == 1 and prediction.complete


def test_max_length_forces_the_stop():
    model = TableModel(script_tables(TOKENIZER, [[{"G": 0.99}]]))
    [[prediction]] = greedy_decode(model, make_batch(1), max_length=7)
    assert prediction.peptide == "G" * 7 and prediction.complete


def test_mass_constraint_steers_to_the_precursor():
    model = TableModel(script_tables(TOKENIZER, [PEK]))
    batch = make_batch(1, [peptide_mass_da("GPEK")])
    [[free]] = greedy_decode(model, batch)
    assert free.peptide == "PEK"
    for decode in (lambda: greedy_decode(model, batch, precursor_tolerance_ppm=10),
                   lambda: beam_search(model, batch, beam_size=5, precursor_tolerance_ppm=10)):
        [[prediction]] = decode()
        assert prediction.peptide == "GPEK"
        assert prediction.precursor_match is True
        assert abs(prediction.uncorrected_error_ppm) < 1e-6


def test_isotope_offset_accepts_a_precursor_one_isotope_up():
    model = TableModel(script_tables(TOKENIZER, [PEK]))
    batch = make_batch(1, [peptide_mass_da("PEK") + ISOTOPE_SPACING_DA])
    [[with_isotope]] = beam_search(model, batch, precursor_tolerance_ppm=10, isotope_offsets=(0, 1))
    assert with_isotope.peptide == "PEK" and with_isotope.precursor_match
    [[without]] = beam_search(model, batch, precursor_tolerance_ppm=10, isotope_offsets=(0,))
    assert not (without.peptide == "PEK" and without.precursor_match)


def test_impossible_precursor_falls_back_to_unconstrained_and_says_so():
    model = TableModel(script_tables(TOKENIZER, [PEK, PEK]))
    batch = make_batch(2, [30.0, peptide_mass_da("GPEK")])  # 30 Da holds no peptide
    [[fallback], [fits]] = beam_search(model, batch, beam_size=3, precursor_tolerance_ppm=10)
    assert fallback.peptide == "PEK" and fallback.precursor_match is False
    assert fits.peptide == "GPEK" and fits.precursor_match is True


def test_batched_decoding_equals_one_spectrum_at_a_time():
    torch.manual_seed(1)
    model = TableModel(torch.randn(5, 16, TOKENIZER.vocab_size) * 3)
    masses = [peptide_mass_da(p) for p in ("PEPTIDEK", "GGR", "ACDEFK", "LLLK", "SAMPLER")]
    batch = make_batch(5, masses)
    together = beam_search(model, batch, beam_size=4, top_k=2, max_length=14, precursor_tolerance_ppm=20)
    for i in range(5):
        single = make_batch(1, [masses[i]])
        single["mz"][0, 0] = i
        alone = beam_search(model, single, beam_size=4, top_k=2, max_length=14, precursor_tolerance_ppm=20)[0]
        assert [p.peptide for p in alone] == [p.peptide for p in together[i]]
        assert [p.score for p in alone] == pytest.approx([p.score for p in together[i]])


@pytest.mark.parametrize("seed", range(4))
def test_exhaustive_beam_equals_brute_force_under_the_constraint(seed):
    """With a beam wider than every sequence, the top candidate is the brute-force optimum."""
    generator = torch.Generator().manual_seed(seed)
    letters = ["G", "A", "S"]
    ids = [TOKENIZER.token_to_id[t] for t in letters] + [TOKENIZER.EOS]
    tables = torch.full((1, 5, TOKENIZER.vocab_size), -math.inf)
    tables[0][:, ids] = torch.randn(5, len(ids), generator=generator) * 2
    model = TableModel(tables)
    logp = torch.log_softmax(tables[0].double(), -1)
    true = "".join(letters[int(i)] for i in torch.randint(0, 3, (3,), generator=generator))
    mass = peptide_mass_da(true)
    best, best_score = None, -math.inf
    for length in range(1, 5):
        for order in itertools.product(range(3), repeat=length):  # decoding order (C→N)
            residues = sum(TOKENIZER.vocabulary.mass_da(letters[i]) for i in order)
            if abs(residues + H2O_MASS_DA - mass) > mass * 10e-6 and abs(residues + H2O_MASS_DA - mass + ISOTOPE_SPACING_DA) > mass * 10e-6:
                continue
            total = sum(float(logp[t, ids[i]]) for t, i in enumerate(order)) + float(logp[length, TOKENIZER.EOS])
            score = total / (length + 1)
            if score > best_score:
                best, best_score = "".join(letters[i] for i in reversed(order)), score
    [[prediction]] = beam_search(model, make_batch(1, [mass]), beam_size=128, max_length=4, precursor_tolerance_ppm=10)
    assert prediction.peptide == best
    assert math.log(prediction.score) == pytest.approx(best_score)
