"""The ``.log`` file every run writes: the command, versions, settings, and what it printed.

``command_log(path, args)`` writes a header and copies everything the
command prints (stdout, and stderr without progress-bar redraws) into the
log until the block ends; an error that stops the command is written too.
With ``path`` None the text is held in memory until ``attach(path)`` names
the file (a training run's folder is only its own once the run has
started). The log is a record; renovo never reads it back.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Iterator, Mapping, TextIO


class CommandLog:
    """Where the log text goes: a memory buffer until :meth:`attach`, then the file (appended to)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.handle: TextIO | None = None
        self.path: Path | None = None

    def write(self, text: str) -> None:
        (self.handle or self.buffer).write(text)

    def flush(self) -> None:
        if self.handle is not None:
            self.handle.flush()

    def attach(self, path: str | Path) -> Path:
        """Write what was held so far to ``path`` and keep writing there."""
        if self.handle is None:
            self.path = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a", encoding="utf-8")
            self.handle.write(self.buffer.getvalue())
            self.handle.flush()
            self.buffer = io.StringIO()
        return self.path

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


class _Tee(io.TextIOBase):
    """Writes to the stream and to the log; ``drop_redraws`` leaves out text with carriage returns
    (progress bars redrawing a line)."""

    def __init__(self, stream: TextIO, log: CommandLog, drop_redraws: bool):
        self.stream = stream
        self.log = log
        self.drop_redraws = drop_redraws

    def write(self, text: str) -> int:
        self.stream.write(text)
        if not (self.drop_redraws and "\r" in text):
            self.log.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        self.log.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self):  # tqdm and others ask
        return getattr(self.stream, "encoding", "utf-8")


def versions() -> dict[str, str]:
    """Versions of renovo, Python and the libraries already loaded (nothing is imported to ask)."""
    from renovo import __version__

    found = {"renovo": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in ("torch", "lightning", "numpy", "pyteomics", "pyarrow"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__version__", None):
            found[name] = str(module.__version__)
    return found


def _settings(args) -> dict:
    values = vars(args) if not isinstance(args, Mapping) else dict(args)
    return {k: v for k, v in values.items() if k not in ("handler", "command_line") and not callable(v)}


@contextlib.contextmanager
def command_log(path: str | Path | None, args=None, *, command: list[str] | None = None) -> Iterator[CommandLog]:
    """Copy what the command prints into ``path`` (appended to when it exists, e.g. a resumed run);
    with ``path`` None, into memory until the yielded log's ``attach(path)``. ``args`` is the namespace
    `renovo.cli.main` parsed (it always sets ``command_line``), a mapping of settings, or None."""
    log = CommandLog()
    if path is not None:
        log.attach(path)
    log.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
    if command is None:
        command = (args.command_line if isinstance(args, argparse.Namespace) else None) or ["renovo", *sys.argv[1:]]
    log.write(f"# command: {shlex.join(str(c) for c in command)}\n")
    log.write("# settings: " + ", ".join(f"{k}={v!r}" for k, v in _settings(args or {}).items()) + "\n")
    out, err = sys.stdout, sys.stderr
    sys.stdout = _Tee(out, log, drop_redraws=False)
    sys.stderr = _Tee(err, log, drop_redraws=True)
    try:
        yield log
    except BaseException as error:
        log.write(f"# stopped: {type(error).__name__}: {error}\n")
        raise
    finally:
        sys.stdout, sys.stderr = out, err
        log.write("# versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "\n")
        log.write(f"# finished {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n\n")
        log.close()
