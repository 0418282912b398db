"""Writing output files safely: atomic replacement and output-path checks.

Every file renovo writes goes to a temporary name in the target's own folder
(``.NAME.<pid>.<random>.tmp``), is flushed and fsync'ed, and is then renamed over
the target with ``os.replace``: a process killed at any moment (even by
SIGKILL) leaves either the previous file or the complete new one under the
final name, never a partial one. A failing writer removes its temporary file
and leaves the previous file untouched. A sidecar (``X.convert.json``, …) is
written after the data it describes, so it never describes data that is not
there. The temporary name carries the writer's PID: a SIGKILLed writer's
leftover is removed by the next write to that folder (`sweep_stale_temporaries`).
A read-only folder or a full disk is an `OutputError` naming the path.

`check_outputs` runs before any work: an output that is also an input (or the
model) is refused, and so is an existing output unless the user passed
``--force``.
"""
from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from renovo.errors import RenovoError

#: Temporary files carry this suffix (and a leading dot), so a killed writer's leftovers are recognisable.
TEMP_SUFFIX = ".tmp"
#: ``.NAME.<pid>.<mkstemp's 8 characters>.tmp[.suffix]``: the writer's PID tells a dead writer's leftover
#: from a live writer's file in progress.
_TEMP_NAME = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + r"(\.[^.]+)*$")
#: errno values that mean "this output cannot be written here" (not a bug): one line naming the path.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}


class OutputError(RenovoError):
    """An output could not be written (read-only folder, full disk, no permission)."""


def output_error(path: str | Path, error: OSError) -> OutputError:
    """The one-line error for ``error`` while writing ``path``."""
    reason = error.strerror or os.strerror(error.errno) if error.errno else str(error)
    return OutputError(f"cannot write {path}: {reason}")


def is_write_failure(error: BaseException) -> bool:
    """True for an OSError that means an output cannot be written (no space, read-only, no permission)."""
    return isinstance(error, OSError) and error.errno in _WRITE_ERRNOS


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def sweep_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporaries of writers that died without cleaning up (SIGKILL, power loss) from ``folder``.

    Only names of renovo's own pattern whose PID is no longer running are removed; a live writer's file is
    left alone. Best effort: a file that cannot be removed stays. Returns the removed paths."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or int(match.group(1)) == os.getpid() or _pid_alive(int(match.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_temporaries(path.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=f"{TEMP_SUFFIX}{path.suffix}",
                                        dir=path.parent)
    except OSError as error:
        raise output_error(path, error) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, _FILE_MODE)
        yield tmp
        _fsync_path(tmp)
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        # Only errors that mean "cannot write here"; any other OSError (e.g. reading an input while writing)
        # keeps its own message.
        if is_write_failure(error):
            raise output_error(path, error) from None
        raise
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


def _identity(path: Path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


@contextmanager
def all_or_nothing(paths: Iterable[str | Path | None]) -> Iterator[None]:
    """Remove the files of ``paths`` this block wrote when it fails (a full disk after the first of
    several outputs, Ctrl-C), so a run leaves all its outputs or none of them, never the data without
    its sidecar. A file the block did not replace is left alone."""
    paths = [Path(p) for p in paths if p is not None]
    before = {p: _identity(p) for p in paths}
    try:
        yield
    except BaseException:
        for path in paths:
            if path.is_file() and _identity(path) != before[path]:
                path.unlink(missing_ok=True)
        raise


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


__all__ = ["TEMP_SUFFIX", "OutputError", "add_force_argument", "all_or_nothing", "is_write_failure", "output_error", "sweep_stale_temporaries", "atomic_open", "atomic_path", "check_outputs", "write_bytes",
           "write_json", "write_text"]
