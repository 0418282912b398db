"""`renovo bench own-data`: what a user's own spectra buy a simulation-trained model, honestly split.

- **Fine-tuning, leave one file out**: for each labelled file, fine-tune on the others (`renovo.train.finetune`,
  a quarter of every batch simulated) and score the left-out file; one run per seed.
- **Label-free adaptation**: for each file, adapt on its spectra with their labels hidden (`renovo adapt`'s
  rounds, `renovo.experiments.adapt`), once with pseudo-labels and once with the physics losses alone, and score
  the same spectra with the labels; one run per seed.

Every model, before and after, is scored the same way: beam 5 with the precursor-mass constraint and the
model's own score (`renovo sequence --beam 5 --no-rerank`): peptide recall, amino-acid precision and the
precision–coverage AUC; and its teacher-forced token accuracy on a fixed simulated validation set (what
fine-tuning may make it forget).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DEFAULT_FILES = ("casanovo_mouse_128.mgf", "massivekb_500.mgf", "winnow_hela_profile_100.mgf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="labelled spectrum files (default: the shared real files)")
    parser.add_argument("--model", required=True, metavar="CKPT", help="the simulation-trained checkpoint")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for results.json, report.md and the runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip", nargs="*", default=[], choices=["finetune", "adapt"], help="parts to leave out")
    parser.add_argument("--signals", nargs="+", default=["pseudo", "physics"], choices=["pseudo", "physics"])
    parser.add_argument("--rounds", type=int, default=3, help="adaptation rounds (default 3)")
    parser.add_argument("--simulated-val", type=int, default=512, help="simulated spectra for the forgetting check")
    parser.add_argument("-f", "--force", action="store_true", help="redo runs already in DIR")


def score_model(checkpoint, records, simulated) -> dict:
    """Beam-5 peptide recall, AA precision and AUC on labelled ``records``; teacher-forced token accuracy on
    ``simulated``."""
    import torch

    from renovo.decode import DecodeConfig, Decoder
    from renovo.decode.pipeline import collator_for
    from renovo.evaluate.metrics import evaluate_peptides
    from renovo.model.checkpoint import load_model
    from renovo.train.objective import token_accuracy

    model = load_model(checkpoint)
    predictions, scores = [], []
    for _, ranked in Decoder(model, DecodeConfig()).decode(records):  # beam 5, the mass constraint, no reranking
        for candidates in ranked:
            predictions.append(candidates[0][0].peptide if candidates else None)
            scores.append(candidates[0][0].score if candidates else None)
    metrics = evaluate_peptides(predictions, [r.peptide for r in records], scores, vocabulary=model.tokenizer.vocabulary)
    collate = collator_for(model)
    correct = total = 0.0
    with torch.no_grad():
        for start in range(0, len(simulated), 64):
            batch = collate(simulated[start:start + 64])
            real = (batch["tokens"] != 0).sum()
            correct += float(token_accuracy(model(batch), batch["tokens"])) * float(real)
            total += float(real)
    return {"peptide_recall": metrics["peptide_recall"], "aa_precision": metrics["aa_precision"],
            "auc": metrics.get("auc", 0.0), "spectra": metrics["n_spectra"],
            "simulated_token_acc": correct / max(total, 1.0)}


def _simulated_validation(model_path, n: int) -> list:
    from renovo.data.simulate import simulate_records
    from renovo.model.checkpoint import load_model
    from renovo.train.config import run_config_of, simulator_config, validation_seed

    model = load_model(model_path)
    config = run_config_of(model)
    return list(simulate_records(n, validation_seed(config), simulator_config(config),
                                 vocabulary=model.tokenizer.vocabulary))


def _cached(path: Path, force: bool, compute) -> dict:
    """``compute()``'s result, kept in ``path``: a rerun of the bench reads it instead of training again."""
    from renovo.files import write_json

    if path.is_file() and not force:
        return json.loads(path.read_text())
    result = compute()
    write_json(path, result)
    return result


def _finetune_left_out(args, data, name, seed, simulated, out) -> dict:
    """Fine-tune on every file but ``name`` and score ``name``."""
    from renovo.evaluate.callback import build_callbacks
    from renovo.experiments.adapt import best_checkpoint
    from renovo.train.finetune import finetune

    train = [r for other, records in data.items() if other != name for r in records]
    started = time.perf_counter()
    run = finetune(args.model, train, run_dir=out / "runs" / f"finetune-without-{Path(name).stem}-seed{seed}",
                   overrides=[{"seed": seed, "data": {"mix_simulated": 0.25}, "trainer": {"progress_bar": False}}],
                   extra_callbacks=build_callbacks, force=True)
    best = best_checkpoint(run)
    return {**score_model(best, data[name], simulated), "seconds": time.perf_counter() - started,
            "checkpoint": str(best)}


def _adapt_on(args, records, name, signal, seed, simulated, before, out) -> dict:
    """Adapt on ``records`` with their labels hidden and score them with the labels."""
    import dataclasses

    from renovo.decode import RERANK_BEAM, DecodeConfig
    from renovo.evaluate.callback import build_callbacks
    from renovo.experiments.adapt import AdaptSettings, adapt

    started = time.perf_counter()
    settings = AdaptSettings(rounds=args.rounds, signal=signal, seed=seed, decode=DecodeConfig(beam=RERANK_BEAM),
                             overrides=[{"trainer": {"progress_bar": False}}])
    rounds = adapt(args.model, records, out / "runs" / f"adapt-{signal}-{Path(name).stem}-seed{seed}", settings,
                   extra_callbacks=build_callbacks, force=True)
    final = next((r.checkpoint for r in reversed(rounds) if r.checkpoint), None)
    return {**(score_model(final, records, simulated) if final else before), "trained": final is not None,
            "rounds": [dataclasses.asdict(r) for r in rounds], "seconds": time.perf_counter() - started}


def run_bench(args: argparse.Namespace) -> int:
    from renovo.bench.own_data_report import write_outputs
    from renovo.data import read_spectra
    from renovo.model.checkpoint import load_model

    out = Path(args.out)
    files = [Path(f) for f in args.files] or [Path("../shared/data/real") / name for name in DEFAULT_FILES]
    vocabulary = load_model(args.model).tokenizer.vocabulary
    data = {f.name: [r for r in read_spectra(f, vocabulary=vocabulary) if r.peptide] for f in files}
    simulated = _simulated_validation(args.model, args.simulated_val)
    results: dict = {"model": str(Path(args.model).resolve()), "files": {k: len(v) for k, v in data.items()},
                     "seeds": args.seeds, "before": {}, "finetune": {}, "adapt": {}}
    cache = out / "cache"
    for name, records in data.items():
        results["before"][name] = _cached(cache / f"before-{name}.json", args.force,
                                          lambda: score_model(args.model, records, simulated))
        print(f"before, {name}: {results['before'][name]}", flush=True)
    for seed in args.seeds:
        for name, records in data.items():
            if "finetune" not in args.skip and len(data) > 1:
                result = _cached(cache / f"finetune-{name}-seed{seed}.json", args.force,
                                 lambda: _finetune_left_out(args, data, name, seed, simulated, out))
                results["finetune"].setdefault(name, {})[str(seed)] = result
                print(f"fine-tuned without {name}, seed {seed}: recall {result['peptide_recall']:.3f}", flush=True)
            for signal in [] if "adapt" in args.skip else args.signals:
                result = _cached(cache / f"adapt-{signal}-{name}-seed{seed}.json", args.force,
                                 lambda: _adapt_on(args, records, name, signal, seed, simulated,
                                                   results["before"][name], out))
                results["adapt"].setdefault(signal, {}).setdefault(name, {})[str(seed)] = result
                print(f"adapted ({signal}) on {name}, seed {seed}: recall {result['peptide_recall']:.3f}", flush=True)
    write_outputs(results, out, args)
    print(f"wrote {out / 'report.md'}")
    return 0


__all__ = ["add_arguments", "run_bench", "score_model"]
