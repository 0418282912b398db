"""`renovo bench data` at small scale, as correctness tests: shards are
simulated once and reused, one epoch through the training DataLoader (workers,
shuffle buffer) reads every spectrum exactly once in bounded memory, and DDP
ranks × workers see disjoint data covering the epoch."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from renovo.bench.streaming import MemorySampler, make_shards, rss_at_fraction, stream_epoch
from renovo.data.datasets import ParquetSpectra

N = 5000
SHARD = 1000


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench_shards")
    info = make_shards(out, N, SHARD, seed=3, workers=2, progress=False)
    assert info["shards"] == 5 and info["spectra_simulated"] == N and info["spectra_reused"] == 0
    return out


def shard_paths(folder: Path) -> list[Path]:
    return sorted(folder.glob("shard_*.parquet"))


def indices_of(records) -> list[int]:
    """collate_fn that keeps only the spectrum indices (picklable, module level)."""
    return [r.index for r in records]


def epoch_indices(folder: Path, *, workers: int, rank=None, world_size=None, even_shards=False,
                  shuffle_buffer=500) -> list[int]:
    dataset = ParquetSpectra(shard_paths(folder), shuffle_buffer=shuffle_buffer, seed=7,
                             rank=rank, world_size=world_size, even_shards=even_shards)
    loader = torch.utils.data.DataLoader(dataset, batch_size=32, num_workers=workers, collate_fn=indices_of)
    return [i for batch in loader for i in batch]


def test_shards_are_reused_and_deterministic(shards, tmp_path):
    again = make_shards(shards, N, SHARD, seed=3, workers=2, progress=False)
    assert again["spectra_simulated"] == 0 and again["spectra_reused"] == N
    # A single-process run of the first shard writes the same spectra (spectrum i depends only on (seed, i)).
    import pyarrow.parquet as pq

    single = make_shards(tmp_path / "one", SHARD, SHARD, seed=3, workers=1, progress=False)
    assert single["spectra_simulated"] == SHARD
    a = pq.read_table(shards / "shard_00000.parquet").to_pydict()
    b = pq.read_table(tmp_path / "one" / "shard_00000.parquet").to_pydict()
    assert a["peptide"] == b["peptide"] and a["mz"] == b["mz"]
    # Different settings: stale shards are replaced, never mixed in.
    # A larger run reuses the shards it shares with a smaller one.
    larger = make_shards(tmp_path / "one", 2 * SHARD, SHARD, seed=3, workers=1, progress=False)
    assert larger["spectra_reused"] == SHARD and larger["spectra_simulated"] == SHARD and len(larger["paths"]) == 2
    changed = make_shards(tmp_path / "one", SHARD, SHARD, seed=4, workers=1, progress=False)
    assert changed["spectra_simulated"] == SHARD
    c = pq.read_table(tmp_path / "one" / "shard_00000.parquet").to_pydict()
    assert c["peptide"] != b["peptide"]


def test_epoch_reads_every_spectrum_exactly_once(shards):
    seen = epoch_indices(shards, workers=2)
    assert sorted(seen) == list(range(N))
    assert seen != sorted(seen)  # the shuffle buffer and unit shuffling did shuffle


def test_stream_epoch_counts_and_memory(shards):
    epoch = stream_epoch(shard_paths(shards), batch_size=32, workers=2, shuffle_buffer=1000,
                         seed=0, sample_s=0.1, keep_batches=2, progress=False)
    assert epoch["spectra"] == epoch["labelled"] == N and epoch["batches"] == -(-N // 32)
    assert len(epoch["_batches"]) == 2 and epoch["_batches"][0]["tokens"].shape[0] == 32
    assert epoch["peak_rss_bytes"] < 2 * 2**30
    assert epoch["samples"] and all(s["rss"] > 0 for s in epoch["samples"])
    assert set(epoch["rss_bytes_at"]) == {"10%", "50%", "90%"}


def test_rss_at_fraction():
    samples = [{"spectra": s, "rss": r} for s, r in [(0, 10), (40, 20), (60, 30), (100, 40)]]
    assert rss_at_fraction(samples, 100, 0.1) == 20
    assert rss_at_fraction(samples, 100, 0.5) == 30
    assert rss_at_fraction(samples, 100, 0.9) == 40
    sampler = MemorySampler(0.05)
    sampler.sample()
    assert sampler.samples[0]["rss"] > 0 and sampler.samples[0]["processes"] >= 1


@pytest.mark.parametrize("even_shards", [False, True])
def test_two_ranks_two_workers_disjoint_and_complete(shards, even_shards):
    per_rank = [epoch_indices(shards, workers=2, rank=r, world_size=2, even_shards=even_shards) for r in (0, 1)]
    union = set(per_rank[0]) | set(per_rank[1])
    assert union == set(range(N))
    if not even_shards:
        assert not set(per_rank[0]) & set(per_rank[1])
        assert len(per_rank[0]) + len(per_rank[1]) == N  # each spectrum once
    else:
        # DistributedSampler-style padding: equal steps per rank, repeats only of the rank's own spectra.
        assert len(per_rank[0]) == len(per_rank[1])
        assert not set(per_rank[0]) & set(per_rank[1])


def _gloo_worker(rank: int, world_size: int, folder: str, port: int, result_dir: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        # No explicit rank: ParquetSpectra takes it from torch.distributed.
        seen = epoch_indices(Path(folder), workers=2, even_shards=True)
        gathered = [None] * world_size
        dist.all_gather_object(gathered, seen)
        if rank == 0:
            Path(result_dir, "gathered.json").write_text(json.dumps(gathered))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_gloo_ddp_ranks_see_disjoint_data(shards, tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_gloo_worker, args=(2, str(shards), port, str(tmp_path)), nprocs=2, join=True)
    first, second = json.loads((tmp_path / "gathered.json").read_text())
    assert not set(first) & set(second)
    assert set(first) | set(second) == set(range(N))
    assert len(first) == len(second)


def test_bench_data_command(tmp_path, capsys):
    from renovo.cli import main

    out = tmp_path / "shards"
    report_path = tmp_path / "bench.json"
    args = ["bench", "data", "--n-spectra", "300", "--shard-size", "100", "--workers", "1", "--out", str(out),
            "--json", str(report_path), "--train-steps", "0", "--throughput-count", "50", "--files", "--sample-s", "0.1"]
    assert main(args) == 0
    report = json.loads(report_path.read_text())
    assert report["simulate"]["shards"] == 3 and report["simulate"]["spectra_simulated"] == 300
    assert report["epoch"]["spectra"] == 300
    assert report["targets"]["peak RSS < 2 GB"] and report["targets"]["every spectrum read once"]
    assert "training" not in report and report["targets"]["loader faster than training"] is None
    assert set(report["spectra_per_s"]) == {"simulate", "collate", "write_parquet", "stream_parquet", "read_parquet_validated"}
    assert "peak RSS" in capsys.readouterr().out
    assert main(args) == 0  # second run reuses the shards
    assert json.loads(report_path.read_text())["simulate"]["spectra_reused"] == 300


def test_time_training_on_loader_batches(shards):
    pytest.importorskip("renovo.train.module", reason="renovo.train not built yet")
    from renovo.bench.data import time_training

    epoch = stream_epoch([shards / "shard_00000.parquet"], batch_size=4, workers=0, shuffle_buffer=0, seed=0,
                         sample_s=1.0, keep_batches=2, progress=False)
    result = time_training(epoch["_batches"], "tiny", steps=1, seed=0)
    assert result["spectra_per_s"] > 0 and result["batch_size"] == 4 and result["parameters"] > 0
