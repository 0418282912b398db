"""Run folders are owned by one run at a time.

- While a run is alive its folder holds ``.renovo.lock`` (PID and host). A
  second run into the same folder is refused, naming the other run's PID; a
  lock left by a run that no longer exists (killed) is taken over.
- A folder that already holds anything is refused for a fresh run: continue
  the run there with ``--resume RUN/checkpoints/last.ckpt``, or start over
  with ``--force``, which first removes the previous run's outputs (its
  checkpoints, metrics, TensorBoard logs, config) so old and new never mix.
"""
from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from renovo.errors import RenovoError

LOCK_NAME = ".renovo.lock"
#: What a training run writes into its folder (removed by --force before a fresh start).
RUN_OUTPUTS = ("checkpoints", "tensorboard", "metrics.csv", "metrics.before_resume.csv", "config.yaml",
               "sanity.txt", "resume.log", "hparams.yaml", "train.log")


class RunFolderError(RenovoError):
    """The run folder is in use by another run, or holds a run that this one would mix with."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read_lock(lock: Path) -> tuple[int | None, str]:
    try:
        fields = lock.read_text().split()
    except OSError:
        return None, ""
    try:
        return int(fields[0]), fields[1] if len(fields) > 1 else ""
    except (IndexError, ValueError):
        return None, ""


def _acquire(run_dir: Path) -> Path:
    lock = run_dir / LOCK_NAME
    host = socket.gethostname()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid, their_host = _read_lock(lock)
            if pid is not None and their_host and their_host != host:
                raise RunFolderError(f"run folder {run_dir} is in use by a run on host {their_host} (PID {pid}); "
                                     f"if that run is gone, delete {lock}") from None
            if pid is not None and pid != os.getpid() and _alive(pid):
                raise RunFolderError(f"run folder {run_dir} is in use by another run (PID {pid}); "
                                     f"wait for it to finish or choose another --out") from None
            lock.unlink(missing_ok=True)  # left by a run that no longer exists
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {host} {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        return lock
    raise RunFolderError(f"cannot take the lock {lock} of run folder {run_dir}")


def _check_contents(run_dir: Path, resume: str | Path | None, force: bool) -> None:
    entries = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK_NAME)
    # Resuming continues the run in its own folder (the checkpoint's), which is of course not empty.
    if not entries or (resume and Path(resume).resolve().parent.parent == run_dir.resolve()):
        return
    if not force:
        shown = ", ".join(entries[:4]) + (", …" if len(entries) > 4 else "")
        if resume:
            raise RunFolderError(f"run folder {run_dir} holds another run ({shown}); resume {resume} into its own "
                                 f"folder or an empty one, or use --force to replace that run")
        raise RunFolderError(
            f"run folder {run_dir} is not empty ({shown}); continue its run with --resume "
            f"{run_dir / 'checkpoints' / 'last.ckpt'}, or start over with --force (removes its checkpoints and logs)"
        )
    import shutil

    for name in RUN_OUTPUTS:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


@contextmanager
def own_run_dir(run_dir: str | Path, *, resume: str | Path | None = None, force: bool = False) -> Iterator[Path]:
    """Hold ``run_dir`` for the duration of the block (see the module docstring)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _acquire(run_dir)
    try:
        _check_contents(run_dir, resume, force)
        yield run_dir
    finally:
        pid, _ = _read_lock(lock)
        if pid == os.getpid():
            lock.unlink(missing_ok=True)


def is_main_process() -> bool:
    """False in the extra processes a DDP launch starts (they re-run the command with LOCAL_RANK ≥ 1)."""
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def log_resume(run_dir: str | Path, checkpoint: str | Path, step: int | None, changes: list[tuple[str, object, object]]) -> None:
    """Append this resume (and every config change it applies) to ``RUN/resume.log``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    lines = [f"{stamp} resumed from {checkpoint}" + (f" at step {step}" if step is not None else "")]
    lines += [f"{stamp}   {key}: {old!r} -> {new!r} (applied)" for key, old, new in changes]
    with open(Path(run_dir) / "resume.log", "a") as handle:  # a log: appended, never rewritten
        handle.write("\n".join(lines) + "\n")
