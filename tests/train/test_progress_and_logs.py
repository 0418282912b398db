"""What a training run tells its user: the data it validates on, a line per validation without the
bar, a train.log in the run folder; Lightning's tips silenced; the peptide-level validation split."""
from __future__ import annotations

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
