"""Opening spectrum files that may be gzip-compressed (``run.mgf.gz``, ``run.mzML.gz``)."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import IO


def is_gzip(path: str | Path) -> bool:
    """True if the file starts with gzip's magic bytes (whatever its name says)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def open_text(path: str | Path) -> IO[str]:
    """A text handle on the file, decompressed when it is gzip; a BOM is dropped and bad bytes replaced."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, "r", encoding="utf-8-sig", errors="replace")


def open_binary(path: str | Path) -> IO[bytes]:
    """A binary handle on the file, decompressed when it is gzip (for XML parsers)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")
