"""`renovo bench rerank`: the plain beam against the reranked one, same model, same spectra, side by side.

Per data set (each labelled file, and simulated spectra the model and the scorer never saw):

- ``beam5``: beam 5 with the precursor-mass constraint, the model's rank-1 by its own score (what
  `renovo sequence --beam 5 --no-rerank` writes);
- ``beamB_reranked``: beam B (10, 20 by default) with every candidate scored by a scorer fitted on simulated
  spectra at that beam (`renovo.evaluate.calibrate`), the most probable candidate reported;
- ``beam10_refit``: the beam-10 candidates scored by a scorer refitted on one labelled file, tested on the
  others (each file fits once).

Reported: peptide recall (every labelled spectrum), precision at 50% coverage, precision–coverage AUC,
expected calibration error, estimated vs actual FDR at the 1/5/10% q-value thresholds, and spectra/s of
the search (decoding, and for reranking the features and the scorer), each condition timed in alternation
on the same spectra, best of ``--repeats``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DEFAULT_FILES = ("casanovo_mouse_128.mgf", "massivekb_500.mgf", "winnow_hela_profile_100.mgf")
#: Added to the model's seed for the simulated test spectra (calibration uses + 2,000,003).
TEST_SEED_OFFSET = 3_000_007


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="labelled spectrum files (default: the shared real files in ../shared/data/real)")
    parser.add_argument("--model", required=True, metavar="CKPT", help="renovo checkpoint")
    parser.add_argument("--beams", type=int, nargs="+", default=[10, 20], help="reranked beam sizes (default 10 20)")
    parser.add_argument("--fit-spectra", type=int, default=2000, help="simulated spectra to fit each scorer on")
    parser.add_argument("--simulated", type=int, default=500, help="simulated test spectra (0: none)")
    parser.add_argument("--repeats", type=int, default=2, help="timing rounds per condition (best kept)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results.json, report.md, plots")
    parser.add_argument("-f", "--force", action="store_true", help="overwrite an earlier report in DIR")


def _metrics(right: np.ndarray, scores: np.ndarray, n_labelled: int) -> dict:
    """Recall, precision at 50% coverage, AUC, calibration of one condition's rank-1 PSMs."""
    from renovo.evaluate.metrics import area_under_curve, calibration, precision_coverage

    correct = list(right) + [False] * (n_labelled - len(right))  # spectra without a candidate count as wrong
    coverage, precision = precision_coverage(correct, list(scores) + [None] * (n_labelled - len(right)))
    half = precision[np.searchsorted(coverage, 0.5)] if len(coverage) and coverage[-1] >= 0.5 else float("nan")
    result = {"peptide_recall": float(np.sum(right) / max(n_labelled, 1)), "precision_at_half_coverage": float(half),
              "auc": area_under_curve(coverage, precision), "spectra": int(n_labelled),
              "curve": {"coverage": coverage.tolist(), "precision": precision.tolist()}}
    if len(scores) and np.all((scores >= 0) & (scores <= 1)):
        result["calibration"] = calibration(right, scores)
    return result


def _plain(table) -> tuple[np.ndarray, np.ndarray]:
    """(right, model score) of each spectrum's beam rank-1 candidate."""
    first = table.beam_rank == 0
    return table.correct[first], np.exp(table.features[first, _feature("mean_logp")])


def _feature(name: str) -> int:
    from renovo.decode import FEATURE_NAMES

    return FEATURE_NAMES.index(name)


def _time_search(model, records, settings, repeats: int) -> float:
    """Best wall time over ``repeats`` of the search `renovo sequence` runs (reranking included with a scorer)."""
    from renovo.decode import Decoder

    decoder = Decoder(model, settings)
    collate = decoder.collate
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(0, len(records), settings.batch_size):
            decoder.candidates(collate(records[i:i + settings.batch_size]))
        best = min(best, time.perf_counter() - started)
    return best


def _datasets(args, model) -> dict[str, list]:
    from renovo.data import read_spectra
    from renovo.data.simulate import simulate_records
    from renovo.train.config import run_config_of, simulator_config

    files = [Path(f) for f in args.files] or [Path("../shared/data/real") / name for name in DEFAULT_FILES]
    data = {}
    for path in files:
        if not path.is_file():
            raise SystemExit(f"renovo bench rerank: no file {path}")
        data[path.name] = [r for r in read_spectra(path, vocabulary=model.tokenizer.vocabulary) if r.peptide]
    if args.simulated:
        config = run_config_of(model)
        data["simulated"] = list(simulate_records(args.simulated, config.seed + TEST_SEED_OFFSET,
                                                  simulator_config(config), vocabulary=model.tokenizer.vocabulary))
    return data


# long function: the bench's one pass — fit, decode every condition, time, summarise; split, each part would
# take the same half-dozen tables and settings as arguments.
def run_bench(args: argparse.Namespace) -> int:
    import torch

    from renovo.decode import DecodeConfig
    from renovo.errors import RenovoError
    from renovo.evaluate.calibrate import calibrate, fit_scorer, labelled_candidates, scored_top, simulated_records
    from renovo.model.checkpoint import load_model

    out = Path(args.out)
    if (out / "results.json").exists() and not args.force:
        raise SystemExit(f"renovo bench rerank: {out / 'results.json'} exists (use --force)")
    torch.manual_seed(0)
    model = load_model(args.model)
    data = _datasets(args, model)
    results: dict = {"model": str(Path(args.model).resolve()), "datasets": {k: len(v) for k, v in data.items()},
                     "beams": args.beams, "fit_spectra": args.fit_spectra, "conditions": {}, "scorers": {}}
    plain = DecodeConfig(batch_size=args.batch_size)  # beam 5, what `renovo sequence --no-rerank` runs
    tables = {(name, 5): labelled_candidates(model, records, plain) for name, records in data.items()}
    scorers = {}
    for beam in args.beams:
        settings = DecodeConfig(beam=beam, batch_size=args.batch_size)
        print(f"fitting the beam-{beam} scorer on {args.fit_spectra} simulated spectra", flush=True)
        scorers[beam], check = calibrate(model, args.model, simulated_records(model, args.fit_spectra), settings,
                                         f"{args.fit_spectra} simulated spectra")
        results["scorers"][beam] = scorers[beam].fitted_on
        for name, records in data.items():
            tables[(name, beam)] = labelled_candidates(model, records, settings)
    for name, records in data.items():
        conditions = results["conditions"].setdefault(name, {})
        right, score = _plain(tables[(name, 5)])
        conditions["beam5"] = _metrics(right, score, len(records))
        conditions["beam5"]["seconds"] = _time_search(model, records, plain, args.repeats)
        for beam in args.beams:
            p, right, _ = scored_top(tables[(name, beam)], scorers[beam])
            key = f"beam{beam}_reranked"
            conditions[key] = _metrics(right, p, len(records))
            settings = DecodeConfig(beam=beam, batch_size=args.batch_size, scorer=scorers[beam])
            conditions[key]["seconds"] = _time_search(model, records, settings, args.repeats)
        for key, condition in conditions.items():
            condition["spectra_per_s"] = len(records) / condition["seconds"] if condition.get("seconds") else None
        print(f"{name}: " + ", ".join(f"{k} recall {c['peptide_recall']:.3f}" for k, c in conditions.items()), flush=True)
    real = [name for name in data if name != "simulated"]
    if 10 in args.beams and len(real) > 1:
        for fit_on in real:
            try:
                scorer = fit_scorer(tables[(fit_on, 10)], args.model, fit_on)
            except RenovoError as error:  # too few right candidates in that file to fit on
                results.setdefault("refit_skipped", {})[fit_on] = str(error)
                continue
            for name in real:
                if name != fit_on:
                    p, right, _ = scored_top(tables[(name, 10)], scorer)
                    results["conditions"][name][f"beam10_refit_on_{fit_on}"] = _metrics(right, p, len(data[name]))
    results["targets"] = _targets(results, real)
    write_outputs(results, out, args)
    print(f"wrote {out / 'report.md'}")
    return 0


def _targets(results: dict, real: list[str]) -> dict:
    """The three targets: recall lift on the real files, AUC, FDR estimate at 10% and throughput."""
    c = results["conditions"]
    beam = min(results["beams"])
    key = f"beam{beam}_reranked"
    right = {k: sum(c[f][k]["peptide_recall"] * c[f][k]["spectra"] for f in real) for k in ("beam5", key)}
    fdr_gap = {}
    for f in real:
        row = next((r for r in c[f][key].get("calibration", {}).get("fdr", []) if r["q_threshold"] == 0.10), None)
        if row and row["kept"]:
            fdr_gap[f] = abs(row["estimated_fdr"] - row["actual_fdr"])
    seconds = {k: sum(c[f][k]["seconds"] for f in real) for k in ("beam5", key)}
    return {"condition": key, "right_beam5": right["beam5"], "right_reranked": right[key],
            "recall_lift_relative": right[key] / right["beam5"] - 1 if right["beam5"] else float("nan"),
            "auc_gain_mean": float(np.mean([c[f][key]["auc"] - c[f]["beam5"]["auc"] for f in real])),
            "fdr_gap_at_10pct": fdr_gap,
            "throughput_ratio": seconds["beam5"] / seconds[key] if seconds[key] else float("nan")}


def write_outputs(results: dict, out: Path, args) -> None:
    """results.json, report.md and one precision–coverage figure per data set."""
    import shlex
    import sys

    from renovo.bench.rerank_report import format_report, plot_curves
    from renovo.files import write_text

    out.mkdir(parents=True, exist_ok=True)
    results["command"] = "renovo bench rerank " + shlex.join(sys.argv[3:] if sys.argv[1:3] == ["bench", "rerank"]
                                                             else [])
    write_text(out / "results.json", json.dumps(results, indent=1, default=float) + "\n")
    plot_curves(results, out / "precision_coverage.png")
    write_text(out / "report.md", format_report(results))


__all__ = ["add_arguments", "run_bench"]
