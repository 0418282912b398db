"""Training and validation data: files (MGF / mzML / Parquet) or the simulator.

With no ``data.train`` paths, training batches stream from the simulator:
batch ``k`` of rank ``r`` holds spectra ``(k·world + r)·B … +B-1`` of the
stream for the run's seed, so it depends on (seed, k, r) only. The stream
starts at the trainer's global step, which makes resuming exact. With no
``data.val`` paths, validation is a fixed simulated set of ``data.val_size``
spectra drawn with seed ``seed + data.val_seed_offset`` (disjoint draws from
training's).
"""
from __future__ import annotations

import sys
from typing import Iterator, Mapping, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from renovo.chem import Tokenizer
from renovo.errors import RenovoError


def _preprocess_config(config: Mapping):
    from renovo.data import PreprocessConfig

    values = dict(config["data"]["preprocess"])
    values.setdefault("max_peaks", int(config["data"]["max_peaks"]))
    try:
        return PreprocessConfig(**values)
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config data.preprocess: {error}") from None


def _simulator(config: Mapping, tokenizer: Tokenizer):
    from renovo.data.simulate import Simulator, SimulatorConfig

    try:
        sim_config = SimulatorConfig.from_dict(dict(config["data"]["simulator"]))
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config data.simulator: {error}") from None
    return Simulator(sim_config, vocabulary=tokenizer.vocabulary)


class RecordList(Dataset):
    """Map-style dataset over in-memory SpectrumRecords."""

    def __init__(self, records: Sequence):
        self.records = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int):
        return self.records[index]


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
        from renovo.data import preprocess

        config = getattr(self.collator, "preprocess", None)
        if config is None:
            return min(record.n_peaks, int(getattr(self.collator, "max_peaks", record.n_peaks)))
        mz, _ = preprocess(record.mz, record.intensity, record.precursor_mz, record.precursor_charge, config)
        return min(int(mz.shape[0]), int(getattr(self.collator, "max_peaks", mz.shape[0])))

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


class LabelledStream(IterableDataset):
    """Labelled records (peptide ≤ max_length residues) of a streamed dataset; a new shuffle each pass."""

    def __init__(self, dataset, tokenizer: Tokenizer, max_length: int):
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.passes = 0

    def __iter__(self):
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.passes)
        self.passes += 1
        yielded = 0
        for record in self.dataset:
            if record.peptide is None:
                continue
            try:
                if len(self.tokenizer.encode(record.peptide)) - 1 > self.max_length:
                    continue
            except (KeyError, ValueError):
                continue
            yielded += 1
            yield record
        if not yielded:
            # An empty pass would make the trainer start the next epoch forever (max_epochs=-1).
            paths = getattr(self.dataset, "paths", [])
            raise RenovoError(f"training data: no usable labelled spectra (with a peptide of ≤ {self.max_length} "
                              f"residues) in {', '.join(map(str, paths)) or 'the stream'}")


PARQUET_SUFFIXES = (".parquet", ".pq")


def check_labelled_parquet(paths: Sequence[str], what: str) -> int:
    """Labelled rows of renovo Parquet files (only the peptide column is read); `RenovoError` if none.

    Streamed training data is read lazily; without this check an unlabelled or
    empty file made every epoch empty and training spin forever.
    """
    from renovo.data.datasets import expand_parquet_paths
    from renovo.data.parquet import open_parquet

    files = expand_parquet_paths(paths)
    rows = labelled = 0
    for path in files:
        handle = open_parquet(path)
        rows += handle.metadata.num_rows
        if "peptide" in handle.schema_arrow.names and handle.metadata.num_rows:
            column = handle.read(columns=["peptide"]).column("peptide")
            labelled += len(column) - column.null_count
    if not labelled:
        raise RenovoError(f"{what}: no usable labelled spectra in {', '.join(map(str, paths))} "
                          f"({rows} rows, none with a peptide label)")
    return labelled


def read_labelled(paths: Sequence[str], tokenizer: Tokenizer, max_length: int, what: str) -> list:
    """Labelled records of the files whose peptide fits ``max_length`` residues; skips printed."""
    from renovo.data import SkipCounter, read_spectra

    skips = SkipCounter()
    records = []
    for path in paths:
        for record in read_spectra(path, vocabulary=tokenizer.vocabulary, skips=skips):
            if record.peptide is None:
                skips.skip("unlabelled (training needs labels)", record.where())
                continue
            if len(tokenizer.encode(record.peptide)) - 1 > max_length:
                skips.skip(f"peptide longer than data.max_length={max_length}", record.where())
                continue
            records.append(record)
    if skips.total:
        print(f"{what}: skipped {skips.report()}", file=sys.stderr)
    if not records:
        raise RenovoError(f"{what}: no usable labelled spectra in {', '.join(map(str, paths))}")
    return records


class RenovoDataModule(L.LightningDataModule):
    def __init__(self, config: Mapping, tokenizer: Tokenizer):
        super().__init__()
        from renovo.data import SpectrumCollator

        self.config = config
        self.tokenizer = tokenizer
        d = config["data"]
        self.collator = SpectrumCollator(tokenizer, _preprocess_config(config), int(d["max_peaks"]))
        self.train_records: list | None = None
        self.stream_parquet = False
        self._checked_stream = False
        self.val_records: list | None = None

    def setup(self, stage: str | None = None) -> None:
        d = self.config["data"]
        max_length = int(d["max_length"])
        self.stream_parquet = bool(d["train"]) and all(str(p).lower().endswith(PARQUET_SUFFIXES) for p in d["train"])
        if d["train"] and self.train_records is None and not self.stream_parquet:
            self.train_records = read_labelled(d["train"], self.tokenizer, max_length, "training data")
        if self.stream_parquet and not self._checked_stream:
            check_labelled_parquet(d["train"], "training data")
            self._checked_stream = True
        if self.val_records is None:
            if d["val"]:
                self.val_records = read_labelled(d["val"], self.tokenizer, max_length, "validation data")
            else:
                simulator = _simulator(self.config, self.tokenizer)
                seed = int(self.config["seed"]) + int(d["val_seed_offset"])
                self.val_records = [simulator.spectrum(seed, i) for i in range(int(d["val_size"]))]

    def _loader_kwargs(self) -> dict:
        workers = int(self.config["data"]["num_workers"])
        return {"num_workers": workers, "persistent_workers": workers > 0}

    def train_dataloader(self) -> DataLoader:
        d = self.config["data"]
        if self.stream_parquet:
            # Parquet shards stream row group by row group (never loaded whole), split across
            # workers and DDP ranks by renovo.data; resuming restarts the epoch's stream.
            from renovo.data.datasets import ParquetSpectra

            trainer = self.trainer
            stream = ParquetSpectra(
                d["train"], shuffle_buffer=int(d["shuffle_buffer"]), seed=int(self.config["seed"]),
                rank=trainer.global_rank if trainer is not None else None,
                world_size=trainer.world_size if trainer is not None else None,
                vocabulary=self.tokenizer.vocabulary,
            )
            return DataLoader(LabelledStream(stream, self.tokenizer, int(d["max_length"])),
                              batch_size=int(d["batch_size"]), collate_fn=self.collator, **self._loader_kwargs())
        if self.train_records is not None:
            return DataLoader(RecordList(self.train_records), batch_size=int(d["batch_size"]), shuffle=True,
                              collate_fn=self.collator, drop_last=False, **self._loader_kwargs())
        trainer = self.trainer
        dataset = SimulatedBatches(
            _simulator(self.config, self.tokenizer), self.collator, int(self.config["seed"]), int(d["batch_size"]),
            start_batch=trainer.global_step if trainer is not None else 0,
            rank=trainer.global_rank if trainer is not None else 0,
            world_size=trainer.world_size if trainer is not None else 1,
            bucket=int(d["bucket_batches"]),
        )
        return DataLoader(dataset, batch_size=None, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        return DataLoader(RecordList(self.val_records), batch_size=int(self.config["data"]["val_batch_size"]),
                          shuffle=False, collate_fn=self.collator, **self._loader_kwargs())


def to_device(batch: Mapping, device: torch.device) -> dict:
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
