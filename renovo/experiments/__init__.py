"""Experiments: plans (configs × seeds × steps), the runner, run summaries, verdicts, reports with
plots, the Phase 1 sanity check, the real-data loss check.

Heavy imports (torch, matplotlib) happen inside the functions that need them.
"""
from renovo.experiments.plan import (PlanError, Plan, RunSpec, available_plans, execute_run, load_plan, run_plan,
                                     run_plan_command, run_status)
from renovo.experiments.metrics_io import aggregate, summarize_run
from renovo.experiments.report import write_report
from renovo.experiments.sanity import sanity_report
from renovo.experiments.verdicts import verdicts
from renovo.experiments.stability import compare_means, detect_spikes, mean_sd, welch_t_test

__all__ = [
    "Plan", "PlanError", "RunSpec", "aggregate", "available_plans", "compare_means", "detect_spikes",
    "execute_run", "load_plan", "mean_sd", "run_plan", "run_plan_command", "run_status", "sanity_report",
    "summarize_run", "verdicts", "welch_t_test", "write_report",
]
