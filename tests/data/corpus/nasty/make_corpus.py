"""Regenerate the nasty-file corpus in this folder (deterministic; run from anywhere).

    python tests/data/corpus/nasty/make_corpus.py

Every file is small (< 50 KB); the one-spectrum-with-a-million-peaks case is
generated at test time instead (tests/data/test_nasty_corpus.py). Expected
outcomes: EXPECTED.md and ``EXPECTED`` in the test.
"""
from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
GOOD_PEAKS = "100.0 10\n200.0 20\n300.0 5\n"


def block(headers: str, peaks: str = GOOD_PEAKS) -> str:
    return f"BEGIN IONS\n{headers}{peaks}END IONS\n\n"


GOOD = block("TITLE=good\nPEPMASS=500.25\nCHARGE=2+\nSEQ=PEPTIDEK\n")


def _array(values, accession, name) -> str:
    data = base64.b64encode(np.asarray(values, dtype="<f8").tobytes()).decode()
    return (
        f'<binaryDataArray encodedLength="{len(data)}">'
        '<cvParam cvRef="MS" accession="MS:1000523" name="64-bit float"/>'
        '<cvParam cvRef="MS" accession="MS:1000576" name="no compression"/>'
        f'<cvParam cvRef="MS" accession="{accession}" name="{name}"/>'
        f"<binary>{data}</binary></binaryDataArray>"
    )


def mzml(spectra: list[tuple]) -> str:
    """mzML text of (title, precursor_mz, charge, mz, intensity) MS2 spectra."""
    parts = []
    for index, (title, precursor_mz, charge, mz, intensity) in enumerate(spectra):
        parts.append(
            f'<spectrum index="{index}" id="scan={index + 1}" defaultArrayLength="{len(mz)}">'
            '<cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="2"/>'
            '<cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum"/>'
            f'<cvParam cvRef="MS" accession="MS:1000796" name="spectrum title" value="{title}"/>'
            '<precursorList count="1"><precursor><selectedIonList count="1"><selectedIon>'
            f'<cvParam cvRef="MS" accession="MS:1000744" name="selected ion m/z" value="{precursor_mz}"/>'
            f'<cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="{charge}"/>'
            "</selectedIon></selectedIonList></precursor></precursorList>"
            '<binaryDataArrayList count="2">'
            + _array(mz, "MS:1000514", "m/z array")
            + _array(intensity, "MS:1000515", "intensity array")
            + "</binaryDataArrayList></spectrum>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<mzML xmlns="http://psi.hupo.org/ms/mzml" version="1.1.0">\n'
        '<cvList count="1"><cv id="MS" fullName="PSI-MS" URI="https://www.ebi.ac.uk/ols/ontologies/ms"/></cvList>\n'
        f'<run id="r"><spectrumList count="{len(spectra)}">\n' + "\n".join(parts) + "\n</spectrumList></run></mzML>\n"
    )


MSP_ENTRY = 'Name: PEPTIDEK/2\nComment: Parent=500.25 Mods=0\nNum peaks: 3\n100.0\t10\t"b1"\n200.0\t20\t"y1"\n300.0\t5\t"?"\n\n'


def main() -> None:
    rng = np.random.default_rng(20240607)
    files: dict[str, bytes] = {}
    text = lambda s: s.encode("utf-8")  # noqa: E731

    # ---- empty and garbage
    for suffix in ("mgf", "msp", "sptxt", "mzML", "parquet"):
        files[f"empty.{suffix}"] = b""
    garbage = b"\x89\x00\xff" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    for suffix in ("mgf", "msp", "sptxt", "mzML", "parquet"):
        files[f"garbage.{suffix}"] = garbage
    files["nul_bytes.mgf"] = text(GOOD) + b"\x00" * 64 + b"\n" + text(GOOD)
    files["whitespace_only.mgf"] = b" \n\t\n\r\n\n"

    # ---- truncated
    good3 = GOOD + block("TITLE=b\nPEPMASS=600.3\nCHARGE=3+\n") + GOOD
    files["truncated.mgf"] = text(good3[: len(good3) - 30])
    files["truncated_mid_line.mgf"] = text(GOOD + "BEGIN IONS\nTITLE=c\nPEPMASS=50")
    library = MSP_ENTRY * 3
    files["truncated.msp"] = text(library[: len(library) - 20])
    spectra = [(f"s{i}", 500.25 + i, 2, [100.0, 200.0, 300.0], [10.0, 20.0, 5.0]) for i in range(3)]
    whole = mzml(spectra)
    files["truncated.mzML"] = text(whole[: int(len(whole) * 0.6)])

    # ---- compressed and mzXML
    import gzip

    files["truncated.mgf.gz"] = gzip.compress(text(good3), mtime=0)[:-12]
    files["garbage.mgf.gz"] = b"\x1f\x8b\x08\x00" + rng.integers(0, 256, 512, dtype=np.uint8).tobytes()
    files["plain_named.mgf.gz"] = text(GOOD)
    files["compressed.parquet.gz"] = gzip.compress(b"PAR1" + b"\x00" * 16 + b"PAR1", mtime=0)
    files["garbage.mzXML"] = garbage
    scans = "".join(
        f'<scan num="{i + 1}" msLevel="2" peaksCount="3" retentionTime="PT{i}S">'
        f'<precursorMz precursorCharge="2">{500.25 + i}</precursorMz>'
        '<peaks precision="64" byteOrder="network" compressionType="none" compressedLen="0" contentType="m/z-int">'
        + base64.b64encode(np.array([100.0, 10, 200.0, 20, 300.0, 5], dtype=">f8").tobytes()).decode()
        + "</peaks></scan>\n" for i in range(3))
    mzxml = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n<mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/'
             f'mzXML_3.2">\n<msRun scanCount="3">\n{scans}</msRun>\n</mzXML>\n')
    files["truncated.mzXML"] = text(mzxml[: int(len(mzxml) * 0.6)])

    # ---- duplicated headers, CRLF, missing END IONS
    files["duplicated_headers.mgf"] = text(
        block("TITLE=first\nTITLE=second\nPEPMASS=400.0\nPEPMASS=500.25\nCHARGE=3+\nCHARGE=2+\nSEQ=PEPTIDEK\nSEQ=PEPTIDER\n")
    )
    files["duplicated_begin_ions.mgf"] = text("BEGIN IONS\n" + GOOD)
    files["duplicated_headers.msp"] = text(
        "Name: PEPTIDEK/2\nComment: Parent=400.0\nComment: Parent=500.25\nPrecursorMZ: 450.0\nPrecursorMZ: 500.25\n"
        "Num peaks: 1\n100 1\n\n"
    )
    files["duplicated_name.msp"] = text("Name: PEPTIDEK/2\nName: PEPTIDER/2\nComment: Parent=500.25\nNum peaks: 1\n100 1\n")
    files["crlf.mgf"] = text(good3.replace("\n", "\r\n"))
    files["crlf.msp"] = text(library.replace("\n", "\r\n"))
    files["cr_only.mgf"] = text(GOOD.replace("\n", "\r"))
    files["missing_end_ions.mgf"] = text(GOOD.replace("END IONS\n", "") + GOOD)
    files["missing_end_ions_at_eof.mgf"] = text(GOOD + GOOD.replace("END IONS\n", ""))

    # ---- NaN / Inf, negative charge, unicode
    files["nan_inf.mgf"] = text(
        GOOD
        + block("TITLE=nan_mz\nPEPMASS=500.25\nCHARGE=2+\n", "nan 10\n200 20\n")
        + block("TITLE=inf_intensity\nPEPMASS=500.25\nCHARGE=2+\n", "100 inf\n200 20\n")
        + block("TITLE=nan_precursor\nPEPMASS=nan\nCHARGE=2+\n")
        + block("TITLE=inf_precursor\nPEPMASS=inf\nCHARGE=2+\n")
        + block("TITLE=neg_inf\nPEPMASS=500.25\nCHARGE=2+\n", "-inf 10\n200 20\n")
        + block("TITLE=huge\nPEPMASS=500.25\nCHARGE=2+\n", "1e308 10\n200 1e39\n")
    )
    files["nan_inf.msp"] = text(
        MSP_ENTRY
        + "Name: PEPTIDEK/2\nComment: Parent=NaN\nNum peaks: 1\n100 1\n\n"
        + "Name: PEPTIDEK/2\nComment: Parent=500.25\nNum peaks: 2\n100 inf\n200 nan\n\n"
    )
    nan_mz = [100.0, float("nan"), 300.0]
    files["nan_inf.mzML"] = text(mzml(spectra[:1] + [("bad", 500.25, 2, nan_mz, [1.0, 2.0, 3.0]),
                                                     ("inf", float("inf"), 2, [100.0], [1.0])]))
    files["negative_charge.mgf"] = text(
        GOOD
        + block("TITLE=minus_suffix\nPEPMASS=500.25\nCHARGE=2-\n")
        + block("TITLE=minus_prefix\nPEPMASS=500.25\nCHARGE=-2\n")
        + block("TITLE=zero\nPEPMASS=500.25\nCHARGE=0\n")
        + block("TITLE=huge\nPEPMASS=500.25\nCHARGE=99999999999999999999\n")
        + block("TITLE=text\nPEPMASS=500.25\nCHARGE=two\n")
    )
    files["negative_charge.msp"] = text(MSP_ENTRY + MSP_ENTRY.replace("/2", "/-2") + MSP_ENTRY.replace("/2", "/0"))
    files["negative_charge.mzML"] = text(mzml(spectra[:1] + [("neg", 500.25, -2, [100.0], [1.0])]))
    files["unicode_titles.mgf"] = (
        text(block("TITLE=肽段 ü Ωmega 🧪 \u202eevil\nPEPMASS=500.25\nCHARGE=2+\nSEQ=PEPTIDEK\n"))
        + b"BEGIN IONS\nTITLE=latin1 \xe9\xe8 not utf-8\nPEPMASS=500.25\nCHARGE=2+\n" + text(GOOD_PEAKS) + b"END IONS\n"
        + text(block("TITLE=bad label Ü\nPEPMASS=500.25\nCHARGE=2+\nSEQ=PEPTÏDEK\n"))
    )
    files["unicode_titles.msp"] = text(MSP_ENTRY.replace("Mods=0", 'Mods=0 Protein="蛋白质 ü 🧪"') + MSP_ENTRY.replace("PEPTIDEK", "PEPTÏDEK"))
    files["bom.mgf"] = b"\xef\xbb\xbf" + text(GOOD)
    # UTF-16 as Windows tools write it: with a byte-order mark it is read; without one it is named
    files["utf16.mgf"] = b"\xff\xfe" + GOOD.encode("utf-16-le")
    files["utf16_no_bom.mgf"] = GOOD.encode("utf-16-le")

    # ---- a decimal comma in PEPMASS, a fractional mzML charge
    files["decimal_comma.mgf"] = text(GOOD + block("TITLE=comma\nPEPMASS=500,25\nCHARGE=2+\n") + GOOD)
    # binary arrays: one that cannot be decoded (named by its spectrum), two of different lengths (a skip said as such)
    two = mzml(spectra[:3])
    start = two.index("<binary>", two.index('id="scan=2"')) + len("<binary>")
    files["bad_binary.mzML"] = text(two[:start] + "@@@@" + two[start + 4:])
    files["unequal_arrays.mzML"] = text(mzml(spectra[:1] + [("uneq", 500.25, 2, [100.0, 200.0, 300.0], [1.0, 2.0])]))
    files["fractional_charge.mzML"] = text(mzml(spectra[:1] + [("half", 500.25, 2.5, [100.0], [1.0])] + spectra[1:2]))

    # ---- odd but legal, and long lines
    files["long_line.mgf"] = text(GOOD + "TITLE=" + "x" * 20000 + "\n" + GOOD)
    files["many_tiny_spectra.mgf"] = text("".join(block(f"TITLE=t{i}\nPEPMASS=500.25\nCHARGE=2+\n", "100 1\n") for i in range(400)))

    for name, content in files.items():
        assert len(content) < 50_000, name
        (HERE / name).write_bytes(content)

    # Parquet: truncated and foreign-schema files
    import pyarrow as pa
    import pyarrow.parquet as pq

    import renovo.data as data

    records = list(data.read_spectra(HERE / "crlf.mgf"))
    data.write_parquet(records, HERE / "good.parquet")
    whole_bytes = (HERE / "good.parquet").read_bytes()
    (HERE / "truncated.parquet").write_bytes(whole_bytes[: len(whole_bytes) // 2])
    (HERE / "good.parquet").unlink()
    pq.write_table(pa.table({"a": [1, 2, 3]}), HERE / "foreign_schema.parquet")
    nan_table = pa.table({
        "mz": pa.array([[100.0, 200.0], [float("nan"), 200.0], [100.0]], pa.list_(pa.float64())),
        "intensity": pa.array([[1.0, 2.0], [1.0, 2.0], [float("inf")]], pa.list_(pa.float32())),
        "precursor_mz": pa.array([500.25, 500.25, 500.25]),
        "precursor_charge": pa.array([2, 2, -2], pa.int16()),
        "peptide": pa.array(["PEPTIDEK", "PEPTIDEK", None]),
    })
    pq.write_table(nan_table, HERE / "nan_inf.parquet")
    wrong_types = pa.table({
        "mz": pa.array(["a", "b"]), "intensity": pa.array(["c", "d"]),
        "precursor_mz": pa.array(["x", "y"]), "precursor_charge": pa.array(["2", "3"]),
    })
    pq.write_table(wrong_types, HERE / "wrong_types.parquet")
    # renovo's column names, bad contents
    unequal = pa.table({
        "mz": pa.array([[100.0, 200.0], [100.0, 200.0, 300.0], [100.0], None], pa.list_(pa.float64())),
        "intensity": pa.array([[1.0, 2.0], [1.0, 2.0], [3.0], [1.0]], pa.list_(pa.float32())),
        "precursor_mz": pa.array([500.25, 500.25, None, 500.25]),
        "precursor_charge": pa.array([2, 2, 2, 2], pa.int16()),
        "peptide": pa.array(["PEPTIDEK", "PEPTIDEK", "PEPTIDEK", None]),
    })
    pq.write_table(unequal, HERE / "unequal_peaks.parquet")
    pq.write_table(unequal.set_column(4, "peptide", pa.array([1, 2, 3, 4])), HERE / "integer_peptide.parquet")
    pq.write_table(unequal.append_column("title", pa.array([1.5, 2.5, 3.5, 4.5]))
                   .append_column("retention_time_s", pa.array(["a", "b", "c", "d"])),
                   HERE / "wrong_optional_types.parquet")
    # renovo Parquet without labels, and with no rows: readable, but nothing to train on
    data.write_parquet([dataclasses.replace(r, peptide=None) for r in records], HERE / "unlabelled.parquet")
    data.write_parquet([], HERE / "zero_rows.parquet")


if __name__ == "__main__":
    main()
