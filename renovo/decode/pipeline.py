"""Spectrum files in, peptide–spectrum matches out: what `renovo sequence` runs.

`Decoder` (a model and its `DecodeConfig`, checked when it was built) reads
every spectrum (unlabelled), batches them with the checkpoint's own
preprocessing, decodes each batch and yields one :class:`PSM` per (spectrum,
rank), with the isotope-corrected precursor-mass error.

With a scorer (`renovo.decode.scorer`), every candidate the beam keeps is scored on how well it explains
its spectrum (`renovo.decode.features`) and the candidates are reordered by the calibrated probability
that they are right; a candidate that misses the precursor stays among them, penalised through its
features (``abs_error_ppm``, ``in_tolerance``) and flagged (``precursor_match`` False), never ranked by
its raw model score. `assign_q_values` then gives each rank-1 PSM its estimated FDR.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from renovo.data import SkipCounter, SpectrumCollator, read_spectra
from renovo.decode.features import FEATURE_NAMES, candidate_features
from renovo.decode.psm import PSM, calc_mz, isotope_corrected_error_ppm
from renovo.decode.scorer import CandidateScorer, q_values
from renovo.decode.config import DecodeConfig
from renovo.decode.search import Prediction, search_batch
from renovo.errors import RenovoError
from renovo.model import SequenceModel


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
    try:
        return SpectrumCollator.from_config(model.tokenizer, model.config_dict or {})
    except (TypeError, ValueError) as error:
        raise RenovoError(f"checkpoint's config {error}") from None


def usable_spectra(records: Iterable, settings: DecodeConfig, collate: SpectrumCollator, skips: SkipCounter,
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


class Decoder:
    """A model and its `DecodeConfig`: what every caller that decodes runs (`renovo sequence`, calibration,
    training-time validation, fine-tuning rounds, the benches).

    ``collate``: how records become batches (default: the checkpoint's own preprocessing, `collator_for`).
    """

    def __init__(self, model: SequenceModel, config: DecodeConfig | None = None,
                 collate: SpectrumCollator | None = None):
        self.model = model
        self.config = config if config is not None else DecodeConfig()
        self._collate = collate

    @property
    def collate(self) -> SpectrumCollator:
        if self._collate is None:
            self._collate = collator_for(self.model)
        return self._collate

    def search(self, batch: dict, *, top_k: int | None = None, use_cache: bool = True) -> list[list[Prediction]]:
        """The beam's predictions of a batch (the collate dict), best first: up to ``top_k`` (default the
        config's) per spectrum."""
        return search_batch(self.model, batch, self.config, top_k=top_k, use_cache=use_cache)

    def candidates(self, batch: dict) -> list[list[tuple[Prediction, float | None, dict[str, float] | None]]]:
        """Each spectrum's ranked candidates as (prediction, calibrated probability, features): with the
        config's scorer every candidate of the beam, most probable first (`rerank`); without, the beam's
        top-k with None for both."""
        if self.config.scorer is not None:
            return rerank(batch, self.search(batch, top_k=self.config.beam), self.model.tokenizer, self.config)
        return [[(p, None, None) for p in predictions] for predictions in self.search(batch)]

    def decode(self, records: Iterable) -> Iterator[tuple[list, list[list[tuple[Prediction, float | None,
                                                                                   dict[str, float] | None]]]]]:
        """(records, their ranked candidates: `candidates`) per batch of ``config.batch_size`` records."""
        for records_batch in _batches(records, self.config.batch_size):
            yield records_batch, self.candidates(self.collate(records_batch))

    def sequence(self, files: Sequence[str | Path], *, counts: SequencingCounts | None = None,
                 on_batch: Callable[[int], None] | None = None, read_options: dict | None = None) -> Iterator[PSM]:
        """Decode every spectrum of ``files``; PSMs in file order, ranks 1..top_k.

        ``counts`` (updated as the run goes) records spectra read, sequenced and
        within tolerance, and the readers' skips; ``on_batch(n)`` is called after
        each batch of n spectra (a progress bar). ``read_options`` go to
        :func:`renovo.data.read_spectra` (e.g. a Parquet ``column_map``). Spectra
        the model cannot sequence are skipped and counted (`usable_spectra`).
        """
        config, model = self.config, self.model
        counts = counts if counts is not None else SequencingCounts()
        vocabulary = model.tokenizer.vocabulary
        for path in files:
            counts.per_input.setdefault(str(path), 0)
            # Labels play no part in sequencing: no label table is joined, label text is not parsed.
            records = read_spectra(path, labels=False, vocabulary=vocabulary, skips=counts.skips,
                                   on_unknown_mod="ignore", **(read_options or {}))
            records = usable_spectra(records, config, self.collate, counts.skips, model.max_charge)
            for records_batch, ranked in self.decode(records):
                counts.read += len(records_batch)
                counts.per_input[str(path)] += len(records_batch)
                for record, candidates in zip(records_batch, ranked):
                    if candidates:
                        counts.sequenced += 1
                        counts.precursor_in_tolerance += bool(candidates[0][0].precursor_match)
                    for rank, (prediction, probability, features) in enumerate(candidates[:config.top_k], start=1):
                        yield _psm(record, path, prediction, rank, config.isotope_offsets, probability, features)
                if on_batch is not None:
                    on_batch(len(records_batch))


def decode_batches(model, records: Iterable, settings: DecodeConfig, collate: SpectrumCollator | None = None):
    """`Decoder.decode` of ``model`` with ``settings`` (kept for its callers)."""
    return Decoder(model, settings, collate).decode(records)


def sequence_files(model, files: Sequence[str | Path], settings: DecodeConfig | None = None, **options
                   ) -> Iterator[PSM]:
    """`Decoder.sequence` of ``model`` with ``settings`` (kept for its callers)."""
    return Decoder(model, settings).sequence(files, **options)


def rerank(batch: dict, results: list[list[Prediction]], tokenizer, settings: DecodeConfig
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
