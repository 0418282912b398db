"""`renovo bench data`: a million spectra in bounded memory, and per-stage throughput.

Scale: simulate ``--n-spectra`` spectra into Parquet shards (one
process per shard, ``--workers`` at a time; shards already in ``--out`` with
the same count, seed and shard size are reused), then stream one epoch
through the training DataLoader — :class:`ParquetSpectra` with DataLoader
workers and the shuffle buffer on, collated by :class:`SpectrumCollator` —
while a thread samples the resident memory of the main process and its
workers every ``--sample-s`` seconds. Reported: peak RSS, RSS at 10/50/90 %
of the epoch (flat = no growth with spectra read), loader spectra/s, and a
few training steps of the ``--preset`` model at the same batch size on the
loader's own batches, so "the loader feeds the model faster than it trains"
is measured, not assumed. Targets: peak RSS < 2 GB, flat, loader faster.

RSS is summed over the main process and the workers (pages shared after
fork are counted once per process, so the sum over-states); PSS, which
splits shared pages, is recorded beside it where the OS provides it.

Throughput (``spectra_per_s``): simulate, collate, write and stream Parquet
and validated reading on ``min(n, --throughput-count)`` spectra, plus the
files given with ``--files``. Batches are collated as training collates them
(the default run config's preprocessing).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from renovo.bench.common import default_collator
from renovo.bench.streaming import make_shards, stream_epoch
from renovo.files import write_json

#: Target: a million spectra stream in under 2 GB of memory, flat.
PEAK_RSS_TARGET_BYTES = 2 * 2**30
#: "Flat": RSS at 90 % of the epoch exceeds RSS at 10 % by less than this.
FLAT_GROWTH_BYTES = 100 * 2**20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--n-spectra", "--count", dest="n_spectra", type=int, default=1_000_000,
                        help="spectra to simulate and stream (default 1,000,000)")
    parser.add_argument("--shard-size", type=int, default=100_000, help="spectra per Parquet shard (default 100,000)")
    parser.add_argument("--workers", type=int, default=2,
                        help="simulation processes and DataLoader workers (default 2)")
    parser.add_argument("--out", default=None,
                        help="folder for the shards, reused by later runs (default: a temporary folder, deleted)")
    parser.add_argument("--json", "-o", "--output", dest="json", default=None, metavar="FILE",
                        help="write the results as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shuffle-buffer", type=int, default=10_000)
    parser.add_argument("--sample-s", type=float, default=0.5, help="RSS sampling interval, seconds (default 0.5)")
    parser.add_argument("--preset", default="small", help="model preset timed for comparison (default small)")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="timed training steps (0: skip; default 5, or 0 below 1,000 spectra — a smoke run)")
    parser.add_argument("--throughput-count", type=int, default=2000,
                        help="spectra for the per-stage throughput section (default 2000; 0: skip)")
    parser.add_argument("--files", nargs="*", default=(),
                        help="spectrum files to time reading (default: none)")


def time_training(batches: list, preset: str, steps: int, seed: int) -> dict:
    """Seconds per training step of ``preset`` on the loader's own batches (forward, objective, backward, AdamW)."""
    import torch

    from renovo.bench.common import plain_training_step
    from renovo.train import RenovoModule, build_optimizer, load_config

    config = load_config(None, [f"model.preset={preset}", f"seed={seed}", "curriculum.force_final=true"])
    torch.manual_seed(seed)
    module = RenovoModule(config).train()
    optimizer = build_optimizer(module.parameters(), config["optim"])
    weights = module.curriculum.weights(0)

    def step(batch):
        plain_training_step(module, optimizer, weights, batch)

    step(batches[0])  # warm-up (allocations, lazy init)
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        step(batches[(i + 1) % len(batches)])
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    size = len(batches[0]["peptides"])
    return {
        "preset": preset,
        "parameters": sum(p.numel() for p in module.parameters()),
        "batch_size": size,
        "steps": steps,
        "step_s_median": median,
        "spectra_per_s": size / median,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "config": "default (model.preset overridden), curriculum at final weights",
    }


# ----------------------------------------------------------------------------- per-stage throughput

def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def throughput(count: int, seed: int, batch_size: int, files) -> dict:
    from renovo.data import ParquetSpectra, read_spectra, simulate_records, write_parquet

    rates: dict = {}
    start = time.perf_counter()
    records = list(simulate_records(count, seed))
    rates["simulate"] = _rate(len(records), time.perf_counter() - start)
    collator = default_collator()
    start = time.perf_counter()
    for i in range(0, len(records), batch_size):
        collator(records[i:i + batch_size])
    rates["collate"] = _rate(len(records), time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.parquet"
        start = time.perf_counter()
        write_parquet(records, path, row_group_size=512)
        rates["write_parquet"] = _rate(len(records), time.perf_counter() - start)
        start = time.perf_counter()
        n = sum(1 for _ in ParquetSpectra(path, shuffle_buffer=1000))
        rates["stream_parquet"] = _rate(n, time.perf_counter() - start)
        start = time.perf_counter()
        n = sum(1 for _ in read_spectra(path))
        rates["read_parquet_validated"] = _rate(n, time.perf_counter() - start)
    for name in files or ():
        start = time.perf_counter()
        n = sum(1 for _ in read_spectra(name))
        rates[f"read {Path(name).name}"] = _rate(n, time.perf_counter() - start)
    return rates


# ----------------------------------------------------------------------------- command

def _mb(value) -> str:
    return "—" if value is None else f"{value / 2**20:,.0f} MB"


def format_report(report: dict) -> str:
    lines = [f"renovo bench data — {report['settings']['n_spectra']:,} spectra, {report['machine']}"]
    sim = report.get("simulate")
    if sim:
        rate = f"{sim['spectra_per_s']:,.0f} spectra/s" if sim["spectra_per_s"] else "—"
        lines.append(f"simulate: {sim['shards']} shards; {sim['spectra_simulated']:,} simulated in {sim['seconds']:.1f} s "
                     f"({rate}, {sim['processes']} processes), {sim['spectra_reused']:,} reused")
    epoch = report.get("epoch")
    if epoch:
        lines += [
            f"epoch: {epoch['spectra']:,} spectra ({epoch['rows_in_shards']:,} rows in shards) in {epoch['batches']:,} "
            f"batches of {report['settings']['batch_size']} in {epoch['seconds']:.1f} s = {epoch['spectra_per_s']:,.0f} "
            f"spectra/s ({epoch['workers']} workers, shuffle buffer {epoch['shuffle_buffer']:,}; first batch after "
            f"{epoch['first_batch_s']:.1f} s)",
            f"memory (main + workers): peak RSS {_mb(epoch['peak_rss_bytes'])} (PSS {_mb(epoch['peak_pss_bytes'])}); "
            "RSS at 10/50/90 % of the epoch: "
            + " / ".join(_mb(epoch["rss_bytes_at"][k]) for k in ("10%", "50%", "90%"))
            + f"; growth 10→90 %: {_mb(epoch['rss_growth_10_to_90_bytes'])}",
        ]
    training = report.get("training")
    if training and "spectra_per_s" in training:
        lines.append(f"training ({training['preset']}, {training['parameters']:,} parameters, batch "
                     f"{training['batch_size']}, {training['torch_threads']} threads): {training['step_s_median']:.2f} "
                     f"s/step = {training['spectra_per_s']:,.1f} spectra/s")
    elif training:
        lines.append(f"training: {training.get('skipped')}")
    targets = report.get("targets")
    if targets:
        lines.append("targets: " + "; ".join(f"{k}: {'met' if v else 'NOT met' if v is not None else '—'}"
                                             for k, v in targets.items()))
    rates = report.get("spectra_per_s")
    if rates:
        lines.append("per-stage throughput (one process):")
        width = max(len(k) for k in rates)
        lines += [f"  {k.ljust(width)}  {v:10,.0f} spectra/s" for k, v in rates.items()]
    return "\n".join(lines)


def run_bench(args: argparse.Namespace) -> int:
    from renovo.errors import RenovoError

    if args.n_spectra < 1 or args.shard_size < 1 or args.batch_size < 1 or args.workers < 0:
        raise RenovoError("--n-spectra, --shard-size and --batch-size must be ≥ 1 and --workers ≥ 0")
    report: dict = {"benchmark": "data", "settings": vars(args).copy(), "machine": platform.platform(),
                    "cpus": os.cpu_count()}
    if args.train_steps is None:
        args.train_steps = 5 if args.n_spectra >= 1000 else 0
    temporary = None
    if args.out is None:
        temporary = tempfile.TemporaryDirectory(prefix="renovo_bench_data_")
        out = Path(temporary.name)
    else:
        out = Path(args.out)
    try:
        report["simulate"] = make_shards(out, args.n_spectra, args.shard_size, args.seed, args.workers)
        paths = report["simulate"].pop("paths")
        epoch = stream_epoch(paths, batch_size=args.batch_size, workers=args.workers,
                             shuffle_buffer=args.shuffle_buffer, seed=args.seed, sample_s=args.sample_s,
                             keep_batches=max(2, min(args.train_steps + 1, 8)))
    finally:
        if temporary is not None:
            temporary.cleanup()
    batches = epoch.pop("_batches")
    report["epoch"] = epoch
    if args.train_steps > 0:
        report["training"] = time_training(batches, args.preset, args.train_steps, args.seed)
    training_rate = (report.get("training") or {}).get("spectra_per_s")
    growth = epoch["rss_growth_10_to_90_bytes"]
    report["targets"] = {
        "peak RSS < 2 GB": epoch["peak_rss_bytes"] < PEAK_RSS_TARGET_BYTES,
        "RSS flat (growth 10→90 % < 100 MB)": None if growth is None else growth < FLAT_GROWTH_BYTES,
        "loader faster than training": None if training_rate is None else epoch["spectra_per_s"] > training_rate,
        "every spectrum read once": epoch["spectra"] == args.n_spectra,
    }
    if args.throughput_count > 0:
        report["spectra_per_s"] = throughput(min(args.n_spectra, args.throughput_count), args.seed,
                                             args.batch_size, args.files)
    print(format_report(report))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, report, default=str)  # atomic, as every renovo output
        print(f"wrote {args.json}")
    return 0
