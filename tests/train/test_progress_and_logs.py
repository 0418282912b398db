"""What a training run tells its user: the data it validates on, a line per validation without the
bar, a train.log in the run folder; Lightning's tips silenced; the peptide-level validation split."""
from __future__ import annotations

import torch

from renovo.cli import main
from renovo.commands.train import describe_data
from renovo.data import read_spectra
from renovo.train import load_config
from renovo.train.data import split_by_peptide


def test_no_progress_prints_validation_lines_summary_and_log(tmp_path, shared_data, capsys):
    real = shared_data / "real" / "casanovo_mouse_128.mgf"
    out = tmp_path / "run"
    code = main(["train", "--preset", "tiny", "--max-steps", "4", "--batch-size", "4", "--train", str(real),
                 "--val-fraction", "0.2", "--out", str(out), "--no-progress", "--set", "trainer.val_every_n_steps=2"])
    assert code == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(line.startswith("step 2/4: val/ce ") and "ETA" in line for line in lines)
    assert any(line.startswith("step 4/4: val/ce ") for line in lines)
    assert any(line.startswith("trained 4 steps in ") and "best val/ce" in line for line in lines)
    assert any("validation on 0.2 of their peptides" in line for line in lines)
    assert "Tip" not in captured.err and "LeafSpec" not in captured.err
    log = (out / "train.log").read_text()
    assert "# command: renovo" in log and "--val-fraction" in log and "val_fraction=0.2" in log
    assert "trained 4 steps" in log and "# versions: renovo" in log and "torch" in log


def test_simulated_validation_is_said_clearly():
    config = load_config(None, ["data.train=[a.mgf]"])
    message = describe_data(config)
    assert "simulated set of 256 spectra" in message and "not on your data" in message and "--val-fraction" in message
    assert "validation on 2 file(s)" in describe_data(load_config(None, ["data.train=[a.mgf]", "data.val=[b.mgf, c.mgf]"]))


def test_split_by_peptide_keeps_each_peptide_on_one_side(shared_data):
    records = list(read_spectra(shared_data / "real" / "massivekb_500.mgf"))
    train, val = split_by_peptide(records, 0.1, seed=3)
    assert len(train) + len(val) == len(records)
    assert not ({r.peptide for r in train} & {r.peptide for r in val})
    assert 0.03 < len({r.peptide for r in val}) / len({r.peptide for r in records}) < 0.2
    again_train, again_val = split_by_peptide(records, 0.1, seed=3)
    assert [r.index for r in again_val] == [r.index for r in val]


def test_per_step_metrics_are_computed_on_logged_steps_only(tmp_path, monkeypatch):
    """Zero-weight physics losses (computed only to be logged) run on the steps Lightning writes, and
    every written row still has them: rows every 3 steps."""
    from renovo.train import read_metrics, train
    from renovo.train.objective import Objective

    calls: list[bool] = []
    original = Objective.forward

    def forward(self, logits, batch, weights, **kwargs):
        out = original(self, logits, batch, weights, **kwargs)
        if torch.is_grad_enabled() and not kwargs.get("graph_for_all"):
            calls.append("spectrum" in out)
        return out

    monkeypatch.setattr(Objective, "forward", forward)
    config = load_config("ce_only", ["model.preset=tiny", "data.batch_size=4", "data.val_size=4",
                                     "data.val_batch_size=4", "trainer.max_steps=8", "trainer.log_every_n_steps=3",
                                     "trainer.val_every_n_steps=100", "trainer.progress_bar=false",
                                     "monitors.gradient_flow_every_n_steps=0"])
    run = train(config, tmp_path / "run")
    assert calls == [False, False, True, False, False, True, False, False]  # steps 2 and 5
    rows = {s: m for s, m in read_metrics(run / "metrics.csv").items() if "train/ce" in m}
    assert sorted(rows) == [2, 5]
    for row in rows.values():
        assert {"train/spectrum", "train/precursor", "speed/step_time_s", "grad/total_norm_post_clip",
                "grad/total_norm_pre_clip", "nan_guard/skipped", "monitor/diverged"} <= set(row)
