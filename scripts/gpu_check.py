"""The Python parts of scripts/gpu_check.sh: peak CUDA memory per preset and batch size, and CUDA–CPU loss agreement.

    python scripts/gpu_check.py memory --json OUT.json [--presets small base] [--batch-sizes 32 96]
    python scripts/gpu_check.py agreement --json OUT.json [--device cuda] [--configs ...]

``memory``: for each preset and batch size, a few bf16-mixed training steps
(forward under autocast, the objective at the curriculum's final weights,
backward, clipping, AdamW) on simulated batches; the peak of
``torch.cuda.max_memory_allocated`` and ``max_memory_reserved`` over those steps.

``agreement``: one fixed simulated batch and one seeded model per shipped
config; every loss component (and the total, and the gradient norm) computed
on the CPU and on ``--device`` in float32 (TF32 off), then compared within
``--rtol``/``--atol``; bf16-mixed on the device is reported beside it with a
looser tolerance. ``--device cpu`` runs the same comparison CPU against CPU
(a check of this script's own logic on a machine without a GPU).

Exit status 0 when every comparison is within tolerance, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = ("ce_only", "old_losses", "gaussian_losses", "gaussian_log1p", "huber_l1", "gaussian_multiscale",
           "gaussian_variance_aware", "gaussian_straight_through")


def write_json(path: str | None, payload: dict) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(payload, out, indent=2)
        out.write("\n")
    os.replace(temporary, target)


def module_and_batch(config_name: str, preset: str, batch_size: int, seed: int, overrides=()):
    """A seeded RenovoModule (curriculum at its final weights) and one simulated batch (on the CPU)."""
    import torch

    from renovo.data import SimulatedBatches
    from renovo.train import RenovoModule, collator_from_config, load_config, simulator_from_config

    config = load_config(config_name, [f"model.preset={preset}", f"data.batch_size={batch_size}", f"seed={seed}",
                                       "curriculum.force_final=true", *overrides])
    torch.manual_seed(seed)
    module = RenovoModule(config)
    collator = collator_from_config(config, module.tokenizer)
    stream = SimulatedBatches(simulator_from_config(config, module.tokenizer), collator, seed, batch_size, bucket=1)
    return module, stream


def move(batch: dict, device) -> dict:
    import torch

    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def losses_on(module, batch, device, autocast_dtype=None) -> dict:
    """Loss components, total and gradient norm of one forward + backward on ``device``."""
    import torch

    module = module.to(device).train()
    module.zero_grad(set_to_none=True)
    batch = move(batch, device)
    ctx = (torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype
           else torch.autocast(device.type, enabled=False))
    with ctx:
        logits = module.model(batch)
    out = module.objective(logits, batch, module.curriculum.weights(0))
    out["total"].backward()
    grads = [p.grad.detach().double().norm() for p in module.parameters() if p.grad is not None]
    values = {k: float(v.detach()) for k, v in out.items()}
    values["grad_norm"] = float(torch.stack(grads).norm()) if grads else 0.0
    return values


def agreement(args) -> int:
    import torch

    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("gpu_check agreement: no CUDA device", file=sys.stderr)
            return 2
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    results, failures = {}, []
    for name in args.configs:
        module, stream = module_and_batch(name, args.preset, args.batch_size, args.seed)
        batch = stream.batch(0)
        state = {k: v.clone() for k, v in module.state_dict().items()}
        # Dropout is 0 in the shipped presets; eval-free train mode keeps the training path.
        reference = losses_on(module, batch, torch.device("cpu"))
        module.load_state_dict(state)
        same = losses_on(module, batch, device)
        module.load_state_dict(state)
        mixed = losses_on(module, batch, device, torch.bfloat16) if device.type == "cuda" else None
        rows = {}
        for key, ref in reference.items():
            got = same[key]
            ok = math.isfinite(got) and abs(got - ref) <= args.atol + args.rtol * abs(ref)
            row = {"cpu_float32": ref, f"{device.type}_float32": got, "abs_diff": abs(got - ref), "within": ok}
            if mixed is not None:
                row[f"{device.type}_bf16_mixed"] = mixed[key]
                row["bf16_within_loose"] = abs(mixed[key] - ref) <= 0.05 + 0.05 * abs(ref)
            rows[key] = row
            if not ok:
                failures.append(f"{name}.{key}: cpu {ref:.6g} vs {device.type} {got:.6g}")
        results[name] = rows
        print(f"{name:<28} " + "  ".join(f"{k} {'ok' if r['within'] else 'DIFFERS'}" for k, r in rows.items()),
              flush=True)
    payload = {"check": "agreement", "device": str(device), "preset": args.preset, "batch_size": args.batch_size,
               "seed": args.seed, "rtol": args.rtol, "atol": args.atol, "results": results, "failures": failures,
               "torch": torch.__version__,
               "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    write_json(args.json, payload)
    print(f"agreement: {'PASS' if not failures else 'FAIL'} ({len(failures)} component(s) outside "
          f"rtol {args.rtol:g} / atol {args.atol:g})")
    for line in failures:
        print("  " + line)
    return 0 if not failures else 1


def memory(args) -> int:
    import torch

    if not torch.cuda.is_available():
        print("gpu_check memory: no CUDA device", file=sys.stderr)
        return 2
    from renovo.bench.common import plain_training_step

    device = torch.device("cuda")
    rows = []
    for preset in args.presets:
        for batch_size in args.batch_sizes:
            module, stream = module_and_batch(args.config, preset, batch_size, args.seed)
            module = module.to(device).train()
            optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
            batches = [move(stream.batch(k), device) for k in range(args.steps)]
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
            start = time.perf_counter()
            for batch in batches:
                plain_training_step(module, optimizer, module.curriculum.weights(0), batch, torch.bfloat16)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            row = {"preset": preset, "batch_size": batch_size, "config": args.config, "steps": args.steps,
                   "params_m": sum(p.numel() for p in module.parameters()) / 1e6,
                   "allocated_before_mib": before / 2**20,
                   "peak_allocated_mib": torch.cuda.max_memory_allocated(device) / 2**20,
                   "peak_reserved_mib": torch.cuda.max_memory_reserved(device) / 2**20,
                   "step_ms_mean": seconds / args.steps * 1e3,
                   "mean_padded_peaks": sum(b["mz"].shape[1] for b in batches) / len(batches)}
            rows.append(row)
            print(f"{preset:<6} batch {batch_size:>3}: peak allocated {row['peak_allocated_mib']:8.1f} MiB, "
                  f"reserved {row['peak_reserved_mib']:8.1f} MiB, {row['step_ms_mean']:.1f} ms/step", flush=True)
            del module, optimizer, batches
            torch.cuda.empty_cache()
    write_json(args.json, {"check": "memory", "precision": "bf16-mixed", "device_name": torch.cuda.get_device_name(0),
                           "torch": torch.__version__, "rows": rows})
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="check", required=True)
    m = sub.add_parser("memory", help="peak CUDA memory of bf16-mixed training steps")
    m.add_argument("--json")
    m.add_argument("--presets", nargs="+", default=["small", "base"])
    m.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 96])
    m.add_argument("--config", default="gaussian_losses")
    m.add_argument("--steps", type=int, default=5)
    m.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("agreement", help="the same losses on the CPU and on a device")
    a.add_argument("--json")
    a.add_argument("--device", default="cuda")
    a.add_argument("--configs", nargs="+", default=list(CONFIGS))
    a.add_argument("--preset", default="small")
    a.add_argument("--batch-size", type=int, default=16)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--rtol", type=float, default=1e-4)
    a.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    return memory(args) if args.check == "memory" else agreement(args)


if __name__ == "__main__":
    sys.exit(main())
