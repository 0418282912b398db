"""The training run's data module: the run config mapped onto `renovo.data`'s datasets.

With ``data.train`` paths, training reads them through
`renovo.data.load_labelled_dataset` (Parquet streamed, anything else read
whole); with none, batches stream from the simulator (`SimulatedBatches`)
starting at the trainer's global step, which makes resuming exact. With no
``data.val`` paths, validation is a fixed simulated set of ``data.val_size``
spectra drawn with seed ``seed + data.val_seed_offset`` (disjoint draws from
training's), unless ``data.val_fraction`` holds out that fraction of the
training files' peptides (every spectrum of a held-out peptide goes to
validation, so no peptide is in both). Records held in memory can stand in for
the files (``train_records`` / ``val_records``, for callers in Python). With
``data.mix_simulated``, every training batch of file spectra also holds
simulated ones (`renovo.data.SimulatedShare`).
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader

from renovo.chem import Tokenizer
from renovo.data import (BucketedBatchSampler, LabelledStream, RecordList, SimulatedBatches, SimulatedShare, Simulator,
                         SpectrumCollator, SpectrumRecord, load_labelled_dataset,
                         peaks_after_preprocessing, simulate_records, simulated_per_batch, usable_records)
from renovo.errors import RenovoError
from renovo.train.config import simulator_config, validation_seed


def collator_from_config(config: Mapping, tokenizer: Tokenizer) -> SpectrumCollator:
    """The run's collator (``SpectrumCollator.from_config``); a bad ``data.preprocess`` is a one-line error."""
    try:
        return SpectrumCollator.from_config(tokenizer, config)
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config {error}") from None


def simulator_from_config(config: Mapping, tokenizer: Tokenizer) -> Simulator:
    return Simulator(simulator_config(config), vocabulary=tokenizer.vocabulary)


def peptide_key(peptide: str) -> str:
    """What makes two labels one peptide for a held-out split: the amino-acid sequence without its
    modifications, I read as L (the same mass), so ``PEPM[Oxidation]IK`` and ``PEPMLK`` are one."""
    return re.sub(r"\[[^\]]*\]-?", "", peptide).replace("I", "L")


def split_by_peptide(records, fraction: float, seed: int) -> tuple[list, list]:
    """(training, validation) records: a peptide (`peptide_key`: its sequence, any modified form, any
    charge) goes to validation when a hash of (seed, peptide) falls below ``fraction``, so all its spectra
    stay on one side. Both sides are non-empty when there are at least two peptides."""
    import zlib

    def draw(peptide: str) -> float:
        return zlib.crc32(f"{seed}:{peptide}".encode()) / 2**32

    keys = [peptide_key(r.peptide) for r in records]
    peptides = sorted(set(keys))
    held = {p for p in peptides if draw(p) < fraction}
    if len(peptides) >= 2 and not held:
        held = {min(peptides, key=draw)}
    if len(peptides) >= 2 and held == set(peptides):
        held.discard(max(peptides, key=draw))
    return ([r for r, k in zip(records, keys) if k not in held], [r for r, k in zip(records, keys) if k in held])


class RenovoDataModule(L.LightningDataModule):
    """The run's data. ``train_records`` / ``val_records``: labelled spectra held in memory, used instead
    of ``data.train`` / ``data.val`` (checked like spectra read from files)."""

    def __init__(self, config: Mapping, tokenizer: Tokenizer, train_records: Sequence[SpectrumRecord] | None = None,
                 val_records: Sequence[SpectrumRecord] | None = None):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.collator = collator_from_config(config, tokenizer)
        self.train_set = None  # None: simulated batches
        self.val_set: RecordList | None = None
        self.train_records = train_records
        self.val_records = val_records

    def _has_training_files(self) -> bool:
        return self.config["data"]["train"] or self.train_records is not None

    def setup(self, stage: str | None = None) -> None:
        d = self.config["data"]
        max_length = d["max_length"]
        trainer = self.trainer
        fraction = d.get("val_fraction") if not (d["val"] or self.val_records is not None) else None
        if d["mix_simulated"] and not self._has_training_files():
            raise RenovoError("data.mix_simulated mixes simulated spectra into batches of data.train files; "
                              "without training files every batch is simulated already")
        if self.train_records is not None and self.train_set is None:
            self.train_set = usable_records(self.train_records, self.tokenizer, max_length, "training data")
        elif d["train"] and self.train_set is None:
            self.train_set = load_labelled_dataset(
                d["train"], self.tokenizer, max_length, "training data",
                seed=self.config["seed"], shuffle_buffer=d["shuffle_buffer"],
                rank=trainer.global_rank if trainer is not None else None,
                world_size=trainer.world_size if trainer is not None else None,
                stream=not fraction,  # a held-out split needs the training spectra in memory
            )
        if fraction and isinstance(self.train_set, RecordList) and self.val_set is None:
            train, val = split_by_peptide(self.train_set.records, fraction, self.config["seed"])
            if not train or not val:
                raise RenovoError("data.val_fraction needs training files with at least two peptides")
            self.train_set, self.val_set = RecordList(train), RecordList(val)
        if self.val_set is None:
            if self.val_records is not None:
                self.val_set = usable_records(self.val_records, self.tokenizer, max_length, "validation data")
            elif d["val"]:
                # Read whole on every rank; Lightning's sampler splits it across ranks.
                self.val_set = load_labelled_dataset(d["val"], self.tokenizer, max_length, "validation data",
                                                     stream=False)
            else:
                self.val_set = RecordList(simulate_records(d["val_size"], validation_seed(self.config),
                                                           simulator_config(self.config),
                                                           vocabulary=self.tokenizer.vocabulary))

    def _loader_kwargs(self) -> dict:
        workers = self.config["data"]["num_workers"]
        return {"num_workers": workers, "persistent_workers": workers > 0}

    def file_batch(self) -> tuple[int, int]:
        """(file spectra, simulated spectra) of a training batch read from files (``data.mix_simulated``)."""
        d = self.config["data"]
        batch_size = d["batch_size"]
        simulated = simulated_per_batch(d["mix_simulated"], batch_size)
        return batch_size - simulated, simulated

    def training_spectra(self) -> int | None:
        """Usable labelled spectra of the training files (on this rank's view; None: simulated training)."""
        if isinstance(self.train_set, RecordList):
            return len(self.train_set)
        if isinstance(self.train_set, LabelledStream):
            return self.train_set.labelled_rows
        return None

    def _train_collate(self, simulated: int):
        if not simulated:
            return self.collator
        trainer = self.trainer
        return SimulatedShare(self.collator, simulator_from_config(self.config, self.tokenizer),
                              self.config["seed"], simulated,
                              rank=trainer.global_rank if trainer is not None else 0,
                              world_size=trainer.world_size if trainer is not None else 1)

    def train_dataloader(self) -> DataLoader:
        d = self.config["data"]
        batch_size, simulated = self.file_batch()
        collate = self._train_collate(simulated)
        if isinstance(self.train_set, RecordList):
            trainer = self.trainer
            bucket = d["bucket_batches"]
            if bucket > 1 and (trainer is None or trainer.world_size == 1):
                # Batches of similar peak counts: spectra from files range from tens to hundreds of peaks, and
                # a batch pads to its widest. (Under DDP, Lightning's distributed sampler shuffles instead.)
                counts = [peaks_after_preprocessing(r, self.collator) for r in self.train_set.records]
                sampler = BucketedBatchSampler(counts, batch_size, bucket, seed=self.config["seed"])
                return DataLoader(self.train_set, batch_sampler=sampler, collate_fn=collate, **self._loader_kwargs())
            return DataLoader(self.train_set, batch_size=batch_size, shuffle=True, collate_fn=collate,
                              drop_last=False, **self._loader_kwargs())
        if self.train_set is not None:
            # Parquet shards stream row group by row group (never loaded whole), split across
            # workers and DDP ranks by renovo.data; resuming restarts the epoch's stream.
            return DataLoader(self.train_set, batch_size=batch_size, collate_fn=collate, **self._loader_kwargs())
        batch_size = d["batch_size"]
        trainer = self.trainer
        dataset = SimulatedBatches(
            simulator_from_config(self.config, self.tokenizer), self.collator, self.config["seed"], batch_size,
            start_batch=trainer.global_step if trainer is not None else 0,
            rank=trainer.global_rank if trainer is not None else 0,
            world_size=trainer.world_size if trainer is not None else 1,
            bucket=d["bucket_batches"],
        )
        return DataLoader(dataset, batch_size=None, **self._loader_kwargs())

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.config["data"]["val_batch_size"],
                          shuffle=False, collate_fn=self.collator, **self._loader_kwargs())


def to_device(batch: Mapping, device: torch.device) -> dict:
    """A batch with its tensors moved to ``device`` (other values kept)."""
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in batch.items()}
