"""Shapes, causality, padding and the SequenceModel protocol of SpectrumTransformer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from renovo.chem import PROTON_MASS_DA, Tokenizer, fragment_ladder, parse_peptide, peptide_mass_da
from renovo.model import PRESETS, SpectrumTransformer, build_model, model_config


def hand_batch(peptides=("PEPTIDEK", "ACDEFGHIKR", "LLGK"), charge=2, tokenizer=None):
    """A batch built from renovo.chem alone: b/y ladders as peaks, intensity 1."""
    tokenizer = tokenizer or Tokenizer()
    spectra = []
    for text in peptides:
        peptide = parse_peptide(text)
        ladder = fragment_ladder(peptide)
        mz = np.sort(np.concatenate([v for v in ladder.values()]))
        spectra.append(mz)
    n_peaks = max(len(s) for s in spectra)
    ids = [tokenizer.encode(p) for p in peptides]
    length = max(len(i) for i in ids)
    batch = {
        "mz": torch.zeros(len(peptides), n_peaks, dtype=torch.float64),
        "intensity": torch.zeros(len(peptides), n_peaks),
        "peak_mask": torch.zeros(len(peptides), n_peaks, dtype=torch.bool),
        "tokens": torch.zeros(len(peptides), length, dtype=torch.long),
    }
    for i, (mz, tok) in enumerate(zip(spectra, ids)):
        batch["mz"][i, : len(mz)] = torch.from_numpy(mz)
        batch["intensity"][i, : len(mz)] = 1.0 / np.sqrt(len(mz))
        batch["peak_mask"][i, : len(mz)] = True
        batch["tokens"][i, : len(tok)] = torch.tensor(tok)
    masses = torch.tensor([peptide_mass_da(parse_peptide(p)) for p in peptides], dtype=torch.float64)
    batch["peptide_mass_da"] = masses
    batch["precursor_mass_da"] = masses.clone()
    batch["precursor_charge"] = torch.full((len(peptides),), charge, dtype=torch.long)
    batch["precursor_mz"] = (masses + charge * PROTON_MASS_DA) / charge
    batch["peptides"] = list(peptides)
    return batch


@pytest.fixture(params=[False, True], ids=["plain", "ion_evidence"])
def model(request):
    torch.manual_seed(0)
    return build_model(model_config("tiny", ion_evidence=request.param)).eval()


def test_presets_have_requested_sizes():
    assert PRESETS["small"].d_model == 128 and PRESETS["small"].n_encoder_layers == 2
    assert PRESETS["base"].d_model == 512 and PRESETS["base"].n_decoder_layers == 9
    assert PRESETS["base"].dim_feedforward == 1024 and PRESETS["base"].n_heads == 8
    with pytest.raises(ValueError, match="unknown model preset"):
        model_config("huge")


def test_forward_shapes_and_finite(model):
    batch = hand_batch()
    logits = model(batch)
    assert logits.shape == (3, batch["tokens"].shape[1], model.tokenizer.vocab_size)
    assert torch.isfinite(logits).all()


def test_future_token_does_not_change_earlier_logits(model):
    batch = hand_batch()
    logits = model(batch)
    changed = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()}
    changed["tokens"][0, 5] = (changed["tokens"][0, 5] + 3) % model.tokenizer.vocab_size
    logits2 = model(changed)
    # Position i predicts tokens[i] from tokens[:i]: positions <= 5 see nothing of tokens[5].
    torch.testing.assert_close(logits[0, :6], logits2[0, :6], rtol=0, atol=1e-5)
    assert not torch.allclose(logits[0, 6:], logits2[0, 6:])
    torch.testing.assert_close(logits[1:], logits2[1:], rtol=0, atol=1e-5)


def test_padding_peaks_do_not_matter(model):
    batch = hand_batch()
    logits = model(batch)
    padded = dict(batch)
    extra = 7
    padded["mz"] = torch.cat([batch["mz"], torch.full((3, extra), 1234.5, dtype=torch.float64)], 1)
    padded["intensity"] = torch.cat([batch["intensity"], torch.rand(3, extra)], 1)
    padded["peak_mask"] = torch.cat([batch["peak_mask"], torch.zeros(3, extra, dtype=torch.bool)], 1)
    torch.testing.assert_close(model(padded), logits, rtol=0, atol=1e-5)


@pytest.mark.parametrize("use_cache", [True, False])
def test_step_by_step_decoding_matches_teacher_forcing(model, use_cache):
    batch = hand_batch()
    logits = model(batch)
    memory, memory_mask = model.encode(
        batch["mz"], batch["intensity"], batch["peak_mask"], batch["precursor_mass_da"], batch["precursor_charge"]
    )
    assert memory.shape[:2] == memory_mask.shape and memory_mask.dtype == torch.bool
    state = model.start_decoding(batch, beams=1, use_cache=use_cache)
    for t in range(batch["tokens"].shape[1]):
        step = state.logits(batch["tokens"][:, t - 1] if t else None)
        assert step.shape == (3, model.tokenizer.vocab_size)
        torch.testing.assert_close(step, logits[:, t], rtol=0, atol=1e-5)


def test_model_follows_the_sequence_model_protocol(model):
    from renovo.model import DecodingState, SequenceModel

    assert isinstance(model, SequenceModel)
    assert isinstance(model.start_decoding(hand_batch(), beams=2), DecodingState)


def test_empty_spectrum_and_nan_precursor_stay_finite(model):
    batch = hand_batch()
    batch["peak_mask"][1] = False
    batch["precursor_mass_da"] = batch["precursor_mass_da"].clone()
    batch["precursor_mass_da"][2] = float("nan")
    logits = model(batch)
    assert torch.isfinite(logits).all()


def test_precursor_conditions_the_decoder(model):
    batch = hand_batch()
    logits = model(batch)
    shifted = dict(batch)
    shifted["precursor_mass_da"] = batch["precursor_mass_da"] + 100.0
    assert not torch.allclose(model(shifted)[:, 0], logits[:, 0])


@pytest.mark.parametrize("ion_evidence", [False, True])
def test_gradients_reach_every_parameter(ion_evidence):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence)).train()
    batch = hand_batch()
    logits = model(batch)
    torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["tokens"], ignore_index=0).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []


def test_small_preset_parameter_count():
    model = SpectrumTransformer(model_config("small"), Tokenizer())
    assert 5e5 < model.n_parameters() < 5e6


def test_library_layer_checkpoint_loads_into_the_written_out_decoder():
    """A state dict of nn.TransformerDecoder layers (how earlier checkpoints were saved) loads and
    gives the same logits as the library layers would."""
    torch.manual_seed(4)
    config = model_config("tiny", dropout=0.0)
    model = build_model(config).eval()
    library = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(config.d_model, config.n_heads, config.dim_feedforward, 0.0, batch_first=True),
        config.n_decoder_layers,
    ).eval()
    state = {f"decoder.{k}": v for k, v in library.state_dict().items()}
    assert set(state) == {k for k in model.state_dict() if k.startswith("decoder.")}
    model.load_state_dict({**model.state_dict(), **state})
    batch = hand_batch()
    memory, memory_mask = model.encode(batch["mz"], batch["intensity"], batch["peak_mask"])
    inputs = batch["tokens"][:, :-1]
    precursor = model.precursor_encoder(batch["precursor_mass_da"], batch["precursor_charge"])
    x = model.positional(torch.cat([precursor, model.token_embedding(inputs)], dim=1))
    causal = torch.triu(torch.ones(x.shape[1], x.shape[1], dtype=torch.bool), diagonal=1)
    expected = model.head(library(x, memory, tgt_mask=causal, memory_key_padding_mask=~memory_mask))
    torch.testing.assert_close(model(batch), expected, rtol=1e-5, atol=1e-5)


def test_bf16_autocast_forward_is_finite():
    torch.manual_seed(5)
    model = build_model(model_config("tiny", ion_evidence=True)).eval()
    batch = hand_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(batch)
    assert torch.isfinite(logits.float()).all()
    torch.testing.assert_close(logits.float(), model(batch), rtol=0.1, atol=0.15)
