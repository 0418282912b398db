"""`renovo bench learning`: the plain and the ion-evidence model trained side by side for the same wall time.

Each architecture is one `renovo train` run on the simulator (same preset,
config, seed and recipe; only ``model.ion_evidence`` differs) stopped by the
same ``--max-time`` budget. Validation (teacher-forced token accuracy, and
beam-5 decoding with the precursor-mass constraint for amino-acid precision
and peptide recall) is logged against steps and wall seconds. Then each final
checkpoint sequences the real annotated files (never trained on) with
`renovo sequence` and is scored with `renovo evaluate`.

``--parallel`` trains both at once with the CPU cores split between them, so
machine load hits both alike; without it they run one after the other with
every core each. Writes ``results.json``, ``report.md`` and
``learning.png`` (accuracy against wall time) into ``--out``, plus each run's
folder (config.yaml, metrics.csv, checkpoints) and the real-file predictions.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from renovo.files import atomic_path, write_text

ARCHITECTURES = {"plain": "false", "ion_evidence": "true"}
DEFAULT_REAL_DIR = Path("../shared/data/real")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget per architecture")
    parser.add_argument("--preset", default="small", choices=["tiny", "small", "base"])
    parser.add_argument("--config", default="ce_only", help="training config both architectures use")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--architectures", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--val-every", type=int, default=500, help="validation interval, steps")
    parser.add_argument("--val-decode-batches", type=int, default=4,
                        help="validation batches (64 spectra each) decoded with beam 5 + mass constraint")
    parser.add_argument("--real", nargs="*", default=None, metavar="FILE",
                        help="real annotated spectrum files to sequence after training "
                             "(default: every .mgf in ../shared/data/real; none: skip)")
    parser.add_argument("--parallel", action="store_true", help="train the architectures at once, cores split")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per training (default: all cores, split between runs with --parallel)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="extra config override for both runs (repeatable)")
    parser.add_argument("--out", default="bench_learning", help="output folder")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder's report")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report from an existing --out")


def _validation_decode():
    from renovo.decode import DecodeConfig

    # Tighter than `renovo sequence`'s 50 ppm on purpose: simulated precursors are exact, so 20 ppm is ample and
    # the learning curves stay comparable with the runs this bench has recorded.
    return DecodeConfig(precursor_tolerance_ppm=20.0)


def _renovo(*args: str) -> list[str]:
    return [sys.executable, "-m", "renovo", *args]


def _train_command(args, architecture: str, run_dir: Path) -> list[str]:
    validation = _validation_decode()  # the training runs' decoded validation, as trainer.val_decode_*
    command = _renovo(
        "train", "--config", args.config, "--preset", args.preset, "--seed", str(args.seed),
        "--max-time", f"{args.minutes * 60:.0f}s", "--out", str(run_dir), "--no-progress",
        "--set", f"model.ion_evidence={ARCHITECTURES[architecture]}",
        "--set", f"trainer.val_every_n_steps={args.val_every}",
        "--set", f"trainer.val_decode_beam={validation.beam}",
        "--set", f"trainer.val_decode_tolerance_ppm={validation.precursor_tolerance_ppm:g}",
        "--set", f"trainer.val_decode_batches={args.val_decode_batches}",
    )
    for override in args.set:
        command += ["--set", override]
    return command


def _train_all(args, out: Path) -> dict[str, dict]:
    """Run the trainings; returns per architecture its command, folder, exit code and wall seconds."""
    cores = os.cpu_count() or 1
    threads = args.threads or (max(1, cores // len(args.architectures)) if args.parallel else cores)
    runs: dict[str, dict] = {}
    processes = []
    for architecture in args.architectures:
        run_dir = out / "runs" / architecture
        command = _train_command(args, architecture, run_dir)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        log = (out / f"train_{architecture}.log").open("w")
        print(f"[{architecture}] {shlex.join(command)}  (log: {log.name}, {threads} threads)", flush=True)
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        runs[architecture] = {"command": shlex.join(command), "run_dir": str(run_dir), "threads": threads}
        processes.append((architecture, process, start, log))
        if not args.parallel:
            _wait(runs, processes.pop())
    for item in processes:
        _wait(runs, item)
    return runs


def _wait(runs: dict, item) -> None:
    architecture, process, start, log = item
    code = process.wait()
    log.close()
    runs[architecture].update(returncode=code, wall_s=round(time.perf_counter() - start, 1))
    print(f"[{architecture}] training finished (exit {code}) after {runs[architecture]['wall_s']:.0f} s", flush=True)


def _real_files(args) -> list[Path]:
    if args.real is not None:
        return [Path(p) for p in args.real]
    return sorted(DEFAULT_REAL_DIR.glob("*.mgf")) if DEFAULT_REAL_DIR.is_dir() else []


def _sequence_real(args, out: Path, runs: dict) -> None:
    """Sequence and evaluate each real file with each final checkpoint."""
    files = _real_files(args)
    for architecture, run in runs.items():
        checkpoint = out / "runs" / architecture / "checkpoints" / "last.ckpt"
        run["real"] = {}
        if not checkpoint.is_file():
            continue
        for path in files:
            target = out / "real" / architecture / f"{path.stem}.mztab"
            target.parent.mkdir(parents=True, exist_ok=True)
            eval_dir = target.with_name(f"{path.stem}_eval")
            # This benchmark's own outputs from an earlier --force run: replaced, never an input.
            for old in (target, target.with_name(target.name + ".sequence.json"), target.with_suffix(".sequence.json")):
                old.unlink(missing_ok=True)
            shutil.rmtree(eval_dir, ignore_errors=True)
            start = time.perf_counter()
            sequence = subprocess.run(_renovo("sequence", str(path), "--model", str(checkpoint), "-o", str(target),
                                              "--beam", "5"), capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if sequence.returncode != 0:
                run["real"][path.name] = {"error": (sequence.stderr.strip().splitlines() or ["?"])[-1]}
                continue
            evaluate = subprocess.run(_renovo("evaluate", str(target), "--labels", str(path), "-o", str(eval_dir)),
                                      capture_output=True, text=True)
            metrics_path = eval_dir / "metrics.json"
            if evaluate.returncode != 0 or not metrics_path.is_file():
                run["real"][path.name] = {"error": (evaluate.stderr.strip().splitlines() or ["?"])[-1]}
                continue
            metrics = json.loads(metrics_path.read_text())
            run["real"][path.name] = {
                "aa_precision": metrics.get("aa_precision"), "aa_recall": metrics.get("aa_recall"),
                "peptide_recall": metrics.get("peptide_recall"), "peptide_precision": metrics.get("peptide_precision"),
                "spectra": metrics.get("n_spectra", metrics.get("spectra")), "sequence_s": round(seconds, 1),
            }
            print(f"[{architecture}] {path.name}: AA precision {metrics.get('aa_precision', float('nan')):.3f}, "
                  f"peptide recall {metrics.get('peptide_recall', float('nan')):.3f}", flush=True)


def read_curve(run_dir: Path) -> list[dict]:
    """Validation rows of a run's metrics.csv: step, elapsed_s, token_acc, aa_precision, peptide_recall, ce."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        return []
    keys = {"val/token_acc": "token_acc", "val/aa_precision": "aa_precision", "val/peptide_recall": "peptide_recall",
            "val/ce": "ce", "time/elapsed_s": "elapsed_s"}
    from renovo.train.metrics_log import read_metrics  # the one metrics.csv reader

    curve = []
    for step, row in read_metrics(path).items():
        values = {name: row[key] for key, name in keys.items() if key in row}
        if values:
            curve.append({"step": step + 1, **values})
    return curve


def _best(curve: list[dict], key: str):
    values = [row[key] for row in curve if key in row and math.isfinite(row[key])]
    return max(values) if values else None


def _fmt(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def write_report(out: Path, results: dict) -> None:
    runs = results["runs"]
    for name, run in runs.items():
        run["run_dir"] = f"runs/{name}"  # relative to the report, so a copied folder rebuilds
        run["curve"] = read_curve(out / "runs" / name)
    lines = [
        "# Learning curves: plain vs ion-evidence decoder",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {results['machine']}. Budget {results['minutes']:g} min of wall time per architecture"
        + (" (trained at the same time, cores split)" if results["parallel"] else " (one after the other)") + ".",
        f"Preset `{results['preset']}`, config `{results['config']}`, seed {results['seed']}; validation on the fixed "
        "simulated set: teacher-forced token accuracy, and amino-acid precision / peptide recall of beam-5 decoding "
        "with the precursor-mass constraint (20 ppm).",
        "",
        "| architecture | steps | wall s | final token acc | best token acc | final AA precision | final peptide recall | best peptide recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, run in runs.items():
        curve = run["curve"]
        last = curve[-1] if curve else {}
        lines.append(
            f"| {name} | {last.get('step', 0)} | {run.get('wall_s', 0):.0f} | {_fmt(last.get('token_acc'))} | "
            f"{_fmt(_best(curve, 'token_acc'))} | {_fmt(last.get('aa_precision'))} | {_fmt(last.get('peptide_recall'))} | "
            f"{_fmt(_best(curve, 'peptide_recall'))} |"
        )
    files = sorted({f for run in runs.values() for f in run.get("real", {})})
    if files:
        lines += ["", "## Real spectra (trained on simulation only; beam 5, precursor-mass constraint 50 ppm)", "",
                  "| file | " + " | ".join(f"{n} AA precision | {n} peptide recall" for n in runs) + " |",
                  "|---|" + "---:|---:|" * len(runs)]
        for f in files:
            cells = []
            for run in runs.values():
                r = run.get("real", {}).get(f, {})
                cells += [_fmt(r.get("aa_precision")), _fmt(r.get("peptide_recall"))] if "error" not in r else [r["error"][:40], "—"]
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "![accuracy against wall time](learning.png)", "",
              "Each run's `config.yaml` and `metrics.csv` are in `runs/<architecture>/`; "
              "`renovo bench learning --report-only --out THIS_FOLDER` rebuilds this page from them.", ""]
    _plot(out / "learning.png", runs)
    write_text(out / "results.json", json.dumps(results, indent=1, default=str) + "\n")
    write_text(out / "report.md", "\n".join(lines))


def _plot(path: Path, runs: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("token_acc", "validation token accuracy"), ("aa_precision", "AA precision (beam 5)"),
              ("peptide_recall", "peptide recall (beam 5)"))
    for ax, (key, title) in zip(axes, panels):
        for name, run in runs.items():
            points = [(row["elapsed_s"] / 60, row[key]) for row in run["curve"] if key in row and "elapsed_s" in row]
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, label=name)
        ax.set_title(title)
        ax.set_xlabel("wall time (min)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def run_bench(args: argparse.Namespace) -> int:
    from renovo.errors import RenovoError

    out = Path(args.out)
    if args.report_only:
        results_path = out / "results.json"
        if not results_path.is_file():
            raise RenovoError(f"{results_path} not found: run the benchmark first")
        write_report(out, json.loads(results_path.read_text()))
        print(f"report rebuilt: {out / 'report.md'}")
        return 0
    if (out / "results.json").exists() and not args.force:
        raise RenovoError(f"{out} already holds a learning benchmark; use --force to replace it or another --out")
    out.mkdir(parents=True, exist_ok=True)
    results = {
        "command": shlex.join(["renovo", "bench", "learning", *sys.argv[3:]]) if sys.argv[1:3] == ["bench", "learning"]
        else shlex.join(sys.argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
                   f"{platform.python_version()}",
        "minutes": args.minutes, "preset": args.preset, "config": args.config, "seed": args.seed,
        "parallel": bool(args.parallel), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    results["runs"] = _train_all(args, out)
    _sequence_real(args, out, results["runs"])
    write_report(out, results)
    print((out / "report.md").read_text())
    return 0 if all(r.get("returncode") == 0 for r in results["runs"].values()) else 1
