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
    add_force_argument(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from renovo.errors import RenovoError
    from renovo.files import check_outputs, write_text
    from renovo.train.config import CONFIG_DIR, DEFAULT_NAME, load_config

    output = Path(args.output)
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise RenovoError(f"the config file must end in .yaml, not {output.name!r}")
    check_outputs([], [output], args.force, what="config file")
    write_text(output, (CONFIG_DIR / f"{DEFAULT_NAME}.yaml").read_text())
    load_config(output)  # what was written loads and validates
    print(f"wrote {output}: edit it, then run `renovo train --config {output}`")
    return 0
