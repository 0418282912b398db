"""Writers of the peers' spectrum formats, for tests: mzXML 3.2 and InstaNovo's Parquet layout."""
from __future__ import annotations

import base64
from pathlib import Path

import numpy as np


def write_mzxml(records, path: str | Path, ms1_every: int = 0) -> Path:
    """An mzXML 3.2 file of the records (64-bit network-order peaks), scans numbered 101, 102, …;
    with ``ms1_every`` = n an MS1 scan precedes every n-th spectrum (readers must skip it)."""
    scans = []
    number = 100
    for i, record in enumerate(records):
        if ms1_every and i % ms1_every == 0:
            number += 1
            peaks = base64.b64encode(np.array([400.0, 10.0], dtype=">f8").tobytes()).decode()
            scans.append(f'<scan num="{number}" msLevel="1" peaksCount="1" polarity="+" retentionTime="PT1S">'
                         f'<peaks precision="64" byteOrder="network" compressionType="none" compressedLen="0" '
                         f'contentType="m/z-int">{peaks}</peaks></scan>')
        number += 1
        pairs = np.column_stack([record.mz, record.intensity.astype(np.float64)]).astype(">f8")
        peaks = base64.b64encode(pairs.tobytes()).decode()
        rt = f' retentionTime="PT{record.retention_time_s}S"' if record.retention_time_s is not None else ""
        scans.append(
            f'<scan num="{number}" msLevel="2" peaksCount="{len(record.mz)}" polarity="+"{rt} centroided="1">'
            f'<precursorMz precursorCharge="{record.precursor_charge}" precursorIntensity="1000">'
            f'{record.precursor_mz!r}</precursorMz>'
            f'<peaks precision="64" byteOrder="network" compressionType="none" compressedLen="0" '
            f'contentType="m/z-int">{peaks}</peaks></scan>')
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/mzXML_3.2">\n'
            f'<msRun scanCount="{len(scans)}">\n' + "\n".join(scans) + "\n</msRun>\n</mzXML>\n")
    Path(path).write_text(text)
    return Path(path)


def write_instanovo_parquet(records, path: str | Path, names: dict[str, str] | None = None) -> Path:
    """Records in InstaNovo's Parquet layout (mz_array, intensity_array, precursor_mz, precursor_charge,
    sequence, scan_number); ``names`` renames columns (for a layout renovo must be told about)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "mz_array": pa.array([r.mz.tolist() for r in records], pa.list_(pa.float64())),
        "intensity_array": pa.array([r.intensity.astype(np.float64).tolist() for r in records], pa.list_(pa.float64())),
        "precursor_mz": pa.array([r.precursor_mz for r in records], pa.float64()),
        "precursor_charge": pa.array([r.precursor_charge for r in records], pa.int64()),
        "sequence": pa.array([r.peptide for r in records], pa.string()),
        "scan_number": pa.array(list(range(1, len(records) + 1)), pa.int64()),
    }
    if names:
        columns = {names.get(k, k): v for k, v in columns.items()}
    pq.write_table(pa.table(columns), str(path))
    return Path(path)
