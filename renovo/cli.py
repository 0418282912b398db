"""The `renovo` command: a thin dispatcher over `renovo.commands.*` modules.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Modules are imported only when their command runs (``--help`` stays fast), except
that the top-level parser needs each module's ``add_parser``; command modules
therefore import heavy dependencies (torch, lightning) inside ``run``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from renovo.errors import RenovoError

# command name -> module under renovo.commands
COMMANDS = {
    "simulate": "simulate",
    "convert": "convert",
    "data": "data",
    "train": "train",
    "sequence": "sequence",
    "calibrate": "calibrate",
    "adapt": "adapt",
    "evaluate": "evaluate",
    "gradients": "gradients",
    "bench": "bench",
    "experiment": "experiment",
    "configure": "configure",
    "plot": "plot",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="renovo",
        description="Physics-informed training and inference for de novo peptide sequencing.",
    )
    from renovo import __version__

    parser.add_argument("--version", action="version", version=f"renovo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMANDS.values():
        importlib.import_module(f"renovo.commands.{module_name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Idle OpenMP threads sleep instead of spinning; set before any command loads torch. On a
    # shared 2-core machine, spinning threads of concurrent processes made a `small` training
    # step 20-30x slower (8 s instead of 0.25 s, measured). An explicit value in the environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = ["renovo", *(sys.argv[1:] if argv is None else argv)]  # for run logs
    if not args.command or not hasattr(args, "handler"):
        parser.print_help()
        return 0 if not args.command else 2
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt as interrupt:
        print(str(interrupt) or "interrupted", file=sys.stderr)  # a command may say where it stopped
        return 130
    except RenovoError as error:
        print(f"renovo {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # A read-only folder, a full disk or a missing permission is the user's to fix, not a bug: one line
        # naming the path, whichever writer (renovo's own, Lightning's, matplotlib's) met it.
        from renovo.files import output_error, is_write_failure

        if not is_write_failure(error):
            raise
        where = error.filename if error.filename is not None else "an output"
        print(f"renovo {args.command}: error: {output_error(where, error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
