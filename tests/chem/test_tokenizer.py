"""Tokenizer round trips, directions, I/L merge and the residue-mass table."""
from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.chem import Tokenizer, default_vocabulary, parse_peptide, peptide_mass_da, H2O_MASS_DA

VOCABULARY = default_vocabulary()
RESIDUES = [t for t in VOCABULARY.tokens if not t.endswith("-")]


@st.composite
def proformas(draw):
    residues = draw(st.lists(st.sampled_from(RESIDUES), min_size=1, max_size=25))
    n_term = draw(st.sampled_from([None, "[Acetyl]-", "[Carbamyl]-", "[Ammonia-loss]-"]))
    return (n_term or "") + "".join(residues)


@settings(max_examples=200, deadline=None)
@given(proformas(), st.booleans())
def test_round_trip_in_both_directions(proforma, reverse):
    tokenizer = Tokenizer(reverse=reverse)
    ids = tokenizer.encode(proforma)
    assert ids[-1] == Tokenizer.EOS
    assert tokenizer.decode(ids + [Tokenizer.PAD] * 3).proforma == parse_peptide(proforma).proforma


def test_reverse_puts_c_terminus_first():
    tokenizer = Tokenizer(reverse=True)
    ids = tokenizer.encode("[Acetyl]-PEK")
    assert [tokenizer.tokens[i] for i in ids] == ["K", "E", "P", "[Acetyl]-", "<eos>"]
    forward = Tokenizer(reverse=False)
    assert [forward.tokens[i] for i in forward.encode("PEK")] == ["P", "E", "K", "<eos>"]


def test_merge_il():
    tokenizer = Tokenizer(merge_il=True)
    assert "I" not in tokenizer.tokens
    assert tokenizer.decode(tokenizer.encode("PEPTIDE")).proforma == "PEPTLDE"


@settings(max_examples=100, deadline=None)
@given(proformas())
def test_residue_mass_table_sums_to_peptide_mass(proforma):
    tokenizer = Tokenizer()
    masses = tokenizer.residue_masses_da
    assert masses.dtype == torch.float64
    assert masses[: 3].eq(0).all()
    ids = torch.tensor(tokenizer.encode(proforma))
    assert abs(float(masses[ids].sum()) + H2O_MASS_DA - peptide_mass_da(proforma)) <= 1e-6


def test_decode_drops_misplaced_n_terminal_token_and_stops_at_eos():
    tokenizer = Tokenizer(reverse=False)
    acetyl = tokenizer.token_to_id["[Acetyl]-"]
    k = tokenizer.token_to_id["K"]
    assert tokenizer.decode([k, acetyl, k, Tokenizer.EOS, k]).proforma == "KK"
    assert tokenizer.decode([Tokenizer.BOS, acetyl, k, Tokenizer.EOS]).proforma == "[Acetyl]-K"
