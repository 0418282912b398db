"""The Phase 1 report judges logged numbers: synthetic metrics.csv files."""
from __future__ import annotations

import csv

from renovo.experiments.sanity import sanity_report
from renovo.train import read_metrics

COLUMNS = ["step", "train/ce", "train/spectrum", "train/precursor", "train/total", "train/w_spectrum",
           "train/w_precursor", "nan_guard/skipped", "grad/ce_norm", "val/spectrum", "val/precursor"]


def write(path, rows, val_every=25):
    """metrics.csv of ``rows``, with a validation row (the training values) every ``val_every`` steps and at the end."""
    rows = list(rows)
    vals = [{"step": r["step"], "val/spectrum": r["train/spectrum"], "val/precursor": r["train/precursor"]}
            for i, r in enumerate(rows) if "train/spectrum" in r and (r["step"] % val_every == 0 or i == len(rows) - 1)]
    with open(path / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows + vals)


def row(step, ce, spec, prec, w_spec=0.25, w_prec=0.05, skipped=0.0):
    return {"step": step, "train/ce": ce, "train/spectrum": spec, "train/precursor": prec,
            "train/total": ce + w_spec * spec + w_prec * prec, "train/w_spectrum": w_spec,
            "train/w_precursor": w_prec, "nan_guard/skipped": skipped}


def test_pass(tmp_path):
    write(tmp_path, [row(s, 3.0 - s / 100, 1.0 - s / 1000, 0.8 - s / 500) for s in range(100)])
    text, passed = sanity_report(tmp_path)
    assert passed and text.count("[PASS]") == 4 and "Sanity check: PASS" in text


def test_fail_when_loss_rises_or_nan_or_physics_dominates(tmp_path):
    write(tmp_path, [row(s, 3.0, 0.9 + s / 1000, 0.5, skipped=float(s == 50)) for s in range(100)])
    text, passed = sanity_report(tmp_path)
    assert not passed
    assert "[FAIL] No NaN losses" in text and "[FAIL] Spectrum loss decreases" in text
    assert "[FAIL] Precursor loss decreases" in text  # flat is not a decrease
    write(tmp_path, [row(s, 0.1, 1.0 - s / 1000, 0.8 - s / 500, w_spec=1.0) for s in range(100)])
    text, passed = sanity_report(tmp_path)
    assert not passed and "[FAIL] CE loss stays the primary signal" in text


def test_a_negligible_drift_is_not_a_decrease(tmp_path):
    # The spectrum loss drifts by 0.03% with noise: flat, not decreasing.
    noise = [0.0005 * ((s * 7919) % 13 - 6) / 6 for s in range(100)]
    write(tmp_path, [row(s, 3.0 - s / 100, 0.9950 - 0.0000003 * s + noise[s], 0.8 - s / 500) for s in range(100)])
    text, passed = sanity_report(tmp_path)
    assert not passed and "[FAIL] Spectrum loss decreases" in text
    assert "[PASS] Precursor loss decreases" in text


def test_rows_of_one_step_merge(tmp_path):
    rows = [row(0, 3.0, 1.0, 0.8), {"step": 0, "grad/ce_norm": 1.5}]
    write(tmp_path, rows)
    merged = read_metrics(tmp_path / "metrics.csv")
    assert merged[0]["grad/ce_norm"] == 1.5 and merged[0]["train/ce"] == 3.0


def test_control_run_decides_whether_a_fall_is_the_loss_own(tmp_path):
    """A precursor loss that falls as much under cross-entropy alone fails; one that ends below the control's
    passes. Judged on the final validation values; the fall from switch-on is shown beside."""
    run, same, flat = tmp_path / "run", tmp_path / "same", tmp_path / "flat"
    for d in (run, same, flat):
        d.mkdir()
    weights = lambda s: (0.25 if s >= 50 else 0.0, 0.05 if s >= 50 else 0.0)  # noqa: E731
    write(run, [row(s, 3.0 - s / 100, 1.0 - s / 400, 0.8 - s / 500, *weights(s)) for s in range(100)])
    # Control (weights 0): the spectrum loss flat, the precursor loss falling exactly as in the run.
    write(same, [row(s, 3.0 - s / 100, 1.0, 0.8 - s / 500, 0.0, 0.0) for s in range(100)])
    text, passed = sanity_report(run, control_dir=same)
    assert "[PASS] Spectrum loss decreases beyond the control: validation value at step 99" in text
    assert "from its switch-on at step 50" in text
    assert "[FAIL] Precursor loss decreases beyond the control" in text and not passed
    write(flat, [row(s, 3.0 - s / 100, 1.0, 0.8, 0.0, 0.0) for s in range(100)])
    text, passed = sanity_report(run, control_dir=flat)
    assert passed and text.count("[PASS]") == 4 and text.count("decreases beyond the control") == 2
    # Without a control the same run passes, and the text says what that cannot tell.
    text, passed = sanity_report(run)
    assert passed and "no control run" in text


def test_a_loss_pushed_up_before_its_switch_on_does_not_pass_by_recovering(tmp_path):
    """The precursor loss rises while only the spectrum term is on, then falls back after its own switch-on:
    from its switch-on it falls far more than the control's, but it ends above the control: FAIL."""
    run, control = tmp_path / "run", tmp_path / "control"
    run.mkdir()
    control.mkdir()

    def precursor(s):  # up by 0.2 over steps 20-50 (the spectrum term on), back down to 0.05 above by the end
        return 0.6 + (0.2 * (s - 20) / 30 if 20 <= s < 50 else 0.2 - 0.15 * (s - 50) / 50 if s >= 50 else 0.0)

    weights = lambda s: (0.25 if s >= 20 else 0.0, 0.05 if s >= 50 else 0.0)  # noqa: E731
    write(run, [row(s, 3.0 - s / 100, 1.0 - s / 400, precursor(s), *weights(s)) for s in range(101)])
    write(control, [row(s, 3.0 - s / 100, 1.0, 0.6, 0.0, 0.0) for s in range(101)])
    text, _ = sanity_report(run, control_dir=control)
    line = next(x for x in text.splitlines() if "Precursor loss decreases" in x)
    assert line.startswith("[FAIL]") and "-8.3% below the control" in line
    assert "from its switch-on at step 50" in line and "not judged" in line


def test_plan_report_judges_each_run_against_its_seed_control(tmp_path):
    """A plan with `sanity: true` and `control: ce_only` runs the sanity check of each physics run against the
    ce_only run of the same seed; the control itself is not judged."""
    import json

    import yaml

    from renovo.experiments import load_plan, write_report

    plan_file = tmp_path / "p.yaml"
    plan_file.write_text(yaml.safe_dump({
        "name": "sanityctl", "configs": ["gaussian_losses", "ce_only"], "sanity": True, "control": "ce_only",
        "data": {"train": [], "val": []},
        "sizes": {"quick": {"preset": "tiny", "max_steps": 100, "seeds": [0], "batch_size": 4}}}))
    out = tmp_path / "out"
    plan = load_plan(plan_file, "quick", out)
    weights = lambda s: (0.25 if s >= 50 else 0.0, 0.05 if s >= 50 else 0.0)  # noqa: E731
    for spec, rows in zip(plan.runs, (
            [row(s, 3.0 - s / 100, 1.0 - s / 400, 0.8 - s / 500, *weights(s)) for s in range(100)],
            [row(s, 3.0 - s / 100, 1.0, 0.8 - s / 500, 0.0, 0.0) for s in range(100)])):
        spec.run_dir.mkdir(parents=True)
        write(spec.run_dir, rows)
        (spec.run_dir / "done.json").write_text(json.dumps({"rc": 0, "wall_s": 1.0}))
    report = write_report(plan, out).read_text()
    assert "[PASS] Spectrum loss decreases beyond the control" in report
    assert "[FAIL] Precursor loss decreases beyond the control" in report
    assert report.count("Phase 1 sanity check (proposal's criteria) —") == 1  # the control is not judged
