"""mzML reading through pyteomics, on small files written here."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from renovo.data import MalformedFileError, SkipCounter, read_spectra
from renovo.data import records as R


def _array(values, name_accession, name) -> str:
    data = base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()
    return (
        f'<binaryDataArray encodedLength="{len(data)}">'
        '<cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>'
        '<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/>'
        f'<cvParam cvRef="MS" accession="{name_accession}" name="{name}"/>'
        f"<binary>{data}</binary></binaryDataArray>"
    )


def spectrum_xml(index, mz, intensity, ms_level=2, precursor_mz=500.25, charge=2, title=None, rt_min=1.5) -> str:
    precursor = ""
    if ms_level == 2 and precursor_mz is not None:
        charge_param = (
            f'<cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="{charge}"/>' if charge else ""
        )
        precursor = (
            '<precursorList count="1"><precursor><selectedIonList count="1"><selectedIon>'
            f'<cvParam cvRef="MS" accession="MS:1000744" name="selected ion m/z" value="{precursor_mz}"/>'
            f"{charge_param}</selectedIon></selectedIonList></precursor></precursorList>"
        )
    title_param = f'<cvParam cvRef="MS" accession="MS:1000796" name="spectrum title" value="{title}"/>' if title else ""
    return (
        f'<spectrum index="{index}" id="controllerType=0 controllerNumber=1 scan={index + 1}" defaultArrayLength="{len(mz)}">'
        f'<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="{ms_level}"/>'
        '<cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum"/>'
        f"{title_param}"
        '<scanList count="1"><scan>'
        f'<cvParam cvRef="MS" accession="MS:1000016" name="scan start time" value="{rt_min}" unitCvRef="UO" unitAccession="UO:0000031" unitName="minute"/>'
        "</scan></scanList>"
        f"{precursor}"
        '<binaryDataArrayList count="2">'
        + _array(mz, "MS:1000514", "m/z array")
        + _array(intensity, "MS:1000515", "intensity array")
        + "</binaryDataArrayList></spectrum>"
    )


def mzml_text(spectra: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">\n'
        '<cvList count="1"><cv id="MS" fullName="PSI-MS" URI="https://www.ebi.ac.uk/ols/ontologies/ms"/></cvList>\n'
        f'<run id="r"><spectrumList count="{len(spectra)}">\n' + "\n".join(spectra) + "\n</spectrumList></run></mzML>\n"
    )


PEAKS = ([100.0, 200.0, 300.5], [10.0, 20.0, 5.0])


def test_mzml_reads_ms2_and_counts_skips(tmp_path):
    path = tmp_path / "run.mzML"
    path.write_text(mzml_text([
        spectrum_xml(0, *PEAKS, ms_level=1),
        spectrum_xml(1, *PEAKS, title="good"),
        spectrum_xml(2, *PEAKS, charge=None),
        spectrum_xml(3, *PEAKS, precursor_mz=None),
        spectrum_xml(4, [], []),
        spectrum_xml(5, [100.0, 200.0], [np.nan, 2.0]),
    ]))
    skips = SkipCounter()
    records = list(read_spectra(path, skips=skips))
    assert len(records) == 1
    (record,) = records
    assert record.title == "good" and record.scan == "2" and record.index == 1
    assert record.mz.tolist() == PEAKS[0] and record.intensity.tolist() == PEAKS[1]
    assert record.precursor_mz == 500.25 and record.precursor_charge == 2
    assert record.retention_time_s == pytest.approx(90.0)
    assert dict(skips.counts) == {R.NOT_MS2: 1, R.NO_CHARGE: 1, R.NO_PRECURSOR: 1, R.NO_PEAKS: 1, R.BAD_VALUES: 1}


def test_mzml_labels_join_on_title(tmp_path):
    path = tmp_path / "run.mzML"
    path.write_text(mzml_text([spectrum_xml(0, *PEAKS, title="s0"), spectrum_xml(1, *PEAKS)]))
    records = list(read_spectra(path, labels={"s0": "PEPTIDEK"}))
    assert [r.peptide for r in records] == ["PEPTIDEK", None]
    assert records[1].title.endswith("scan=2")


def test_truncated_mzml_is_malformed_with_line(tmp_path):
    path = tmp_path / "cut.mzML"
    text = mzml_text([spectrum_xml(0, *PEAKS), spectrum_xml(1, *PEAKS)])
    path.write_text(text[: int(len(text) * 0.7)])
    with pytest.raises(MalformedFileError) as caught:
        list(read_spectra(path))
    assert "cut.mzML" in str(caught.value) and caught.value.line is not None


def test_garbage_mzml_is_malformed(tmp_path):
    path = tmp_path / "bad.mzML"
    path.write_text("<mzML><run><spectrumList><spectrum index='0'>oops</spectrumList></mzML>")
    with pytest.raises(MalformedFileError, match="bad.mzML"):
        list(read_spectra(path))


def test_mzml_reading_opens_no_socket(tmp_path, monkeypatch):
    """pyteomics loads the PSI-MS vocabulary through psims; it must come from disk, not the network."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("renovo tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    path = tmp_path / "offline.mzML"
    path.write_text(mzml_text([spectrum_xml(0, *PEAKS)]))
    assert len(list(read_spectra(path))) == 1
