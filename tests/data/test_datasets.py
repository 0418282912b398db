"""Datasets: sharding across workers × ranks, streaming Parquet, shuffle buffer."""
from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from renovo.chem import Tokenizer
from renovo.data import (
    ParquetSpectra,
    RecordList,
    SimulatedSpectra,
    SpectrumCollator,
    load_dataset,
    simulate_records,
    write_parquet,
)


def test_simulated_ranks_are_disjoint_and_complete():
    seen = []
    for rank in range(3):
        dataset = SimulatedSpectra(seed=5, length=20, rank=rank, world_size=3)
        seen.append([r.index for r in dataset])
        assert len(dataset) == 7
    flat = sorted(sum(seen, []))
    assert flat == list(range(20))
    # spectrum i is the same whichever rank draws it
    reference = {r.index: r.peptide for r in simulate_records(20, seed=5)}
    assert {i: r.peptide for i, r in zip(seen[1], SimulatedSpectra(5, 20, rank=1, world_size=3))} == {i: reference[i] for i in seen[1]}


def test_simulated_workers_and_ranks_together():
    titles = []
    for rank in range(2):
        loader = DataLoader(SimulatedSpectra(seed=1, length=24, start_index=100, rank=rank, world_size=2),
                            batch_size=4, num_workers=2, collate_fn=SpectrumCollator(Tokenizer()))
        for batch in loader:
            assert batch["mz"].dtype == torch.float64
            titles.extend(batch["peptides"])
    expected = [r.peptide for r in simulate_records(24, seed=1, start_index=100)]
    assert sorted(titles) == sorted(expected)


def test_endless_stream_and_epochs():
    dataset = SimulatedSpectra(seed=0)
    stream = iter(dataset)
    assert [next(stream).index for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(TypeError):
        len(dataset)
    fresh = SimulatedSpectra(seed=0, length=4, fresh_each_epoch=True)
    fresh.set_epoch(2)
    assert [r.index for r in fresh] == [8, 9, 10, 11]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    write_parquet(simulate_records(70, seed=0), folder / "a.parquet", row_group_size=10)
    write_parquet(simulate_records(33, seed=0, start_index=70), folder / "b.parquet", row_group_size=10)
    return folder


@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 11, 12])
def test_parquet_ranks_disjoint_and_cover_the_epoch(shards, world_size):
    per_rank = []
    for rank in range(world_size):
        dataset = ParquetSpectra(shards, shuffle_buffer=8, seed=3, rank=rank, world_size=world_size, even_shards=False)
        per_rank.append([r.index for r in dataset])
    flat = sum(per_rank, [])
    assert sorted(flat) == list(range(103))
    padded = [[r.index for r in ParquetSpectra(shards, seed=3, rank=k, world_size=world_size)] for k in range(world_size)]
    assert len({len(p) for p in padded}) == 1  # equal steps for DDP
    assert set(sum(padded, [])) == set(range(103))
    for original, even in zip(per_rank, padded):
        assert set(even) == set(original)  # padding only repeats a rank's own rows


def test_parquet_workers_times_ranks(shards):
    seen = []
    for rank in range(2):
        loader = DataLoader(ParquetSpectra(shards, shuffle_buffer=16, rank=rank, world_size=2, even_shards=False),
                            batch_size=5, num_workers=2, collate_fn=list)
        seen.extend(r.index for batch in loader for r in batch)
    assert sorted(seen) == list(range(103))


def test_parquet_shuffle_depends_on_seed_and_epoch(shards):
    def order(seed, epoch, buffer=50):
        return [r.index for r in ParquetSpectra(shards, shuffle_buffer=buffer, seed=seed, epoch=epoch)]

    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1) and order(0, 0) != order(1, 0)
    assert sorted(order(0, 1)) == list(range(103))
    assert order(0, 0, buffer=0) == list(range(103))  # no shuffling: file order


def test_parquet_reads_one_row_group_at_a_time(shards, monkeypatch):
    import pyarrow.parquet as pq

    sizes = []
    original = pq.ParquetFile.read_row_group

    def spy(self, index, *args, **kwargs):
        table = original(self, index, *args, **kwargs)
        sizes.append(table.num_rows)
        return table

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    assert len(list(ParquetSpectra(shards, shuffle_buffer=0))) == 103
    assert max(sizes) == 10 and sum(sizes) == 103


def test_record_list_and_load_dataset(shards, real_dir):
    assert isinstance(load_dataset(None, seed=1, length=3), SimulatedSpectra)
    assert isinstance(load_dataset(shards), ParquetSpectra)
    assert isinstance(load_dataset([shards / "a.parquet"]), ParquetSpectra)
    dataset = load_dataset(real_dir / "casanovo_mouse_128.mgf")
    assert isinstance(dataset, RecordList) and len(dataset) == 128 and dataset[0].peptide == "IAHYNKR"
    loader = DataLoader(dataset, batch_size=32, collate_fn=SpectrumCollator(Tokenizer()))
    assert sum(len(b["peptides"]) for b in loader) == 128
