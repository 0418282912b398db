"""`renovo configure`: write the full, commented default config to edit for a run."""
from __future__ import annotations

import argparse

from renovo.files import add_force_argument


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "configure",
        help="write the full commented default config (every key, its default and what it does)",
        description="Write renovo's default training config with its comments, to edit and pass to "
        "`renovo train --config FILE` (or `renovo sequence --vocabulary FILE`). Keys left out of an "
        "edited file keep their defaults.",
    )
    parser.add_argument("-o", "--output", default="renovo.yaml", metavar="FILE.yaml",
                        help="file to write (default renovo.yaml)")
    parser.add_argument("--keys", action="store_true",
                        help="print every key with its default, what it accepts (type and range) and what it does; write nothing")
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from renovo.errors import RenovoError
    from renovo.files import check_outputs, write_text
    from renovo.train.config import load_config
    from renovo.train.schema import render_yaml

    if args.keys:
        print_keys()
        return 0
    output = Path(args.output)
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise RenovoError(f"the config file must end in .yaml, not {output.name!r}")
    check_outputs([], [output], args.force, what="config file")
    write_text(output, render_yaml())
    load_config(output)  # what was written loads and validates
    print(f"wrote {output}: edit it, then run `renovo train --config {output}`")
    return 0


def print_keys() -> None:
    from renovo.train.schema import key_table

    rows = key_table()
    width = max(len(key) for key, *_ in rows)
    for key, default, allowed, doc in rows:
        print(f"{key:<{width}}  {default:<14} {allowed} — {doc}")
