"""Spectrum files in, peptide–spectrum matches out: what `renovo sequence` runs.

``sequence_files`` checks the settings, reads every spectrum (unlabelled),
batches them with the checkpoint's own preprocessing, decodes each batch and
yields one :class:`PSM` per (spectrum, rank), with the isotope-corrected
precursor-mass error.

With a scorer (`renovo.decode.scorer`), every candidate the beam keeps is scored on how well it explains
its spectrum (`renovo.decode.features`) and the candidates are reordered by the calibrated probability
that they are right; a candidate that misses the precursor stays among them, penalised through its
features (``abs_error_ppm``, ``in_tolerance``) and flagged (``precursor_match`` False), never ranked by
its raw model score. `assign_q_values` then gives each rank-1 PSM its estimated FDR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from renovo.data import SkipCounter, SpectrumCollator, read_spectra
from renovo.decode.features import FEATURE_NAMES, candidate_features
from renovo.decode.psm import PSM, calc_mz, isotope_corrected_error_ppm
from renovo.decode.scorer import CandidateScorer, q_values
from renovo.decode.search import Prediction, beam_search
from renovo.errors import RenovoError


@dataclass
class SequencingSettings:
    """Decoding settings; ``precursor_tolerance_ppm`` None decodes without the mass constraint."""

    beam: int = 5
    top_k: int = 1
    max_length: int = 60
    batch_size: int = 32
    precursor_tolerance_ppm: float | None = 50.0
    isotope_offsets: tuple[int, ...] = (0, 1)
    #: Reorders the beam's candidates by calibrated probability when set (None: the model's score alone).
    scorer: CandidateScorer | None = None
    #: Spectra with fewer peaks after the model's preprocessing are skipped and counted (Casanovo's default is
    #: 20; on the shared real files it skips 23 of 728, on simulated spectra 1 in 1000: docs/decoding.md).
    #: At least 1: a spectrum with no peak left is never sequenced.
    min_peaks: int = 20
    #: Spectra of a higher precursor charge are skipped and counted; None: the model's largest charge
    #: embedding (a charge above that one is always skipped, never given the largest one's embedding).
    max_charge: int | None = None

    def check(self) -> None:
        """RenovoError naming the first setting out of range."""
        for name in ("beam", "top_k", "max_length", "batch_size", "min_peaks"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise RenovoError(f"{name.replace('_', '-')} must be an integer ≥ 1, not {value!r}")
        if self.max_charge is not None and (not isinstance(self.max_charge, int) or self.max_charge < 1):
            raise RenovoError(f"max-charge must be an integer ≥ 1, not {self.max_charge!r}")
        if self.top_k > self.beam:
            raise RenovoError(f"top-k {self.top_k} exceeds beam {self.beam}")
        tolerance = self.precursor_tolerance_ppm
        if tolerance is not None and not (math.isfinite(tolerance) and tolerance > 0):
            raise RenovoError(f"precursor-tolerance-ppm must be > 0, not {tolerance!r}")
        if not self.isotope_offsets or any(int(k) != k or k < 0 for k in self.isotope_offsets):
            raise RenovoError(f"isotope offsets must be integers ≥ 0, not {self.isotope_offsets!r}")


@dataclass
class SequencingCounts:
    """What a run read and decoded; ``skips`` counts spectra the readers dropped."""

    read: int = 0
    sequenced: int = 0
    precursor_in_tolerance: int = 0
    skips: SkipCounter = field(default_factory=SkipCounter)
    #: spectra decoded per input file, every input listed
    per_input: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"read": self.read, "sequenced": self.sequenced,
                "precursor_in_tolerance": self.precursor_in_tolerance, "skips": self.skips.as_dict(),
                "per_input": dict(self.per_input)}


def _batches(records: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def collator_for(model) -> SpectrumCollator:
    """The collator a checkpoint was trained with: spectra preprocessed exactly as in training
    (its data.preprocess and data.max_peaks)."""
    config = getattr(model, "config_dict", {}) or {}
    try:
        return SpectrumCollator.from_config(model.tokenizer, config if isinstance(config, dict) else {})
    except (TypeError, ValueError) as error:
        raise RenovoError(f"checkpoint's config {error}") from None


def model_max_charge(model) -> int | None:
    """The largest precursor charge the model has an embedding of (None: the model does not say)."""
    encoder = getattr(model, "precursor_encoder", None)
    value = getattr(encoder, "max_charge", None)
    return int(value) if value is not None else None


def usable_spectra(records: Iterable, settings: SequencingSettings, collate: SpectrumCollator, skips: SkipCounter,
                   model_charge: int | None = None) -> Iterator:
    """``records`` without the spectra the model cannot sequence, each skipped one counted in ``skips``:
    a precursor charge above ``settings.max_charge`` or above the model's largest charge embedding (the
    encoder would silently give it that charge's embedding), or fewer than ``settings.min_peaks`` peaks left
    after the model's own preprocessing (peaks all outside its m/z range leave none, and a spectrum with
    no peak would still get a peptide with an ordinary score)."""
    from renovo.data.preprocess import preprocess

    limits = [(c, f"precursor charge above {c} (the model's largest charge embedding)") for c in [model_charge]
              if c is not None]
    if settings.max_charge is not None:
        limits.append((settings.max_charge, f"precursor charge above {settings.max_charge} (max-charge)"))
    limits.sort(key=lambda item: item[0])
    few_peaks = f"fewer than {settings.min_peaks} peaks after preprocessing"
    for record in records:
        over = next((reason for limit, reason in limits if record.precursor_charge > limit), None)
        if over is not None:
            skips.skip(over, record.where())
            skips.kept -= 1  # the reader counted it as kept
            continue
        if collate.preprocess is not None:
            mz, _ = preprocess(record.mz, record.intensity, record.precursor_mz, record.precursor_charge,
                               collate.preprocess)
            n_peaks = mz.shape[0]
        else:
            n_peaks = int(np.count_nonzero(np.isfinite(record.mz)))
        if n_peaks < settings.min_peaks:
            skips.skip(few_peaks, record.where(), f"{n_peaks} peak(s)")
            skips.kept -= 1
            continue
        yield record


def decode_batches(model, records: Iterable, settings: SequencingSettings, collate: SpectrumCollator | None = None,
                   ) -> Iterator[tuple[list, list[list[tuple[Prediction, float | None, dict[str, float] | None]]]]]:
    """(records, their ranked candidates) per batch of ``settings.batch_size`` records: beam search with the
    settings' beam, top-k, length and precursor-mass constraint, spectra preprocessed as the model was
    trained (``collate``: the checkpoint's collator unless given). A candidate is (prediction, calibrated
    probability, features): with ``settings.scorer`` every candidate of the beam, most probable first (`rerank`);
    without, the beam's top-k with None for both."""
    collate = collate or collator_for(model)
    offsets = tuple(int(k) for k in settings.isotope_offsets)
    for records_batch in _batches(records, settings.batch_size):
        batch = collate(records_batch)
        results = beam_search(
            model, batch, beam_size=settings.beam,
            top_k=settings.beam if settings.scorer is not None else settings.top_k,
            max_length=settings.max_length, precursor_tolerance_ppm=settings.precursor_tolerance_ppm,
            isotope_offsets=offsets,
        )
        if settings.scorer is not None:
            yield records_batch, rerank(batch, results, model.tokenizer, settings)
        else:
            yield records_batch, [[(p, None, None) for p in predictions] for predictions in results]


def sequence_files(
    model,
    files: Sequence[str | Path],
    settings: SequencingSettings | None = None,
    *,
    counts: SequencingCounts | None = None,
    on_batch: Callable[[int], None] | None = None,
    read_options: dict | None = None,
) -> Iterator[PSM]:
    """Decode every spectrum of ``files`` with ``model``; PSMs in file order, ranks 1..top_k.

    ``counts`` (updated as the run goes) records spectra read, sequenced and
    within tolerance, and the readers' skips; ``on_batch(n)`` is called after
    each batch of n spectra (a progress bar). ``read_options`` go to
    :func:`renovo.data.read_spectra` (e.g. a Parquet ``column_map``).
    """
    settings = settings or SequencingSettings()
    settings.check()
    counts = counts if counts is not None else SequencingCounts()
    collate = collator_for(model)
    vocabulary = model.tokenizer.vocabulary
    offsets = tuple(int(k) for k in settings.isotope_offsets)
    model_charge = model_max_charge(model)
    for path in files:
        counts.per_input.setdefault(str(path), 0)
        # Labels play no part in sequencing: no label table is joined, label text is not parsed.
        records = read_spectra(path, labels=False, vocabulary=vocabulary, skips=counts.skips,
                               on_unknown_mod="ignore", **(read_options or {}))
        records = usable_spectra(records, settings, collate, counts.skips, model_charge)
        for records_batch, ranked in decode_batches(model, records, settings, collate):
            counts.read += len(records_batch)
            counts.per_input[str(path)] += len(records_batch)
            for record, candidates in zip(records_batch, ranked):
                if candidates:
                    counts.sequenced += 1
                    counts.precursor_in_tolerance += bool(candidates[0][0].precursor_match)
                for rank, (prediction, probability, features) in enumerate(candidates[:settings.top_k], start=1):
                    yield _psm(record, path, prediction, rank, offsets, probability, features)
            if on_batch is not None:
                on_batch(len(records_batch))


def rerank(batch: dict, results: list[list[Prediction]], tokenizer, settings: SequencingSettings
           ) -> list[list[tuple[Prediction, float, dict[str, float]]]]:
    """Each spectrum's candidates as (prediction, calibrated probability, features), most probable first."""
    scorer = settings.scorer
    columns = scorer.columns(FEATURE_NAMES)
    features = candidate_features(batch, results, tokenizer, settings.isotope_offsets)
    ranked = []
    for predictions, rows in zip(results, features):
        probability = scorer.probability(rows[:, columns]) if len(predictions) else []
        scored = [(p, float(q), dict(zip(FEATURE_NAMES, map(float, row))))
                  for p, q, row in zip(predictions, probability, rows)]
        scored.sort(key=lambda item: item[1], reverse=True)  # stable: ties keep the beam's order
        ranked.append(scored)
    return ranked


#: Subtracted from a fallback PSM's score (model score or calibrated probability, both in [0, 1]).
FALLBACK_PENALTY = 1.0


def probability_of(psm: PSM) -> float:
    """A PSM's score with a fallback's penalty undone: the calibrated probability when reranked."""
    return psm.score + FALLBACK_PENALTY if psm.precursor_match is False else psm.score


def _psm(record, path, prediction: Prediction, rank: int, offsets, probability: float | None,
         features: dict[str, float] | None) -> PSM:
    score = prediction.score if probability is None else probability
    if prediction.precursor_match is False:
        # A fallback (nothing fitted the precursor) sorts below every mass-matched PSM, as in Casanovo 4.x:
        # its score − 1, in [−1, 0). `assign_q_values` and `evaluate` read the probability as score + 1.
        score -= FALLBACK_PENALTY
    error_ppm, offset = isotope_corrected_error_ppm(prediction.mass_da, record.precursor_mz, record.precursor_charge,
                                                    offsets)
    return PSM(
        source_file=record.source_file or str(path),
        index=record.index,
        peptide=prediction.peptide,
        score=score,
        residue_scores=list(prediction.residue_scores),
        rank=rank,
        charge=record.precursor_charge,
        precursor_mz=record.precursor_mz,
        calc_mz=calc_mz(prediction.mass_da, record.precursor_charge),
        mass_error_ppm=error_ppm,
        isotope_offset=offset,
        precursor_match=prediction.precursor_match,
        retention_time_s=record.retention_time_s,
        title=record.title,
        scan=record.scan,
        model_score=None if probability is None else prediction.score,
        features=features or {},
    )


def assign_q_values(psms: Sequence[PSM]) -> None:
    """Set ``q_value`` of every rank-1 PSM (in place) from the calibrated probabilities of all rank-1 PSMs:
    the estimated FDR among the PSMs scoring at least as high (`renovo.decode.scorer.q_values`)."""
    first = [psm for psm in psms if psm.rank == 1]
    for psm, q in zip(first, q_values([probability_of(psm) for psm in first], [psm.score for psm in first])):
        psm.q_value = float(q)
