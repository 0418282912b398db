"""`renovo evaluate`: score predictions (mzTab or CSV) against labelled spectra."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        help="score predictions (mzTab/CSV) against labelled spectra with the field's standard metrics",
        description="Join rank-1 predictions to the labelled spectra of --labels by file and spectrum index, "
        "print the standard metrics (amino-acid precision/recall with 0.1 Da residue and 0.5 Da prefix "
        "tolerances, peptide recall/precision, precision-coverage AUC, I/L K/Q F/M[Oxidation] confusions) "
        "and write metrics.json, precision_coverage.png, accuracy_by_length.png and evaluate.log; for scores that are "
        "probabilities (renovo's reranked output) also the calibration error, a reliability diagram (reliability.png) "
        "and estimated vs actual FDR at the 1%%, 5%% and 10%% q-value thresholds. Reads renovo and Casanovo "
        "mzTab and renovo and InstaNovo CSV, so the three tools are scored by one implementation.",
    )
    parser.add_argument("predictions", metavar="PREDICTIONS", help="predictions: renovo or Casanovo mzTab, renovo or InstaNovo CSV")
    parser.add_argument("--labels", nargs="+", required=True, metavar="FILE",
                        help="the labelled spectrum files the predictions were made from (files, folders or glob patterns)")
    parser.add_argument("-o", "--out", metavar="DIR", help="folder for metrics.json and precision_coverage.png "
                        "(default: beside PREDICTIONS, named PREDICTIONS_eval)")
    parser.add_argument("--vocabulary", metavar="CONFIG.yaml",
                        help="read the labels with this config's vocabulary (e.g. phospho or plain-C data); "
                        "default: renovo's default vocabulary")
    parser.add_argument("--residue-tolerance-da", type=float, default=0.1, help="residue mass tolerance, Da (default 0.1)")
    parser.add_argument("--prefix-tolerance-da", type=float, default=0.5, help="prefix mass tolerance, Da (default 0.5)")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def output_dir(args) -> "Path":
    from pathlib import Path

    return Path(args.out) if args.out else Path(args.predictions).with_name(Path(args.predictions).stem + "_eval")


def run(args: argparse.Namespace) -> int:
    from renovo.commands.runlog import command_log

    # Held in memory until the outputs are written: a refused run leaves no folder behind.
    with command_log(None, args) as log:
        return _run(args, log)


def _run(args: argparse.Namespace, log) -> int:
    from pathlib import Path

    from renovo.data import SkipCounter, expand_inputs, read_spectra
    from renovo.errors import RenovoError
    from renovo.evaluate import evaluate_peptides, format_table, join_predictions, read_predictions, write_report
    from renovo.evaluate.io import scoring_vocabulary
    from renovo.files import check_outputs

    out = output_dir(args)
    label_files = expand_inputs(args.labels)
    check_outputs([args.predictions, *label_files],
                  [out / "metrics.json", out / "precision_coverage.png", out / "accuracy_by_length.png",
                   out / "reliability.png"], args.force)
    psms = read_predictions(args.predictions)
    if not psms:
        # Zero predictions would score 0 everywhere, which reads as a model that is always wrong.
        raise RenovoError(f"no predictions in {args.predictions} (no PSM rows); nothing to score")
    vocabulary = None
    if args.vocabulary:
        from renovo.chem.vocabulary import vocabulary_from_config
        from renovo.train.config import load_config

        vocabulary = vocabulary_from_config(load_config(args.vocabulary).get("vocabulary"))
    scoring = scoring_vocabulary(vocabulary)
    skips = SkipCounter()
    labels: dict[str, dict[int, str | None]] = {}
    scans: dict[str, dict[str, int]] = {}
    origin: dict[tuple[str, int], str] = {}
    for path in label_files:
        for record in read_spectra(path, skips=skips, vocabulary=vocabulary):
            # Spectra are keyed by the file they were first read from (a Parquet keeps its sources).
            source = str(Path(record.source_file or path).resolve())
            key = (source, record.index)
            if key in origin:
                raise RenovoError(f"spectrum {record.index} of {source} appears twice in the label files "
                                  f"({origin[key]} and {path}); each spectrum may be labelled once")
            origin[key] = str(path)
            labels.setdefault(source, {})[record.index] = record.peptide
            if record.scan is not None:
                scans.setdefault(source, {}).setdefault(str(record.scan), record.index)
    predictions, targets, scores, info = join_predictions(psms, labels, scans, vocabulary)
    if not any(t is not None for t in targets):
        raise RenovoError(f"no labelled spectra in {', '.join(args.labels)}")
    if psms and info["predictions_without_labelled_spectrum"] == len(psms):
        # All-zero metrics would look like a very bad model; it is a mismatch of files.
        raise RenovoError(f"none of the {len(psms)} predictions in {args.predictions} matches a labelled spectrum "
                          f"of {', '.join(args.labels)} (joined on file name and spectrum index); were the "
                          f"predictions made from these files?")
    metrics = evaluate_peptides(
        predictions, targets, scores, return_curve=True, vocabulary=scoring,
        residue_tolerance_da=args.residue_tolerance_da, prefix_tolerance_da=args.prefix_tolerance_da,
    )
    metrics.update(info)
    metrics["predictions_file"] = str(Path(args.predictions).resolve())
    metrics["label_files"] = list(labels)
    metrics["label_skips"] = skips.as_dict()
    metrics["tolerances_da"] = {"residue": args.residue_tolerance_da, "prefix": args.prefix_tolerance_da}
    log.attach(out / "evaluate.log")
    written = write_report(metrics, out, title=Path(args.predictions).name, predictions=predictions, targets=targets,
                           vocabulary=scoring)
    print(format_table(metrics))
    if info["predictions_without_labelled_spectrum"]:
        print(f"note: {info['predictions_without_labelled_spectrum']} prediction(s) matched no labelled spectrum")
    if info["predictions_unreadable"]:
        print(f"note: {info['predictions_unreadable']} prediction(s) could not be read (residues or modifications "
              f"renovo does not know, e.g. {info['predictions_unreadable_example']!r}) and count as wrong")
    if skips.total:
        print(f"note: {skips.total} spectra of the label files were skipped by the reader:\n{skips.report()}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
