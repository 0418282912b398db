"""renovo and Casanovo measured side by side: training speed, decoding speed, time to accuracy.

Run by ``run.sh`` (which installs Casanovo into its own virtual environment)
with renovo's Python. Every figure comes from this one run, on one machine,
on the same simulated spectra:

1. data: ``renovo simulate`` writes train / validation / test MGF files with
   only the modifications both vocabularies hold (pyro-Glu switched off);
   every peptide token is checked against Casanovo's residue table.
2. training speed: each tool trains the same model size (d_model 128, 2
   encoder + 2 decoder layers, 4 heads, feed-forward 512, batch 32) for a
   fixed number of steps, tools alternating, ``--speed-rounds`` times.
   Steady state = median time between consecutive optimizer steps after the
   first ``--speed-skip`` steps (data loading included); whole process = launch
   to exit.
3. time to accuracy: each tool trains for ``--minutes`` of training wall time
   (clock from process launch, evaluation pauses excluded) with its learning
   rate schedule stretched over the steps it can make in that time (estimated
   from phase 2, plus 25%: warmup min(1000, 10%), cosine to 0); every
   ``minutes·60/--evals`` seconds, and at the ``--early-evals`` times, the
   model is evaluated teacher forced on the validation file (cross-entropy,
   token accuracy). A time to accuracy is known to within the spacing of the
   evaluations around it; a target is met or missed only when the whole
   interval says so.
4. decoding speed: the models of phase 3 sequence the test file, greedy and
   beam 5, both with their precursor-mass filter (50 ppm, isotopes 0–1), same
   batch size and maximum length, tools alternating. Steady state = spectra
   per second over the batches after the first; whole process = launch to exit.

Outputs (``--out``): ``peers.json``, ``peers.md``, ``time_to_accuracy.png``,
and every run's folder, log and events file.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
INSTRUMENT = HERE / "instrument.py"
CASANOVO_CONFIG_TEMPLATE = HERE / "casanovo_config.yaml"

#: The equal model size of every comparison.
MODEL = {"d_model": 128, "layers": 2, "n_heads": 4, "dim_feedforward": 512, "batch_size": 32}
#: Simulator settings: pyro-Glu is the one modification Casanovo's vocabulary lacks.
SIMULATOR = {"pyro_glu_rate": 0.0}
#: Decoding settings shared by both tools.
MAX_LENGTH = 30
TOLERANCE_PPM = 50.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--casanovo-python", required=True, help="Python of the Casanovo environment")
    p.add_argument("--cache-home", required=True, help="XDG_CACHE_HOME holding spectrum_utils' offline Unimod cache")
    p.add_argument("--out", type=Path, default=None, help="output folder (default runs/peers/casanovo-<time>)")
    p.add_argument("--force", action="store_true", help="write into an existing, non-empty output folder")
    p.add_argument("--minutes", type=float, default=30.0, help="time-to-accuracy budget per tool (default 30)")
    p.add_argument("--evals", type=int, default=15, help="evaluations per time-to-accuracy run (default 15)")
    p.add_argument("--early-evals", default="10,20,30,45,60,90",
                   help="extra evaluation times in the first minutes, seconds of training wall time, comma-separated "
                        "(default 10,20,30,45,60,90; '' for none): where the curves rise fastest")
    p.add_argument("--train-spectra", type=int, default=50000, help="simulated training spectra (default 50000)")
    p.add_argument("--val-spectra", type=int, default=512, help="simulated validation spectra (default 512)")
    p.add_argument("--test-spectra", type=int, default=512, help="simulated test spectra for decoding (default 512)")
    p.add_argument("--speed-steps", type=int, default=300, help="steps per training-speed run (default 300)")
    p.add_argument("--speed-skip", type=int, default=20, help="first steps left out of the steady state (default 20)")
    p.add_argument("--speed-rounds", type=int, default=2, help="alternating rounds of training-speed runs (default 2)")
    p.add_argument("--speed-configs", nargs="+", default=["ce_only", "gaussian_losses"],
                   help="renovo configs timed in phase 2 (default ce_only gaussian_losses)")
    p.add_argument("--tta-config", default="gaussian_losses", help="renovo config of phase 3 (default gaussian_losses)")
    p.add_argument("--renovo-set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="extra renovo --set overrides for every renovo run (e.g. model.ion_evidence=false)")
    p.add_argument("--decode-batch-size", type=int, default=64, help="spectra per decoding batch (default 64)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip", nargs="*", default=[], choices=["speed", "tta", "decode"], help="phases to leave out")
    p.add_argument("--decode-models", nargs=2, type=Path, default=None, metavar=("RENOVO_CKPT", "CASANOVO_CKPT"),
                   help="decode with these two checkpoints (e.g. an earlier run's runs/tta_*/final.ckpt) instead "
                        "of this run's; with --skip speed tta, a decoding-only run")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild peers.md and the plot from --out/peers.json without running anything")
    return p.parse_args(argv)


# --- small helpers -------------------------------------------------------------------------------------------
def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temporary, path)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_timed(command: list[str], log_path: Path, env: dict | None = None) -> dict:
    """Run a command to completion; its whole-process wall time and exit code. Output goes to ``log_path``."""
    environment = dict(os.environ, **(env or {}))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as out:
        out.write("$ " + shlex.join(command) + "\n")
        out.flush()
        launch = time.time()
        environment["HARNESS_T0"] = repr(launch)
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=log_path.parent)
        seconds = time.time() - launch
    if code != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        raise SystemExit(f"error: {command[0]} … exited with {code}; log {log_path}:\n" + "\n".join(tail))
    return {"whole_process_s": seconds, "launch_t": launch}


def load_events(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def machine_load() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


# --- the two tools -------------------------------------------------------------------------------------------
class Tools:
    def __init__(self, args: argparse.Namespace, out: Path):
        self.args = args
        self.out = out
        self.renovo_python = sys.executable
        self.casanovo_python = args.casanovo_python
        self.casanovo_env = {"XDG_CACHE_HOME": str(Path(args.cache_home).resolve())}
        self.template = CASANOVO_CONFIG_TEMPLATE.read_text()

    # renovo ------------------------------------------------------------------
    def renovo_overrides(self, config: str, max_steps: int) -> list[str]:
        sets = [
            "model.preset=small", f"model.d_model={MODEL['d_model']}", f"model.n_encoder_layers={MODEL['layers']}",
            f"model.n_decoder_layers={MODEL['layers']}", f"model.n_heads={MODEL['n_heads']}",
            f"model.dim_feedforward={MODEL['dim_feedforward']}", "trainer.accelerator=cpu",
            # renovo's own validation only at the end (the harness evaluates both tools itself)
            f"trainer.val_every_n_steps={max_steps}", "trainer.progress_bar=false",
            *self.args.renovo_set,
        ]
        return [item for s in sets for item in ("--set", s)]

    def renovo_train(self, name: str, config: str, max_steps: int, data: dict, *, budget_s=0.0, eval_every_s=0.0,
                     stop_after: int = 0) -> dict:
        run = self.out / "runs" / name
        events = run / "events.json"
        ckpt = run / "final.ckpt"
        command = [
            self.renovo_python, str(INSTRUMENT), "--tool", "renovo", "--events", str(events),
            "--max-steps", str(stop_after), "--budget-s", str(budget_s), "--eval-every-s", str(eval_every_s),
            *(["--eval-at-s", self.args.early_evals] if eval_every_s and self.args.early_evals else []),
            "--final-ckpt", str(ckpt), "--",
            "train", "--config", config, "--train", str(data["train"]), "--val", str(data["val"]),
            "--max-steps", str(max_steps), "--batch-size", str(MODEL["batch_size"]), "--seed", str(self.args.seed),
            "--out", str(run / "run"), "--no-progress", *self.renovo_overrides(config, max_steps),
        ]
        timing = run_timed(command, run / "log.txt")
        return {"tool": "renovo", "config": config, "run": str(run), "ckpt": str(ckpt), "command": command,
                **timing, "events": load_events(events)}

    def renovo_sequence(self, name: str, ckpt: str, beam: int, data: dict) -> dict:
        run = self.out / "runs" / name
        events = run / "events.json"
        command = [
            self.renovo_python, str(INSTRUMENT), "--tool", "renovo", "--events", str(events), "--",
            "sequence", str(data["test"]), "--model", ckpt, "-o", str(run / "predictions.mztab"),
            "--beam", str(beam), "--batch-size", str(self.args.decode_batch_size), "--max-length", str(MAX_LENGTH),
            "--precursor-tolerance-ppm", str(TOLERANCE_PPM), "--isotope-offsets", "0,1", "--device", "cpu",
        ]
        timing = run_timed(command, run / "log.txt")
        return {"tool": "renovo", "run": str(run), "mztab": str(run / "predictions.mztab"), "command": command,
                **timing, "events": load_events(events)}

    # Casanovo ----------------------------------------------------------------
    def casanovo_config(self, path: Path, *, warmup: int, period: int, beams: int = 1) -> Path:
        values = {"WARMUP": warmup, "PERIOD": period, "BEAMS": beams, "BATCH": MODEL["batch_size"],
                  "PREDICT_BATCH": self.args.decode_batch_size, "D_MODEL": MODEL["d_model"],
                  "LAYERS": MODEL["layers"], "HEADS": MODEL["n_heads"], "FF": MODEL["dim_feedforward"],
                  "SEED": self.args.seed, "MAX_LENGTH": MAX_LENGTH, "TOLERANCE": TOLERANCE_PPM}
        text = self.template
        for key, value in values.items():
            text = text.replace("{" + key + "}", str(value))
        atomic_write(path, text)
        return path

    def casanovo_train(self, name: str, data: dict, *, warmup: int, period: int, budget_s=0.0, eval_every_s=0.0,
                       stop_after: int = 0) -> dict:
        run = self.out / "runs" / name
        run.mkdir(parents=True, exist_ok=True)
        events = run / "events.json"
        ckpt = run / "final.ckpt"
        config = self.casanovo_config(run / "config.yaml", warmup=warmup, period=period)
        command = [
            self.casanovo_python, str(INSTRUMENT), "--tool", "casanovo", "--events", str(events),
            "--max-steps", str(stop_after), "--budget-s", str(budget_s), "--eval-every-s", str(eval_every_s),
            *(["--eval-at-s", self.args.early_evals] if eval_every_s and self.args.early_evals else []),
            "--final-ckpt", str(ckpt), "--",
            "train", str(data["train"]), "-p", str(data["val"]), "-c", str(config), "-d", str(run / "run"),
            "-o", "casanovo", "-f",
        ]
        timing = run_timed(command, run / "log.txt", self.casanovo_env)
        return {"tool": "casanovo", "run": str(run), "ckpt": str(ckpt), "command": command, **timing,
                "events": load_events(events)}

    def casanovo_sequence(self, name: str, ckpt: str, beam: int, data: dict) -> dict:
        run = self.out / "runs" / name
        run.mkdir(parents=True, exist_ok=True)
        events = run / "events.json"
        config = self.casanovo_config(run / "config.yaml", warmup=1, period=1, beams=beam)
        command = [
            self.casanovo_python, str(INSTRUMENT), "--tool", "casanovo", "--events", str(events), "--",
            "sequence", str(data["test"]), "-m", ckpt, "-c", str(config), "-d", str(run), "-o", "predictions", "-f",
        ]
        timing = run_timed(command, run / "log.txt", self.casanovo_env)
        return {"tool": "casanovo", "run": str(run), "mztab": str(run / "predictions.mztab"), "command": command,
                **timing, "events": load_events(events)}


# --- phase 1: data -------------------------------------------------------------------------------------------
def casanovo_residues() -> set[str]:
    tokens = set()
    for line in CASANOVO_CONFIG_TEMPLATE.read_text().splitlines():
        m = re.match(r'\s+"([^"]+)":\s*-?[0-9.]+', line)
        if m:
            tokens.add(m.group(1))
    return tokens


def peptide_tokens(peptide: str) -> list[str]:
    return re.findall(r"\[[^\]]+\]-|[A-Z](?:\[[^\]]+\])?", peptide)


def prepare_data(args, out: Path) -> dict:
    data_dir = out / "data"
    sim_config = data_dir / "simulator.json"
    atomic_write(sim_config, json.dumps(SIMULATOR) + "\n")
    files = {}
    for split, count, offset in (("train", args.train_spectra, 0), ("val", args.val_spectra, 1),
                                 ("test", args.test_spectra, 2)):
        path = data_dir / f"{split}.mgf"
        if not path.exists():
            run_timed([sys.executable, "-m", "renovo.cli", "simulate", "-n", str(count), "-o", str(path),
                       "--seed", str(args.seed * 1000 + offset), "--config", str(sim_config)],
                      data_dir / f"simulate_{split}.log")
        files[split] = path
    known = casanovo_residues()
    unknown: dict[str, int] = {}
    for path in files.values():
        for line in path.read_text().splitlines():
            if line.startswith("SEQ="):
                for token in peptide_tokens(line[4:]):
                    if token not in known:
                        unknown[token] = unknown.get(token, 0) + 1
    if unknown:
        raise SystemExit(f"error: simulated peptides hold tokens Casanovo's vocabulary lacks: {unknown}")
    return files


# --- summaries -----------------------------------------------------------------------------------------------
def training_speed(result: dict, skip: int) -> dict:
    ends = [e["t"] for e in result["events"] if e["event"] == "train_batch_end"]
    deltas = [b - a for a, b in zip(ends[skip:], ends[skip + 1:])]
    if not deltas:
        raise SystemExit(f"error: {result['run']}: fewer than {skip + 2} steps recorded")
    median = statistics.median(deltas)
    return {
        "steps": len(ends),
        "steady_step_s_median": median,
        "steady_steps_per_s": 1.0 / median,
        "steady_spectra_per_s": MODEL["batch_size"] / median,
        "steady_step_s_mean": statistics.fmean(deltas),
        "first_step_after_launch_s": ends[0] - result["launch_t"] if ends else None,
        "whole_process_s": result["whole_process_s"],
    }


def decoding_speed(result: dict) -> dict:
    batches = [e for e in result["events"] if e["event"] == "decode_batch_end"]
    spectra = sum(b["spectra"] for b in batches)
    steady = None
    if len(batches) >= 3:
        later = batches[1:]
        steady = sum(b["spectra"] for b in later[1:]) / (later[-1]["t"] - later[0]["t"])
    return {"spectra": spectra, "batches": len(batches), "steady_spectra_per_s": steady,
            "whole_process_s": result["whole_process_s"],
            "whole_process_spectra_per_s": spectra / result["whole_process_s"] if spectra else None}


def curve(result: dict) -> list[dict]:
    return [{k: e[k] for k in ("wall_s", "step", "val_loss", "val_token_acc", "when")}
            for e in result["events"] if e["event"] == "eval"]


def first_time_reaching(points: list[dict], accuracy: float) -> float | None:
    for p in points:
        if p["val_token_acc"] >= accuracy:
            return p["wall_s"]
    return None


def last_time_below(points: list[dict], accuracy: float) -> float | None:
    """The evaluation just before the first one reaching ``accuracy``: the curve crossed it after this time."""
    before = None
    for p in points:
        if p["val_token_acc"] >= accuracy:
            return before
        before = p["wall_s"]
    return None


def strip(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "events"}


# --- main ----------------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report_only:
        if args.out is None or not (args.out / "peers.json").is_file():
            raise SystemExit("error: --report-only needs --out DIR holding a peers.json")
        report = json.loads((args.out / "peers.json").read_text())
        if report.get("time_to_accuracy"):  # summaries are derived: recomputed from the curves
            report["time_to_accuracy"]["summary"] = summarise_tta(report["time_to_accuracy"]["runs"])
            atomic_write(args.out / "peers.json", json.dumps(report, indent=2) + "\n")
            plot_tta(report["time_to_accuracy"]["runs"], args.out / "time_to_accuracy.png",
                     report["time_to_accuracy"]["budget_s"] / 60)
        atomic_write(args.out / "peers.md", markdown(report))
        print(markdown(report))
        return 0
    out = args.out or ROOT / "runs" / "peers" / time.strftime("casanovo-%Y%m%d-%H%M%S")
    out = Path(out).resolve()
    if out.exists() and any(p.name != "data" for p in out.iterdir()) and not args.force:
        raise SystemExit(f"error: {out} exists and is not empty (use --force, or another --out)")
    out.mkdir(parents=True, exist_ok=True)
    tools = Tools(args, out)
    report: dict = {
        "benchmark": "peers/casanovo",
        "command": user_command(argv if argv is not None else sys.argv[1:]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "load_average_start": machine_load()},
        "versions": versions(args),
        "model": MODEL,
        "settings": {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if isinstance(v, list)
                         and any(isinstance(x, Path) for x in v) else v) for k, v in vars(args).items()},
    }
    data = prepare_data(args, out)
    report["data"] = {k: str(v) for k, v in data.items()}
    log(f"data in {out / 'data'}")

    # phase 2: training speed, tools alternating
    speed_runs = []
    if "speed" not in args.skip:
        entrants = [("renovo", c) for c in args.speed_configs] + [("casanovo", None)]
        for round_index in range(args.speed_rounds):
            k = round_index % len(entrants)
            for tool, config in entrants[k:] + entrants[:k]:
                name = f"speed_r{round_index}_{config or tool}"
                log(f"training speed: {name} ({args.speed_steps} steps)")
                if tool == "renovo":
                    result = tools.renovo_train(name, config, args.speed_steps, data, stop_after=args.speed_steps)
                else:
                    result = tools.casanovo_train(name, data, warmup=max(1, args.speed_steps // 10),
                                                  period=args.speed_steps, stop_after=args.speed_steps)
                summary = training_speed(result, args.speed_skip)
                speed_runs.append({"name": name, "tool": tool, "config": config, **summary, "run": result["run"],
                                   "command": shlex.join(result["command"])})
                log(f"  {summary['steady_steps_per_s']:.2f} steps/s steady, whole process {summary['whole_process_s']:.1f} s")
    report["training_speed"] = {"runs": speed_runs, "summary": summarise_speed(speed_runs)}

    # phase 3: time to accuracy
    budget_s = args.minutes * 60.0
    tta = {}
    ckpts = {}
    if "tta" not in args.skip:
        rates = {e: s["steady_steps_per_s"] for e, s in report["training_speed"]["summary"].items()}
        for tool in ("renovo", "casanovo"):
            key = args.tta_config if tool == "renovo" else "casanovo"
            rate = rates.get(key) or rates.get("ce_only") or 5.0
            # 25% headroom: a tool faster than estimated would otherwise stop (renovo, at its
            # max_steps) or restart its cosine (Casanovo) before the budget is spent.
            steps = max(10, int(rate * budget_s * 1.25))
            warmup = max(1, min(1000, steps // 10))
            name = f"tta_{key}"
            log(f"time to accuracy: {name} for {args.minutes:g} min (schedule over {steps} steps, warmup {warmup})")
            if tool == "renovo":
                result = tools.renovo_train(name, args.tta_config, steps, data, budget_s=budget_s,
                                            eval_every_s=budget_s / args.evals)
            else:
                result = tools.casanovo_train(name, data, warmup=warmup, period=steps, budget_s=budget_s,
                                              eval_every_s=budget_s / args.evals)
            points = curve(result)
            ckpts[tool] = result["ckpt"]
            tta[tool] = {"config": key, "schedule_steps": steps, "warmup_steps": warmup, "curve": points,
                         "steps_done": max((e["step"] for e in result["events"] if e["event"] == "train_end"),
                                           default=None),
                         "whole_process_s": result["whole_process_s"], "run": result["run"],
                         "command": shlex.join(result["command"])}
            log(f"  final token accuracy {points[-1]['val_token_acc']:.3f}, loss {points[-1]['val_loss']:.3f}")
        report["time_to_accuracy"] = {"budget_s": budget_s, "runs": tta, "summary": summarise_tta(tta)}
    else:  # decode with the last speed-phase models
        for run in reversed(speed_runs):
            ckpts.setdefault(run["tool"], str(Path(run["run"]) / "final.ckpt"))
    if args.decode_models:
        ckpts = {"renovo": str(args.decode_models[0].resolve()), "casanovo": str(args.decode_models[1].resolve())}
        missing = [c for c in ckpts.values() if not Path(c).is_file()]
        if missing:
            raise SystemExit(f"error: --decode-models: no such checkpoint {missing[0]}")
        report["decode_models"] = ckpts

    # phase 4: decoding speed, tools alternating
    decode_runs = []
    if "decode" not in args.skip and ckpts.get("renovo") and ckpts.get("casanovo"):
        for index, (mode, beam) in enumerate((("greedy", 1), ("beam5", 5))):
            order = ("renovo", "casanovo") if index % 2 == 0 else ("casanovo", "renovo")
            for tool in order:
                name = f"decode_{mode}_{tool}"
                log(f"decoding: {name}")
                if tool == "renovo":
                    result = tools.renovo_sequence(name, ckpts["renovo"], beam, data)
                else:
                    result = tools.casanovo_sequence(name, ckpts["casanovo"], beam, data)
                summary = decoding_speed(result)
                summary["accuracy"] = evaluate_predictions(result["mztab"], data["test"], out / "runs" / name)
                decode_runs.append({"name": name, "tool": tool, "mode": mode, **summary, "run": result["run"],
                                    "command": shlex.join(result["command"])})
                log(f"  steady {summary['steady_spectra_per_s']} spectra/s, whole process {summary['whole_process_s']:.1f} s")
    report["decoding_speed"] = {"runs": decode_runs, "summary": summarise_decode(decode_runs)}

    report["machine"]["load_average_end"] = machine_load()
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    atomic_write(out / "peers.json", json.dumps(report, indent=2) + "\n")
    if tta:
        plot_tta(tta, out / "time_to_accuracy.png", args.minutes)
    atomic_write(out / "peers.md", markdown(report))
    print(markdown(report))
    log(f"wrote {out / 'peers.json'}, {out / 'peers.md'}" + (f", {out / 'time_to_accuracy.png'}" if tta else ""))
    return 0


def user_command(argv: list[str]) -> str:
    """The run.sh command line that made this run (without the options run.sh adds itself)."""
    words, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in ("--casanovo-python", "--cache-home"):
            skip = True
        else:
            words.append(word)
    return "bash benchmarks/peers/casanovo/run.sh " + shlex.join(words)


def versions(args) -> dict:
    def run(command):
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    probe = "import importlib.metadata as m; print(' '.join(p + '=' + m.version(p) for p in %r))"
    return {
        "renovo_commit": run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "renovo_env": run([sys.executable, "-c", probe % (["renovo", "torch", "lightning", "numpy"],)]),
        "casanovo_env": run([args.casanovo_python, "-c",
                             probe % (["casanovo", "depthcharge-ms", "torch", "lightning", "numpy", "pyarrow"],)]),
    }


def evaluate_predictions(mztab: str, labels: Path, folder: Path) -> dict | None:
    """Peptide and amino-acid recall of one tool's mzTab against the test labels (renovo evaluate)."""
    out = folder / "evaluation"
    try:
        run_timed([sys.executable, "-m", "renovo.cli", "evaluate", mztab, "--labels", str(labels), "-o", str(out)],
                  folder / "evaluate.log")
        values = json.loads((out / "metrics.json").read_text())
    except (SystemExit, OSError, ValueError) as error:
        return {"error": str(error).splitlines()[0]}
    keep = ("peptide_recall", "aa_recall", "aa_precision", "peptide_precision", "n_spectra", "n_predicted")
    flat = values.get("metrics", values)
    return {k: flat[k] for k in keep if k in flat} or {"file": str(out)}


def summarise_speed(runs: list[dict]) -> dict:
    by: dict[str, list[dict]] = {}
    for r in runs:
        by.setdefault(r["config"] or r["tool"], []).append(r)
    summary = {}
    for key, rs in by.items():
        summary[key] = {
            "runs": len(rs),
            "steady_steps_per_s": statistics.median(r["steady_steps_per_s"] for r in rs),
            "steady_spectra_per_s": statistics.median(r["steady_spectra_per_s"] for r in rs),
            "whole_process_s": statistics.median(r["whole_process_s"] for r in rs),
        }
    if "casanovo" in summary:
        base = summary["casanovo"]
        for key, s in summary.items():
            if key != "casanovo":
                s["steady_speedup_vs_casanovo"] = s["steady_steps_per_s"] / base["steady_steps_per_s"]
                s["whole_process_speedup_vs_casanovo"] = base["whole_process_s"] / s["whole_process_s"]
    return summary


def summarise_tta(tta: dict) -> dict:
    if set(tta) != {"renovo", "casanovo"}:
        return {}
    r, c = tta["renovo"]["curve"], tta["casanovo"]["curve"]
    target = max(p["val_token_acc"] for p in c)
    casanovo_time = first_time_reaching(c, target)
    renovo_time = first_time_reaching(r, target)
    renovo_after = last_time_below(r, target)  # renovo crossed the target in (renovo_after, renovo_time]
    return {
        "casanovo_best_token_acc": target,
        "casanovo_time_to_best_s": casanovo_time,
        "renovo_time_to_casanovo_best_s": renovo_time,
        "renovo_below_casanovo_best_at_s": renovo_after,
        "renovo_speedup_to_casanovo_best": (casanovo_time / renovo_time) if renovo_time else None,
        # The most the speed-up can be: renovo crossed just after its last evaluation below the target.
        "renovo_speedup_at_most": (casanovo_time / renovo_after) if renovo_time and renovo_after else None,
        "renovo_final_token_acc": r[-1]["val_token_acc"],
        "casanovo_final_token_acc": c[-1]["val_token_acc"],
        "renovo_final_loss": r[-1]["val_loss"],
        "casanovo_final_loss": c[-1]["val_loss"],
        "note": "times are training wall time from process launch (evaluation excluded), at evaluation points; "
                "a speed-up is bounded by the evaluation spacing",
    }


def summarise_decode(runs: list[dict]) -> dict:
    summary = {}
    for mode in ("greedy", "beam5"):
        rs = {r["tool"]: r for r in runs if r["mode"] == mode}
        if set(rs) != {"renovo", "casanovo"}:
            continue
        ren, cas = rs["renovo"], rs["casanovo"]
        entry = {"renovo_steady_spectra_per_s": ren["steady_spectra_per_s"],
                 "casanovo_steady_spectra_per_s": cas["steady_spectra_per_s"],
                 "renovo_whole_process_s": ren["whole_process_s"], "casanovo_whole_process_s": cas["whole_process_s"]}
        if ren["steady_spectra_per_s"] and cas["steady_spectra_per_s"]:
            entry["steady_speedup"] = ren["steady_spectra_per_s"] / cas["steady_spectra_per_s"]
        entry["whole_process_speedup"] = cas["whole_process_s"] / ren["whole_process_s"]
        summary[mode] = entry
    return summary


def fmt(value, spec=".2f", none="—") -> str:
    return none if value is None else format(value, spec)


def markdown(report: dict) -> str:
    m = report["model"]
    L = [
        "# renovo vs Casanovo, measured side by side",
        "",
        f"Command: `{user_command(shlex.split(report['command'])[2:])}`  ",
        f"Started {report['started']}, finished {report.get('finished', '?')}; "
        f"machine: {report['machine']['platform']}, {report['machine']['cpu_count']} CPUs, load average at start "
        f"{fmt_load(report['machine']['load_average_start'])}, at end {fmt_load(report['machine'].get('load_average_end'))}.  ",
        f"Versions: renovo {report['versions']['renovo_commit']} ({report['versions']['renovo_env']}); "
        f"Casanovo environment: {report['versions']['casanovo_env']}.  ",
        f"Model size for every comparison: d_model {m['d_model']}, {m['layers']}+{m['layers']} layers, "
        f"{m['n_heads']} heads, feed-forward {m['dim_feedforward']}, training batch {m['batch_size']}. "
        f"Data: `renovo simulate` (seed {report['settings']['seed']}), {report['settings']['train_spectra']} training, "
        f"{report['settings']['val_spectra']} validation, {report['settings']['test_spectra']} test spectra, "
        "modifications both vocabularies hold.",
        "",
    ]
    L += targets(report)
    speed = report["training_speed"]["summary"]
    if speed:
        L += ["## Training speed (fixed number of steps)", "",
              f"{report['settings']['speed_steps']} steps per run, {report['settings']['speed_rounds']} alternating "
              f"rounds (median over rounds); steady state = median time between steps after the first "
              f"{report['settings']['speed_skip']}.", "",
              "| run | steps/s (steady) | spectra/s (steady) | whole process, s | steady vs Casanovo | whole process vs Casanovo |",
              "|---|---:|---:|---:|---:|---:|"]
        for key, s in speed.items():
            label = "Casanovo" if key == "casanovo" else f"renovo `{key}`"
            ratios = ["—" if s.get(k) is None else f"{s[k]:.2f}×"
                      for k in ("steady_speedup_vs_casanovo", "whole_process_speedup_vs_casanovo")]
            L.append(f"| {label} | {s['steady_steps_per_s']:.2f} | {s['steady_spectra_per_s']:.1f} | "
                     f"{s['whole_process_s']:.1f} | {ratios[0]} | {ratios[1]} |")
        L.append("")
    tta = report.get("time_to_accuracy")
    if tta:
        s = tta["summary"]
        L += ["## Time to accuracy", "",
              f"Each tool trained for {tta['budget_s'] / 60:g} min of training wall time (from process launch; "
              "evaluation pauses excluded), its learning-rate schedule spread over the steps it can make in that "
              "time. Validation: teacher-forced token accuracy and cross-entropy on the same validation file.", "",
              "| tool | steps done | final token accuracy | final val loss | whole process, s |",
              "|---|---:|---:|---:|---:|"]
        for tool, run in tta["runs"].items():
            last = run["curve"][-1]
            label = "Casanovo" if tool == "casanovo" else f"renovo `{run['config']}`"
            L.append(f"| {label} | {run['steps_done']} | {last['val_token_acc']:.3f} | {last['val_loss']:.3f} | "
                     f"{run['whole_process_s']:.0f} |")
        if s:
            L += ["", f"Casanovo's best token accuracy {s['casanovo_best_token_acc']:.3f} first at "
                      f"{fmt(s['casanovo_time_to_best_s'], '.0f')} s; renovo reached it at "
                      f"{fmt(s['renovo_time_to_casanovo_best_s'], '.0f', 'never')} s"
                      + (f" ({tta_speedup_text(s)} sooner)." if s.get("renovo_speedup_to_casanovo_best") else ".")]
        L += ["", "![time to accuracy](time_to_accuracy.png)", ""]
    dec = report["decoding_speed"]
    if dec["runs"]:
        L += ["## Decoding speed", "",
              f"Test file of {report['settings']['test_spectra']} spectra, batch {report['settings']['decode_batch_size']}, "
              f"at most {MAX_LENGTH} residues, precursor filter {TOLERANCE_PPM:g} ppm with isotopes 0–1; models from "
              "the time-to-accuracy runs. Steady state = spectra/s over the batches after the first.", "",
              "| mode | tool | steady spectra/s | whole process, s | whole-process spectra/s | peptide recall | AA recall |",
              "|---|---|---:|---:|---:|---:|---:|"]
        for r in dec["runs"]:
            acc = r.get("accuracy") or {}
            L.append(f"| {r['mode']} | {r['tool']} | {fmt(r['steady_spectra_per_s'], '.1f')} | "
                     f"{r['whole_process_s']:.1f} | {fmt(r['whole_process_spectra_per_s'], '.1f')} | "
                     f"{fmt(acc.get('peptide_recall'), '.3f')} | {fmt(acc.get('aa_recall'), '.3f')} |")
        L.append("")
        for mode, s in dec["summary"].items():
            steady = "—" if s.get("steady_speedup") is None else f"{s['steady_speedup']:.1f}×"
            L.append(f"- {mode}: renovo vs Casanovo {steady} in steady state, "
                     f"{s['whole_process_speedup']:.1f}× whole process")
        L.append("")
    return "\n".join(L)


def targets(report: dict) -> list[str]:
    """The issue's three targets, each met or missed with its figure (absent figures say so)."""
    lines = ["## Targets", ""]
    speed = report["training_speed"]["summary"]
    ratio = speed.get("ce_only", {}).get("steady_speedup_vs_casanovo")
    lines.append("- training step ≥ 1.5× Casanovo's at equal size (renovo `ce_only`, steady state): "
                 + ("not measured" if ratio is None else f"{ratio:.2f}× — {'met' if ratio >= 1.5 else 'missed'}"))
    beam = report["decoding_speed"]["summary"].get("beam5", {}).get("steady_speedup")
    lines.append("- beam 5 with the mass constraint ≥ 30× Casanovo in steady state: "
                 + ("not measured" if beam is None else f"{beam:.1f}× — {'met' if beam >= 30 else 'missed'}"))
    tta = (report.get("time_to_accuracy") or {}).get("summary") or {}
    sooner = tta.get("renovo_speedup_to_casanovo_best")
    if not tta:
        text = "not measured"
    elif sooner is None:
        text = "renovo did not reach Casanovo's best token accuracy within the budget — missed"
    else:
        most = tta.get("renovo_speedup_at_most")
        verdict = ("met" if sooner >= 20 else "missed" if most is not None and most < 20
                   else "not decided: the evaluations around renovo's crossing leave 20× inside the interval")
        text = (f"{tta_speedup_text(tta)} sooner (renovo ≤ {tta['renovo_time_to_casanovo_best_s']:.0f} s vs Casanovo "
                f"{tta['casanovo_time_to_best_s']:.0f} s to token accuracy {tta['casanovo_best_token_acc']:.3f}) — "
                f"{verdict}")
    lines.append(f"- renovo reaches the token accuracy Casanovo reaches in the budget ≥ 20× sooner: {text}")
    return lines + [""]


def tta_speedup_text(summary: dict) -> str:
    """"≥ 15.0× (at most 146.4×)": renovo crossed between two evaluations, so the speed-up is an interval."""
    sooner, most = summary["renovo_speedup_to_casanovo_best"], summary.get("renovo_speedup_at_most")
    if most is None:  # reached at its first evaluation: no upper bound
        return f"≥ {sooner:.1f}×"
    return f"≥ {sooner:.1f}× (at most {most:.1f}×)"


def fmt_load(values) -> str:
    return "—" if not values else ", ".join(f"{v:.1f}" for v in values)


def plot_tta(tta: dict, path: Path, minutes: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for tool, run in tta.items():
        xs = [p["wall_s"] / 60 for p in run["curve"]]
        label = "Casanovo" if tool == "casanovo" else f"renovo {run['config']}"
        acc_ax.plot(xs, [p["val_token_acc"] for p in run["curve"]], marker="o", label=label)
        loss_ax.plot(xs, [p["val_loss"] for p in run["curve"]], marker="o", label=label)
    acc_ax.set(xlabel="training wall time, min (from launch)", ylabel="validation token accuracy")
    loss_ax.set(xlabel="training wall time, min (from launch)", ylabel="validation cross-entropy")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Time to accuracy, {minutes:g} min budget each, same data and model size")
    fig.tight_layout()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    fig.savefig(temporary, dpi=110)
    plt.close(fig)
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
