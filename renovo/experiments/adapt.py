"""Label-free adaptation: a model teaches itself on a lab's unlabelled spectra, checked by physics.

Each round decodes the unlabelled spectra with the current model (the reranked beam when the checkpoint has a
scorer, `renovo.decode.scorer`), keeps the rank-1 predictions the physics checks accept — the precursor within
the search tolerance, the Gaussian spectral cosine (σ 0.01 Da) and the fraction of matched b/y ions above
thresholds, and the calibrated probability above a threshold when a scorer exists — and fine-tunes the model
on them (`renovo.train.finetune`) with simulated spectra mixed into every batch against forgetting. Two
signals from the accepted spectra:

- ``pseudo``: their decoded peptides as labels (cross-entropy), as self-training does;
- ``physics``: no cross-entropy on them at all (``label_weight`` 0): the decoded peptide only places the
  teacher-forced prefix, and the proposal's losses that need no label — the marginal Gaussian rendering of
  the spectrum and the precursor loss against the *measured* precursor mass — are the only signal.

Labels, when the files have them, are hidden from every step and used only to count how many accepted
predictions were right (`AdaptRound.right`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from renovo.data import SpectrumRecord
from renovo.decode import FEATURE_NAMES, SequencingSettings, beam_search, candidate_features, rerank
from renovo.decode.pipeline import collator_for
from renovo.errors import RenovoError
from renovo.evaluate.metrics import match_peptide

SIGNALS = ("pseudo", "physics")


@dataclass
class AcceptanceRule:
    """Which decoded predictions become training spectra."""

    min_gaussian_cosine: float = 0.3  # gaussian_cosine_10mda
    min_ion_fraction: float = 0.3
    min_probability: float = 0.3  # with a scorer only
    require_in_tolerance: bool = True

    def accepts(self, features: dict[str, float], probability: float | None) -> bool:
        if self.require_in_tolerance and features["in_tolerance"] < 1:
            return False
        if features["gaussian_cosine_10mda"] < self.min_gaussian_cosine:
            return False
        if features["ion_fraction"] < self.min_ion_fraction:
            return False
        return probability is None or probability >= self.min_probability


@dataclass
class AdaptRound:
    """What one round did: spectra decoded, predictions accepted, and (with hidden labels) how many were right."""

    round: int
    decoded: int
    accepted: int
    right: int | None = None  # accepted predictions equal to the hidden label (None without labels)
    labelled: int = 0  # accepted spectra that had a hidden label
    checkpoint: str = ""
    extra: dict = field(default_factory=dict)


def accepted_predictions(model, records: Sequence[SpectrumRecord], settings: SequencingSettings,
                         rule: AcceptanceRule) -> list[tuple[SpectrumRecord, str, dict[str, float], float | None]]:
    """Decode ``records`` (their labels unread) and return (record, predicted peptide, features, probability) for
    every rank-1 prediction ``rule`` accepts. With ``settings.scorer`` the beam is reranked first."""
    collate = collator_for(model)
    hidden = [dataclasses.replace(r, peptide=None) for r in records]  # labels play no part in decoding
    chosen = []
    for start in range(0, len(hidden), settings.batch_size):
        chunk = hidden[start:start + settings.batch_size]
        batch = collate(chunk)
        results = beam_search(model, batch, beam_size=settings.beam,
                              top_k=settings.beam if settings.scorer is not None else 1,
                              max_length=settings.max_length, precursor_tolerance_ppm=settings.precursor_tolerance_ppm,
                              isotope_offsets=settings.isotope_offsets)
        if settings.scorer is not None:
            ranked = rerank(batch, results, model.tokenizer, settings)
            tops = [candidates[0] if candidates else None for candidates in ranked]
        else:
            features = candidate_features(batch, [r[:1] for r in results], model.tokenizer, settings.isotope_offsets)
            tops = [(r[0], None, dict(zip(FEATURE_NAMES, map(float, f[0])))) if r else None
                    for r, f in zip(results, features)]
        for record, top in zip(records[start:start + settings.batch_size], tops):
            if top is None or not top[0].peptide:
                continue
            prediction, probability, feats = top
            if rule.accepts(feats, probability):
                chosen.append((record, prediction.peptide, feats, probability))
    return chosen


def training_records(accepted: Iterable[tuple[SpectrumRecord, str, dict, float | None]], signal: str) -> list[SpectrumRecord]:
    """The accepted spectra as training records: the decoded peptide as the label, its cross-entropy weight 1
    (``pseudo``) or 0 (``physics``: the label only places the prefix for the physics losses)."""
    if signal not in SIGNALS:
        raise RenovoError(f"signal must be one of {', '.join(SIGNALS)}, not {signal!r}")
    weight = 1.0 if signal == "pseudo" else 0.0
    return [dataclasses.replace(record, peptide=peptide, label_weight=weight)
            for record, peptide, _, _ in accepted]


def count_right(accepted: Sequence[tuple[SpectrumRecord, str, dict, float | None]], vocabulary) -> tuple[int, int]:
    """(accepted spectra with a hidden label, of those whose prediction equals it) — evaluation only."""
    labelled = [(record, peptide) for record, peptide, _, _ in accepted if record.peptide]
    right = sum(match_peptide(peptide, record.peptide, vocabulary).peptide_match for record, peptide in labelled)
    return len(labelled), right


__all__ = ["AcceptanceRule", "AdaptRound", "SIGNALS", "accepted_predictions", "count_right", "training_records"]
