"""What training reads: labelled spectra from files (in memory or streamed
from Parquet) and an endless stream of simulated, collated batches.

``load_labelled_dataset`` makes the file choice through `load_dataset` (only
Parquet files or folders → streamed; anything else → read whole) and keeps
the spectra training can use: labelled, with a peptide of at most
``max_length`` residues. Skips are counted and printed, never silent.

``SimulatedBatches``: batch ``k`` of rank ``r`` holds spectra
``(k·world + r)·B … +B-1`` of the simulator's stream for the run's seed, so it
depends on (seed, k, r) only and a stream started at step k resumes exactly.

``BucketedBatchSampler``: shuffled batches of spectra read from files, each
batch drawn from spectra of similar peak count (the simulated stream's
bucketing, for files).

``SimulatedShare``: a collate function that adds a fixed number of simulated
spectra to every batch of file spectra (fine-tuning against forgetting).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator, Sequence

from renovo.chem import Tokenizer
from renovo.data.collate import SpectrumCollator
from renovo.data.datasets import ParquetSpectra, RecordList, load_dataset
from renovo.data.preprocess import preprocess
from renovo.data.records import SkipCounter, SpectrumRecord
from renovo.errors import RenovoError

try:  # torch is a hard dependency, but keep this module importable for docs tools
    import torch
    from torch.utils.data import IterableDataset, Sampler, get_worker_info
except ImportError:  # pragma: no cover
    IterableDataset = Sampler = object  # type: ignore

    def get_worker_info():  # type: ignore
        return None


def fits(record: SpectrumRecord, tokenizer: Tokenizer, max_length: int) -> str | None:
    """Why training cannot use ``record`` (None: it can)."""
    if record.peptide is None:
        return "unlabelled (training needs labels)"
    try:
        if len(tokenizer.encode(record.peptide)) - 1 > max_length:
            return f"peptide longer than data.max_length={max_length}"
    except (KeyError, ValueError):
        return "label not encodable by the tokenizer"
    return None


class LabelledStream(IterableDataset):
    """The records of a streamed dataset that training can use (`fits`); a new shuffle each pass."""

    def __init__(self, dataset, tokenizer: Tokenizer, max_length: int, labelled_rows: int | None = None):
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.labelled_rows = labelled_rows  # labelled rows of the files (before the length check), if counted
        self.passes = 0

    def __iter__(self) -> Iterator[SpectrumRecord]:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.passes)
        self.passes += 1
        yielded = 0
        for record in self.dataset:
            if fits(record, self.tokenizer, self.max_length) is None:
                yielded += 1
                yield record
        if not yielded:
            # An empty pass would make the trainer start the next epoch forever (max_epochs=-1).
            paths = self.dataset.paths if isinstance(self.dataset, ParquetSpectra) else []
            raise RenovoError(f"training data: no usable labelled spectra (with a peptide of ≤ {self.max_length} "
                              f"residues) in {', '.join(map(str, paths)) or 'the stream'}")


def count_labelled_rows(dataset: ParquetSpectra, what: str) -> int:
    """Labelled rows of a streamed Parquet dataset (only the peptide column is read); `RenovoError` if none.

    Streamed data is read lazily; without this check an unlabelled or empty file
    made every epoch empty and training spin forever.
    """
    from renovo.data.parquet import open_parquet

    rows = labelled = 0
    for path in dataset.paths:
        handle = open_parquet(path)
        rows += handle.metadata.num_rows
        if "peptide" in handle.schema_arrow.names and handle.metadata.num_rows:
            column = handle.read(columns=["peptide"]).column("peptide")
            labelled += len(column) - column.null_count
    if not labelled:
        raise RenovoError(f"{what}: no usable labelled spectra in {', '.join(map(str, dataset.paths))} "
                          f"({rows} rows, none with a peptide label)")
    return labelled


def load_labelled_dataset(
    paths: Sequence[str | Path],
    tokenizer: Tokenizer,
    max_length: int,
    what: str,
    *,
    seed: int = 0,
    shuffle_buffer: int = 10000,
    rank: int | None = None,
    world_size: int | None = None,
    stream: bool = True,
):
    """The usable labelled spectra of ``paths``: a `LabelledStream` over `ParquetSpectra`
    when every path is Parquet (a file or a folder of them) and ``stream``, else a
    `RecordList` read whole.

    Skips are printed to stderr as "<what>: kept k of n spectra, skipped …"; a file set with no usable
    spectrum raises `RenovoError`.
    """
    paths = [Path(p) for p in paths]
    skips = SkipCounter()
    dataset = load_dataset(paths, seed=seed, vocabulary=tokenizer.vocabulary, skips=skips,
                           shuffle_buffer=shuffle_buffer, rank=rank, world_size=world_size, stream=stream)
    if isinstance(dataset, ParquetSpectra):
        # Streamed: rows are filtered as they are read, never loaded whole.
        return LabelledStream(dataset, tokenizer, max_length, count_labelled_rows(dataset, what))
    return usable_records(dataset.records, tokenizer, max_length, what, skips,
                          source=", ".join(map(str, paths)))


def usable_records(records, tokenizer: Tokenizer, max_length: int, what: str, skips: SkipCounter | None = None,
                   source: str = "the records given") -> RecordList:
    """The records training can use (`fits`) as a `RecordList`; the others are counted as skips and
    printed to stderr as "<what>: kept k of n spectra, skipped …"; `RenovoError` when none is left."""
    skips = skips if skips is not None else SkipCounter()
    kept = []
    for record in records:
        reason = fits(record, tokenizer, max_length)
        if reason is None:
            kept.append(record)
        else:
            skips.skip(reason, record.where())
    # The reader counted every record here as kept; those `fits` refused are skips now.
    skips.kept = len(kept)
    if skips.total:
        print(f"{what}: {skips.report()}", file=sys.stderr)
    if not kept:
        raise RenovoError(f"{what}: no usable labelled spectra in {source}")
    return RecordList(kept)


def peaks_after_preprocessing(record: SpectrumRecord, collator: SpectrumCollator) -> int:
    """How many peaks of ``record`` the collator keeps (its preprocessing, then its peak cap): the batch's
    padded width is the largest of these."""
    if collator.preprocess is None:
        return record.n_peaks if collator.max_peaks is None else min(record.n_peaks, collator.max_peaks)
    mz, _ = preprocess(record.mz, record.intensity, record.precursor_mz, record.precursor_charge, collator.preprocess)
    return int(mz.shape[0])  # preprocessing cut it to the collator's max_peaks


class BucketedBatchSampler(Sampler):
    """Shuffled batches of a map-style dataset, each of spectra with similar peak counts.

    Every epoch a random permutation (seeded by ``seed`` + epoch) is cut into
    groups of ``bucket`` batches; a group's spectra are ordered by peak count
    and cut into batches; then the epoch's batches are shuffled. Every spectrum
    comes once per epoch, as with ``shuffle=True``, but a batch pads to a width
    close to its own spectra's (real files hold 20 to 500+ peaks). Lightning
    calls `set_epoch`.
    """

    def __init__(self, peak_counts: Sequence[int], batch_size: int, bucket: int, seed: int = 0):
        self.peak_counts = [int(n) for n in peak_counts]
        self.batch_size = max(1, int(batch_size))
        self.bucket = max(1, int(bucket))
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return -(-len(self.peak_counts) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(len(self.peak_counts), generator=generator).tolist()
        group_size = self.batch_size * self.bucket
        batches = []
        for start in range(0, len(order), group_size):
            group = sorted(order[start:start + group_size], key=lambda i: (self.peak_counts[i], i))
            batches += [group[i:i + self.batch_size] for i in range(0, len(group), self.batch_size)]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[b]


def simulated_per_batch(fraction: float, batch_size: int) -> int:
    """Simulated spectra in a batch of ``batch_size`` of which ``fraction`` is simulated: ⌊fraction · size⌋
    (at least one spectrum of a batch comes from the files when ``fraction`` < 1)."""
    if not 0.0 <= fraction < 1.0:
        raise RenovoError(f"data.mix_simulated must lie in [0, 1), got {fraction!r}")
    return int(fraction * int(batch_size))


class SimulatedShare:
    """Collate function: the file spectra of a batch plus ``per_batch`` simulated ones, collated together.

    The ``k``-th batch this rank collates gets simulated spectra ``(k · world + rank) · per_batch …`` of the
    simulator's stream for ``seed``: fresh spectra every batch, disjoint across ranks, and the same for the
    same (seed, k). With loader workers, worker ``w`` of ``n`` collates batches ``w, w + n, …`` (the order the
    loader takes them in), so the batches of different workers never share a simulated spectrum.
    """

    def __init__(self, collator, simulator, seed: int, per_batch: int, rank: int = 0, world_size: int = 1):
        self.collator = collator
        self.simulator = simulator
        self.seed = int(seed)
        self.per_batch = int(per_batch)
        self.rank = int(rank)
        self.world_size = max(1, int(world_size))
        self.calls = 0

    def simulated(self, k: int) -> list[SpectrumRecord]:
        first = (k * self.world_size + self.rank) * self.per_batch
        return [self.simulator.spectrum(self.seed, first + j) for j in range(self.per_batch)]

    def __call__(self, records: Sequence[SpectrumRecord]) -> dict:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        k = self.calls * workers + worker
        self.calls += 1
        return self.collator(list(records) + self.simulated(k))


class SimulatedBatches(IterableDataset):
    """Endless collated batches from the simulator, deterministic in (seed, batch index, rank).

    With ``bucket > 1``, the spectra of ``bucket`` consecutive batches are
    drawn together, ordered by their peak count after preprocessing and cut
    into ``bucket`` batches, so each batch pads to a similar width (simulated
    spectra keep 20–150 peaks; padding to the batch's widest spectrum roughly
    doubled the encoder's work). Batch ``k`` still depends on (seed, k, rank) only.
    """

    def __init__(self, simulator, collator, seed: int, batch_size: int, start_batch: int = 0,
                 rank: int = 0, world_size: int = 1, bucket: int = 1):
        self.simulator = simulator
        self.collator = collator
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.start_batch = int(start_batch)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.bucket = max(1, int(bucket))
        self._group: tuple[int, list] | None = None

    def _records(self, k: int) -> list:
        first = (k * self.world_size + self.rank) * self.batch_size
        return [self.simulator.spectrum(self.seed, first + j) for j in range(self.batch_size)]

    def batch(self, k: int) -> dict:
        if self.bucket == 1:
            return self.collator(self._records(k))
        group = k // self.bucket
        if self._group is None or self._group[0] != group:
            records = [r for b in range(group * self.bucket, (group + 1) * self.bucket) for r in self._records(b)]
            counts = [self._n_peaks(r) for r in records]
            order = sorted(range(len(records)), key=lambda i: (counts[i], i))
            self._group = (group, [records[i] for i in order])
        start = (k % self.bucket) * self.batch_size
        return self.collator(self._group[1][start:start + self.batch_size])

    def _n_peaks(self, record) -> int:
        return peaks_after_preprocessing(record, self.collator)

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if workers > 1 and self.bucket > 1:
            # Each worker takes whole buckets, so none redraws another's spectra.
            g = self.start_batch // self.bucket + worker
            k = max(self.start_batch, g * self.bucket)
            while True:
                yield self.batch(k)
                k += 1
                if k % self.bucket == 0:
                    k += (workers - 1) * self.bucket
        k = self.start_batch + worker
        while True:
            yield self.batch(k)
            k += workers
