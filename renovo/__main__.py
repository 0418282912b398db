"""`python -m renovo …` runs the `renovo` command (benchmarks start it this way in subprocesses)."""
import sys

from renovo.cli import main

sys.exit(main())
