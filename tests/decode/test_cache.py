"""Incremental decoding gives the model's own logits, step after step, with beams reordered."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.decode import beam_search, greedy_decode
from renovo.decode.cache import incremental_decoder
from renovo.model import build_model, model_config


def _batch(n: int, peaks: int = 12, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    mz = torch.sort(torch.rand(n, peaks, generator=generator, dtype=torch.float64) * 1500 + 100, dim=1).values
    mask = torch.ones(n, peaks, dtype=torch.bool)
    mask[0, peaks // 2 :] = False  # a padded spectrum
    return {
        "mz": mz,
        "intensity": torch.rand(n, peaks, generator=generator),
        "peak_mask": mask,
        "precursor_mass_da": torch.rand(n, generator=generator, dtype=torch.float64) * 1000 + 600,
        "precursor_charge": torch.randint(1, 4, (n,), generator=generator),
    }


@pytest.mark.parametrize("norm_first", [False, True])
def test_cached_logits_equal_protocol_logits(norm_first):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", norm_first=norm_first, dropout=0.1), Tokenizer()).eval()
    batch = _batch(3)
    beams = 2
    with torch.no_grad():
        memory, memory_mask = model.encode(batch["mz"], batch["intensity"], batch["peak_mask"], batch["precursor_mass_da"], batch["precursor_charge"])
        cache = incremental_decoder(model, memory, memory_mask, batch["precursor_mass_da"], batch["precursor_charge"], beams)
        assert cache is not None
        rows = 3 * beams
        repeat = lambda t: t.repeat_interleave(beams, 0)  # noqa: E731
        prefix = torch.zeros(rows, 0, dtype=torch.long)
        generator = torch.Generator().manual_seed(1)
        for step in range(6):
            cached = cache.logits(prefix[:, -1] if step else None)
            reference = model.next_token_logits(prefix, repeat(memory), repeat(memory_mask), repeat(batch["precursor_mass_da"]), repeat(batch["precursor_charge"]))
            torch.testing.assert_close(cached, reference, rtol=1e-4, atol=1e-4)
            # reorder beams within each spectrum, as beam search does, then extend
            source = (torch.arange(3)[:, None] * beams + torch.randint(0, beams, (3, beams), generator=generator)).view(-1)
            cache.reorder(source)
            prefix = torch.cat([prefix[source], torch.randint(3, model.tokenizer.vocab_size, (rows, 1), generator=generator)], dim=1)


def test_beam_search_same_with_and_without_cache():
    torch.manual_seed(2)
    model = build_model(model_config("tiny"), Tokenizer()).eval()
    batch = _batch(3, seed=3)
    for kwargs in ({}, {"precursor_tolerance_ppm": 50.0}):
        fast = beam_search(model, batch, beam_size=3, top_k=2, max_length=8, **kwargs)
        slow = beam_search(model, batch, beam_size=3, top_k=2, max_length=8, use_cache=False, **kwargs)
        assert [[p.peptide for p in r] for r in fast] == [[p.peptide for p in r] for r in slow]
        assert [p.score for r in fast for p in r] == pytest.approx([p.score for r in slow for p in r], rel=1e-4)
    [[greedy]] = greedy_decode(model, {k: v[:1] for k, v in batch.items()}, max_length=8)
    assert greedy.peptide == beam_search(model, {k: v[:1] for k, v in batch.items()}, beam_size=1, max_length=8, use_cache=False)[0][0].peptide


def test_real_model_predictions_are_well_formed():
    torch.manual_seed(3)
    model = build_model(model_config("tiny"), Tokenizer()).eval()
    batch = _batch(3, seed=4)
    batch["precursor_mass_da"] = torch.tensor([400.0, 650.0, 900.0], dtype=torch.float64)
    for predictions in beam_search(model, batch, beam_size=3, top_k=3, max_length=10, precursor_tolerance_ppm=20.0):
        assert 1 <= len(predictions) <= 3
        for p in predictions:
            assert len(p.residue_scores) == len(model.tokenizer.decode(p.tokens + [model.tokenizer.EOS]))
            assert all(0.0 <= s <= 1.0 for s in p.residue_scores)
            assert 0.0 < p.score <= 1.0
            assert p.precursor_match is not None
