"""`renovo bench train`: training-step throughput of ce_only, old_losses (Huber nearest-peak +
log1p-ppm precursor) and gaussian_losses (Gaussian rendering + scaled L1).

Each config is timed with the plain and the ion-evidence decoder
(``--architectures``); the features' cost is the median per-round ratio of
the two. One process, the same pre-built batches for every config, configs interleaved
round by round (so drifting machine load hits all of them alike), warmup
rounds excluded. A step is a plain training step (`renovo.bench.common`):
forward, the objective at the curriculum's final weights
(``curriculum.force_final``), backward, gradient clipping at the config's
``optim.gradient_clip``, AdamW step, zero_grad — without Lightning's
bookkeeping and without the gradient-flow monitor's extra passes. ``ce_only``
runs pure cross-entropy (``loss.compute_zero_weight: false``: its physics
losses are not even computed for logging).

Target: physics losses add ≤ 3% to the step time. Comparisons with Casanovo
are measured side by side, in one run on the same data and machine, by
``benchmarks/peers/casanovo/run.sh`` — never against a quoted number.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

CONFIGS = ("ce_only", "old_losses", "gaussian_losses")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", default=None, metavar="FILE", help="write the results as JSON")
    parser.add_argument("--preset", default="small", choices=["tiny", "small", "base"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--architectures", nargs="+", default=["plain", "ion_evidence"],
                        choices=["plain", "ion_evidence"],
                        help="decoder architectures to time for each config (the ion-evidence features' cost is "
                             "the step-time ratio of the two)")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (each config once per round)")
    parser.add_argument("--steps", type=int, default=10, help="steps per config per round")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument("--device", default="auto", help="cpu | cuda | auto")
    parser.add_argument("--precision", default="32", choices=["32", "bf16"], help="autocast dtype (bf16: GPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bucket", type=int, default=None,
                        help="simulated batches sorted by peak count in groups of this many (default: the config's "
                             "data.bucket_batches; 1 = no bucketing)")


def _build_setups(args: argparse.Namespace, device):
    """{config: (module, optimizer, weights)}, the shared pre-built batches on ``device``, and
    (mean padded width, mean real peaks, simulated spectra/s, bucket) of those batches."""
    import torch

    from renovo.data import SimulatedBatches
    from renovo.train import (RenovoModule, build_optimizer, collator_from_config, load_config,
                              simulator_from_config, to_device)

    setups = {}
    batches = None
    for name, architecture in ((c, a) for c in args.configs for a in args.architectures):
        overrides = [f"model.preset={args.preset}", f"data.batch_size={args.batch_size}", f"seed={args.seed}",
                     "curriculum.force_final=true", f"model.ion_evidence={architecture == 'ion_evidence'}"]
        if name == "ce_only":
            overrides.append("loss.compute_zero_weight=false")
        config = load_config(name, overrides)
        torch.manual_seed(args.seed)
        module = RenovoModule(config).to(device).train()
        if batches is None:
            collator = collator_from_config(config, module.tokenizer)
            bucket = config["data"]["bucket_batches"] if args.bucket is None else args.bucket
            stream = SimulatedBatches(simulator_from_config(config, module.tokenizer), collator, args.seed, args.batch_size,
                                      bucket=bucket)
            t0 = time.perf_counter()
            batches = [stream.batch(k) for k in range(args.steps)]
            padded_width = sum(b["mz"].shape[1] for b in batches) / len(batches)
            real_peaks = sum(float(b["peak_mask"].sum(1).float().mean()) for b in batches) / len(batches)
            data_spectra_per_s = args.steps * args.batch_size / (time.perf_counter() - t0)
            batches = [to_device(b, device) for b in batches]
        optimizer = build_optimizer(module.parameters(), config["optim"])  # as training builds it (fused)
        setups[_label(name, architecture, args)] = (module, optimizer, module.curriculum.weights(0))
    return setups, batches, (padded_width, real_peaks, data_spectra_per_s, bucket)


def _time_interleaved(setups: dict, batches: list, args: argparse.Namespace, device) -> dict[str, list[float]]:
    """Seconds per step of each config in each measured round (warmup rounds dropped)."""
    import torch

    from renovo.bench.common import plain_training_step

    autocast_dtype = torch.bfloat16 if args.precision == "bf16" else None

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    times: dict[str, list[float]] = {name: [] for name in setups}
    names = list(setups)
    for round_index in range(args.warmup + args.rounds):
        # Rotate the order each round: no config always runs first (or right after another).
        for name in names[round_index % len(names):] + names[: round_index % len(names)]:
            module, optimizer, weights = setups[name]
            sync()
            t0 = time.perf_counter()
            for batch in batches:
                plain_training_step(module, optimizer, weights, batch, autocast_dtype)
            sync()
            if round_index >= args.warmup:
                times[name].append((time.perf_counter() - t0) / len(batches))
    return times


def run_bench(args: argparse.Namespace) -> int:
    import torch

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    setups, batches, data = _build_setups(args, device)
    padded_width, real_peaks, data_spectra_per_s, bucket = data
    times = _time_interleaved(setups, batches, args, device)

    results = {}
    for name, per_round in times.items():
        config, _, architecture = name.partition(" / ")
        base = _label("ce_only", architecture, args) if "ce_only" in args.configs else None
        plain = _label(config, "plain", args) if architecture == "ion_evidence" else None
        median = statistics.median(per_round)
        entry = {
            "step_ms_median": median * 1e3,
            "step_ms_rounds": [t * 1e3 for t in per_round],
            "spectra_per_s": args.batch_size / median,
            "weights_spectrum_precursor": list(setups[name][2]),
            "spectrum_loss": _loss_label(setups[name][0].objective, setups[name][0].objective.spectrum_type),
            "precursor_loss": _loss_label(setups[name][0].objective, setups[name][0].objective.precursor_type),
        }
        if base and name != base:
            ratios = [t / b for t, b in zip(per_round, times[base])]  # same round: same machine load
            entry["overhead_vs_ce_only_pct"] = (statistics.median(ratios) - 1.0) * 100
        if plain in times:
            ratios = [t / b for t, b in zip(per_round, times[plain])]
            entry["ion_evidence_cost_pct"] = (statistics.median(ratios) - 1.0) * 100
        results[name] = entry
    report = {
        "benchmark": "train",
        "preset": args.preset,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "precision": args.precision,
        "simulated_data_spectra_per_s": data_spectra_per_s,
        "bucket_batches": bucket,
        "mean_padded_peaks": padded_width,
        "mean_real_peaks": real_peaks,
        "results": results,
    }
    print(format_table(report))
    if args.json:
        from renovo.files import write_json

        write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def _label(config: str, architecture: str, args) -> str:
    """A setup's name: the config, with its architecture when several are timed."""
    return f"{config} / {architecture}" if len(args.architectures) > 1 else config


def _loss_label(objective, kind: str) -> str:
    return kind if objective.compute_zero_weight else f"none ({kind} not computed)"


def format_table(report: dict) -> str:
    lines = [
        f"renovo bench train — preset {report['preset']}, batch {report['batch_size']}, {report['device']} "
        f"({report['torch_threads']} threads), precision {report['precision']}, "
        f"{report['rounds']} interleaved rounds × {report['steps_per_round']} steps (median); batches: "
        f"{report['mean_real_peaks']:.0f} real peaks in {report['mean_padded_peaks']:.0f} padded "
        f"(bucket_batches={report['bucket_batches']})",
        "",
        "| config | spectrum loss | precursor loss | weights (spec, prec) | step ms | spectra/s | overhead vs ce_only "
        "| ion-evidence cost |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        overhead = r.get("overhead_vs_ce_only_pct")
        cost = r.get("ion_evidence_cost_pct")
        w = r["weights_spectrum_precursor"]
        lines.append(
            f"| {name} | {r['spectrum_loss']} | {r['precursor_loss']} | {w[0]:g}, {w[1]:g} | "
            f"{r['step_ms_median']:.1f} | {r['spectra_per_s']:.1f} | "
            + (f"{overhead:+.1f}%" if overhead is not None else "—") + " | "
            + (f"{cost:+.1f}%" if cost is not None else "—") + " |"
        )
    lines.append("")
    costs = [r["ion_evidence_cost_pct"] for r in report["results"].values() if "ion_evidence_cost_pct" in r]
    if costs:
        lines.append(f"ion-evidence features: {max(costs):+.1f}% of a plain step at most (target ≤ 15%: "
                     f"{'met' if max(costs) <= 15 else 'NOT met'})")
    overheads = [r["overhead_vs_ce_only_pct"] for r in report["results"].values() if "overhead_vs_ce_only_pct" in r]
    if overheads:
        lines.append(f"physics-loss overhead: max {max(overheads):+.1f}% (target ≤ 3%: "
                     f"{'met' if max(overheads) <= 3 else 'NOT met'}; the proposal accepts 10–15%)")
    lines.append(f"simulated data generation alone: {report['simulated_data_spectra_per_s']:.0f} spectra/s "
                 "(one process; not part of the step time)")
    return "\n".join(lines)
