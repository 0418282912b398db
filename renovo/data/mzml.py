"""mzML and mzXML reading through pyteomics (MS2 spectra only; either may be gzip-compressed).

Labels come only from a label table joined on the spectrum title (the
``spectrum title`` cvParam when present, else the native id). XML that
cannot be parsed is a :class:`MalformedFileError` naming the line lxml
reports; spectra without precursor, charge or peaks are counted skips; MS1
and MSn (n > 2) spectra are counted as "not an MS2 spectrum".
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from renovo.data import records as R
from renovo.data.builder import RecordBuilder
from renovo.data.labels import Label
from renovo.data.records import MalformedFileError, SpectrumRecord
from renovo.data.textfile import is_gzip, open_binary


@lru_cache(maxsize=1)
def _psi_ms_vocabulary():
    """psims' bundled PSI-MS vocabulary, loaded once. Without it pyteomics calls
    ``psims.load_psims()`` on every open, which first tries to download
    psi-ms.obo from purl.obolibrary.org (a network access, and ~0.4 s per file)."""
    from psims.controlled_vocabulary.controlled_vocabulary import ControlledVocabulary
    from psims.controlled_vocabulary.vendor import _use_vendored_psims_obo

    with _use_vendored_psims_obo() as handle:
        return ControlledVocabulary.from_obo(handle)


def _first(mapping, *keys):
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def _number(value, kind):
    """``kind(value)``, or None when the value is not one (``"2.5"`` is no charge, ``"abc"`` no m/z)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if kind is int:
        return int(number) if number.is_integer() else None
    return number


def _precursor(spectrum: dict) -> tuple[float | None, int | None, str | None]:
    """(precursor m/z, charge, skip reason for an unreadable charge)."""
    try:
        ion = spectrum["precursorList"]["precursor"][0]["selectedIonList"]["selectedIon"][0]
    except (KeyError, IndexError, TypeError):
        return None, None, None
    mz = _first(ion, "selected ion m/z", "m/z")
    charge = _first(ion, "charge state")
    number = _number(charge, int) if charge is not None else None
    reason = R.BAD_CHARGE if charge is not None and number is None else None
    return (_number(mz, float) if mz is not None else None), number, reason


def _retention_time_s(spectrum: dict) -> float | None:
    try:
        value = spectrum["scanList"]["scan"][0]["scan start time"]
    except (KeyError, IndexError, TypeError):
        return None
    unit = getattr(value, "unit_info", None)
    value = float(value)
    return value * 60.0 if unit in ("minute", "min") else value


def _peak_arrays(spectrum: dict, path: Path, where: str):
    """(m/z, intensity) decoded here rather than by pyteomics while parsing, so that an array that cannot be
    decoded (bad base64, a wrong compression or precision) is an error naming the spectrum, not one with no
    spectrum in it. None for a missing array."""
    arrays = []
    for name in ("m/z array", "intensity array"):
        value = spectrum.get(name)
        if value is not None and hasattr(value, "decode"):
            if isinstance(value.data, dict) or not value.data:  # an empty <binary/>, as pyteomics reads it
                arrays.append(np.zeros(0, dtype=np.float64))
                continue
            try:
                value = value.decode()
            except Exception as error:  # binascii, zlib, numpy: whatever the codec raises
                raise MalformedFileError(path, None, f"{where}: cannot decode its {name} "
                                         f"({type(error).__name__}: {error})") from None
        arrays.append(value)
    return arrays


def _skip_bad_arrays(builder: RecordBuilder, where: str, mz, intensity) -> bool:
    """Count a spectrum whose arrays are missing (no peaks) or of different lengths (said as such); True if skipped."""
    if mz is None or intensity is None:
        builder.skips.skip(R.NO_PEAKS, where, "no " + ("m/z" if mz is None else "intensity") + " array")
        return True
    if len(mz) != len(intensity):
        builder.skips.skip(R.PEAK_LENGTHS, where, f"{len(mz)} m/z values, {len(intensity)} intensities")
        return True
    return False


def read_mzml(path: str | Path, builder: RecordBuilder, labels: dict[str, Label] | None = None) -> Iterator[SpectrumRecord]:
    """Records of the MS2 spectra of an mzML file."""
    from lxml.etree import XMLSyntaxError
    from pyteomics import mzml
    from pyteomics.auxiliary import PyteomicsError

    path = Path(path)
    try:
        source = open_binary(path) if is_gzip(path) else str(path)
        reader = mzml.MzML(source, use_index=False, decode_binary=False, cv=_psi_ms_vocabulary())
    except (OSError, XMLSyntaxError, PyteomicsError) as error:
        raise MalformedFileError(path, getattr(error, "lineno", None), f"cannot read mzML: {error}") from None
    # pyteomics converts "charge state" to int while parsing, so one charge="2.5" aborted the
    # whole file; read it as text and let `_precursor` count that one spectrum as a bad charge.
    ints = reader.schema_info.get("ints", set())
    reader.schema_info = {**reader.schema_info, "ints": set(ints) - {("selectedIon", "charge state")}}
    index = 0
    with reader:
        iterator = iter(reader)
        while True:
            try:
                spectrum = next(iterator)
            except StopIteration:
                break
            except (XMLSyntaxError, PyteomicsError, ValueError, KeyError, OSError, EOFError) as error:
                raise MalformedFileError(path, getattr(error, "lineno", None), f"malformed mzML: {error}") from None
            native_id = spectrum.get("id")
            title = spectrum.get("spectrum title") or native_id
            where = f"{path.name} (spectrum {index}, id {native_id})"
            this_index = index
            index += 1
            level = spectrum.get("ms level")
            if level is not None and int(level) != 2:
                builder.skips.skip(R.NOT_MS2, where, f"ms level {level}")
                continue
            precursor_mz, charge, charge_reason = _precursor(spectrum)
            mz, intensity = _peak_arrays(spectrum, path, where)
            if _skip_bad_arrays(builder, where, mz, intensity):
                continue
            label = labels.get(title) if labels is not None else None
            scan = None
            if native_id and "scan=" in native_id:
                scan = native_id.split("scan=")[-1].split()[0]
            record = builder.build(
                np.asarray(mz, dtype=np.float64),
                np.asarray(intensity, dtype=np.float64),
                precursor_mz,
                charge,
                label,
                this_index,
                title=title,
                scan=scan,
                retention_time_s=_retention_time_s(spectrum),
                charge_reason=charge_reason,
                where=where,
            )
            if record is not None:
                yield record


def _mzxml_precursor(scan: dict) -> tuple[float | None, int | None]:
    precursors = scan.get("precursorMz") or []
    if not precursors:
        return None, None
    first = precursors[0]
    mz = first.get("precursorMz")
    charge = first.get("precursorCharge")
    return (float(mz) if mz is not None else None), (int(charge) if charge is not None else None)


def read_mzxml(path: str | Path, builder: RecordBuilder, labels: dict[str, Label] | None = None) -> Iterator[SpectrumRecord]:
    """Records of the MS2 scans of an mzXML file. The title (label-table key) is the scan number."""
    from lxml.etree import XMLSyntaxError
    from pyteomics import mzxml
    from pyteomics.auxiliary import PyteomicsError

    path = Path(path)
    try:
        source = open_binary(path) if is_gzip(path) else str(path)
        reader = mzxml.MzXML(source, use_index=False, decode_binary=False)
    except (OSError, XMLSyntaxError, PyteomicsError) as error:
        raise MalformedFileError(path, getattr(error, "lineno", None), f"cannot read mzXML: {error}") from None
    index = 0
    with reader:
        iterator = iter(reader)
        while True:
            try:
                scan = next(iterator)
            except StopIteration:
                break
            except (XMLSyntaxError, PyteomicsError, ValueError, KeyError, OSError, EOFError) as error:
                raise MalformedFileError(path, getattr(error, "lineno", None), f"malformed mzXML: {error}") from None
            number = scan.get("num") or scan.get("id")
            number = str(number) if number is not None else None
            where = f"{path.name} (scan {index}, num {number})"
            this_index = index
            index += 1
            level = scan.get("msLevel")
            if level is not None and int(level) != 2:
                builder.skips.skip(R.NOT_MS2, where, f"ms level {level}")
                continue
            precursor_mz, charge = _mzxml_precursor(scan)
            mz, intensity = _peak_arrays(scan, path, where)
            if _skip_bad_arrays(builder, where, mz, intensity):
                continue
            retention = scan.get("retentionTime")
            retention_s = None
            if retention is not None:
                # pyteomics gives mzXML's xs:duration in minutes.
                unit = getattr(retention, "unit_info", "minute")
                retention_s = float(retention) * (60.0 if unit in ("minute", "min", None) else 1.0)
            label = labels.get(number) if labels is not None and number is not None else None
            record = builder.build(
                np.asarray(mz, dtype=np.float64),
                np.asarray(intensity, dtype=np.float64),
                precursor_mz,
                charge,
                label,
                this_index,
                title=number,
                scan=number,
                retention_time_s=retention_s,
                where=where,
            )
            if record is not None:
                yield record
