"""Report aggregation on fabricated metrics.csv files: mean ± sd, stability counts, figures, verdicts."""
from __future__ import annotations

import json

import pytest

from renovo.experiments import aggregate, summarize_run, verdicts, write_report
from renovo.train import read_series

from .conftest import fabricate_run

FINAL_AA = {"gaussian_losses": [0.2, 0.4, 0.6], "ce_only": [0.1, 0.1, 0.1]}  # by config, then seed


def test_read_series_merges_rows_by_step(tmp_path):
    fabricate_run(tmp_path / "r", "gaussian_losses", 0, 0.3)
    series = read_series(tmp_path / "r" / "metrics.csv")
    steps, values = series["val/aa_precision"]
    assert steps.tolist() == [49, 99] and values.tolist() == [0.15, 0.3]
    assert len(series["train/ce"][0]) == 20


def test_summary_counts_spikes_nonfinite_and_stages(tmp_path):
    fabricate_run(tmp_path / "r", "gaussian_losses", 0, 0.3, spike_at=74, nan_at=89)
    s = summarize_run(tmp_path / "r", "gaussian_losses", 0)
    m = s["metrics"]
    assert s["status"] == "done" and s["has_physics"] is True
    assert m["val/aa_precision"] == 0.3
    assert m["stability/nonfinite"] == 1 and m["stability/skipped"] == 1
    assert m["stability/spikes_total"] == 1 and m["stability/spikes_ce"] == 1
    assert s["spike_steps_total"] == [74]
    # Stages switch at 10, 20, 30, 40 of 100 steps: step 74 is 34 steps after a scheduled weight change.
    assert m["stability/spikes_total_at_switch"] == 1 and m["stability/spikes_total_elsewhere"] == 0
    assert m["speed/steps_per_s"] == 10.0 and m["memory/peak_rss_mb"] == 499.0
    assert m["loss/spectrum_change_pct"] < 0
    # 100 steps of the proposal's 5-stage table scaled from 100k: stages begin at 0, 10, 20, 30, 40.
    assert m["gradflow/stage1/ce_norm"] == 1.0
    assert m["gradflow/stage5/spectrum_weighted_norm"] == pytest.approx(0.5)
    assert m["primary/ce_over_weighted_min"] > 1


def test_aggregate_mean_and_sd(tmp_path, make_plan):
    plan = make_plan()
    for spec in plan.runs:
        fabricate_run(spec.run_dir, spec.config, spec.seed, FINAL_AA[spec.config][spec.seed])
    runs = [summarize_run(s.run_dir, s.config, s.seed) for s in plan.runs]
    agg = aggregate(runs, plan.configs)
    stat = agg["gaussian_losses"]["val/aa_precision"]
    assert stat["n"] == 3
    assert stat["mean"] == pytest.approx(0.4)
    assert stat["sd"] == pytest.approx(0.2)
    assert agg["ce_only"]["val/aa_precision"]["sd"] == pytest.approx(0.0)
    assert agg["gaussian_losses"]["speed/steps_per_s"]["mean"] == pytest.approx(11.0)


def test_write_report(tmp_path, make_plan):
    plan = make_plan(sanity=True)
    for spec in plan.runs:
        fabricate_run(spec.run_dir, spec.config, spec.seed, FINAL_AA[spec.config][spec.seed])
    report = write_report(plan, tmp_path / "out", command_line="renovo experiment fake.yaml --size quick")
    text = report.read_text()
    assert text.split("```")[1].strip() == "renovo experiment fake.yaml --size quick"
    assert text.index("renovo experiment fake.yaml") < 200  # at the top
    assert "0.400 ± 0.200" in text and "0.100 ± 0.000" in text
    assert "Phase 1 sanity check" in text
    for name in ("losses.png", "primary.png", "gradients.png", "validation.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000
        assert f"]({name})" in text
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {v["hypothesis"] for v in results["verdicts"]} >= {
        "Stable training (no NaN, no spikes)", "Auxiliary losses decrease", "CE stays the primary signal",
        "Better final accuracy"}
    accuracy = next(v for v in results["verdicts"] if v["hypothesis"] == "Better final accuracy")
    # 0.4 ± 0.2 vs 0.1 ± 0: the difference exceeds 1 sd, p ≈ 0.15 with 3 seeds: not significant.
    assert "not significant" in accuracy["detail"]
    stable = next(v for v in results["verdicts"] if v["hypothesis"].startswith("Stable"))
    assert stable["verdict"].startswith("supported")


def test_nonfinite_run_makes_stability_unsupported(tmp_path, make_plan):
    plan = make_plan()
    for spec in plan.runs:
        fabricate_run(spec.run_dir, spec.config, spec.seed, 0.3, nan_at=59 if spec.seed == 1 else None)
    runs = [summarize_run(s.run_dir, s.config, s.seed) for s in plan.runs]
    judged = verdicts(plan, runs, aggregate(runs, plan.configs))
    stable = next(v for v in judged if v["hypothesis"].startswith("Stable"))
    assert stable["verdict"].startswith("not supported")


def test_report_of_a_plan_with_no_finished_runs(tmp_path, make_plan):
    plan = make_plan()
    text = write_report(plan, tmp_path / "out").read_text()
    assert "no finished runs" in text and text.count("| missing |") == len(plan.runs)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["status"] for r in results["runs"]} == {"missing"} and results["figures"] == {}


def test_report_rebuilds_from_stored_summaries_with_paired_statistics(tmp_path):
    """Run folders are not committed: --report-only rebuilds from the summaries in results.json."""
    import json
    import shutil
    from pathlib import Path

    from renovo.experiments import load_plan, write_report

    committed = Path(__file__).resolve().parents[2] / "docs" / "results" / "compare" / "cpu"
    out = tmp_path / "compare"
    out.mkdir()
    shutil.copy(committed / "results.json", out / "results.json")
    plan = load_plan("compare", "cpu", out)
    report = write_report(plan, out).read_text()
    assert "Rebuilt from stored summaries" in report
    assert "In the proposal's regime" in report
    assert "paired by seed" in report and "Welch" not in report
    results = json.loads((out / "results.json").read_text())
    assert all(r["status"] == "done" for r in results["runs"])
    ce = next(c for c in results["comparisons"] if c["candidate"] == "gaussian_losses"
              and c["reference"] == "ce_only" and c["metric"] == "val/ce")
    assert ce["n"] == 3 and ce["n_positive"] == 3 and ce["p"] < 0.05  # worse CE in every seed
    assert ce["verdict"].startswith("worse, significant: worse in 3/3 seeds")


@pytest.mark.parametrize("fall, expected", [(0.004, "PASS"), (0.001, "FAIL")])
def test_sanity_against_a_control_is_judged_over_seeds(tmp_path, make_plan, fall, expected):
    """The spectrum loss must end below the ce_only control's by the margin (final validation value), with its
    95% interval over seeds above 0; the same fall as the control fails however it looks in one run."""
    plan = make_plan(sanity=True, control="ce_only")
    for i, spec in enumerate(plan.runs):
        jitter = 0.0001 * spec.seed  # seed-to-seed noise in the fall
        fabricate_run(spec.run_dir, spec.config, spec.seed, 0.3,
                      spectrum_fall=(fall + jitter) if spec.config == "gaussian_losses" else 0.001)
    write_report(plan, tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    sanity = next(v for v in results["verdicts"] if v["hypothesis"].startswith("Phase 1"))["verdict"]
    assert f"{expected} gaussian_losses spectrum: final validation value" in sanity and "over 3 seeds" in sanity
    assert "ce_only spectrum" not in sanity  # the control is not judged against itself


def test_a_verdict_headline_ends_at_its_first_clause_outside_parentheses():
    from renovo.experiments.report import _first_clause

    assert _first_clause("worse (p < 0.05; seeds 3/3): x; y; z") == ("worse (p < 0.05; seeds 3/3): x", "y; z")
    assert _first_clause("supported") == ("supported", "")


def test_committed_report_rebuilds_from_its_committed_run_records(tmp_path):
    """docs/results/compare/cpu keeps each run's metrics.csv and its warm starts' records: the report, its
    figures and the switch-on accuracies rebuild from those alone (no checkpoint, no warm-start folder)."""
    import json
    import shutil
    from pathlib import Path

    from renovo.experiments import load_plan, write_report

    committed = Path(__file__).resolve().parents[2] / "docs" / "results" / "compare" / "cpu"
    out = tmp_path / "compare"
    shutil.copytree(committed, out, ignore=shutil.ignore_patterns("*.png", "results.json", "report.md"))
    assert not list(out.rglob("*.ckpt"))
    plan = load_plan("compare", "cpu", out)
    report = write_report(plan, out).read_text()
    assert "Rebuilt from stored summaries" not in report and "In the proposal's regime" in report
    assert {"losses.png", "validation.png"} <= {p.name for p in out.glob("*.png")}
    results = json.loads((out / "results.json").read_text())
    at_switch = [r["metrics"]["curriculum/physics_on_val_token_acc"] for r in results["runs"]
                 if r["config"] != "ce_only"]
    assert len(at_switch) == 6 and min(at_switch) >= 0.60


def test_a_run_still_pending_in_an_earlier_report_is_not_called_stored(tmp_path, make_plan):
    """A partial report lists its unfinished runs as pending; rebuilding it must not claim they were rebuilt
    from stored summaries (only finished runs have one)."""
    import json

    plan = make_plan()
    first, *rest = plan.runs
    fabricate_run(first.run_dir, first.config, first.seed, 0.3)
    write_report(plan, tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["status"] for r in results["runs"]} == {"done", "missing"}
    text = write_report(plan, tmp_path / "out").read_text()
    assert "Rebuilt from stored summaries" not in text
