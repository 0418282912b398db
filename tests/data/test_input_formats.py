"""Every common input: mzXML, gzip-compressed MGF / mzML, folders and globs, InstaNovo Parquet."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from renovo.cli import main
from renovo.data import SkipCounter, expand_inputs, read_spectra, write_mgf
from renovo.data.simulate import simulate_records
from renovo.errors import RenovoError
from tests.data.writers import write_instanovo_parquet, write_mzxml


def _same_spectra(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.mz, y.mz)
        np.testing.assert_allclose(x.intensity, y.intensity, rtol=1e-6)
        assert x.precursor_mz == y.precursor_mz and x.precursor_charge == y.precursor_charge


def test_mzxml_read_ms2_only(tmp_path):
    records = list(simulate_records(5, seed=2))
    path = write_mzxml(records, tmp_path / "run.mzXML", ms1_every=2)
    skips = SkipCounter()
    back = list(read_spectra(path, skips=skips))
    _same_spectra(back, records)
    assert skips["not an MS2 spectrum"] == 3
    assert [r.scan for r in back] == ["102", "103", "105", "106", "108"]
    assert [r.index for r in back] == [1, 2, 4, 5, 7]
    assert back[0].retention_time_s == pytest.approx(records[0].retention_time_s, abs=1e-6)


def test_gzip_mgf(tmp_path, real_dir):
    source = real_dir / "casanovo_mouse_128.mgf"
    compressed = tmp_path / "mouse.mgf.gz"
    with open(source, "rb") as f, gzip.open(compressed, "wb") as g:
        shutil.copyfileobj(f, g)
    plain = list(read_spectra(source))
    back = list(read_spectra(compressed))
    _same_spectra(back, plain)
    assert [r.peptide for r in back] == [r.peptide for r in plain]


def test_gzip_mzml(tmp_path):
    from tests.data.test_mzml import mzml_text, spectrum_xml

    text = mzml_text([spectrum_xml(0, [100.0, 200.0], [5.0, 7.0]), spectrum_xml(1, [150.0, 250.0], [1.0, 2.0], ms_level=1)])
    plain = tmp_path / "run.mzML"
    plain.write_text(text)
    compressed = tmp_path / "run.mzML.gz"
    with gzip.open(compressed, "wt") as g:
        g.write(text)
    _same_spectra(list(read_spectra(compressed)), list(read_spectra(plain)))
    truncated = tmp_path / "cut.mzML.gz"
    truncated.write_bytes(compressed.read_bytes()[:-40])
    with pytest.raises(RenovoError, match="cut.mzML.gz"):
        list(read_spectra(truncated))


def test_folders_and_globs(tmp_path):
    for name, seed in (("a.mgf", 1), ("b.mgf", 2)):
        write_mgf(simulate_records(2, seed=seed), tmp_path / name)
    (tmp_path / "notes.txt").write_text("not spectra")
    (tmp_path / "sub").mkdir()
    write_mgf(simulate_records(1, seed=3), tmp_path / "sub" / "c.mgf")
    assert expand_inputs([tmp_path]) == [tmp_path / "a.mgf", tmp_path / "b.mgf"]
    assert expand_inputs([str(tmp_path / "*.mgf"), str(tmp_path / "a.mgf")]) == [tmp_path / "a.mgf", tmp_path / "b.mgf"]
    assert expand_inputs([str(tmp_path / "**" / "*.mgf")])[-1] == tmp_path / "sub" / "c.mgf"
    with pytest.raises(RenovoError, match="no spectrum files match"):
        expand_inputs([str(tmp_path / "*.mzML")])
    with pytest.raises(RenovoError, match="no spectrum file"):
        expand_inputs([str(tmp_path / "missing.mgf")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(RenovoError, match="holds no spectrum files"):
        expand_inputs([tmp_path / "empty"])


def test_instanovo_parquet_direct_and_converted(tmp_path):
    records = list(simulate_records(4, seed=5))
    path = write_instanovo_parquet(records, tmp_path / "instanovo.parquet")
    back = list(read_spectra(path))
    _same_spectra(back, records)
    assert [r.peptide for r in back] == [r.peptide for r in records]
    assert [r.scan for r in back] == ["1", "2", "3", "4"] and [r.index for r in back] == [0, 1, 2, 3]
    out = tmp_path / "converted.parquet"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    converted = list(read_spectra(out))
    _same_spectra(converted, records)
    assert [r.peptide for r in converted] == [r.peptide for r in records]


def test_parquet_column_map(tmp_path, capsys):
    records = list(simulate_records(3, seed=6))
    names = {"mz_array": "masses", "intensity_array": "intensities", "precursor_mz": "pmz",
             "precursor_charge": "z", "sequence": "label"}
    path = write_instanovo_parquet(records, tmp_path / "other.parquet", names)
    with pytest.raises(RenovoError, match="lacks renovo columns"):
        list(read_spectra(path))
    column_map = {"mz": "masses", "intensity": "intensities", "precursor_mz": "pmz", "precursor_charge": "z",
                  "peptide": "label"}
    _same_spectra(list(read_spectra(path, column_map=column_map)), records)
    with pytest.raises(RenovoError, match="lacks"):
        list(read_spectra(path, column_map={**column_map, "peptide": "nope"}))
    out = tmp_path / "converted.parquet"
    assert main(["convert", str(path), "-o", str(out), "--column-map",
                 "mz=masses,intensity=intensities,precursor_mz=pmz,precursor_charge=z,peptide=label"]) == 0
    assert [r.peptide for r in read_spectra(out)] == [r.peptide for r in records]


def test_count_spectra_for_progress_totals(tmp_path, real_dir):
    from renovo.data.readers import count_spectra
    from tests.data.test_mzml import mzml_text, spectrum_xml

    assert count_spectra(real_dir / "casanovo_mouse_128.mgf") == 128
    compressed = tmp_path / "m.mgf.gz"
    compressed.write_bytes(gzip.compress((real_dir / "casanovo_mouse_128.mgf").read_bytes()))
    assert count_spectra(compressed) == 128
    assert count_spectra(write_mzxml(list(simulate_records(3, seed=1)), tmp_path / "r.mzXML", ms1_every=2)) == 5
    (tmp_path / "r.mzML").write_text(mzml_text([spectrum_xml(i, [100.0], [1.0]) for i in range(4)]))
    assert count_spectra(tmp_path / "r.mzML") == 4
    assert count_spectra(write_instanovo_parquet(list(simulate_records(2, seed=1)), tmp_path / "i.parquet")) == 2
    assert count_spectra(tmp_path / "missing.msp") is None
