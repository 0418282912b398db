"""Experiments: plans (configs × seeds × steps), the runner, reports with plots, the real-data loss check.

Heavy imports (torch, matplotlib) happen inside the functions that need them.
"""
from renovo.experiments.plan import (PlanError, Plan, RunSpec, available_plans, execute_run, load_plan, run_plan,
                                     run_plan_command, run_status)
from renovo.experiments.report import aggregate, read_series, summarize_run, verdicts, write_report
from renovo.experiments.stability import compare_means, detect_spikes, mean_sd, welch_t_test

__all__ = [
    "Plan", "PlanError", "RunSpec", "aggregate", "available_plans", "compare_means", "detect_spikes",
    "execute_run", "load_plan", "mean_sd", "read_series", "run_plan", "run_plan_command", "run_status",
    "summarize_run", "verdicts", "welch_t_test", "write_report",
]
