"""renovo.files: atomic replacement (old file or new file, never a partial one) and output-path checks."""
from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renovo.errors import RenovoError
from renovo.files import atomic_open, atomic_path, check_outputs, write_bytes, write_json, write_text


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    write_text(path, "old\n")
    write_text(path, "new\n")
    assert path.read_text() == "new\n"
    assert leftovers(tmp_path) == []


def test_failing_writer_keeps_the_old_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("good old contents\n")
    with pytest.raises(RuntimeError):
        with atomic_open(path) as handle:
            handle.write("half of the new")
            raise RuntimeError("writer failed midway")
    assert path.read_text() == "good old contents\n"
    assert leftovers(tmp_path) == []


def test_atomic_path_keeps_the_suffix_and_the_old_file_until_done(tmp_path):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old")
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png" and tmp != path
        tmp.write_bytes(b"new")
        assert path.read_bytes() == b"old"  # nothing under the final name until the block completes
    assert path.read_bytes() == b"new" and not tmp.exists()


def test_new_files_get_ordinary_permissions(tmp_path):
    path = write_bytes(tmp_path / "x.bin", b"\x00")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_write_json_and_folders_are_made(tmp_path):
    path = write_json(tmp_path / "a" / "b.json", {"x": [1, 2]})
    assert json.loads(path.read_text()) == {"x": [1, 2]}


@settings(max_examples=30, deadline=None)
@given(st.text(), st.text())
def test_any_text_round_trips_and_replaces(tmp_path_factory, old, new):
    path = tmp_path_factory.mktemp("prop") / "t.txt"
    write_text(path, old)
    write_text(path, new)
    with open(path, encoding="utf-8", newline="") as handle:
        assert handle.read() == new


def test_check_outputs_refuses_an_input_as_output(tmp_path):
    spectra = tmp_path / "spectra.mgf"
    spectra.write_text("x")
    with pytest.raises(RenovoError, match="is also an input"):
        check_outputs([spectra], [spectra], force=True)  # --force never allows destroying an input
    link = tmp_path / "link.mgf"
    link.symlink_to(spectra)
    with pytest.raises(RenovoError, match="is also an input"):
        check_outputs([spectra], [link], force=True)


def test_check_outputs_existing_needs_force(tmp_path):
    out = tmp_path / "out.parquet"
    check_outputs([], [out, None])  # absent: fine
    out.write_text("x")
    with pytest.raises(RenovoError, match="already exists; use -f/--force") as info:
        check_outputs([], [out])
    assert "\n" not in str(info.value)
    check_outputs([], [out], force=True)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    check_outputs([], [empty])  # an empty folder holds nothing to lose


def test_check_outputs_refuses_two_equal_outputs(tmp_path):
    with pytest.raises(RenovoError, match="two outputs are the same file"):
        check_outputs([], [tmp_path / "a.mztab", tmp_path / "." / "a.mztab"])


def test_temporary_names_carry_the_writer_pid(tmp_path):
    with atomic_path(tmp_path / "c.parquet") as tmp:
        assert f".{os.getpid()}." in tmp.name and tmp.name.startswith(".c.") and tmp.name.endswith(".tmp.parquet")


def test_stale_temporaries_of_dead_writers_are_swept_on_the_next_write(tmp_path):
    """A SIGKILLed writer's temporary (9 MB of half-written Parquet) used to stay forever; the next write to the
    folder removes it. Temporaries of a live process and files that only look similar are left alone."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f".c.{child.pid}.ab12cd_3.tmp.parquet"
    live = tmp_path / f".c.{os.getpid()}.zz99yy_1.tmp.parquet"
    other = tmp_path / ".notes.tmp"
    for path in (dead, live, other):
        path.write_bytes(b"x" * 100)
    write_text(tmp_path / "out.txt", "hello")
    assert not dead.exists() and live.exists() and other.exists()
