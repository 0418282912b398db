"""The model's incremental decoding (key/value cache + prefix masses) gives its full-recompute logits,
step after step, with beams reordered — for the plain and the ion-evidence model."""
from __future__ import annotations

import pytest
import torch

from renovo.chem import Tokenizer
from renovo.decode import beam_search, greedy_decode
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


@pytest.mark.parametrize("ion_evidence", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_cached_logits_equal_full_recompute(norm_first, ion_evidence):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", norm_first=norm_first, dropout=0.1, ion_evidence=ion_evidence), Tokenizer()).eval()
    batch = _batch(3)
    beams = 2
    rows = 3 * beams
    cached = model.start_decoding(batch, beams=beams, use_cache=True)
    reference = model.start_decoding(batch, beams=beams, use_cache=False)
    generator = torch.Generator().manual_seed(1)
    last = None
    for _ in range(6):
        torch.testing.assert_close(cached.logits(last), reference.logits(last), rtol=1e-4, atol=1e-4)
        # reorder beams within each spectrum, as beam search does, then extend
        source = (torch.arange(3)[:, None] * beams + torch.randint(0, beams, (3, beams), generator=generator)).view(-1)
        cached.reorder(source)
        reference.reorder(source)
        last = torch.randint(3, model.tokenizer.vocab_size, (rows,), generator=generator)


@pytest.mark.parametrize("use_cache", [True, False])
def test_kept_spectra_decode_as_before_the_others_were_dropped(use_cache):
    torch.manual_seed(0)
    model = build_model(model_config("tiny", ion_evidence=True), Tokenizer()).eval()
    batch = _batch(4)
    beams = 2
    whole = model.start_decoding(batch, beams=beams, use_cache=use_cache)
    kept = model.start_decoding(batch, beams=beams, use_cache=use_cache)
    generator = torch.Generator().manual_seed(1)
    last = None
    for step in range(5):
        full_logits = whole.logits(last)
        if step == 2:
            kept.keep(torch.tensor([1, 3]))  # spectra 0 and 2 finished
        rows = torch.tensor([2, 3, 6, 7]) if step >= 2 else torch.arange(4 * beams)
        torch.testing.assert_close(kept.logits(None if last is None else last[rows]), full_logits[rows],
                                   rtol=1e-5, atol=1e-5)
        last = torch.randint(3, model.tokenizer.vocab_size, (4 * beams,), generator=generator)


class _NoDropping:
    """A decoding state without ``keep``: the search then decodes every spectrum to the end."""

    def __init__(self, state):
        self.logits, self.reorder = state.logits, state.reorder

    def keep(self, spectra):
        return False


@pytest.mark.parametrize("ion_evidence", [False, True])
def test_dropping_finished_spectra_changes_no_prediction(ion_evidence, monkeypatch):
    torch.manual_seed(4)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence), Tokenizer()).eval()
    batch = _batch(6, seed=5)
    batch["precursor_mass_da"] = torch.tensor([300.0, 1500.0, 500.0, 900.0, 700.0, 1200.0], dtype=torch.float64)
    settings = [dict(beam_size=3, top_k=3, max_length=14), dict(beam_size=3, top_k=2, max_length=14, precursor_tolerance_ppm=50.0),
                dict(beam_size=1, max_length=14)]
    from renovo.model.transformer import DecodingState

    dropped: list[int] = []
    keep = DecodingState.keep
    monkeypatch.setattr(DecodingState, "keep", lambda self, spectra: dropped.append(len(spectra)) or keep(self, spectra))
    dropping = [beam_search(model, batch, **kwargs) for kwargs in settings]
    assert dropped and min(dropped) < 6  # finished spectra were dropped before the last step
    start = model.start_decoding
    monkeypatch.setattr(model, "start_decoding", lambda *args, **kwargs: _NoDropping(start(*args, **kwargs)))
    whole = [beam_search(model, batch, **kwargs) for kwargs in settings]
    for a, b in zip(dropping, whole):
        assert [[(p.peptide, p.precursor_match, p.complete) for p in r] for r in a] == \
            [[(p.peptide, p.precursor_match, p.complete) for p in r] for r in b]
        assert [p.score for r in a for p in r] == pytest.approx([p.score for r in b for p in r], rel=1e-5)
    lengths = {len(p.tokens) for r in dropping[0] for p in r}
    assert len(lengths) > 1  # spectra did finish at different steps


@pytest.mark.parametrize("ion_evidence", [False, True])
def test_beam_search_same_with_and_without_cache(ion_evidence):
    torch.manual_seed(2)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence), Tokenizer()).eval()
    batch = _batch(3, seed=3)
    for kwargs in ({}, {"precursor_tolerance_ppm": 50.0}):
        fast = beam_search(model, batch, beam_size=3, top_k=2, max_length=8, **kwargs)
        slow = beam_search(model, batch, beam_size=3, top_k=2, max_length=8, use_cache=False, **kwargs)
        assert [[p.peptide for p in r] for r in fast] == [[p.peptide for p in r] for r in slow]
        assert [p.score for r in fast for p in r] == pytest.approx([p.score for r in slow for p in r], rel=1e-4)
    [[greedy]] = greedy_decode(model, {k: v[:1] for k, v in batch.items()}, max_length=8)
    assert greedy.peptide == beam_search(model, {k: v[:1] for k, v in batch.items()}, beam_size=1, max_length=8, use_cache=False)[0][0].peptide


@pytest.mark.parametrize("ion_evidence", [False, True])
def test_real_model_predictions_are_well_formed(ion_evidence):
    torch.manual_seed(3)
    model = build_model(model_config("tiny", ion_evidence=ion_evidence), Tokenizer()).eval()
    batch = _batch(3, seed=4)
    batch["precursor_mass_da"] = torch.tensor([400.0, 650.0, 900.0], dtype=torch.float64)
    batch["peak_mask"][2] = False  # an empty spectrum
    for predictions in beam_search(model, batch, beam_size=3, top_k=3, max_length=10, precursor_tolerance_ppm=20.0):
        assert 1 <= len(predictions) <= 3
        for p in predictions:
            assert len(p.residue_scores) == len(model.tokenizer.decode(p.tokens + [model.tokenizer.EOS]))
            assert all(0.0 <= s <= 1.0 for s in p.residue_scores)
            assert 0.0 < p.score <= 1.0
            assert p.precursor_match is not None
