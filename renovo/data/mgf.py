"""MGF reading (a line parser that reports file:line) and writing.

Why not pyteomics.mgf: it neither reports line numbers nor survives a
malformed block, and the brief demands both. Peaks of one spectrum are
converted in one numpy call; lines are only re-read one by one to locate an
error.

Errors (raise :class:`MalformedFileError`, file:line): a line inside
``BEGIN IONS … END IONS`` that is neither ``KEY=VALUE`` nor two (or three)
numbers; ``END IONS`` without ``BEGIN IONS``; ``BEGIN IONS`` inside a
spectrum; a spectrum not closed at the end of the file; non-header text
outside spectra. Everything wrong with the *content* of one spectrum is a
counted skip (see :class:`renovo.data.builder.RecordBuilder`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from renovo.data import records as R
from renovo.data.builder import RecordBuilder, first_float, parse_charge
from renovo.data.labels import Label
from renovo.data.records import MalformedFileError, SpectrumRecord
from renovo.data.textfile import open_text


def _peaks(path, lines: list[str], line_numbers: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(mz, intensity) float64 of peak lines; MalformedFileError at the first bad line."""
    if not lines:
        return np.empty(0), np.empty(0)
    tokens = " ".join(lines).split()
    if len(tokens) == 2 * len(lines):
        try:
            values = np.array(tokens, dtype=np.float64).reshape(-1, 2)  # (peaks, 2)
            return values[:, 0], values[:, 1]
        except ValueError:
            pass
    # Slow path: find the offending line (or accept a third column, a fragment charge).
    mz = np.empty(len(lines))
    intensity = np.empty(len(lines))
    for i, (line, number) in enumerate(zip(lines, line_numbers)):
        fields = line.split()
        if len(fields) not in (2, 3):
            raise MalformedFileError(path, number, f"expected 'm/z intensity' or KEY=VALUE inside a spectrum, got {line[:60]!r}")
        try:
            mz[i], intensity[i] = float(fields[0]), float(fields[1])
        except ValueError:
            raise MalformedFileError(path, number, f"not a number in peak line {line[:60]!r}") from None
    return mz, intensity


def read_mgf(path: str | Path, builder: RecordBuilder, labels: dict[str, Label] | None = None) -> Iterator[SpectrumRecord]:
    """Records of an MGF file. Labels: ``labels[TITLE]`` when given, else ``SEQ=``."""
    path = Path(path)
    global_headers: dict[str, str] = {}
    headers: dict[str, str] = {}
    peak_lines: list[str] = []
    peak_line_numbers: list[int] = []
    in_block = False
    block_start = 0
    index = 0
    with open_text(path) as handle:  # gzip or plain; a BOM is dropped
        for line_number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line[0] in "#;!/":
                continue
            upper = line.upper()
            if upper == "BEGIN IONS":
                if in_block:
                    raise MalformedFileError(path, line_number, f"BEGIN IONS inside the spectrum begun at line {block_start} (missing END IONS)")
                in_block, block_start = True, line_number
                headers, peak_lines, peak_line_numbers = dict(global_headers), [], []
            elif upper == "END IONS":
                if not in_block:
                    raise MalformedFileError(path, line_number, "END IONS without BEGIN IONS")
                in_block = False
                mz, intensity = _peaks(path, peak_lines, peak_line_numbers)
                title = headers.get("TITLE")
                label = None
                if labels is not None and title is not None and title in labels:
                    label = labels[title]
                elif headers.get("SEQ"):
                    label = Label(headers["SEQ"])
                charge, reason = parse_charge(headers.get("CHARGE"))
                pepmass = headers.get("PEPMASS")
                # MGF separates PEPMASS fields by whitespace: "500,25" is a decimal comma, not 500 and 25.
                decimal_comma = bool(pepmass) and "," in pepmass.split()[0]
                precursor_reason = R.BAD_PRECURSOR if decimal_comma else None
                record = builder.build(
                    mz,
                    intensity,
                    None if decimal_comma else first_float(pepmass),
                    charge,
                    label,
                    index,
                    title=title,
                    scan=headers.get("SCANS"),
                    retention_time_s=first_float(headers.get("RTINSECONDS")),
                    charge_reason=reason,
                    precursor_reason=precursor_reason,
                    where=f"{path.name}:{block_start} (spectrum {index}{', ' + title if title else ''})",
                )
                index += 1
                if record is not None:
                    yield record
            elif "=" in line:
                key, value = line.split("=", 1)
                (headers if in_block else global_headers)[key.strip().upper()] = value.strip()
            elif in_block:
                peak_lines.append(line)
                peak_line_numbers.append(line_number)
            else:
                raise MalformedFileError(path, line_number, f"text outside BEGIN IONS/END IONS: {line[:60]!r}")
    if in_block:
        raise MalformedFileError(path, block_start, "spectrum begun here has no END IONS (truncated file?)")


def _format_float(value: float) -> str:
    return repr(float(value))


def write_mgf(records: Iterable[SpectrumRecord], path: str | Path) -> int:
    """Write records as MGF (labels as ``SEQ=`` canonical ProForma). Returns the count."""
    from renovo.files import atomic_open

    count = 0
    with atomic_open(path, "w", encoding="utf-8") as handle:  # the old file stays until this one is complete
        for record in records:
            lines = ["BEGIN IONS"]
            lines.append(f"TITLE={record.title if record.title is not None else count}")
            lines.append(f"PEPMASS={_format_float(record.precursor_mz)}")
            lines.append(f"CHARGE={record.precursor_charge}+")
            if record.scan is not None:
                lines.append(f"SCANS={record.scan}")
            if record.retention_time_s is not None and math.isfinite(record.retention_time_s):
                lines.append(f"RTINSECONDS={record.retention_time_s:.4f}")
            if record.peptide is not None:
                lines.append(f"SEQ={record.peptide}")
            handle.write("\n".join(lines) + "\n")
            if record.mz.shape[0]:
                # repr-precision m/z so a round trip is exact in float64.
                np.savetxt(handle, np.column_stack([record.mz, record.intensity.astype(np.float64)]), fmt=("%.17g", "%.9g"))
            handle.write("END IONS\n\n")
            count += 1
    return count
