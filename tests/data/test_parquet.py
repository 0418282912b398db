"""MGF → Parquet → records round trip, and the Parquet schema checks."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from renovo.data import MalformedFileError, SkipCounter, read_spectra, write_mgf, write_parquet
from renovo.data import records as R
from renovo.data.parquet import SCHEMA_VERSION, open_parquet
from renovo.data.simulate import simulate_records


def _same(a, b, *, source=True):
    assert np.array_equal(a.mz, b.mz) and a.mz.dtype == b.mz.dtype == np.float64
    assert np.array_equal(a.intensity, b.intensity) and b.intensity.dtype == np.float32
    assert (a.precursor_mz, a.precursor_charge, a.peptide, a.title, a.scan) == (
        b.precursor_mz, b.precursor_charge, b.peptide, b.title, b.scan)
    assert a.retention_time_s == b.retention_time_s
    if source:
        assert (a.source_file, a.index) == (b.source_file, b.index)


def test_real_mgf_parquet_round_trip(real_dir, tmp_path):
    for name in ("casanovo_mouse_128.mgf", "massivekb_500.mgf", "winnow_hela_profile_100.mgf"):
        records = list(read_spectra(real_dir / name))
        out = tmp_path / (name + ".parquet")
        assert write_parquet(records, out, row_group_size=64) == len(records)
        handle = pq.ParquetFile(out)
        assert handle.schema_arrow.metadata[b"renovo_schema"] == SCHEMA_VERSION.encode()
        assert handle.num_row_groups == -(-len(records) // 64)
        back = list(read_spectra(out))
        assert len(back) == len(records)
        for a, b in zip(records, back):
            _same(a, b)


def test_mgf_writer_round_trip_is_exact(tmp_path):
    records = list(simulate_records(20, seed=3))
    write_mgf(records, tmp_path / "sim.mgf")
    back = list(read_spectra(tmp_path / "sim.mgf"))
    assert len(back) == 20
    for a, b in zip(records, back):
        _same(a, b, source=False)
    # MGF → Parquet → records keeps everything
    write_parquet(back, tmp_path / "sim.parquet")
    for a, b in zip(back, read_spectra(tmp_path / "sim.parquet")):
        _same(a, b)


def test_empty_parquet_is_valid(tmp_path):
    assert write_parquet([], tmp_path / "empty.parquet") == 0
    assert list(read_spectra(tmp_path / "empty.parquet")) == []


def test_parquet_rows_are_validated_and_counted(tmp_path):
    records = list(simulate_records(3, seed=0))
    records[1].peptide = "PEPS[Phospho]K"
    records[2].intensity = records[2].intensity * np.float32(np.nan)
    write_parquet(records, tmp_path / "x.parquet")
    skips = SkipCounter()
    assert len(list(read_spectra(tmp_path / "x.parquet", skips=skips))) == 1
    assert dict(skips.counts) == {R.UNKNOWN_MOD: 1, R.BAD_VALUES: 1}


def test_foreign_parquet_is_malformed(tmp_path):
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "foreign.parquet")
    with pytest.raises(MalformedFileError, match="lacks renovo columns"):
        list(read_spectra(tmp_path / "foreign.parquet"))
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(MalformedFileError, match="junk.parquet"):
        open_parquet(tmp_path / "junk.parquet")


def test_flipped_bytes_in_a_column_chunk_are_an_error_naming_the_file(tmp_path):
    """renovo's Parquet carries page checksums: bytes flipped inside the m/z column chunk used to be read (and
    sequenced) silently as other m/z values; now reading stops with one line naming the file."""
    import pyarrow.parquet as pq

    from renovo.data import read_spectra, write_parquet
    from renovo.data.records import MalformedFileError
    from renovo.data.simulate import simulate_records

    path = tmp_path / "c.parquet"
    write_parquet(list(simulate_records(200, seed=1)), path)
    chunk = pq.ParquetFile(str(path)).metadata.row_group(0).column(0)
    assert chunk.path_in_schema.startswith("mz")
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset + chunk.total_compressed_size // 2
    data[start:start + 64] = bytes(b ^ 0xFF for b in data[start:start + 64])
    path.write_bytes(bytes(data))
    with pytest.raises(MalformedFileError, match="c.parquet.*checksum"):
        list(read_spectra(path, labels=False))
