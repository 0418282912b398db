"""Where a training step's time goes: torch.profiler over plain training steps, per phase and per operator.

    python benchmarks/profile_train_step.py [--preset small] [--steps 10] [--json OUT.json]

Cases (same simulated batches, same seed); step times are medians over
``--rounds`` rounds with the cases interleaved (no profiler attached), the
breakdown comes from one profiled pass per case:

* ``ce_only``: cross-entropy only, physics losses not computed;
* ``ce_only+logged_physics``: the shipped ``ce_only`` config — weights 0, but the
  Gaussian and precursor losses computed every step for logging
  (``loss.compute_zero_weight: true``), as at the start of every curriculum;
* ``gaussian_losses``: the curriculum's final weights (all losses in the graph);
* ``gradient_flow``: one pass of the gradient-flow monitor (its own forward
  and one ``autograd.grad`` per component), which runs every
  ``monitors.gradient_flow_every_n_steps`` steps.

Each step is split into labelled phases (``record_function``): forward
(model), objective, backward, clip, optimizer. The operator table lists the
top operators by self CPU time within each phase. Also reported: the time to
collate a batch from file records (the main-process data loading of file
training) and the padded against real peak counts of file batches (no
bucketing) and of the simulated stream (bucketing).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PHASES = ("forward", "objective", "backward", "clip", "optimizer")


def build(case: str, preset: str, batch_size: int, seed: int):
    import torch

    from renovo.train import RenovoModule, load_config

    name, overrides = {
        "ce_only": ("ce_only", ["loss.compute_zero_weight=false"]),
        "ce_only+logged_physics": ("ce_only", ["loss.compute_zero_weight=true"]),
        "gaussian_losses": ("gaussian_losses", ["curriculum.force_final=true"]),
        "gradient_flow": ("gaussian_losses", ["curriculum.force_final=true"]),
    }[case]
    config = load_config(name, [f"model.preset={preset}", f"data.batch_size={batch_size}", f"seed={seed}", *overrides])
    torch.manual_seed(seed)
    module = RenovoModule(config).train()
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4, weight_decay=1e-5)
    return config, module, optimizer


def plain_step(module, optimizer, batch) -> None:
    import torch
    from torch.profiler import record_function

    weights = module.curriculum.weights(0)
    with record_function("forward"):
        logits = module.model(batch)
    with record_function("objective"):
        out = module.objective(logits, batch, weights)
    with record_function("backward"):
        out["total"].backward()
    with record_function("clip"):
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
    with record_function("optimizer"):
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def gradient_flow_pass(module, optimizer, batch) -> None:
    """What GradientFlowMonitor adds on its steps: a forward of its own and one autograd.grad per component."""
    import torch
    from torch.profiler import record_function

    weights = module.curriculum.weights(0)
    with record_function("forward"):
        logits = module.model(batch)
    with record_function("objective"):
        components = module.objective(logits, batch, weights, graph_for_all=True)
    params = [p for p in module.model.parameters() if p.requires_grad]
    names = [n for n in ("ce", "spectrum", "precursor") if n in components]
    with record_function("backward"):
        for i, name in enumerate(names):
            torch.autograd.grad(components[name], params, retain_graph=i < len(names) - 1, allow_unused=True)


def profile_case(module, optimizer, batches, fn, steps: int):
    from torch.profiler import ProfilerActivity, profile

    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for batch in batches[:steps]:
            fn(module, optimizer, batch)
    wall = (time.perf_counter() - start) / steps
    return prof, wall


def summarise(prof, steps: int, top: int) -> dict:
    """Per-phase wall time per step (from the phase labels) and top operators by self CPU time per phase."""
    events = prof.events()
    phases = {p: 0.0 for p in PHASES}
    spans = []
    for e in events:
        if e.name in PHASES:
            phases[e.name] += e.time_range.elapsed_us() / 1e3 / steps
            spans.append((e.time_range.start, e.time_range.end, e.name, e.thread))
    ops: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in events:
        if e.name in PHASES or e.name.startswith("ProfilerStep"):
            continue
        start = e.time_range.start
        phase = next((name for s, t, name, thread in spans if s <= start <= t and thread == e.thread), None)
        if phase is None:
            # autograd backward ops run on their own thread: attribute them to backward
            phase = "backward" if "Backward" in e.name or e.thread != spans[0][3] else "other"
        ops[phase][e.name] += e.self_cpu_time_total / 1e3 / steps
    return {
        "phase_ms_per_step": phases,
        "top_ops_ms_per_step": {p: sorted(v.items(), key=lambda kv: -kv[1])[:top] for p, v in ops.items()},
    }


def data_costs(preset: str, batch_size: int, seed: int, n: int) -> dict:
    """Main-process collate time per batch from in-memory file records, and padding with and without bucketing."""
    import torch  # noqa: F401

    from renovo.data import SimulatedBatches
    from renovo.data.simulate import simulate_records
    from renovo.train import collator_from_config, load_config, simulator_from_config, tokenizer_from_config

    config = load_config("gaussian_losses", [f"model.preset={preset}"])
    tokenizer = tokenizer_from_config(config)
    collator = collator_from_config(config, tokenizer)
    records = list(simulate_records(n * batch_size, seed=seed))
    start = time.perf_counter()
    file_batches = [collator(records[i: i + batch_size]) for i in range(0, len(records), batch_size)]
    collate_ms = (time.perf_counter() - start) / len(file_batches) * 1e3
    stream = SimulatedBatches(simulator_from_config(config, tokenizer), collator, seed, batch_size,
                              bucket=config.data.bucket_batches)
    bucketed = [stream.batch(k) for k in range(n)]

    def padding(batches):
        padded = statistics.fmean(b["mz"].shape[1] for b in batches)
        real = statistics.fmean(float(b["peak_mask"].sum(1).float().mean()) for b in batches)
        return {"mean_padded_peaks": padded, "mean_real_peaks": real, "padding_fraction": 1 - real / padded}

    return {"collate_ms_per_batch_file_records": collate_ms, "file_batches_unbucketed": padding(file_batches),
            "simulated_stream_bucketed": padding(bucketed), "bucket_batches": config.data.bucket_batches,
            "file_batches": file_batches[:n], "bucketed_batches": bucketed}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="profiled steps per case (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, cases interleaved (default 3)")
    parser.add_argument("--top", type=int, default=8, help="operators listed per phase (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    import torch

    data = data_costs(args.preset, args.batch_size, args.seed, args.steps + 2)
    batches = data.pop("bucketed_batches")
    file_batches = data.pop("file_batches")
    report = {"preset": args.preset, "batch_size": args.batch_size, "steps": args.steps,
              "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
              "load_average_start": list(os.getloadavg()), "data": data, "cases": {}}
    cases = {case: (*build(case, args.preset, args.batch_size, args.seed)[1:],
                    gradient_flow_pass if case == "gradient_flow" else plain_step, batches)
             for case in ("ce_only", "ce_only+logged_physics", "gaussian_losses", "gradient_flow")}
    cases["ce_only_file_batches"] = (*build("ce_only", args.preset, args.batch_size, args.seed)[1:], plain_step,
                                     file_batches)
    for module, optimizer, fn, data_batches in cases.values():  # warm-up
        for batch in data_batches[:2]:
            fn(module, optimizer, batch)
    times = {case: [] for case in cases}
    for round_index in range(args.rounds):
        names = list(cases)
        k = round_index % len(names)
        for case in names[k:] + names[:k]:
            module, optimizer, fn, data_batches = cases[case]
            start = time.perf_counter()
            for batch in data_batches[:args.steps]:
                fn(module, optimizer, batch)
            times[case].append((time.perf_counter() - start) / args.steps * 1e3)
    for case, (module, optimizer, fn, data_batches) in cases.items():
        prof, _ = profile_case(module, optimizer, data_batches, fn, args.steps)
        entry = {"step_ms_median": statistics.median(times[case]), "step_ms_rounds": times[case],
                 **summarise(prof, args.steps, args.top)}
        report["cases"][case] = entry
        print(f"{case:<24} {entry['step_ms_median']:8.1f} ms/step  " + "  ".join(
            f"{p} {v:.1f}" for p, v in entry["phase_ms_per_step"].items()), flush=True)
    report["load_average_end"] = list(os.getloadavg())
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.json).with_suffix(".tmp")
        tmp.write_text(text + "\n")
        tmp.replace(args.json)
        print(f"wrote {args.json}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
