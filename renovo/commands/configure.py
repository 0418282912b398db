"""`renovo configure`: write the full, commented default config to edit for a run."""
from __future__ import annotations

import argparse


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
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import os
    import tempfile
    from pathlib import Path

    from renovo.errors import RenovoError
    from renovo.train.config import CONFIG_DIR, DEFAULT_NAME, load_config

    output = Path(args.output)
    if output.suffix.lower() not in (".yaml", ".yml"):
        raise RenovoError(f"the config file must end in .yaml, not {output.name!r}")
    if output.exists() and not args.force:
        raise RenovoError(f"{output} exists; add --force to replace it")
    text = (CONFIG_DIR / f"{DEFAULT_NAME}.yaml").read_text()
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    load_config(output)  # what was written loads and validates
    print(f"wrote {output}: edit it, then run `renovo train --config {output}`")
    return 0
