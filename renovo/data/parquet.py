"""renovo's Parquet spectrum schema: one row per spectrum.

=================  ==================  ==========================================
column             type                meaning
=================  ==================  ==========================================
mz                 list<float64>       peak m/z, ascending, centroided
intensity          list<float32>       raw peak intensity (not preprocessed)
precursor_mz       float64             precursor m/z
precursor_charge   int16               precursor charge (≥ 1)
peptide            string (nullable)   canonical ProForma label, null = unlabeled
source_file        string              file the spectrum was read from
index              int64               0-based position of the spectrum there
title              string (nullable)   MGF TITLE / mzML spectrum title or id
scan               string (nullable)   scan number(s) as written in the source
retention_time_s   float64 (nullable)  retention time, seconds
=================  ==================  ==========================================

File metadata ``renovo_schema = spectra/1``. Rows are written in row groups
of ``ROW_GROUP_SIZE`` so streaming readers can split a file across workers.

Other layouts are read through a column map, ``{renovo column: file column}``.
InstaNovo's layout (``mz_array``, ``intensity_array``, ``precursor_mz``,
``precursor_charge``, ``sequence``, optionally ``scan_number``) is recognised
without one (:data:`INSTANOVO_COLUMNS`). Rows without ``source_file`` /
``index`` columns are named by the Parquet file and their row number.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from renovo.data import records as R
from renovo.data.builder import RecordBuilder
from renovo.data.labels import Label
from renovo.data.records import MalformedFileError, SpectrumRecord

SCHEMA_VERSION = "spectra/1"
ROW_GROUP_SIZE = 4096
_COLUMNS = (
    "mz", "intensity", "precursor_mz", "precursor_charge", "peptide",
    "source_file", "index", "title", "scan", "retention_time_s",
)


#: InstaNovo's Parquet columns, as a column map.
INSTANOVO_COLUMNS = {"mz": "mz_array", "intensity": "intensity_array", "precursor_mz": "precursor_mz",
                     "precursor_charge": "precursor_charge", "peptide": "sequence", "scan": "scan_number"}
_REQUIRED = ("mz", "intensity", "precursor_mz", "precursor_charge")


def column_mapping(names, column_map=None, path: str | Path = "") -> dict[str, str]:
    """``{renovo column: file column}`` for a Parquet file with columns ``names``.

    An explicit ``column_map`` is checked (known renovo columns, present file
    columns); renovo's own columns fill the rest. Without one, renovo's layout
    is used, else InstaNovo's when its columns are there.
    """
    names = set(names)
    if column_map:
        unknown = [k for k in column_map if k not in _COLUMNS]
        if unknown:
            raise MalformedFileError(path, None, f"column map names unknown renovo column(s) {unknown}; "
                                     f"renovo columns: {', '.join(_COLUMNS)}")
        absent = [v for v in column_map.values() if v not in names]
        if absent:
            raise MalformedFileError(path, None, f"column map names column(s) {absent} that the file lacks; "
                                     f"it has {', '.join(sorted(names))}")
        mapping = {c: c for c in _COLUMNS if c in names and c not in column_map}
        mapping.update(column_map)
        return mapping
    if all(c in names for c in _REQUIRED):
        return {c: c for c in _COLUMNS if c in names}
    if all(INSTANOVO_COLUMNS[c] in names for c in _REQUIRED):
        return {k: v for k, v in INSTANOVO_COLUMNS.items() if v in names}
    return {c: c for c in _COLUMNS if c in names}


def mapped_table(table, mapping: dict[str, str]):
    """The table with renovo's column names (only the mapped columns; ``scan`` as text)."""
    import pyarrow as pa

    if all(k == v for k, v in mapping.items()) and set(mapping) == set(table.column_names):
        return table
    columns = {}
    for renovo, column in mapping.items():
        values = table.column(column)
        if renovo == "scan" and not pa.types.is_string(values.type):
            values = pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())
        columns[renovo] = values
    return pa.table(columns)


def schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("mz", pa.list_(pa.float64())),
            ("intensity", pa.list_(pa.float32())),
            ("precursor_mz", pa.float64()),
            ("precursor_charge", pa.int16()),
            ("peptide", pa.string()),
            ("source_file", pa.string()),
            ("index", pa.int64()),
            ("title", pa.string()),
            ("scan", pa.string()),
            ("retention_time_s", pa.float64()),
        ],
        metadata={"renovo_schema": SCHEMA_VERSION},
    )


def _table(records: list[SpectrumRecord]):
    import pyarrow as pa

    lengths = np.array([r.mz.shape[0] for r in records], dtype=np.int64)
    offsets = np.zeros(len(records) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    mz = np.concatenate([r.mz for r in records]) if records else np.empty(0)
    intensity = np.concatenate([r.intensity for r in records]).astype(np.float32) if records else np.empty(0, np.float32)
    columns = {
        "mz": pa.ListArray.from_arrays(pa.array(offsets), pa.array(mz, pa.float64())),
        "intensity": pa.ListArray.from_arrays(pa.array(offsets), pa.array(intensity, pa.float32())),
        "precursor_mz": pa.array([r.precursor_mz for r in records], pa.float64()),
        "precursor_charge": pa.array([r.precursor_charge for r in records], pa.int16()),
        "peptide": pa.array([r.peptide for r in records], pa.string()),
        "source_file": pa.array([r.source_file for r in records], pa.string()),
        "index": pa.array([r.index for r in records], pa.int64()),
        "title": pa.array([r.title for r in records], pa.string()),
        "scan": pa.array([r.scan for r in records], pa.string()),
        "retention_time_s": pa.array([r.retention_time_s for r in records], pa.float64()),
    }
    return pa.table(columns, schema=schema())


def write_parquet(records: Iterable[SpectrumRecord], path: str | Path, row_group_size: int = ROW_GROUP_SIZE) -> int:
    """Write records to a renovo Parquet file, streaming one row group at a time. Returns the count."""
    import pyarrow.parquet as pq

    from renovo.files import atomic_path

    count = 0
    buffer: list[SpectrumRecord] = []
    # Written under a temporary name and renamed when complete: a failed or killed
    # conversion leaves the previous file (if any) intact, never a partial one.
    # Page checksums (CRC32 of every page) let a reader tell a damaged file from a valid one: without them,
    # 2 KB flipped inside an m/z column chunk changed 58,507 peak m/z values, read and sequenced silently.
    with atomic_path(path) as tmp, pq.ParquetWriter(str(tmp), schema(), compression="zstd",
                                                    write_page_checksum=True) as writer:
        for record in records:
            buffer.append(record)
            if len(buffer) >= row_group_size:
                writer.write_table(_table(buffer), row_group_size=row_group_size)
                count += len(buffer)
                buffer = []
        if buffer or count == 0:
            writer.write_table(_table(buffer), row_group_size=row_group_size)
            count += len(buffer)
    return count


def unreadable_row_group(path, group: int, error: Exception) -> MalformedFileError:
    """The one-line error for a row group pyarrow cannot read; a failed page checksum says the file is damaged."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if "checksum" in text.lower() or "crc" in text.lower():
        return MalformedFileError(path, None, f"row group {group} is damaged: a page checksum does not match "
                                              "(the file changed after it was written; convert it again)")
    return MalformedFileError(path, None, f"row group {group} is unreadable: {text}")


def open_parquet(path: str | Path, column_map: dict[str, str] | None = None):
    """A pyarrow ParquetFile, checked to carry renovo's columns (after ``column_map``, see :func:`column_mapping`)."""
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        # Pages written with a checksum are verified as they are read (files without one read as before).
        handle = pq.ParquetFile(str(path), page_checksum_verification=True)
    except Exception as error:  # pyarrow raises ArrowInvalid / OSError variants
        raise MalformedFileError(path, None, f"not a readable Parquet file: {error}") from None
    mapping = column_mapping(handle.schema_arrow.names, column_map, path)
    missing = [c for c in _REQUIRED if c not in mapping]
    if missing:
        raise MalformedFileError(path, None, f"Parquet file lacks renovo columns {missing} (schema {SCHEMA_VERSION}, "
                                 "or InstaNovo's mz_array/intensity_array/precursor_mz/precursor_charge; "
                                 "map other layouts with a column map, see docs/data.md)")
    import pyarrow as pa

    types = handle.schema_arrow
    text = lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)  # noqa: E731
    number = lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)  # noqa: E731
    expected = {
        "mz": ("list<float>", lambda t: pa.types.is_list(t) and pa.types.is_floating(t.value_type)),
        "intensity": ("list<float>", lambda t: pa.types.is_list(t) and number(t.value_type)),
        "precursor_mz": ("float", pa.types.is_floating),
        "precursor_charge": ("integer", pa.types.is_integer),
        "peptide": ("string", text),
        "source_file": ("string", text),
        "index": ("integer", pa.types.is_integer),
        "title": ("string", text),
        # a mapped scan column (InstaNovo's scan_number) may be a number: it is read as text
        "scan": ("string", text if mapping.get("scan", "scan") == "scan" else lambda t: text(t) or number(t)),
        "retention_time_s": ("float", number),
    }
    wrong = [
        f"column {mapping[name]!r} is {types.field(mapping[name]).type}, expected {kind}"
        for name, (kind, ok) in expected.items() if name in mapping and not ok(types.field(mapping[name]).type)
    ]
    if wrong:
        raise MalformedFileError(path, None, f"Parquet columns of the wrong type: {'; '.join(wrong)} "
                                             f"(schema {SCHEMA_VERSION}, see docs/data.md)")
    return handle


def _row_problems(table) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a row group: (m/z and intensity lengths differ, a required value is null), bool (rows,)."""
    import pyarrow.compute as pc

    lengths = [pc.fill_null(pc.list_value_length(table.column(c)), 0).to_numpy(zero_copy_only=False)
               for c in ("mz", "intensity")]
    null = np.zeros(table.num_rows, dtype=bool)
    for name in ("mz", "intensity", "precursor_mz", "precursor_charge"):
        column = table.column(name)
        if column.null_count:
            null |= pc.is_null(column).to_numpy(zero_copy_only=False)
        if name in ("mz", "intensity") and pc.list_flatten(column).null_count:
            null[:] = True  # a null peak value somewhere: validate the whole row group
    return np.asarray(lengths[0] != lengths[1], dtype=bool), null


def records_from_table(table, path: str | Path, builder: RecordBuilder | None, labels: dict[str, Label] | None = None,
                       first_row: int = 0, skips=None) -> Iterator[SpectrumRecord]:
    """Records of an Arrow table (one row group) in renovo's schema.

    Every row group is checked first (vectorised): a row whose m/z and
    intensity lists differ in length is skipped and counted (reason
    ``PEAK_LENGTHS``). With a ``builder`` every row is validated again
    (labels re-parsed against the builder's vocabulary, bad rows counted);
    without one rows are trusted (they were validated when written) — the
    fast path for training — unless the check found a bad row, in which case
    the row group is validated row by row, counting skips in ``skips``.
    """
    mismatched, null = _row_problems(table)
    if builder is None and (mismatched.any() or null.any()):
        builder = RecordBuilder(path, skips=skips)
    names = set(table.column_names)
    mz_col = table.column("mz").combine_chunks()
    in_col = table.column("intensity").combine_chunks()
    mz_offsets = mz_col.offsets.to_numpy()
    mz_values = mz_col.values.to_numpy(zero_copy_only=False)
    in_values = in_col.values.to_numpy(zero_copy_only=False)
    in_offsets = in_col.offsets.to_numpy()
    try:
        columns = {name: table.column(name).to_pylist() for name in _COLUMNS[2:] if name in names}
    except UnicodeDecodeError as error:  # a corrupt string page decodes only here, value by value
        raise MalformedFileError(path, None, f"a text column holds bytes that are not UTF-8: {error}") from None
    n = table.num_rows
    path = str(path)
    for row in range(n):
        if mismatched[row]:
            builder.skips.skip(R.PEAK_LENGTHS, f"{Path(path).name} row {first_row + row}",
                               f"{mz_offsets[row + 1] - mz_offsets[row]} m/z, {in_offsets[row + 1] - in_offsets[row]} intensities")
            continue
        mz = mz_values[mz_offsets[row]:mz_offsets[row + 1]]
        intensity = in_values[in_offsets[row]:in_offsets[row + 1]]
        get = lambda name, default=None: columns[name][row] if name in columns else default  # noqa: E731
        title = get("title")
        index = get("index")
        index = first_row + row if index is None else index
        peptide = get("peptide")
        if labels is not None and title in labels:
            peptide = labels[title]
        if builder is None:
            if isinstance(peptide, Label):
                peptide = peptide.text
            yield SpectrumRecord(
                mz=np.array(mz, dtype=np.float64), intensity=np.array(intensity, dtype=np.float32),
                precursor_mz=get("precursor_mz"), precursor_charge=get("precursor_charge"), peptide=peptide,
                source_file=get("source_file") or path, index=index, title=title, scan=get("scan"),
                retention_time_s=get("retention_time_s"),
            )
            continue
        record = builder.build(
            mz, intensity, get("precursor_mz"), get("precursor_charge"), peptide, index,
            title=title, scan=get("scan"), retention_time_s=get("retention_time_s"),
            where=f"{Path(path).name} row {first_row + row}",
        )
        if record is not None:
            record.source_file = get("source_file") or path
            yield record


def read_parquet(path: str | Path, builder: RecordBuilder, labels: dict[str, Label] | None = None,
                 column_map: dict[str, str] | None = None) -> Iterator[SpectrumRecord]:
    """Records of a Parquet file (renovo's layout, InstaNovo's, or another through ``column_map``),
    one row group in memory at a time."""
    import pyarrow as pa

    handle = open_parquet(path, column_map)
    mapping = column_mapping(handle.schema_arrow.names, column_map, path)
    first_row = 0
    for group in range(handle.num_row_groups):
        try:
            table = handle.read_row_group(group)
        except (OSError, pa.ArrowException) as error:  # corrupt pages: pyarrow raises OSError / ArrowInvalid
            raise unreadable_row_group(path, group, error) from None
        yield from records_from_table(mapped_table(table, mapping), path, builder, labels, first_row)
        first_row += table.num_rows
