"""`renovo adapt`: adapt a trained model to unlabelled spectra with physics-checked pseudo-labels."""
from __future__ import annotations

import argparse

from renovo.decode.config import DEFAULTS, RERANK_BEAM
from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "adapt",
        help="adapt a model to your unlabelled spectra: decode, keep what the physics checks accept, fine-tune, repeat",
        description="Label-free adaptation. Each round decodes the spectra with the current model (reranked when "
        "the checkpoint has a scorer), keeps the rank-1 predictions whose precursor fits the tolerance and whose "
        "Gaussian spectral cosine and matched-ion fraction (and calibrated probability, with a scorer) pass the "
        "thresholds, and fine-tunes on them with simulated spectra mixed into every batch. --signal pseudo trains "
        "on the accepted predictions as labels; --signal physics trains them with the physics losses alone (no "
        "cross-entropy on your spectra). Labels in the files, if any, are never used for training: each round "
        "only counts how many accepted predictions they confirm. Writes OUT/round-N/ (a fine-tune run folder "
        "each), OUT/adapt.json and OUT/adapt.log.",
    )
    parser.add_argument("files", nargs="+", metavar="SPECTRA", help="spectrum files, folders or glob patterns")
    parser.add_argument("--model", required=True, metavar="CKPT", help="the renovo checkpoint to adapt")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--rounds", type=int, default=3, help="decode-and-fine-tune rounds (default 3)")
    parser.add_argument("--signal", choices=["pseudo", "physics"], default="pseudo",
                        help="train on the accepted predictions as labels (pseudo, default) or with the physics "
                        "losses only (physics)")
    parser.add_argument("--mix-simulated", type=float, default=0.5,
                        help="share of simulated spectra in every batch, against forgetting (default 0.5)")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the accepted spectra per round, early stopping on held-out ones (default 20)")
    parser.add_argument("--beam", type=int, default=RERANK_BEAM, help=f"beam size of the decoding (default {RERANK_BEAM})")
    parser.add_argument("--precursor-tolerance-ppm", type=float, default=DEFAULTS.precursor_tolerance_ppm,
                        help=f"default {DEFAULTS.precursor_tolerance_ppm:g}")
    parser.add_argument("--min-cosine", type=float, default=0.3,
                        help="least Gaussian spectral cosine (σ 0.01 Da) to accept (default 0.3)")
    parser.add_argument("--min-ion-fraction", type=float, default=0.3,
                        help="least fraction of b/y ions matched to accept (default 0.3)")
    parser.add_argument("--min-probability", type=float, default=0.3,
                        help="least calibrated probability to accept, when a scorer exists (default 0.3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the fine-tunes")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from renovo.commands.runlog import command_log

    with command_log(None, args) as log:
        return _run(args, log)


def _run(args: argparse.Namespace, log) -> int:
    import dataclasses
    from pathlib import Path

    from renovo.data import expand_inputs, read_spectra
    from renovo.decode import CandidateScorer, DecodeConfig, scorer_path
    from renovo.errors import RenovoError
    from renovo.evaluate.callback import build_callbacks
    from renovo.experiments.adapt import AcceptanceRule, AdaptSettings, adapt
    from renovo.files import check_outputs, write_json
    from renovo.model.checkpoint import load_model

    if not Path(args.model).is_file():
        raise RenovoError(f"no checkpoint {args.model}")
    if args.rounds < 1 or args.epochs < 1:
        raise RenovoError("--rounds and --epochs must be ≥ 1")
    if not 0 <= args.mix_simulated < 1:
        raise RenovoError(f"--mix-simulated must be in [0, 1), not {args.mix_simulated}")
    out = Path(args.out)
    files = expand_inputs(args.files)
    check_outputs([*files, args.model], [out / "adapt.json"], args.force)
    if out.is_dir() and any(out.glob("round-*")) and not args.force:
        raise RenovoError(f"{out} holds an earlier adaptation (round-*/); use --force or another --out")
    log.attach(out / "adapt.log")
    vocabulary = load_model(args.model).tokenizer.vocabulary
    records = [r for f in files for r in read_spectra(f, vocabulary=vocabulary)]
    if not records:
        raise RenovoError(f"no spectra in {', '.join(map(str, files))}")
    beside = scorer_path(args.model)
    scorer = CandidateScorer.load(beside, checkpoint=args.model) if beside.is_file() else None
    settings = AdaptSettings(
        rounds=args.rounds, signal=args.signal, mix_simulated=args.mix_simulated, max_epochs=args.epochs,
        seed=args.seed, rule=AcceptanceRule(args.min_cosine, args.min_ion_fraction, args.min_probability),
        decode=DecodeConfig.from_keys({"beam": ("--beam", args.beam),
                                       "precursor_tolerance_ppm": ("--precursor-tolerance-ppm",
                                                                   args.precursor_tolerance_ppm)}))
    print(f"adapting {args.model} to {len(records)} spectra of {len(files)} file(s): {args.rounds} round(s), signal "
          f"{args.signal}" + (f", first round reranked with {beside}" if scorer is not None else ""))
    rounds = adapt(args.model, records, out, settings, scorer=scorer, extra_callbacks=build_callbacks, force=args.force)
    record = {"model": str(Path(args.model).resolve()), "files": [str(f) for f in files], "spectra": len(records),
              "signal": args.signal, "rule": dataclasses.asdict(settings.rule), "mix_simulated": args.mix_simulated,
              "epochs": args.epochs, "seed": args.seed, "rounds": [dataclasses.asdict(r) for r in rounds]}
    write_json(out / "adapt.json", record)
    final = next((r.checkpoint for r in reversed(rounds) if r.checkpoint), None)
    print(f"wrote {out / 'adapt.json'}" + (f"; the adapted model: {final}" if final else "; no round trained"))
    return 0
