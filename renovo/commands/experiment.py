"""`renovo experiment PLAN|real-check`: the proposal's testing plan, and the real-data loss check."""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_REAL_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment",
        help="run an experiment plan (sanity, compare, ablation, beyond, or a YAML path) or the real-data loss check",
        description=(
            "Run an experiment plan and write a report folder (report.md, plots, per-run logs). "
            "PLAN is a shipped plan name (sanity, compare, ablation, beyond), a YAML path, or "
            "'real-check': score true peptides against same-mass decoys with each spectrum loss "
            "on real annotated spectra."
        ),
    )
    parser.add_argument("plan", help="sanity | compare | ablation | beyond | real-check | PATH.yaml")
    parser.add_argument("--size", default="cpu", help="plan size: quick, cpu or gpu (default cpu)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="report folder (default experiments/<plan>-<size>)")
    parser.add_argument("--seed", type=int, default=0, help="seed for real-check decoys (plans list their own seeds)")
    parser.add_argument("--files", nargs="*", type=Path, default=None, help="real-check: annotated spectrum files (default ../shared/data/real/*.mgf)")
    parser.add_argument("--max-spectra", type=int, default=None, help="real-check: at most this many spectra per file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="plan: override a training config key in every run (repeatable)")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="plan: runs at a time, each with cores/jobs threads (default 1; side by side distorts "
                             "speed figures, not accuracy)")
    parser.add_argument("--report-only", action="store_true", help="plan: rebuild the report from finished runs")
    parser.add_argument("-f", "--force", action="store_true",
                        help="overwrite a report folder holding something else (a plan's own folder is continued without it)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from renovo.errors import RenovoError

    if args.plan == "real-check":
        from renovo.experiments.real_check import run_real_check

        files = args.files if args.files else sorted(DEFAULT_REAL_DIR.resolve().glob("*.mgf"))
        if not files:
            raise RenovoError(f"no annotated spectrum files given and none found in {DEFAULT_REAL_DIR.resolve()}")
        out = args.out or Path("experiments") / "real-check"
        from renovo.files import check_outputs

        check_outputs(files, [out / "report.md", out / "results.json"], args.force)
        run_real_check(files, out, seed=args.seed, max_spectra=args.max_spectra)
        print((out / "report.md").read_text())
        print(f"wrote {out / 'report.md'} and {out / 'results.json'}")
        return 0
    from renovo.experiments.plan import run_plan_command

    return run_plan_command(args)
