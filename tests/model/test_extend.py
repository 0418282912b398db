"""Growing a model's vocabulary: the checkpoint's tokens keep their weights bit for bit, a new token starts
from its base residue's, the ion evidence reads its mass; a vocabulary that drops a token is refused."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.chem.vocabulary import DEFAULT_VARIABLE_MODS, vocabulary_from_config
from renovo.model import build_model, model_config
from renovo.model.extend import VocabularyChangeError, base_tokens, extend_state_dict, vocabulary_extension

OLD = Tokenizer(vocabulary_from_config({"fixed": ["C[Carbamidomethyl]"], "variable": ["M[Oxidation]", "[Acetyl]-"]}))
# The new tokens listed first: ids move, so weights must follow tokens, not ids.
NEW = Tokenizer(vocabulary_from_config({"fixed": ["C[Carbamidomethyl]"],
                                        "variable": ["S[Phospho]", "[+28.031]-", "C[+12.5]", "M[Oxidation]",
                                                     "[Acetyl]-", "K[+42.011]"]}))


def _model(tokenizer):
    torch.manual_seed(0)
    # Evidence into both the logits and the decoder input: the input projection has columns per token.
    return build_model(model_config("tiny", ion_evidence={"into": "both"}), tokenizer)


def test_added_tokens_and_their_bases():
    added = vocabulary_extension(OLD, NEW)
    assert added == ["S[Phospho]", "[+28.0310]-", "C[+12.5000]", "K[+42.0110]"]  # in the new vocabulary's order
    assert base_tokens("S[Phospho]", OLD) == ["S"]
    assert base_tokens("C[+12.5000]", OLD) == ["C[Carbamidomethyl]"]  # bare C is not a token: its fixed form
    assert base_tokens("[+28.0310]-", OLD) == ["[Acetyl]-"]
    merged = Tokenizer(OLD.vocabulary, merge_il=True)
    assert base_tokens("I[+12.5000]", merged) == ["L"]


def test_old_tokens_keep_their_weights_bit_for_bit_and_new_ones_copy_their_base():
    old_model, new_model = _model(OLD), _model(NEW)
    axes = new_model.vocabulary_axes()
    assert set(axes) == {"token_embedding.weight", "head.weight", "head.bias", "evidence_to_input.weight"}
    old_state = old_model.state_dict()
    new_model.load_state_dict(extend_state_dict(old_state, OLD, NEW, axes))
    state = new_model.state_dict()
    for name, tensor in old_state.items():
        if name not in axes:
            assert torch.equal(state[name], tensor), name
    channels = new_model.ion_evidence.n_channels

    def entries(s, tokenizer, name, token):
        i = tokenizer.token_to_id[token]
        axis, group = axes[name]
        return s[name].narrow(axis, i * group, group)

    for name in axes:
        assert state[name].shape[axes[name][0]] == NEW.vocab_size * axes[name][1]
        for token in OLD.tokens:
            assert torch.equal(entries(state, NEW, name, token), entries(old_state, OLD, name, token)), (name, token)
        for token, base in (("S[Phospho]", "S"), ("C[+12.5000]", "C[Carbamidomethyl]"), ("K[+42.0110]", "K")):
            assert torch.equal(entries(state, NEW, name, token), entries(old_state, OLD, name, base)), (name, token)
    n_terminal = [OLD.token_to_id[t] for t in ("[Acetyl]-",)]
    assert torch.equal(state["head.bias"][NEW.token_to_id["[+28.0310]-"]], old_state["head.bias"][n_terminal[0]])
    assert axes["evidence_to_input.weight"] == (1, channels)


def test_new_masses_reach_the_ion_evidence():
    model = _model(NEW)
    masses = model.ion_evidence.token_masses_da
    for token in ("S[Phospho]", "K[+42.0110]", "C[+12.5000]"):
        assert masses[NEW.token_to_id[token]] == NEW.vocabulary.mass_da(token)
    assert masses[NEW.token_to_id["S[Phospho]"]] == pytest.approx(87.03203 + 79.96633, abs=1e-4)


def test_a_vocabulary_that_drops_a_token_is_refused_in_one_line():
    fewer = Tokenizer(vocabulary_from_config({"fixed": ["C[Carbamidomethyl]"], "variable": ["S[Phospho]"]}))
    with pytest.raises(VocabularyChangeError) as error:
        vocabulary_extension(OLD, fewer, "base.ckpt")
    message = str(error.value)
    assert "drops M[Oxidation], [Acetyl]-" in message and "base.ckpt" in message and "\n" not in message
    plain_c = Tokenizer(vocabulary_from_config({"fixed": [], "variable": list(DEFAULT_VARIABLE_MODS)}))
    with pytest.raises(VocabularyChangeError, match=r"drops C\[Carbamidomethyl\]"):
        vocabulary_extension(Tokenizer(), plain_c)
    with pytest.raises(VocabularyChangeError, match="tokenizer.reverse"):
        vocabulary_extension(OLD, Tokenizer(NEW.vocabulary, reverse=False))
