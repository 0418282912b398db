"""Writing output files safely: atomic replacement and output-path checks.

Every file renovo writes goes to a temporary name in the target's own folder
(``.NAME.<random>.tmp``), is flushed and fsync'ed, and is then renamed over
the target with ``os.replace``: a process killed at any moment (even by
SIGKILL) leaves either the previous file or the complete new one under the
final name, never a partial one. A failing writer removes its temporary file
and leaves the previous file untouched. A sidecar (``X.convert.json``, …) is
written after the data it describes, so it never describes data that is not
there.

`check_outputs` runs before any work: an output that is also an input (or the
model) is refused, and so is an existing output unless the user passed
``--force``.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from renovo.errors import RenovoError

#: Temporary files carry this suffix (and a leading dot), so a killed writer's leftovers are recognisable.
TEMP_SUFFIX = ".tmp"


def _default_mode() -> int:
    """Permissions a plain ``open()`` would give a new file (mkstemp's are owner-only)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _default_mode()


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block completes.

    For writers that take a file name (pyarrow, matplotlib): the temporary name
    keeps ``path``'s suffix so format detection by extension still works. If
    the block raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f"{TEMP_SUFFIX}{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _FILE_MODE)
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """``open(path, mode)`` through a temporary file renamed into place when the block completes."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes whole files (mode 'w' or 'wb'), not {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()


def write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_json(path: str | Path, value: Any, **dumps_kwargs: Any) -> Path:
    """Write ``value`` as JSON (``indent=2`` unless given, newline-terminated) to ``path`` atomically."""
    dumps_kwargs.setdefault("indent", 2)
    return write_text(path, json.dumps(value, **dumps_kwargs) + "\n")


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    inputs: Iterable[str | Path | None],
    outputs: Iterable[str | Path | None],
    force: bool = False,
    *,
    what: str = "output",
) -> None:
    """Refuse, in one line, an output that is also an input, two equal outputs, or an existing output without ``force``.

    ``inputs``: every file the command reads (spectra, labels, the model, …);
    ``outputs``: every file (or folder) it will write, sidecars included. None
    entries are ignored. Call it before any work, so a refused run costs nothing.
    """
    inputs = [Path(p) for p in inputs if p is not None]
    outputs = [Path(p) for p in outputs if p is not None]
    for i, output in enumerate(outputs):
        for source in inputs:
            if _same_file(output, source):
                raise RenovoError(f"{what} {output} is also an input ({source}); choose another {what} path")
        for other in outputs[:i]:
            if _same_file(output, other):
                raise RenovoError(f"two outputs are the same file: {output}")
        blocking = next((p for p in output.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            # Else the first write meets FileExistsError / NotADirectoryError, after the work.
            raise RenovoError(f"{blocking} is a file, not a folder: {what} {output} cannot be written there; "
                              "choose another path")
        if not force and output.exists() and not (output.is_dir() and not any(output.iterdir())):
            raise RenovoError(f"{what} {output} already exists; use -f/--force to overwrite it")


def add_force_argument(parser) -> None:
    """The ``-f/--force`` flag every writing command takes (Casanovo's convention)."""
    parser.add_argument("-f", "--force", action="store_true", help="overwrite existing output files")


__all__ = ["TEMP_SUFFIX", "add_force_argument", "atomic_open", "atomic_path", "check_outputs", "write_bytes",
           "write_json", "write_text"]
