"""`renovo plot`: learning curves, a mirror plot, precision–coverage, the precursor mass error."""
from __future__ import annotations

import argparse

from renovo.decode.config import DEFAULTS


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plot",
        help="plots: learning curves of a run, mirror plot, amino-acid precision–coverage, mass error",
        description="Draw one PNG: `curves RUN` (losses, accuracies and schedule against step, from the "
        "run's metrics.csv), `mirror PREDICTIONS --spectra FILE` (a prediction's b/y ions against its "
        "spectrum, and against the label when the file has one), `coverage PREDICTIONS --labels FILE` "
        "(amino-acid precision–coverage, residues ranked by their scores) or `mass-error PREDICTIONS` "
        "(histogram of the isotope-corrected precursor mass error). PREDICTIONS: renovo or Casanovo mzTab, "
        "renovo or InstaNovo CSV.",
    )
    kinds = parser.add_subparsers(dest="plot", metavar="PLOT", required=True)
    curves = kinds.add_parser("curves", help="learning curves of a run folder")
    curves.add_argument("run", metavar="RUN", help="run folder (holds metrics.csv)")
    curves.add_argument("-o", "--output", metavar="OUT.png", help="default RUN/learning_curves.png")
    mirror = kinds.add_parser("mirror", help="annotated mirror plot of one prediction against its spectrum")
    mirror.add_argument("predictions", metavar="PREDICTIONS")
    mirror.add_argument("--spectra", nargs="+", required=True, metavar="FILE", help="the spectrum file(s) predicted")
    mirror.add_argument("--index", type=int, default=None,
                        help="0-based index of the spectrum in its file (default: the best-scored prediction)")
    mirror.add_argument("-o", "--output", metavar="OUT.png", help="default PREDICTIONS_mirror_<index>.png")
    coverage = kinds.add_parser("coverage", help="amino-acid-level precision–coverage curve")
    coverage.add_argument("predictions", metavar="PREDICTIONS")
    coverage.add_argument("--labels", nargs="+", required=True, metavar="FILE", help="labelled spectrum files")
    coverage.add_argument("-o", "--output", metavar="OUT.png", help="default PREDICTIONS_aa_coverage.png")
    mass = kinds.add_parser("mass-error", help="histogram of the precursor mass error of rank-1 predictions")
    mass.add_argument("predictions", metavar="PREDICTIONS")
    tolerance = DEFAULTS.precursor_tolerance_ppm
    mass.add_argument("--tolerance-ppm", type=float, default=tolerance,
                      help=f"tolerance marked on the plot (default {tolerance:g}, renovo sequence's)")
    mass.add_argument("-o", "--output", metavar="OUT.png", help="default PREDICTIONS_mass_error.png")
    parser.set_defaults(handler=run)
    return parser


def _default(predictions: str, suffix: str):
    from pathlib import Path

    path = Path(predictions)
    return path.with_name(f"{path.stem}_{suffix}.png")


def _labels(files):
    """({source file: {index: label}}, {source file: {scan: index}}) of labelled spectrum files."""
    from pathlib import Path

    from renovo.data import expand_inputs, read_spectra

    labels: dict[str, dict[int, str | None]] = {}
    scans: dict[str, dict[str, int]] = {}
    records = {}
    for path in expand_inputs(files):
        for record in read_spectra(path):
            source = str(Path(record.source_file or path).resolve())
            labels.setdefault(source, {})[record.index] = record.peptide
            records[(source, record.index)] = record
            if record.scan is not None:
                scans.setdefault(source, {}).setdefault(str(record.scan), record.index)
    return labels, scans, records


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from renovo.errors import RenovoError

    if args.plot == "curves":
        from renovo.train.curves import plot_learning_curves

        output = Path(args.output) if args.output else Path(args.run) / "learning_curves.png"
        print(f"wrote {plot_learning_curves(args.run, output)}")
        return 0

    from renovo.evaluate import read_predictions

    psms = read_predictions(args.predictions)
    if args.plot == "mass-error":
        from renovo.evaluate.plots import plot_mass_error

        output = Path(args.output) if args.output else _default(args.predictions, "mass_error")
        path, counts = plot_mass_error(psms, output, args.tolerance_ppm, title=Path(args.predictions).name)
        computed = (f" ({counts['computed_from_mz']} computed from exp/calc m/z, isotope-corrected)"
                    if counts["computed_from_mz"] else "")
        outside = (f"; {counts['outside_axis']} outside the plotted ±{counts['axis_ppm']:g} ppm"
                   if counts.get("outside_axis") else "")
        print(f"{counts['predictions']} rank-1 predictions with a mass error{computed}, "
              f"{counts.get('within_tolerance', 0)} within {args.tolerance_ppm:g} ppm{outside}; wrote {path}")
        return 0

    from renovo.chem.vocabulary import reading_vocabulary
    from renovo.evaluate import join_psms

    labels, scans, records = _labels(args.spectra if args.plot == "mirror" else args.labels)
    pairs, _ = join_psms(psms, labels, scans)
    keys = [(f, i) for f, spectra in labels.items() for i in spectra]
    vocabulary = reading_vocabulary()
    if args.plot == "coverage":
        from renovo.evaluate.io import peptide_or_none, scoring_vocabulary
        from renovo.evaluate.plots import aa_precision_coverage, plot_aa_precision_coverage

        kept = [(peptide_or_none(p.peptide), t, p.residue_scores) for p, t in pairs if p is not None and t is not None]
        if not kept:
            raise RenovoError("no prediction matches a labelled spectrum")
        coverage, precision = aa_precision_coverage(*zip(*kept), vocabulary=scoring_vocabulary())
        output = Path(args.output) if args.output else _default(args.predictions, "aa_coverage")
        plot_aa_precision_coverage(coverage, precision, output, title=Path(args.predictions).name)
        print(f"{len(coverage)} predicted residues of {len(kept)} labelled spectra; wrote {output}")
        return 0

    from renovo.evaluate.plots import plot_mirror

    candidates = [(key, psm) for key, (psm, _) in zip(keys, pairs) if psm is not None and psm.peptide]
    if args.index is not None:
        candidates = [(key, psm) for key, psm in candidates if key[1] == args.index]
    if not candidates:
        raise RenovoError("no prediction for " + (f"spectrum {args.index}" if args.index is not None else "any spectrum")
                          + f" of {', '.join(args.spectra)}")
    (source, index), psm = max(candidates, key=lambda c: c[1].score if c[1].score == c[1].score else -1.0)
    record = records[(source, index)]
    output = Path(args.output) if args.output else _default(args.predictions, f"mirror_{index}")
    try:
        plot_mirror(record.mz, record.intensity, record.precursor_charge, psm.peptide, output, label=record.peptide,
                    vocabulary=vocabulary, title=f"{Path(source).name} spectrum {index} (score {psm.score:.3f})")
    except ValueError as error:  # a peptide the reading vocabulary cannot express
        raise RenovoError(f"cannot draw {psm.peptide!r}: {error}") from None
    print(f"wrote {output}")
    return 0
