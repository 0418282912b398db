"""`renovo bench data`: throughput of simulation, reading, Parquet streaming and collation.

Writes a JSON of spectra per second (and the settings) so data loading can be
compared with a training step's time.
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--count", type=int, default=2000, help="simulated spectra to time (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--files", nargs="*", default=None,
                        help="spectrum files to time reading (default: ../shared/data/real/*.mgf when present)")
    parser.add_argument("-o", "--output", default="bench_data.json", help="JSON output (default bench_data.json)")


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run_bench(args: argparse.Namespace) -> int:
    from renovo.chem import Tokenizer
    from renovo.data import ParquetSpectra, SpectrumCollator, read_spectra, simulate_records, write_parquet

    results: dict = {"settings": vars(args), "machine": platform.platform(), "spectra_per_s": {}}
    rates = results["spectra_per_s"]

    start = time.perf_counter()
    records = list(simulate_records(args.count, args.seed))
    rates["simulate"] = _rate(len(records), time.perf_counter() - start)

    collator = SpectrumCollator(Tokenizer())
    start = time.perf_counter()
    for i in range(0, len(records), args.batch_size):
        collator(records[i:i + args.batch_size])
    rates["collate"] = _rate(len(records), time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.parquet"
        start = time.perf_counter()
        write_parquet(records, path, row_group_size=512)
        rates["write_parquet"] = _rate(len(records), time.perf_counter() - start)
        start = time.perf_counter()
        count = sum(1 for _ in ParquetSpectra(path, shuffle_buffer=1000))
        rates["stream_parquet"] = _rate(count, time.perf_counter() - start)
        start = time.perf_counter()
        count = sum(1 for _ in read_spectra(path))
        rates["read_parquet_validated"] = _rate(count, time.perf_counter() - start)

    files = args.files
    if files is None:
        real = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
        files = sorted(str(p) for p in real.glob("*.mgf")) if real.is_dir() else []
    for name in files:
        start = time.perf_counter()
        count = sum(1 for _ in read_spectra(name))
        rates[f"read {Path(name).name}"] = _rate(count, time.perf_counter() - start)

    Path(args.output).write_text(json.dumps(results, indent=2))
    width = max(len(k) for k in rates)
    for key, value in rates.items():
        print(f"{key.ljust(width)}  {value:10.0f} spectra/s")
    print(f"wrote {args.output}")
    return 0
