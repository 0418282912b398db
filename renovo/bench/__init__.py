"""Benchmarks: measure speed, memory and learning; each module provides add_arguments(parser) and run_bench(args)."""
