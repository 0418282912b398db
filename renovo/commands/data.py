"""`renovo data stats`: statistics of spectrum files side by side."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("data", help="inspect spectrum files (renovo data stats FILE…)",
                                   description="Inspect spectrum files.")
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    stats = commands.add_parser(
        "stats",
        help="spectra, label rate, peaks, charges, b/y intensity and coverage, noise peaks — a column per file",
        description="Statistics of spectrum files (after centroiding, before preprocessing), one column per "
        "file. Annotation: b/y at charge 1 (and 2 for precursor charge ≥ 3), ±0.02 Da.",
    )
    stats.add_argument("files", nargs="*", help="spectrum files (.mgf, .mzML, .parquet)")
    stats.add_argument("--simulate", type=int, metavar="N", help="add a column of N freshly simulated spectra")
    stats.add_argument("--seed", type=int, default=0, help="seed of --simulate (default 0)")
    stats.add_argument("--fasta", help="FASTA for --simulate peptides")
    stats.add_argument("--labels", help="label table joined on TITLE (applies to every file)")
    stats.add_argument("--tolerance-da", type=float, default=None, help="annotation tolerance, Da (default 0.02)")
    stats.add_argument("--json", help="also write the statistics as JSON here")
    add_force_argument(stats)
    parser.set_defaults(handler=run, _parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.data_command != "stats":
        args._parser.print_help()
        return 2
    from pathlib import Path

    from tqdm import tqdm

    from renovo.data import SkipCounter, check_spectrum_files, read_spectra
    from renovo.data.simulate import simulate_records
    from renovo.data.stats import TOLERANCE_DA, format_table, summarize, write_json
    from renovo.errors import RenovoError

    if not args.files and not args.simulate:
        raise RenovoError("give spectrum files and/or --simulate N")
    if args.json:
        from renovo.files import check_outputs

        check_outputs([*args.files, args.labels, args.fasta], [args.json], args.force)
    check_spectrum_files(args.files)  # a bad file late in the list stops the run before any work
    tolerance = args.tolerance_da if args.tolerance_da is not None else TOLERANCE_DA
    summaries = {}
    skip_reports = {}
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise RenovoError(f"no such file: {path}")
        skips = SkipCounter()
        records = tqdm(read_spectra(path, labels=args.labels, skips=skips), desc=path.name, unit="spectra", leave=False)
        key = path.name if path.name not in summaries else str(path)
        summaries[key] = summarize(records, tolerance)
        summaries[key]["skips"] = skips.as_dict()
        if skips.total or skips.centroided:
            skip_reports[key] = skips.report()
    if args.simulate:
        key = f"simulated (n={args.simulate}, seed={args.seed})"
        records = tqdm(simulate_records(args.simulate, args.seed, fasta=args.fasta), total=args.simulate,
                       desc="simulate", unit="spectra", leave=False)
        summaries[key] = summarize(records, tolerance)
    print(format_table(summaries))
    for key, report in skip_reports.items():
        print(f"\n{key}: {report}")
    if args.json:
        write_json(summaries, args.json)
    return 0
