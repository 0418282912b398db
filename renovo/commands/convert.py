"""`renovo convert`: MGF / mzML / Parquet (+ label tables) → renovo Parquet."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "convert",
        help="convert spectrum files to renovo Parquet, counting skipped spectra",
        description="Read MGF, mzML or Parquet files (labels from SEQ=, a --labels table joined on TITLE, "
        "or a sibling <stem>.peprec) and write one renovo Parquet file. Skipped spectra are counted by "
        "reason and printed at the end; a structurally malformed file stops with file:line.",
    )
    parser.add_argument("inputs", nargs="+", help="spectrum files (.mgf, .mzML, .parquet)")
    parser.add_argument("-o", "--output", required=True, help="output .parquet file")
    parser.add_argument("--labels", help="label table (peprec, TSV/CSV with title + peptide) joined on spectrum TITLE")
    parser.add_argument("--no-centroid", action="store_true", help="skip profile-mode spectra instead of centroiding them")
    parser.add_argument("--on-unknown-mod", choices=("skip", "error"), default="skip",
                        help="a label with a modification outside the vocabulary: skip the spectrum (default) or stop")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from renovo.data import SkipCounter, check_spectrum_files, read_spectra, write_parquet
    from renovo.errors import RenovoError
    from renovo.files import check_outputs, write_json

    output = Path(args.output)
    if output.suffix.lower() != ".parquet":
        raise RenovoError(f"output must be a .parquet file, not {output.name!r}")
    inputs = [Path(p) for p in args.inputs]
    for path in inputs:
        if not path.is_file():
            raise RenovoError(f"no such input file: {path}")
    sidecar = output.with_name(output.stem + ".convert.json")
    check_outputs([*inputs, args.labels], [output, sidecar], args.force)
    check_spectrum_files(inputs)  # a bad file late in the list stops the run before any work
    skips = SkipCounter()
    per_file = {}

    def records():
        with tqdm(unit="spectra", desc="convert") as bar:
            for path in inputs:
                bar.set_postfix_str(path.name)
                file_skips = SkipCounter()
                for record in read_spectra(path, labels=args.labels, skips=file_skips,
                                           on_unknown_mod=args.on_unknown_mod, centroid=not args.no_centroid):
                    bar.update(1)
                    yield record
                per_file[str(path)] = file_skips.as_dict()
                skips.merge(file_skips)

    count = write_parquet(records(), output)
    print(f"wrote {count} spectra to {output}")
    print(skips.report())
    summary = {"command": "convert", "inputs": [str(p) for p in inputs], "labels": args.labels,
               "centroid": not args.no_centroid, "on_unknown_mod": args.on_unknown_mod,
               "output": str(output), "spectra": count, "per_file": per_file, "total": skips.as_dict()}
    write_json(sidecar, summary)  # after the data: it never describes a file that is not there
    return 0
