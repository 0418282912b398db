"""`renovo bench <what>`: the benchmarks of `renovo.bench`.

Each module in BENCHES provides ``add_arguments(parser)`` and
``run_bench(args) -> int``; it is imported only when its benchmark runs.
"""
from __future__ import annotations

import argparse
import importlib

from renovo.bench import BENCHES


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark (" + ", ".join(BENCHES) + ")",
        description="Run a benchmark; `renovo bench WHAT --help` lists its options.",
    )
    parser.add_argument("what", choices=list(BENCHES), help="which benchmark")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="options of that benchmark")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(BENCHES[args.what])
    parser = argparse.ArgumentParser(prog=f"renovo bench {args.what}")
    module.add_arguments(parser)
    return int(module.run_bench(parser.parse_args(args.bench_args)) or 0)
