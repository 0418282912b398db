"""A read-only output folder or a full disk is one line naming the path, and a run leaves all its outputs or
none (before: OSError tracebacks, and `sequence --csv` left the mzTab without its CSV and sidecar)."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

import renovo.files
from renovo.cli import main
from renovo.data import write_mgf
from renovo.data.simulate import simulate_records


def _full_disk_at(monkeypatch, suffix):
    real = renovo.files._fsync_path

    def fsync(path):
        if str(path).endswith(suffix):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path)

    monkeypatch.setattr(renovo.files, "_fsync_path", fsync)


def _read_only(monkeypatch, folder):
    """What a read-only folder does to a writer (the tests run as root, which chmod does not stop)."""
    folder = str(folder)
    real_mkstemp, real_mkdir, real_open = tempfile.mkstemp, Path.mkdir, os.open

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(folder):
            raise OSError(errno.EROFS, "Read-only file system", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(folder) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(Path, "mkdir", mkdir)


def _one_line(capsys, *words):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert all(w in lines[0] for w in words), lines[0]


@pytest.fixture
def spectra(tmp_path):
    path = tmp_path / "in" / "s.mgf"
    path.parent.mkdir()
    write_mgf(simulate_records(3, seed=1), path)
    return path


def test_sequence_full_disk_leaves_no_partial_outputs(tmp_path, spectra, checkpoint, capsys, monkeypatch):
    _full_disk_at(monkeypatch, ".csv")
    out = tmp_path / "o" / "p.mztab"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(out), "--csv", str(tmp_path / "o" / "p.csv"),
                 "--beam", "1", "--max-length", "4", "--no-progress"]) == 2
    _one_line(capsys, "cannot write", "p.csv", "No space left")
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if p.suffix != ".log") == []


def test_convert_full_disk_at_the_sidecar_leaves_no_parquet(tmp_path, spectra, capsys, monkeypatch):
    _full_disk_at(monkeypatch, ".json")
    out = tmp_path / "o" / "c.parquet"
    assert main(["convert", str(spectra), "-o", str(out)]) == 2
    _one_line(capsys, "cannot write", "c.convert.json")
    assert list((tmp_path / "o").iterdir()) == []


def test_train_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    _full_disk_at(monkeypatch, ".ckpt")
    assert main(["train", "--out", str(tmp_path / "run"), "--preset", "tiny", "--max-steps", "2", "--batch-size", "2",
                 "--no-progress", "--set", "data.val_size=2", "--scorer-spectra", "0"]) == 2
    _one_line(capsys, "cannot write", ".ckpt", "No space left")


@pytest.mark.parametrize("command", [
    ["simulate", "-n", "2", "-o", "{ro}/s.mgf"],
    ["convert", "{spectra}", "-o", "{ro}/c.parquet"],
    ["sequence", "{spectra}", "--model", "{model}", "-o", "{ro}/p.mztab", "--beam", "1", "--max-length", "3", "--no-progress"],
    ["evaluate", "{predictions}", "--labels", "{spectra}", "-o", "{ro}/eval"],
    ["train", "--out", "{ro}/run", "--preset", "tiny", "--max-steps", "1", "--no-progress", "--scorer-spectra", "0"],
    ["plot", "mass-error", "{predictions}", "-o", "{ro}/m.png"],
    ["configure", "-o", "{ro}/c.yaml"],
])
def test_read_only_output_folder_is_one_line(tmp_path, spectra, checkpoint, capsys, monkeypatch, command):
    predictions = tmp_path / "pred.mztab"
    assert main(["sequence", str(spectra), "--model", str(checkpoint), "-o", str(predictions), "--beam", "1",
                 "--max-length", "3", "--no-progress"]) == 0
    capsys.readouterr()
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(monkeypatch, ro)
    argv = [a.format(ro=ro, spectra=spectra, model=checkpoint, predictions=predictions) for a in command]
    code = main(argv)
    assert code == 2, code
    _one_line(capsys, str(ro), "Read-only file system")
