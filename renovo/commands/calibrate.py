"""`renovo calibrate`: fit the candidate scorer that reranks `renovo sequence`'s beam and calibrates its scores."""
from __future__ import annotations

import argparse

from renovo.decode.config import DEFAULTS, RERANK_BEAM
from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit the reranker / calibrated confidence of a checkpoint (simulated spectra, or your labelled results)",
        description="Decode labelled spectra the model never trained on, score every beam candidate on how well it "
        "explains its spectrum (Gaussian spectral cosine, matched b/y ions, explained intensity, ion ladder, precursor "
        "error, the model's log-probabilities), and fit P(candidate is right): a logistic regression calibrated by "
        "isotonic regression (scikit-learn). Writes CKPT.scorer.json beside the checkpoint (renovo sequence then "
        "reranks with it) and prints an out-of-fold check: recall before/after reranking, calibration error, "
        "estimated vs actual FDR at 1/5/10%% q-value. Without --labels the spectra are simulated with the model's "
        "own simulator settings on a seed stream training never used.",
    )
    parser.add_argument("--model", required=True, metavar="CKPT", help="renovo checkpoint (.ckpt)")
    parser.add_argument("--labels", nargs="+", metavar="FILE",
                        help="labelled spectra to fit on (MGF with SEQ=, or spectra with a peprec / label table "
                        "beside them, e.g. database-search results); default: simulated spectra")
    parser.add_argument("--spectra", type=int, default=2000,
                        help="simulated spectra to fit on (default 2000; ignored with --labels)")
    parser.add_argument("--beam", type=int, default=RERANK_BEAM, help=f"beam size of the search to calibrate (default {RERANK_BEAM})")
    parser.add_argument("--precursor-tolerance-ppm", type=float, default=DEFAULTS.precursor_tolerance_ppm,
                        help=f"as renovo sequence (default {DEFAULTS.precursor_tolerance_ppm:g})")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size,
                        help=f"spectra per batch (default {DEFAULTS.batch_size})")
    parser.add_argument("-o", "--output", metavar="SCORER.json", help="where to write (default CKPT.scorer.json)")
    parser.add_argument("--seed", type=int, default=None, help="simulation seed (default: the model's seed + an offset)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from renovo.commands.runlog import command_log

    with command_log(None, args) as log:
        return _run(args, log)


def fit_and_write(model, checkpoint, records, total, settings, source: str, output, progress: bool = True) -> str:
    """Fit the scorer of ``checkpoint`` on ``records`` and write it to ``output``; the out-of-fold check's text."""
    from tqdm import tqdm

    from renovo.evaluate.calibrate import calibrate, describe_check

    with tqdm(total=total, unit="spectra", desc="calibrating", dynamic_ncols=True, disable=not progress) as bar:
        scorer, check = calibrate(model, str(checkpoint), records, settings, source, on_batch=bar.update)
    scorer.save(output)
    return describe_check(check)


def _run(args: argparse.Namespace, log) -> int:
    from pathlib import Path

    import torch

    from renovo.commands.sequence import resolve_device
    from renovo.data import expand_inputs, read_spectra
    from renovo.decode import DecodeConfig, scorer_path
    from renovo.errors import RenovoError
    from renovo.evaluate.calibrate import simulated_records
    from renovo.files import check_outputs
    from renovo.model.checkpoint import load_model

    if not Path(args.model).is_file():
        raise RenovoError(f"no checkpoint {args.model}")
    if args.spectra < 1:
        raise RenovoError(f"--spectra must be ≥ 1, not {args.spectra}")
    settings = DecodeConfig.from_keys({"beam": ("--beam", args.beam), "batch_size": ("--batch-size", args.batch_size),
                                       "precursor_tolerance_ppm": ("--precursor-tolerance-ppm",
                                                                   args.precursor_tolerance_ppm)})
    output = Path(args.output) if args.output else scorer_path(args.model)
    files = expand_inputs(args.labels) if args.labels else []
    check_outputs([*files, args.model], [output], args.force)
    log.attach(output.with_suffix(".log"))
    model = load_model(args.model, map_location=resolve_device(args.device))
    torch.manual_seed(0)
    if files:
        records = (r for f in files for r in read_spectra(f, vocabulary=model.tokenizer.vocabulary))
        source, total = "labelled files: " + ", ".join(str(f) for f in files), None
    else:
        records = simulated_records(model, args.spectra, args.seed)
        source, total = f"{args.spectra} simulated spectra", args.spectra
    text = fit_and_write(model, args.model, records, total, settings, source, output, not args.no_progress)
    print(text)
    print(f"wrote {output} (fitted on {source}; renovo sequence --model {args.model} now reranks with it)")
    return 0
