"""The Casanovo peer harness's own logic (no Casanovo needed): shared vocabulary, summaries, command line."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from renovo.data.simulate import SimulatorConfig, simulate_records

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "peers" / "casanovo" / "harness.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("peers_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peptide_tokens(harness):
    assert harness.peptide_tokens("[Acetyl]-PEC[Carbamidomethyl]M[Oxidation]K") == [
        "[Acetyl]-", "P", "E", "C[Carbamidomethyl]", "M[Oxidation]", "K"]


def test_simulated_peptides_use_only_casanovo_tokens(harness):
    known = harness.casanovo_residues()
    assert {"C[Carbamidomethyl]", "M[Oxidation]", "N[Deamidated]", "[Acetyl]-", "[Carbamyl]-"} <= known
    config = SimulatorConfig.from_dict(dict(harness.SIMULATOR))
    tokens = {t for r in simulate_records(400, seed=3, config=config) for t in harness.peptide_tokens(r.peptide)}
    assert tokens <= known, tokens - known
    # The default simulator writes pyro-Glu, which Casanovo's vocabulary lacks: the override is needed.
    default = {t for r in simulate_records(400, seed=3) for t in harness.peptide_tokens(r.peptide)}
    assert default - known


def test_training_speed_is_the_median_gap_after_the_skipped_steps(harness):
    events = [{"event": "train_batch_end", "t": t} for t in (10.0, 12.0, 12.5, 13.0, 13.5, 15.5)]
    speed = harness.training_speed({"events": events, "launch_t": 4.0, "whole_process_s": 20.0, "run": "r"}, skip=1)
    assert speed["steady_step_s_median"] == pytest.approx(0.5)
    assert speed["steady_spectra_per_s"] == pytest.approx(harness.MODEL["batch_size"] / 0.5)
    assert speed["first_step_after_launch_s"] == pytest.approx(6.0) and speed["steps"] == 6


def test_decoding_speed_leaves_out_the_first_batch(harness):
    events = [{"event": "decode_batch_end", "t": t, "spectra": n} for t, n in ((5.0, 32), (7.0, 32), (8.0, 32), (9.0, 8))]
    speed = harness.decoding_speed({"events": events, "whole_process_s": 12.0})
    assert speed["spectra"] == 104 and speed["steady_spectra_per_s"] == pytest.approx(40 / 2.0)


def test_time_to_accuracy_summary(harness):
    def curve(points):
        return {"curve": [{"wall_s": w, "val_token_acc": a, "val_loss": 1 - a, "step": 0, "when": "x"} for w, a in points]}

    tta = {"renovo": curve([(10, 0.1), (20, 0.3), (30, 0.5)]), "casanovo": curve([(10, 0.05), (60, 0.25), (90, 0.3)])}
    summary = harness.summarise_tta(tta)
    assert summary["casanovo_best_token_acc"] == 0.3 and summary["casanovo_time_to_best_s"] == 90
    assert summary["renovo_time_to_casanovo_best_s"] == 20 and summary["renovo_speedup_to_casanovo_best"] == 4.5
    # renovo crossed 0.3 between its evaluations at 10 s and 20 s: the speed-up is 4.5× to 9×.
    assert summary["renovo_below_casanovo_best_at_s"] == 10 and summary["renovo_speedup_at_most"] == 9.0


@pytest.mark.parametrize("renovo, verdict", [
    ([(10, 0.1), (20, 0.35)], "missed"),  # crossed in (10, 20] s: 4.5×–9×, all below 20×
    ([(1, 0.1), (4, 0.35)], "met"),  # crossed by 4 s: ≥ 22.5×
    ([(2, 0.1), (40, 0.35)], "not decided"),  # 2.25×–45×: the spacing leaves 20× inside
    ([(3, 0.35)], "met"),  # at its first evaluation: ≥ 30×
])
def test_time_to_accuracy_verdict_needs_the_whole_interval(harness, renovo, verdict):
    def curve(points):
        return [{"wall_s": w, "val_token_acc": a, "val_loss": 1 - a, "step": 0, "when": "x"} for w, a in points]

    tta = {"renovo": {"curve": curve(renovo)}, "casanovo": {"curve": curve([(10, 0.05), (90, 0.3)])}}
    report = {"training_speed": {"summary": {}}, "decoding_speed": {"summary": {}},
              "time_to_accuracy": {"summary": harness.summarise_tta(tta)}}
    line = next(line for line in harness.targets(report) if "sooner" in line or "20×" in line)
    assert line.rstrip().split(" — ")[-1].startswith(verdict), line


def test_user_command_drops_the_options_run_sh_adds(harness):
    assert harness.user_command(["--casanovo-python", "/x/python", "--cache-home", "/c", "--minutes", "2"]) == \
        "bash benchmarks/peers/casanovo/run.sh --minutes 2"
