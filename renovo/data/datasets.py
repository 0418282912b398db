"""PyTorch datasets of SpectrumRecord: simulated stream, streaming Parquet,
in-memory list; and how work is split across DataLoader workers × DDP ranks.

A *shard* is one (rank, worker) pair: ``shard = rank · workers + worker`` of
``world_size · workers``. Rank and world size come from explicit arguments,
else from ``torch.distributed`` when it is initialised, else (0, 1).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from renovo.chem import Vocabulary
from renovo.data.records import SkipCounter, SpectrumRecord
from renovo.data.simulate import Simulator, SimulatorConfig

try:  # torch is a hard dependency, but keep this module importable for docs tools
    from torch.utils.data import Dataset, IterableDataset, get_worker_info
except ImportError:  # pragma: no cover
    Dataset = IterableDataset = object  # type: ignore

    def get_worker_info():  # type: ignore
        return None


def resolve_rank(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(rank, world_size): explicit values win, then torch.distributed, then (0, 1)."""
    if rank is None or world_size is None:
        try:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                rank = dist.get_rank() if rank is None else rank
                world_size = dist.get_world_size() if world_size is None else world_size
        except ImportError:  # pragma: no cover
            pass
    rank = 0 if rank is None else int(rank)
    world_size = 1 if world_size is None else int(world_size)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world size {world_size}")
    return rank, world_size


def _bind_rank(rank: int | None, world_size: int | None) -> tuple[int | None, int | None]:
    """Resolve rank and world size now, in the rank's own process, when torch.distributed is initialised:
    DataLoader worker processes do not see the process group (``dist.is_initialized()`` is False
    there, measured), so resolving it lazily inside a worker gave every rank the same data."""
    if rank is None or world_size is None:
        try:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                return resolve_rank(rank, world_size)
        except ImportError:  # pragma: no cover
            pass
    return rank, world_size


def shard_info(rank: int | None = None, world_size: int | None = None) -> tuple[int, int]:
    """(shard, n_shards) of the calling DataLoader worker on this rank."""
    rank, world_size = resolve_rank(rank, world_size)
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world_size * workers


class SimulatedSpectra(IterableDataset):
    """On-the-fly simulated spectra; spectrum ``i`` depends only on (seed, i).

    Shard ``s`` of ``n`` yields indices ``start_index + s, + s + n, …`` so
    workers and ranks are disjoint and together cover ``[start_index,
    start_index + length)`` (``length=None``: an endless stream).
    ``set_epoch(e)`` moves a finite dataset to the next block of ``length``
    spectra when ``fresh_each_epoch`` (default: the same spectra each epoch).
    """

    def __init__(
        self,
        seed: int,
        length: int | None = None,
        config: SimulatorConfig | None = None,
        fasta: str | Path | None = None,
        start_index: int = 0,
        *,
        vocabulary: Vocabulary | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        fresh_each_epoch: bool = False,
    ):
        super().__init__()
        self.seed = int(seed)
        self.length = length
        self.config = config or SimulatorConfig()
        self.fasta = str(fasta) if fasta is not None else None
        self.start_index = int(start_index)
        self.vocabulary = vocabulary
        self.rank, self.world_size = _bind_rank(rank, world_size)
        self.fresh_each_epoch = fresh_each_epoch
        self.epoch = 0
        self._simulator: Simulator | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an endless SimulatedSpectra (length=None) has no length")
        _, world_size = resolve_rank(self.rank, self.world_size)
        return math.ceil(self.length / world_size)

    def indices(self, shard: int, n_shards: int) -> Iterator[int]:
        start = self.start_index + (self.epoch * self.length if self.fresh_each_epoch and self.length else 0)
        index = start + shard
        while self.length is None or index < start + self.length:
            yield index
            index += n_shards

    def __iter__(self) -> Iterator[SpectrumRecord]:
        if self._simulator is None:  # built lazily: inside each worker, after pickling
            self._simulator = Simulator(self.config, self.fasta, self.vocabulary)
        shard, n_shards = shard_info(self.rank, self.world_size)
        for index in self.indices(shard, n_shards):
            yield self._simulator.spectrum(self.seed, index)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_simulator"] = None
        return state


def expand_parquet_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.parquet")))
        else:
            files.append(path)
    if not files:
        from renovo.errors import RenovoError

        raise RenovoError(f"no Parquet files in {list(map(str, paths))}")
    return files


class ParquetSpectra(IterableDataset):
    """Streams renovo Parquet files one row group at a time, never loading a whole file.

    Each epoch the (file, row group) units are shuffled with (seed, epoch)
    and dealt to the shards (largest first to the shard with fewest rows), so
    shards read disjoint units that together cover the epoch. With ``even_shards`` (default) a shard with
    fewer rows repeats some of its own rows to match the largest shard, as
    ``DistributedSampler`` pads, so DDP ranks run the same number of steps.
    With fewer units than shards, every shard reads all units and keeps
    every ``n_shards``-th row instead. A shuffle buffer of ``shuffle_buffer``
    records (0 = file order) mixes rows across units.

    Rows are trusted as written by ``renovo convert``/``simulate``; pass
    ``validate=True`` (or a ``vocabulary``) to re-check them and count skips.
    """

    def __init__(
        self,
        paths: str | Path | Sequence[str | Path],
        shuffle_buffer: int = 10000,
        seed: int = 0,
        epoch: int = 0,
        *,
        rank: int | None = None,
        world_size: int | None = None,
        even_shards: bool = True,
        shuffle_units: bool | None = None,
        validate: bool = False,
        vocabulary: Vocabulary | None = None,
    ):
        super().__init__()
        from renovo.data.parquet import open_parquet

        self.paths = expand_parquet_paths(paths)
        self.shuffle_buffer = int(shuffle_buffer)
        self.seed = int(seed)
        self.epoch = int(epoch)
        self.rank, self.world_size = _bind_rank(rank, world_size)
        self.even_shards = even_shards
        self.shuffle_units = self.shuffle_buffer > 0 if shuffle_units is None else shuffle_units
        self.validate = validate or vocabulary is not None
        self.vocabulary = vocabulary
        self.skips = SkipCounter()
        #: (file index, row group, rows) for every row group of every file.
        self.units: list[tuple[int, int, int]] = []
        for file_index, path in enumerate(self.paths):
            metadata = open_parquet(path).metadata
            for group in range(metadata.num_row_groups):
                self.units.append((file_index, group, metadata.row_group(group).num_rows))
        self.num_rows = sum(u[2] for u in self.units)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        _, world_size = resolve_rank(self.rank, self.world_size)
        return math.ceil(self.num_rows / world_size)

    def _epoch_units(self) -> list[tuple[int, int, int]]:
        units = list(self.units)
        if self.shuffle_units:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(len(units))
            units = [units[i] for i in order]
        return units

    def _read_unit(self, unit: tuple[int, int, int]) -> Iterator[SpectrumRecord]:
        from renovo.data.builder import RecordBuilder
        from renovo.data.parquet import open_parquet, records_from_table, unreadable_row_group

        file_index, group, _ = unit
        path = self.paths[file_index]
        import pyarrow as pa

        from renovo.data.records import MalformedFileError

        try:
            table = open_parquet(path).read_row_group(group)
        except (OSError, pa.ArrowException) as error:  # corrupt pages
            raise unreadable_row_group(path, group, error) from None
        builder = (
            RecordBuilder(path, vocabulary=self.vocabulary, skips=self.skips) if self.validate else None
        )
        yield from records_from_table(table, path, builder, skips=self.skips)

    def _shard_stream(self, shard: int, n_shards: int) -> Iterator[SpectrumRecord]:
        units = self._epoch_units()
        if len(units) >= n_shards:
            assignment = _balance(units, n_shards)
            mine = assignment[shard]
            target = max(sum(u[2] for u in a) for a in assignment)
            count = 0
            for unit in mine:
                for record in self._read_unit(unit):
                    yield record
                    count += 1
            # (one shard has nobody to keep pace with: rows it skipped as invalid are not padded back)
            while self.even_shards and n_shards > 1 and 0 < count < target:
                for unit in mine:
                    for record in self._read_unit(unit):
                        if count >= target:
                            return
                        yield record
                        count += 1
        else:
            position = 0
            first = None
            for unit in units:
                for record in self._read_unit(unit):
                    if position % n_shards == shard:
                        first = first or record
                        yield record
                    position += 1
            if self.even_shards and first is not None and position % n_shards and shard >= position % n_shards:
                yield first

    def __iter__(self) -> Iterator[SpectrumRecord]:
        shard, n_shards = shard_info(self.rank, self.world_size)
        stream = self._shard_stream(shard, n_shards)
        if self.shuffle_buffer <= 1:
            yield from stream
            return
        rng = np.random.default_rng([self.seed, self.epoch, shard, 1])
        buffer: list[SpectrumRecord] = []
        for record in stream:
            if len(buffer) < self.shuffle_buffer:
                buffer.append(record)
                continue
            j = int(rng.integers(len(buffer)))
            buffer[j], record = record, buffer[j]
            yield record
        order = rng.permutation(len(buffer))
        for j in order:
            yield buffer[j]


def _balance(units: list[tuple[int, int, int]], n_shards: int) -> list[list[tuple[int, int, int]]]:
    """Deal units to shards, largest first to the shard with the fewest rows
    (ties: lowest shard), keeping each shard's units in the given order."""
    import heapq

    order = sorted(range(len(units)), key=lambda i: (-units[i][2], i))
    heap = [(0, s) for s in range(n_shards)]
    owner = [0] * len(units)
    for i in order:
        rows, s = heapq.heappop(heap)
        owner[i] = s
        heapq.heappush(heap, (rows + units[i][2], s))
    return [[u for u, o in zip(units, owner) if o == s] for s in range(n_shards)]


class RecordList(Dataset):
    """Map-style dataset over records held in memory (small files, validation)."""

    def __init__(self, records: Sequence[SpectrumRecord]):
        self.records = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> SpectrumRecord:
        return self.records[index]


def load_dataset(
    paths: str | Path | Sequence[str | Path] | None,
    *,
    seed: int = 0,
    length: int | None = None,
    simulator_config: SimulatorConfig | None = None,
    fasta: str | Path | None = None,
    start_index: int = 0,
    labels=None,
    vocabulary: Vocabulary | None = None,
    skips: SkipCounter | None = None,
    shuffle_buffer: int = 10000,
    epoch: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
    stream: bool = True,
):
    """The dataset for ``paths``:

    - None → :class:`SimulatedSpectra` (``seed``, ``length``; the embedded default);
    - only Parquet files / folders, and ``stream`` → :class:`ParquetSpectra` (streaming);
    - otherwise (MGF, mzML, mixed) → :class:`RecordList` of every file read whole
      (skips counted in ``skips``). Convert large inputs to Parquet first.
    """
    if paths is None:
        return SimulatedSpectra(seed, length, simulator_config, fasta, start_index,
                                vocabulary=vocabulary, rank=rank, world_size=world_size)
    from renovo.data.readers import PARQUET_SUFFIXES, read_spectra

    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if stream and all(p.is_dir() or p.suffix.lower() in PARQUET_SUFFIXES for p in paths):
        return ParquetSpectra(paths, shuffle_buffer=shuffle_buffer, seed=seed, epoch=epoch,
                              rank=rank, world_size=world_size, vocabulary=vocabulary)
    records: list[SpectrumRecord] = []
    for path in paths:
        records.extend(read_spectra(path, labels=labels, vocabulary=vocabulary, skips=skips))
    return RecordList(records)
