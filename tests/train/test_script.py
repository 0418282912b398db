"""scripts/train_optimized.py maps the proposal's flags onto `renovo train`."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train_optimized.py"


def load():
    spec = importlib.util.spec_from_file_location("train_optimized", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flags_translate():
    script = load()
    assert script.translate(["--max_steps", "5000", "--config", "old_losses"]) == [
        "--max-steps", "5000", "--config", "old_losses"]
    assert script.translate(["--max_steps=10", "--batch_size=8"]) == ["--max-steps=10", "--batch-size=8"]


def test_script_trains(tmp_path):
    script = load()
    out = tmp_path / "run"
    code = script.main(["--max_steps", "3", "--config", "old_losses", "--preset", "tiny", "--batch_size", "4",
                        "--output_dir", str(out), "--no-progress", "--set", "data.val_size=4"])
    assert code == 0
    assert (out / "config.yaml").read_text().count("old_losses") >= 1
    assert (out / "checkpoints" / "last.ckpt").is_file()
