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
        "and write metrics.json and precision_coverage.png.",
    )
    parser.add_argument("predictions", metavar="PREDICTIONS", help="renovo sequence output (.mztab or .csv)")
    parser.add_argument("--labels", nargs="+", required=True, metavar="FILE",
                        help="the labelled spectrum files the predictions were made from")
    parser.add_argument("-o", "--out", metavar="DIR", help="folder for metrics.json and precision_coverage.png "
                        "(default: beside PREDICTIONS, named PREDICTIONS_eval)")
    parser.add_argument("--residue-tolerance-da", type=float, default=0.1, help="residue mass tolerance, Da (default 0.1)")
    parser.add_argument("--prefix-tolerance-da", type=float, default=0.5, help="prefix mass tolerance, Da (default 0.5)")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from renovo.data import SkipCounter, read_spectra
    from renovo.errors import RenovoError
    from renovo.evaluate import evaluate_peptides, format_table, join_predictions, read_predictions, write_report
    from renovo.files import check_outputs

    out = Path(args.out) if args.out else Path(args.predictions).with_name(Path(args.predictions).stem + "_eval")
    check_outputs([args.predictions, *args.labels], [out / "metrics.json", out / "precision_coverage.png"], args.force)
    psms = read_predictions(args.predictions)
    skips = SkipCounter()
    labels: dict[str, dict[int, str | None]] = {}
    for path in args.labels:
        if not Path(path).is_file():
            raise RenovoError(f"no labels file {path}")
        labels[str(Path(path).resolve())] = {r.index: r.peptide for r in read_spectra(path, skips=skips)}
    predictions, targets, scores, info = join_predictions(psms, labels)
    if not any(t is not None for t in targets):
        raise RenovoError(f"no labelled spectra in {', '.join(args.labels)}")
    if psms and info["predictions_without_labelled_spectrum"] == len(psms):
        # All-zero metrics would look like a very bad model; it is a mismatch of files.
        raise RenovoError(f"none of the {len(psms)} predictions in {args.predictions} matches a labelled spectrum "
                          f"of {', '.join(args.labels)} (joined on file name and spectrum index); were the "
                          f"predictions made from these files?")
    metrics = evaluate_peptides(
        predictions, targets, scores, return_curve=True,
        residue_tolerance_da=args.residue_tolerance_da, prefix_tolerance_da=args.prefix_tolerance_da,
    )
    metrics.update(info)
    metrics["predictions_file"] = str(Path(args.predictions).resolve())
    metrics["label_files"] = list(labels)
    metrics["label_skips"] = skips.as_dict()
    metrics["tolerances_da"] = {"residue": args.residue_tolerance_da, "prefix": args.prefix_tolerance_da}
    written = write_report(metrics, out, title=Path(args.predictions).name)
    print(format_table(metrics))
    if info["predictions_without_labelled_spectrum"]:
        print(f"note: {info['predictions_without_labelled_spectrum']} prediction(s) matched no labelled spectrum")
    if skips.total:
        print(f"note: {skips.total} spectra of the label files were skipped by the reader:\n{skips.report()}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
