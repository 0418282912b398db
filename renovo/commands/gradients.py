"""`renovo gradients`: tables of loss values and gradients, computed by autograd."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gradients",
        help="tabulate precursor- and spectrum-loss gradients (autograd, float64)",
        description=(
            "Reproduce the proposal's precursor-loss gradient tables by autograd and tabulate the gradient "
            "of each spectrum loss against a predicted peak's distance to the nearest observed peak. "
            "Prints Markdown; writes gradients.md, gradients.png, gradients.json and config.json."
        ),
    )
    parser.add_argument("-o", "--output-dir", default="gradients", help="output folder (default: gradients/)")
    parser.add_argument("--peptide-mass-da", type=float, default=1200.0, help="peptide neutral mass, Da (default 1200)")
    parser.add_argument("--sigma", type=float, default=0.05, help="Gaussian width, m/z (default 0.05)")
    parser.add_argument("--variance-sd", type=float, default=0.5, help="predicted peak m/z s.d. for the variance-aware kernel")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the tables are deterministic; recorded)")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict
    from pathlib import Path

    import torch

    from renovo.files import write_json, write_text
    from renovo.losses import gradients

    torch.manual_seed(args.seed)
    config = gradients.GradientConfig(
        peptide_mass_da=args.peptide_mass_da, sigma=args.sigma, variance_sd_mz=args.variance_sd
    )
    tables = gradients.compute_tables(config)
    text = gradients.markdown(tables)
    print(text)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "gradients.md", text)
    write_json(out / "gradients.json", tables.to_dict())
    write_json(out / "config.json", {"seed": args.seed, "dtype": "float64", **asdict(config)})
    gradients.plot(tables, out / "gradients.png")
    print(f"\nwrote {out / 'gradients.md'}, {out / 'gradients.png'}, {out / 'gradients.json'}, {out / 'config.json'}")
    return 0
