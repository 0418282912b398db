"""`renovo bench decode`: decoding speed (spectra/s) for greedy, beam 5 and beam 5 with the mass constraint.

Weights are randomly initialised (speed does not depend on training, but the
decoded lengths do: an untrained model rarely chooses the stop token, so
unconstrained decoding runs to ``--max-length`` — a worst case; the mean
decoded length is reported beside each rate). Spectra are simulated.
Comparisons with Casanovo are measured side by side, in one run on the same
data and machine, by ``benchmarks/peers/casanovo/run.sh``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from renovo.decode.config import DEFAULTS
from renovo.files import write_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--preset", default="small", help="model preset (default small)")
    parser.add_argument("--batch-size", type=int, default=32, help="spectra per batch (default 32)")
    parser.add_argument("--batches", type=int, default=4, help="timed batches per mode (default 4)")
    parser.add_argument("--max-length", type=int, default=30, help="most residues decoded (default 30, training's data.max_length)")
    parser.add_argument("--tolerance-ppm", type=float, default=DEFAULTS.precursor_tolerance_ppm,
                        help=f"mass-constraint tolerance, ppm (default {DEFAULTS.precursor_tolerance_ppm:g})")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and simulated spectra (default 0)")
    parser.add_argument("--uncached", action="store_true",
                        help="also time beam 5 without the incremental-decoding cache (one batch; slow)")


def _time_mode(model, timed: list, config, use_cache: bool, args: argparse.Namespace) -> dict:
    """Speed of one decoding mode (a `DecodeConfig`) over the batches ``timed``."""
    import torch

    from renovo.decode import Decoder

    decoder = Decoder(model, config)

    seconds, cpu_seconds, lengths, matched = [], [], [], 0
    for batch in timed:
        if args.device != "cpu":
            torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        predictions = decoder.search(batch, use_cache=use_cache)
        if args.device != "cpu":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        lengths.extend(len(p[0].residue_scores) for p in predictions if p)
        matched += sum(bool(p and p[0].precursor_match) for p in predictions)
    n = sum(len(b["peptides"]) for b in timed)
    per_batch = [len(b["peptides"]) / s for b, s in zip(timed, seconds)]
    return {
        "spectra_per_s": round(n / sum(seconds), 2),
        "spectra_per_s_median_batch": round(statistics.median(per_batch), 2),
        "spectra": n,
        "seconds": round(sum(seconds), 3),
        # CPU seconds of this process: less sensitive to other processes on a shared machine.
        "spectra_per_cpu_s": round(n / sum(cpu_seconds), 2) if sum(cpu_seconds) > 0 else None,
        "mean_decoded_length": round(statistics.mean(lengths), 2) if lengths else 0.0,
        **({"precursor_in_tolerance": matched} if config.mass_constraint else {}),
    }


def run_bench(args: argparse.Namespace) -> int:
    import torch

    from renovo.data import simulate_records
    from renovo.decode import DecodeConfig, Decoder
    from renovo.model import build_model, model_config
    from renovo.train import collator_from_config, load_config, tokenizer_from_config

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    config = load_config(None)  # spectra are preprocessed as a default training run's
    tokenizer = tokenizer_from_config(config)
    model = build_model(model_config(args.preset), tokenizer).to(args.device).eval()
    collate = collator_from_config(config, tokenizer)
    records = list(simulate_records(args.batch_size * args.batches, seed=args.seed))
    batches = [collate(records[i : i + args.batch_size]) for i in range(0, len(records), args.batch_size)]

    def mode(beam: int, tolerance: float | None = None, max_length: int = args.max_length) -> DecodeConfig:
        return DecodeConfig(beam=beam, max_length=max_length, batch_size=args.batch_size,
                            precursor_tolerance_ppm=tolerance)

    modes = {"greedy": mode(1), "beam5": mode(5), "beam5_mass": mode(5, args.tolerance_ppm)}
    if args.uncached:
        modes["beam5_uncached"] = mode(5)
    # Warm-up: allocations, feasibility table.
    Decoder(model, mode(2, max_length=4)).search(batches[0])
    Decoder(model, mode(2, args.tolerance_ppm, max_length=4)).search(batches[0])
    results = {}
    for name, config in modes.items():
        timed = batches[:1] if name == "beam5_uncached" else batches
        results[name] = _time_mode(model, timed, config, name != "beam5_uncached", args)
        print(f"{name:<16} {results[name]['spectra_per_s']:8.1f} spectra/s  "
              f"(median batch {results[name]['spectra_per_s_median_batch']:.1f}; "
              f"{results[name]['spectra_per_cpu_s']} per CPU-second; mean length {results[name]['mean_decoded_length']})")
    report = {
        "benchmark": "decode",
        "preset": args.preset,
        "weights": f"random init (seed {args.seed}); unconstrained decoding runs to max_length",
        "spectra": "simulated (renovo.data.simulate, seed %d)" % args.seed,
        "batch_size": args.batch_size,
        "batches": args.batches,
        "max_length": args.max_length,
        "tolerance_ppm": args.tolerance_ppm,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "torch": torch.__version__,
        "results": results,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, report)  # atomic, as every renovo output
        print(f"wrote {args.json}")
    return 0
