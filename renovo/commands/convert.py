"""`renovo convert`: MGF / mzML / mzXML / Parquet / libraries (+ label tables) → renovo Parquet."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "convert",
        help="convert spectrum files to renovo Parquet, counting skipped spectra",
        description="Read MGF, mzML, mzXML (optionally .gz), Parquet (renovo's, InstaNovo's, or another layout "
        "through --column-map) or MSP/sptxt files (labels from SEQ=, a --labels table joined on TITLE, "
        "or a sibling <stem>.peprec) and write one renovo Parquet file. Skipped spectra are counted by "
        "reason and printed at the end; a structurally malformed file stops with file:line.",
    )
    parser.add_argument("inputs", nargs="+", help="spectrum files, folders or glob patterns")
    parser.add_argument("-o", "--output", required=True, help="output .parquet file")
    parser.add_argument("--labels", help="label table (peprec, TSV/CSV with title + peptide) joined on spectrum TITLE")
    parser.add_argument("--no-centroid", action="store_true", help="skip profile-mode spectra instead of centroiding them")
    parser.add_argument("--on-unknown-mod", choices=("skip", "error"), default="skip",
                        help="a label with a modification outside the vocabulary: skip the spectrum (default) or stop")
    parser.add_argument("--vocabulary", metavar="CONFIG",
                        help="read labels with this config's vocabulary (e.g. one with `fixed: []` for data that "
                        "were not alkylated, so a plain C stays unmodified C); default: renovo's default vocabulary")
    parser.add_argument("--column-map", metavar="RENOVO=FILE,…",
                        help="Parquet inputs in another layout: renovo column = file column, e.g. "
                        "mz=masses,intensity=intensities,precursor_mz=pmz,precursor_charge=z,peptide=label")
    parser.add_argument("--allow-empty", action="store_true",
                        help="write the Parquet even when no spectrum is kept (by default that is an error: "
                        "an empty training file is almost never what was meant)")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from renovo.commands.sequence import parse_column_map
    from renovo.data import SkipCounter, check_spectrum_files, count_spectra, expand_inputs, read_spectra, write_parquet
    from renovo.errors import RenovoError
    from renovo.files import all_or_nothing, check_outputs, write_json

    output = Path(args.output)
    if output.suffix.lower() != ".parquet":
        raise RenovoError(f"output must be a .parquet file, not {output.name!r}")
    inputs = expand_inputs(args.inputs)
    column_map = parse_column_map(args.column_map)
    vocabulary = None
    if args.vocabulary:
        from renovo.chem.vocabulary import vocabulary_from_config
        from renovo.train.config import load_config

        try:
            vocabulary = vocabulary_from_config(load_config(args.vocabulary).get("vocabulary"))
        except ValueError as error:
            raise RenovoError(f"{args.vocabulary}: vocabulary: {error}") from None
    sidecar = output.with_name(output.stem + ".convert.json")
    check_outputs([*inputs, args.labels], [output, sidecar], args.force)
    check_spectrum_files(inputs, column_map)  # a bad file late in the list stops the run before any work
    skips = SkipCounter()
    per_file = {}

    sizes = [count_spectra(p) for p in inputs]
    total = sum(sizes) if all(n is not None for n in sizes) else None

    def records():
        with tqdm(total=total, unit="spectra", desc="convert") as bar:
            for path in inputs:
                bar.set_postfix_str(path.name)
                file_skips = SkipCounter()
                done = bar.n
                for record in read_spectra(path, labels=args.labels, skips=file_skips,
                                           on_unknown_mod=args.on_unknown_mod, centroid=not args.no_centroid,
                                           column_map=column_map, vocabulary=vocabulary):
                    # Spectra read, skipped ones included, so the bar reaches the files' own count.
                    bar.update(done + file_skips.kept + file_skips.total - bar.n)
                    yield record
                bar.update(done + file_skips.kept + file_skips.total - bar.n)
                per_file[str(path)] = file_skips.as_dict()
                skips.merge(file_skips)

    import itertools
    import sys

    stream = records()
    first = next(stream, None)  # before anything is written: a run that keeps nothing leaves no file
    if first is None and not args.allow_empty:
        reasons = ", ".join(f"{n} {reason}" for reason, n in skips.counts.most_common(3)) or "the inputs hold no spectra"
        raise RenovoError(f"no spectra kept from {len(inputs)} input file(s) ({reasons}); nothing written "
                          f"(--allow-empty writes an empty {output.name})")
    with all_or_nothing([output, sidecar]):  # a full disk at the sidecar leaves no Parquet without it
        count = write_parquet(itertools.chain([first] if first is not None else [], stream), output)
        summary = {"command": "convert", "inputs": [str(p) for p in inputs], "labels": args.labels,
                   "centroid": not args.no_centroid, "on_unknown_mod": args.on_unknown_mod,
                   "output": str(output), "spectra": count, "per_file": per_file, "total": skips.as_dict()}
        write_json(sidecar, summary)  # after the data: it never describes a file that is not there
    if count == 0:
        print(f"warning: 0 spectra kept; {output} is empty", file=sys.stderr)
    print(f"wrote {count} spectra to {output}")
    print(skips.report())
    return 0
