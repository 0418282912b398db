"""Opening spectrum files that may be gzip-compressed (``run.mgf.gz``, ``run.mzML.gz``)."""
from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path
from typing import IO


def is_gzip(path: str | Path) -> bool:
    """True if the file starts with gzip's magic bytes (whatever its name says)."""
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


#: Byte-order marks, longest first (UTF-32's starts with UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def sniff_encoding(head: bytes) -> str | None:
    """The encoding a file's first bytes declare by their byte-order mark (``utf-8-sig``, ``utf-16``,
    ``utf-32``), or None without one."""
    return next((encoding for bom, encoding in _BOMS if head.startswith(bom)), None)


def looks_like_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: ASCII text with a NUL byte beside every character."""
    pairs = head[: len(head) // 2 * 2]
    return len(pairs) >= 8 and (pairs[1::2].count(0) > 0.9 * len(pairs) / 2 or pairs[0::2].count(0) > 0.9 * len(pairs) / 2)


def decode_text(data: bytes, path: str | Path, what: str = "file") -> str:
    """``data`` as text: by its byte-order mark (utf-8-sig, as Excel writes CSV; utf-16), else strict UTF-8.

    Bytes that cannot be read are a :class:`~renovo.data.records.MalformedFileError` naming the file and the
    encoding tried, not a header that silently fails to match (``\ufefftitle``) or a decode traceback.
    """
    from renovo.data.records import MalformedFileError

    encoding = sniff_encoding(data[:4])
    if encoding is None and looks_like_utf16(data[:1024]):
        raise MalformedFileError(path, 1, f"{what} looks like UTF-16 without a byte-order mark; save it as UTF-8")
    encoding = encoding or "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise MalformedFileError(path, line, f"{what} is not valid {encoding.upper().replace('-SIG', '')} text "
                                 f"(byte {error.start}); save it as UTF-8") from None


def open_text(path: str | Path) -> IO[str]:
    """A text handle on the file, decompressed when it is gzip; the encoding is UTF-8 (bad bytes replaced,
    a BOM dropped) unless a byte-order mark says UTF-16/32; UTF-16 without one is a MalformedFileError."""
    from renovo.data.records import MalformedFileError

    opener = gzip.open if is_gzip(path) else open
    head = b""
    with opener(path, "rb") as handle:
        try:
            while len(head) < 1024:  # in small reads: a damaged gzip stream still gives its first bytes
                chunk = handle.read(64)
                if not chunk:
                    break
                head += chunk
        except (EOFError, OSError, zlib.error):
            pass  # the reader meets it again, after the spectra before the damage, and says so
    encoding = sniff_encoding(head[:4])
    if encoding is None and looks_like_utf16(head):
        # Read as UTF-8 it is a NUL between every letter: "text outside BEGIN IONS" at line 1, which misleads.
        raise MalformedFileError(path, 1, "looks like UTF-16 without a byte-order mark; save it as UTF-8")
    return opener(path, "rt", encoding=encoding or "utf-8-sig", errors="replace")


def open_binary(path: str | Path) -> IO[bytes]:
    """A binary handle on the file, decompressed when it is gzip (for XML parsers)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")
