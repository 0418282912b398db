import json

import pytest

from renovo.cli import main
from renovo.bench import losses as bench


def small_case(loss, **overrides):
    case = {**bench.DEFAULTS, "loss": loss, "batch": 2, "device": "cpu", "repeats": 2, "max_seconds": 5.0, "seed": 0}
    case.update(n_pred=10, n_obs=12, max_mz=300.0, **overrides)
    return case


@pytest.mark.parametrize("loss", bench.LOSSES)
def test_run_case_measures_time_and_memory(loss):
    result = bench.run_case(small_case(loss))
    assert result["runs"] >= 1
    assert result["time_s_median"] > 0
    assert result["peak_mem_bytes"] >= 0
    assert result["peak_mem_kind"] in ("rss high-water delta", "upper bound")


def test_ratios_and_tables():
    results = [
        {"device": "cpu", "batch": 96, "loss": "grid", "time_s_median": 15.0, "runs": 1,
         "peak_mem_bytes": 4e9, "peak_mem_kind": "rss high-water delta"},
        {"device": "cpu", "batch": 96, "loss": "analytic", "time_s_median": 0.03, "runs": 5,
         "peak_mem_bytes": 1e8, "peak_mem_kind": "rss high-water delta"},
        {"device": "cpu", "batch": 8, "loss": "huber", "error": "exit 1: boom"},
    ]
    (ratio,) = bench.analytic_vs_grid(results)
    assert ratio["speedup"] == pytest.approx(500.0)
    assert ratio["memory_ratio"] == pytest.approx(40.0)
    text = bench.table_markdown(results) + bench.ratios_markdown([ratio])
    assert "500× faster (meets target)" in text and "error: exit 1: boom" in text


def test_command_runs_cases_in_subprocesses(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "losses", "--batch-sizes", "2", "--losses", "analytic",
                 "--repeats", "1", "--device", "cpu", "--threads", "1", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    (result,) = report["results"]
    assert result["loss"] == "analytic" and result["threads"] == 1 and result["runs"] == 1
    assert report["config"]["n_pred"] == 100 and report["config"]["max_mz"] == 2000.0
    assert report["analytic_vs_grid"] == []  # no grid case to compare with
    assert "| cpu | 1 | 2 | analytic |" in capsys.readouterr().out


def test_unknown_loss_is_a_user_error(capsys):
    assert main(["bench", "losses", "--losses", "nope"]) == 2
    assert "unknown loss" in capsys.readouterr().err
