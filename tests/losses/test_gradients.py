import json

import pytest

from renovo.cli import main
from renovo.losses import gradients


@pytest.fixture(scope="module")
def tables():
    return gradients.compute_tables()


def test_precursor_rows_reproduce_seed_table(tables):
    by_error = {r["error_da"]: r for r in tables.precursor}
    # The proposal's table: 200 Da <-> 167k ppm; loss 0.98, gradient 0.003; 10 Da: 0.08, 0.008.
    assert by_error[200.0]["error_ppm"] == pytest.approx(166_667, rel=1e-4)
    assert by_error[200.0]["log1p_loss"] == pytest.approx(0.98, abs=0.005)
    assert by_error[200.0]["log1p_grad_per_da"] == pytest.approx(0.003125, rel=1e-9)
    assert by_error[10.0]["log1p_grad_per_da"] == pytest.approx(0.0077, abs=1e-4)
    assert all(r["scaled_l1_grad_per_da"] == pytest.approx(0.004) for r in tables.precursor)
    assert by_error[200.0]["scaled_l1_loss"] == pytest.approx(0.8)


def test_spectrum_rows_show_narrow_kernel_vanishing(tables):
    names = tables.spectrum_losses
    analytic = next(n for n in names if n.startswith("analytic"))
    multi = next(n for n in names if n.startswith("multi"))
    huber = next(n for n in names if n.startswith("huber"))
    row = {r["distance_mz"]: r for r in tables.spectrum}
    # docs/background.md §3: dK/dd = (d/2σ²)K -> 7e-42 at 1 Da for σ = 0.05.
    assert row[1.0][analytic]["grad_abs"] == pytest.approx(7.44e-42, rel=0.01)
    assert row[1.0][multi]["grad_abs"] > 0.1
    assert row[10.0][huber]["grad_abs"] == pytest.approx(1.0)
    notes = gradients.underflow_notes(tables)
    assert (1.0, "subnormal") in notes[analytic] or (1.0, "0") in notes[analytic]


def test_command_writes_outputs(tmp_path, capsys):
    assert main(["gradients", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Error (Da) |" in out and "| d (m/z) |" in out
    for name in ("gradients.md", "gradients.png", "gradients.json", "config.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "config.json").read_text())["peptide_mass_da"] == 1200.0
