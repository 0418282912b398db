"""Spectrum files in, peptide–spectrum matches out: what `renovo sequence` runs.

``sequence_files`` checks the settings, reads every spectrum (unlabelled),
batches them with the checkpoint's own preprocessing, decodes each batch and
yields one :class:`PSM` per (spectrum, rank), with the isotope-corrected
precursor-mass error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from renovo.data import SkipCounter, SpectrumCollator, read_spectra
from renovo.decode.psm import PSM, calc_mz, isotope_corrected_error_ppm
from renovo.decode.search import beam_search
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

    def check(self) -> None:
        """RenovoError naming the first setting out of range."""
        for name in ("beam", "top_k", "max_length", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise RenovoError(f"{name.replace('_', '-')} must be an integer ≥ 1, not {value!r}")
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


def decode_batches(model, records: Iterable, settings: SequencingSettings, collate: SpectrumCollator | None = None,
                   ) -> Iterator[tuple[list, list]]:
    """(records, their predictions) per batch of ``settings.batch_size`` records: beam search with the
    settings' beam, top-k, length and precursor-mass constraint, spectra preprocessed as the model was
    trained (``collate``: the checkpoint's collator unless given)."""
    collate = collate or collator_for(model)
    offsets = tuple(int(k) for k in settings.isotope_offsets)
    for records_batch in _batches(records, settings.batch_size):
        yield records_batch, beam_search(
            model, collate(records_batch), beam_size=settings.beam, top_k=settings.top_k,
            max_length=settings.max_length, precursor_tolerance_ppm=settings.precursor_tolerance_ppm,
            isotope_offsets=offsets,
        )


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
    for path in files:
        counts.per_input.setdefault(str(path), 0)
        # Labels play no part in sequencing: no label table is joined, label text is not parsed.
        records = read_spectra(path, labels=False, vocabulary=vocabulary, skips=counts.skips,
                               on_unknown_mod="ignore", **(read_options or {}))
        for records_batch, results in decode_batches(model, records, settings, collate):
            counts.read += len(records_batch)
            counts.per_input[str(path)] += len(records_batch)
            for record, predictions in zip(records_batch, results):
                if predictions:
                    counts.sequenced += 1
                    counts.precursor_in_tolerance += bool(predictions[0].precursor_match)
                for rank, prediction in enumerate(predictions, start=1):
                    error_ppm, offset = isotope_corrected_error_ppm(
                        prediction.mass_da, record.precursor_mz, record.precursor_charge, offsets)
                    yield PSM(
                        source_file=record.source_file or str(path),
                        index=record.index,
                        peptide=prediction.peptide,
                        score=prediction.score,
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
                    )
            if on_batch is not None:
                on_batch(len(records_batch))
