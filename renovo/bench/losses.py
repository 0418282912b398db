"""`renovo bench losses`: forward + backward time and peak memory of each spectrum loss.

Each case (loss × batch size × device) runs in its own Python process
(``python -m renovo.bench.losses --case JSON``) so that its peak memory is its
own: on CPU the growth of peak RSS (``ru_maxrss``) over the RSS before the
first forward; on CUDA ``torch.cuda.max_memory_allocated`` over the memory
allocated before it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from renovo.files import write_json

LOSSES = ("grid", "analytic", "multiscale", "variance_aware", "huber")
DEFAULTS = {
    "n_pred": 100,  # the proposal's shape: 100 predicted, 150 observed peaks
    "n_obs": 150,
    "sigma": 0.05,
    "bin_size": 0.1,
    "max_mz": 2000.0,
    "multiscale_sigmas": [0.05, 0.5, 2.0],
    "variance_sd_mz": 0.5,
    "dtype": "float32",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case (default 5; fewer if slow)")
    parser.add_argument(
        "--max-seconds", type=float, default=20.0, help="stop repeating a case once this much time is spent (default 20)"
    )
    parser.add_argument(
        "--batch-sizes", default="8,32,96", help="comma-separated batch sizes (default 8,32,96; 96 is the proposal's)"
    )
    parser.add_argument("--losses", default=",".join(LOSSES), help=f"comma-separated subset of {','.join(LOSSES)}")
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda", "both"],
        help="auto: CPU, and CUDA too when a GPU is present (default)",
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch CPU threads per case (default 0: torch's default). On a shared, oversubscribed "
        "machine 1 gives stable timings; the thread count is recorded in the JSON",
    )


def _parse_list(text: str, kind=str) -> list:
    return [kind(x) for x in text.split(",") if x.strip()]


def run_bench(args: argparse.Namespace) -> int:
    import platform

    import torch
    from tqdm import tqdm

    from renovo.errors import RenovoError

    losses = _parse_list(args.losses)
    unknown = sorted(set(losses) - set(LOSSES))
    if unknown:
        raise RenovoError(f"unknown loss(es) {unknown}; choose from {list(LOSSES)}")
    batch_sizes = _parse_list(args.batch_sizes, int)
    cuda = torch.cuda.is_available()
    if args.device == "auto":
        devices = ["cpu", "cuda"] if cuda else ["cpu"]
    elif args.device == "both":
        devices = ["cpu", "cuda"]
    else:
        devices = [args.device]
    if "cuda" in devices and not cuda:
        raise RenovoError("--device cuda: no CUDA device is available")

    config = {
        **DEFAULTS,
        "dtype": args.dtype,
        "losses": losses,
        "batch_sizes": batch_sizes,
        "devices": devices,
        "repeats": args.repeats,
        "max_seconds": args.max_seconds,
        "seed": args.seed,
        "threads": args.threads,
    }
    cases = [
        {**config, "loss": loss, "batch": batch, "device": device}
        for device in devices
        for batch in batch_sizes
        for loss in losses
    ]
    load_at_start = os.getloadavg()
    results = []
    for case in tqdm(cases, desc="bench losses", unit="case", file=sys.stderr):
        results.append(_run_subprocess(case))

    print(table_markdown(results))
    ratios = analytic_vs_grid(results)
    if ratios:
        print()
        print(ratios_markdown(ratios))
    if args.json:
        report = {
            "config": config,
            "environment": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "torch_threads": torch.get_num_threads(),
                "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
                # the machine may be shared: wall times inflate with its load
                "load_average_1_5_15min_at_start": load_at_start,
                "load_average_1_5_15min_at_end": os.getloadavg(),
            },
            "results": results,
            "analytic_vs_grid": ratios,
        }
        write_json(args.json, report)  # atomic, as every renovo output
        print(f"\nwrote {args.json}")
    return 0 if all("error" not in r for r in results) else 1


def _run_subprocess(case: dict) -> dict:
    command = [sys.executable, "-m", "renovo.bench.losses", "--case", json.dumps(case)]
    proc = subprocess.run(command, capture_output=True, text=True)
    summary = {k: case[k] for k in ("loss", "batch", "device")}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return {**summary, "error": f"exit {proc.returncode}: {tail[0]}"}
    return {**summary, **json.loads(lines[-1])}


def _make_loss(case: dict):
    from renovo.losses import GaussianSpectralLoss, HuberPeakDistanceLoss

    loss = case["loss"]
    if loss == "grid":
        return GaussianSpectralLoss(case["sigma"], case["bin_size"], case["max_mz"], render="grid")
    if loss == "analytic":
        return GaussianSpectralLoss(case["sigma"])
    if loss == "multiscale":
        return GaussianSpectralLoss(case["multiscale_sigmas"])
    if loss == "variance_aware":
        return GaussianSpectralLoss(case["sigma"], variance_aware=True)
    if loss == "huber":
        return HuberPeakDistanceLoss()
    raise ValueError(f"unknown loss {loss!r}")


def run_case(case: dict) -> dict:
    """Time forward + backward of one loss in this process; returns the measurements."""
    import gc
    import resource
    import statistics

    import psutil
    import torch

    torch.manual_seed(case["seed"])
    if case.get("threads"):
        torch.set_num_threads(case["threads"])
    device = torch.device(case["device"])
    dtype = getattr(torch, case["dtype"])
    batch, n_pred, n_obs = case["batch"], case["n_pred"], case["n_obs"]
    loss_fn = _make_loss(case)

    def inputs():
        pred_mz = (100 + 1800 * torch.rand(batch, n_pred, dtype=dtype, device=device)).requires_grad_(True)
        pred_mask = torch.rand(batch, n_pred, device=device) < 0.9
        obs_mz = 50 + 1900 * torch.rand(batch, n_obs, dtype=dtype, device=device)
        obs_intensity = torch.rand(batch, n_obs, dtype=dtype, device=device)
        obs_mask = torch.rand(batch, n_obs, device=device) < 0.9
        variance = torch.full((batch, n_pred), case["variance_sd_mz"] ** 2, dtype=dtype, device=device)
        return pred_mz, pred_mask, obs_mz, obs_intensity, obs_mask, variance.requires_grad_(True)

    pred_mz, pred_mask, obs_mz, obs_intensity, obs_mask, variance = inputs()
    kwargs = {"pred_variance": variance} if case["loss"] == "variance_aware" else {}

    def step() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = loss_fn(pred_mz, pred_mask, obs_mz, obs_intensity, obs_mask, **kwargs)
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        pred_mz.grad = None
        variance.grad = None
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()}")
        return elapsed

    gc.collect()
    process = psutil.Process()
    rss_before = process.memory_info().rss
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        cuda_before = torch.cuda.memory_allocated(device)

    times, warmup = [], None
    first = step()
    if first < 1.0:
        warmup = first  # cheap case: the first run pays one-off costs; don't time it
    else:
        times.append(first)
    spent = first
    while len(times) < case["repeats"] and (not times or spent + times[-1] <= case["max_seconds"]):
        times.append(step())
        spent += times[-1]

    result = {
        "threads": torch.get_num_threads(),
        "time_s_median": statistics.median(times),
        "time_s_min": min(times),
        "runs": len(times),
        "warmup_s": warmup,
    }
    if device.type == "cuda":
        result["peak_mem_bytes"] = torch.cuda.max_memory_allocated(device) - cuda_before
        result["peak_mem_kind"] = "cuda max_memory_allocated delta"
    else:
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result["peak_mem_bytes"] = max(maxrss_after - rss_before, 0)
        # If the process's earlier high-water mark (imports) was never passed, the
        # delta is only an upper bound on what this loss needed.
        result["peak_mem_kind"] = "rss high-water delta" if maxrss_after > maxrss_before else "upper bound"
    return result


def table_markdown(results: list[dict]) -> str:
    lines = [
        "| device | threads | batch | loss | fwd+bwd time (ms, median) | runs | peak memory (MiB) |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['device']} | | {r['batch']} | {r['loss']} | error: {r['error']} | | |")
            continue
        mem = r["peak_mem_bytes"] / 2**20
        mark = " (≤)" if r["peak_mem_kind"] == "upper bound" else ""
        lines.append(
            f"| {r['device']} | {r.get('threads', '')} | {r['batch']} | {r['loss']} | {1000 * r['time_s_median']:.2f} | {r['runs']} "
            f"| {mem:.1f}{mark} |"
        )
    return "\n".join(lines)


def analytic_vs_grid(results: list[dict]) -> list[dict]:
    """Grid / analytic time and memory ratios at each device's largest batch measured with both."""
    ok = {(r["device"], r["batch"], r["loss"]): r for r in results if "error" not in r}
    out = []
    for device in sorted({d for d, _, _ in ok}):
        batches = sorted(b for d, b, loss in ok if d == device and loss == "grid" and (d, b, "analytic") in ok)
        if not batches:
            continue
        batch = 96 if 96 in batches else batches[-1]
        grid, analytic = ok[(device, batch, "grid")], ok[(device, batch, "analytic")]
        out.append(
            {
                "device": device,
                "batch": batch,
                "speedup": grid["time_s_median"] / analytic["time_s_median"],
                "memory_ratio": grid["peak_mem_bytes"] / max(analytic["peak_mem_bytes"], 1),
                "analytic_memory_kind": analytic["peak_mem_kind"],
                "targets": {"speedup": 300.0, "memory_ratio": 10.0},
            }
        )
    return out


def ratios_markdown(ratios: list[dict]) -> str:
    lines = ["Analytic vs grid (targets: ≥300× faster, ≥10× less peak memory):", ""]
    for r in ratios:
        bound = " (at least: analytic memory is an upper bound)" if r["analytic_memory_kind"] == "upper bound" else ""
        lines.append(
            f"- {r['device']}, batch {r['batch']}: {r['speedup']:.0f}× faster "
            f"({'meets' if r['speedup'] >= 300 else 'misses'} target), "
            f"{r['memory_ratio']:.0f}× less peak memory{bound} "
            f"({'meets' if r['memory_ratio'] >= 10 else 'misses'} target)"
        )
    return "\n".join(lines)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one benchmark case (used by `renovo bench losses`)")
    parser.add_argument("--case", required=True, help="JSON case description")
    args = parser.parse_args(argv)
    print(json.dumps(run_case(json.loads(args.case))))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
