"""`renovo bench <what>`: benchmarks, dispatched to per-package modules.

Each module in BENCHES provides ``add_arguments(parser)`` and
``run_bench(args) -> int``; it is imported only when its benchmark runs.
"""
from __future__ import annotations

import argparse
import importlib

BENCHES = {
    "losses": "renovo.losses.bench",
    "train": "renovo.train.bench",
    "decode": "renovo.decode.bench",
    "data": "renovo.data.bench",
    "learning": "renovo.bench.learning",
    "evidence": "renovo.bench.evidence",
}


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
    from renovo.errors import RenovoError

    module_name = BENCHES[args.what]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise RenovoError(f"benchmark {args.what!r} is not available ({module_name} is missing)") from None
        raise
    parser = argparse.ArgumentParser(prog=f"renovo bench {args.what}")
    module.add_arguments(parser)
    return int(module.run_bench(parser.parse_args(args.bench_args)) or 0)
