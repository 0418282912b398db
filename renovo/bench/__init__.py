"""Benchmarks (`renovo bench WHAT`): speed and memory of the losses, training steps, decoding
and the data pipeline, learning side by side, and what the ion-evidence features see, measured through the packages' public APIs
and reported as JSON.

Each module provides ``add_arguments(parser)`` and ``run_bench(args) -> int``.
"""
BENCHES = {
    "losses": "renovo.bench.losses",
    "train": "renovo.bench.train",
    "decode": "renovo.bench.decode",
    "data": "renovo.bench.data",
    "learning": "renovo.bench.learning",
    "evidence": "renovo.bench.evidence",
    "rerank": "renovo.bench.rerank",
    "own-data": "renovo.bench.own_data",
}

__all__ = ["BENCHES"]
