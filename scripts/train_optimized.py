#!/usr/bin/env python
"""The proposal's training script, as a thin wrapper over `renovo train`.

    python scripts/train_optimized.py --max_steps 5000                 # Phase 1 sanity check
    python scripts/train_optimized.py --config old_losses              # Phase 2: old losses
    python scripts/train_optimized.py --config gaussian_losses         # Phase 2: new losses

The proposal's flags (underscored) map onto `renovo train`'s; any other
`renovo train` option (e.g. --preset, --set key=value, --sanity) passes through.
"""
from __future__ import annotations

import sys

# the proposal's script flag -> renovo train flag
FLAG_MAP = {
    "--max_steps": "--max-steps",
    "--batch_size": "--batch-size",
    "--output_dir": "--out",
    "--out_dir": "--out",
    "--resume_from_checkpoint": "--resume",
    "--num_devices": "--devices",
}


def translate(argv: list[str]) -> list[str]:
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        key = FLAG_MAP.get(key, key)
        out.append(key + sep + value if sep else key)
    return out


def main(argv: list[str] | None = None) -> int:
    from renovo.cli import main as renovo_main

    argv = translate(sys.argv[1:] if argv is None else argv)
    if "--config" not in argv and not any(a.startswith("--config=") for a in argv):
        argv = ["--config", "gaussian_losses"] + argv  # the proposal's script trains its new losses by default
    return renovo_main(["train"] + argv)


if __name__ == "__main__":
    sys.exit(main())
