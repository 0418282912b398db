"""Snapshot what renovo does, to check that a refactoring changed nothing.

    python scripts/behaviour_check.py snapshot OUT.json --checkpoint CKPT --spectra FILE [--work DIR]
    python scripts/behaviour_check.py compare BEFORE.json AFTER.json

A snapshot holds, as JSON:

- ``configs``: every shipped training config resolved (``load_config``), the default included;
- ``plans``: every shipped plan's `renovo train` commands at every size (run folders made relative);
- ``sequence``: the PSM rows ``renovo sequence`` writes for CKPT on FILE (greedy, beam 5 with the precursor
  constraint, and CSV), with their SHA-256; the file's metadata lines (dates, paths, versions) are left out;
- ``train``: the losses and accuracies in metrics.csv of a 40-step tiny run (seed 0, simulated data) and of a
  physics-loss one, with every speed and time column left out.

``compare`` prints each section that differs and exits 1 when any does. Run ``snapshot`` at the commit
before a change and after it, with the same checkpoint file: the checkpoint stays the one written before, so
the comparison also covers reading older checkpoints.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

#: metrics.csv columns that measure time or speed (they differ run to run).
TIME_WORDS = ("time", "speed", "per_s", "sec", "throughput", "wall", "eta", "memory", "rss")


def _configs() -> dict:
    from renovo.train.config import available_configs, load_config

    return {name: load_config(name).to_dict() for name in available_configs()}


def _plans(work: Path) -> dict:
    from renovo.experiments.plan import available_plans, load_plan, train_command, warm_start_command

    out = {}
    for name in available_plans():
        from renovo.experiments.plan import _read_plan_file

        data, _ = _read_plan_file(name)
        for size in sorted(data.get("sizes") or {}):
            plan = load_plan(name, size, work / "plans" / name / size)
            commands = []
            for spec in plan.runs:
                command = train_command(plan, spec.config, spec.seed, spec.run_dir)
                commands.append([c.replace(str(work), "WORK") for c in command[1:]])
            for seed in sorted({spec.seed for spec in plan.runs}) if plan.warm_start else []:
                command = warm_start_command(plan, seed, work / "warm" / str(seed))
                commands.append([c.replace(str(work), "WORK") for c in command[1:]])
            out[f"{name}/{size}"] = commands
    return out


def _renovo(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "renovo.cli", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"renovo {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def _rows(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line for line in lines if not line.startswith("MTD")] if path.suffix == ".mztab" else lines


def _sequence(checkpoint: Path, spectra: Path, work: Path) -> dict:
    out = {}
    runs = {
        "greedy": ["--beam", "1", "--no-mass-constraint"],
        "beam5": ["--beam", "5", "--top-k", "2"],
        "beam5_csv": ["--beam", "5", "--max-length", "40", "--precursor-tolerance-ppm", "20"],
    }
    for name, flags in runs.items():
        target = work / f"{name}.{'csv' if name.endswith('csv') else 'mztab'}"
        _renovo("sequence", "--model", str(checkpoint), "-o", str(target), "--no-progress", "-f", *flags, str(spectra))
        rows = _rows(target)
        out[name] = {"sha256": hashlib.sha256("\n".join(rows).encode()).hexdigest(), "rows": len(rows),
                     "first": rows[:4]}
    return out


def _train(work: Path) -> dict:
    out = {}
    for name, config in (("ce_only", "ce_only"), ("gaussian_losses", "gaussian_losses")):
        run = work / f"train-{name}"
        _renovo("train", "--config", config, "--preset", "tiny", "--max-steps", "40", "--seed", "0", "--batch-size",
                "8", "--out", str(run), "-f", "--no-progress", "--scorer-spectra", "0",
                "--set", "trainer.val_every_n_steps=20", "--set", "trainer.log_every_n_steps=5",
                "--set", "data.val_size=16", "--set", "curriculum.force_final=true")
        with open(run / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        kept = [{k: v for k, v in row.items() if v != "" and not any(w in k for w in TIME_WORDS)} for row in rows]
        out[name] = [row for row in kept if len(row) > 1]
    return out


def snapshot(args) -> int:
    work = Path(args.work or tempfile.mkdtemp(prefix="renovo-behaviour-"))
    work.mkdir(parents=True, exist_ok=True)
    data = {"configs": _configs(), "plans": _plans(work.resolve()),
            "sequence": _sequence(Path(args.checkpoint), Path(args.spectra), work), "train": _train(work)}
    Path(args.out).write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


def compare(args) -> int:
    before, after = (json.loads(Path(p).read_text()) for p in (args.before, args.after))
    differ = 0
    for section in sorted(set(before) | set(after)):
        a, b = before.get(section, {}), after.get(section, {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                differ += 1
                print(f"DIFFERS {section}/{key}")
    print("identical" if not differ else f"{differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("out")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--spectra", required=True)
    s.add_argument("--work")
    s.set_defaults(run=snapshot)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    c.set_defaults(run=compare)
    args = parser.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
