"""`kill -9` in the middle of `renovo convert` and `renovo sequence` leaves the previous output intact:
never a partial file under the final name (outputs are written to a temporary name and renamed when done)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from renovo.cli import main
from renovo.data import read_spectra, write_mgf
from renovo.data.simulate import simulate_records

REPO = Path(__file__).resolve().parents[1]


def start(argv: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "renovo.cli", *argv], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def kill_when(process: subprocess.Popen, ready, timeout_s: float = 180.0) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds (fails if it finishes or times out first)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, "finished before it could be killed midway"
        assert time.monotonic() < deadline, "never reached the point to kill it at"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and ".tmp" in p.name]


def test_convert_killed_while_writing_keeps_the_old_file(tmp_path, shared_data):
    out = tmp_path / "spectra.parquet"
    source = shared_data / "real" / "massivekb_500.mgf"
    assert main(["convert", str(source), "-o", str(out)]) == 0
    old = out.read_bytes(), (tmp_path / "spectra.convert.json").read_bytes()
    # 24 × 500 spectra: several row groups, so the kill lands after the first is on disk.
    process = start(["convert", *[str(source)] * 24, "-o", str(out), "--force"], tmp_path / "log")
    kill_when(process, lambda: any(p.stat().st_size > 0 for p in temporaries(tmp_path)))
    assert (out.read_bytes(), (tmp_path / "spectra.convert.json").read_bytes()) == old
    assert len(list(read_spectra(out))) == 500
    leftovers = temporaries(tmp_path)
    assert leftovers and all(p.name != out.name for p in leftovers)  # the partial data sits under a hidden name


def test_sequence_killed_midway_keeps_the_old_predictions(tmp_path, shared_data):
    from renovo.train import RenovoModule, load_config

    torch.manual_seed(0)
    module = RenovoModule(load_config(None, ["model.preset=tiny"]))
    state = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(state)
    model = tmp_path / "tiny.ckpt"
    torch.save(state, model)
    source = shared_data / "real" / "casanovo_mouse_128.mgf"
    out = tmp_path / "pred.mztab"
    fast = ["--beam", "1", "--max-length", "6", "--batch-size", "8", "--no-mass-constraint"]
    first = tmp_path / "first.mgf"
    write_mgf(simulate_records(4, seed=0), first)
    assert main(["sequence", str(first), "--model", str(model), "-o", str(out), "--csv", str(tmp_path / "pred.csv"),
                 *fast]) == 0
    old = {p.name: p.read_bytes() for p in (out, tmp_path / "pred.csv", tmp_path / "pred.sequence.json")}
    log = tmp_path / "log"
    process = start(["sequence", *[str(source)] * 20, "--model", str(model), "-o", str(out),
                     "--csv", str(tmp_path / "pred.csv"), "--force", *fast], log)

    def sequencing() -> bool:  # the progress bar has counted spectra: the run is in the middle of its work
        text = log.read_text(errors="replace")
        return "sequencing:" in text and any(f"| {n}/" in text or f": {n}spectra" in text or f" {n}spectra" in text
                                             for n in range(8, 2561, 8))

    kill_when(process, sequencing)
    assert {p.name: p.read_bytes() for p in (out, tmp_path / "pred.csv", tmp_path / "pred.sequence.json")} == old
    assert all(p.name not in old for p in tmp_path.iterdir() if p.name.startswith("."))
