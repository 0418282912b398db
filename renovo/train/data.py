"""The training run's data module: the run config mapped onto `renovo.data`'s datasets.

With ``data.train`` paths, training reads them through
`renovo.data.load_labelled_dataset` (Parquet streamed, anything else read
whole); with none, batches stream from the simulator (`SimulatedBatches`)
starting at the trainer's global step, which makes resuming exact. With no
``data.val`` paths, validation is a fixed simulated set of ``data.val_size``
spectra drawn with seed ``seed + data.val_seed_offset`` (disjoint draws from
training's), unless ``data.val_fraction`` holds out that fraction of the
training files' peptides (every spectrum of a held-out peptide goes to
validation, so no peptide is in both).
"""
from __future__ import annotations

from typing import Mapping

import lightning as L
import torch
from torch.utils.data import DataLoader

from renovo.chem import Tokenizer
from renovo.data import (BucketedBatchSampler, RecordList, SimulatedBatches, Simulator, SimulatorConfig,
                         SpectrumCollator, load_labelled_dataset, peaks_after_preprocessing, simulate_records)
from renovo.errors import RenovoError


def collator_from_config(config: Mapping, tokenizer: Tokenizer) -> SpectrumCollator:
    """The run's collator (``SpectrumCollator.from_config``); a bad ``data.preprocess`` is a one-line error."""
    try:
        return SpectrumCollator.from_config(tokenizer, config)
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config {error}") from None


def simulator_config(config: Mapping) -> SimulatorConfig:
    """``data.simulator`` as a `SimulatorConfig`; a bad key is a one-line error."""
    try:
        return SimulatorConfig.from_dict(dict(config["data"]["simulator"]))
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config data.simulator: {error}") from None


def simulator_from_config(config: Mapping, tokenizer: Tokenizer) -> Simulator:
    return Simulator(simulator_config(config), vocabulary=tokenizer.vocabulary)


def split_by_peptide(records, fraction: float, seed: int) -> tuple[list, list]:
    """(training, validation) records: a peptide goes to validation when a hash of (seed, peptide)
    falls below ``fraction``, so all its spectra stay on one side. Both sides are non-empty when
    there are at least two peptides."""
    import zlib

    def draw(peptide: str) -> float:
        return zlib.crc32(f"{seed}:{peptide}".encode()) / 2**32

    peptides = sorted({r.peptide for r in records})
    held = {p for p in peptides if draw(p) < fraction}
    if len(peptides) >= 2 and not held:
        held = {min(peptides, key=draw)}
    if len(peptides) >= 2 and held == set(peptides):
        held.discard(max(peptides, key=draw))
    return [r for r in records if r.peptide not in held], [r for r in records if r.peptide in held]


class RenovoDataModule(L.LightningDataModule):
    def __init__(self, config: Mapping, tokenizer: Tokenizer):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.collator = collator_from_config(config, tokenizer)
        self.train_set = None  # None: simulated batches
        self.val_set: RecordList | None = None

    def setup(self, stage: str | None = None) -> None:
        d = self.config["data"]
        max_length = int(d["max_length"])
        trainer = self.trainer
        fraction = d.get("val_fraction") if not d["val"] else None
        if d["train"] and self.train_set is None:
            self.train_set = load_labelled_dataset(
                d["train"], self.tokenizer, max_length, "training data",
                seed=int(self.config["seed"]), shuffle_buffer=int(d["shuffle_buffer"]),
                rank=trainer.global_rank if trainer is not None else None,
                world_size=trainer.world_size if trainer is not None else None,
                stream=not fraction,  # a held-out split needs the training spectra in memory
            )
            if fraction:
                train, val = split_by_peptide(self.train_set.records, float(fraction), int(self.config["seed"]))
                if not train or not val:
                    raise RenovoError("data.val_fraction needs training files with at least two peptides")
                self.train_set, self.val_set = RecordList(train), RecordList(val)
        if self.val_set is None:
            if d["val"]:
                # Read whole on every rank; Lightning's sampler splits it across ranks.
                self.val_set = load_labelled_dataset(d["val"], self.tokenizer, max_length, "validation data",
                                                     stream=False)
            else:
                seed = int(self.config["seed"]) + int(d["val_seed_offset"])
                self.val_set = RecordList(simulate_records(int(d["val_size"]), seed, simulator_config(self.config),
                                                           vocabulary=self.tokenizer.vocabulary))

    def _loader_kwargs(self) -> dict:
        workers = int(self.config["data"]["num_workers"])
        return {"num_workers": workers, "persistent_workers": workers > 0}

    def train_dataloader(self) -> DataLoader:
        d = self.config["data"]
        batch_size = int(d["batch_size"])
        if isinstance(self.train_set, RecordList):
            trainer = self.trainer
            bucket = int(d["bucket_batches"])
            if bucket > 1 and (trainer is None or trainer.world_size == 1):
                # Batches of similar peak counts: spectra from files range from tens to hundreds of peaks, and
                # a batch pads to its widest. (Under DDP, Lightning's distributed sampler shuffles instead.)
                counts = [peaks_after_preprocessing(r, self.collator) for r in self.train_set.records]
                sampler = BucketedBatchSampler(counts, batch_size, bucket, seed=int(self.config["seed"]))
                return DataLoader(self.train_set, batch_sampler=sampler, collate_fn=self.collator,
                                  **self._loader_kwargs())
            return DataLoader(self.train_set, batch_size=batch_size, shuffle=True, collate_fn=self.collator,
                              drop_last=False, **self._loader_kwargs())
        if self.train_set is not None:
            # Parquet shards stream row group by row group (never loaded whole), split across
            # workers and DDP ranks by renovo.data; resuming restarts the epoch's stream.
            return DataLoader(self.train_set, batch_size=batch_size, collate_fn=self.collator, **self._loader_kwargs())
        trainer = self.trainer
        dataset = SimulatedBatches(
            simulator_from_config(self.config, self.tokenizer), self.collator, int(self.config["seed"]), batch_size,
            start_batch=trainer.global_step if trainer is not None else 0,
            rank=trainer.global_rank if trainer is not None else 0,
            world_size=trainer.world_size if trainer is not None else 1,
            bucket=int(d["bucket_batches"]),
        )
        return DataLoader(dataset, batch_size=None, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=int(self.config["data"]["val_batch_size"]),
                          shuffle=False, collate_fn=self.collator, **self._loader_kwargs())


def to_device(batch: Mapping, device: torch.device) -> dict:
    """A batch with its tensors moved to ``device`` (other values kept)."""
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
