"""``read_spectra``: one entry point for every spectrum format renovo reads."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, Mapping

from renovo.chem import Vocabulary
from renovo.data.builder import RecordBuilder
from renovo.data.labels import LOW_MATCH_FRACTION, Label, LabelTable, read_label_table
from renovo.data.records import MalformedFileError, SkipCounter, SpectrumRecord

MGF_SUFFIXES = (".mgf",)
MZML_SUFFIXES = (".mzml",)
MZXML_SUFFIXES = (".mzxml",)
PARQUET_SUFFIXES = (".parquet", ".pq")
LIBRARY_SUFFIXES = (".msp", ".sptxt")
SPECTRUM_SUFFIXES = MGF_SUFFIXES + MZML_SUFFIXES + MZXML_SUFFIXES + PARQUET_SUFFIXES + LIBRARY_SUFFIXES
#: Text and XML formats may be gzip-compressed (``run.mgf.gz``); Parquet compresses itself.
COMPRESSED_SUFFIXES = (".gz",)
_GLOB_CHARS = set("*?[")
#: A label table beside a spectrum file with the same stem is joined automatically.
SIBLING_LABEL_SUFFIXES = (".peprec",)


def format_suffix(path: str | Path) -> str:
    """The lower-case format extension of a spectrum file, a ``.gz`` ending looked through."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def is_compressed(path: str | Path) -> bool:
    return Path(path).suffix.lower() in COMPRESSED_SUFFIXES


def is_spectrum_file(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() and format_suffix(path) in SPECTRUM_SUFFIXES and \
        not (is_compressed(path) and format_suffix(path) in PARQUET_SUFFIXES)


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Spectrum files named by ``inputs``: files as given, folders as the spectrum files directly
    inside them (sorted), glob patterns (``runs/*.mzML``, ``**`` for subfolders) as their sorted
    matches. A name that matches nothing is a one-line error; duplicates are kept once."""
    import glob

    from renovo.errors import RenovoError

    files: dict[Path, None] = {}
    for item in inputs:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if is_spectrum_file(p))
            if not found:
                raise RenovoError(f"folder {path} holds no spectrum files ({', '.join(SPECTRUM_SUFFIXES)}, optionally .gz)")
        elif path.is_file():
            found = [path]
        elif _GLOB_CHARS & set(text):
            found = sorted(Path(p) for p in glob.glob(text, recursive=True) if is_spectrum_file(p))
            if not found:
                raise RenovoError(f"no spectrum files match {text!r}")
        else:
            raise RenovoError(f"no spectrum file {text}")
        for f in found:
            files.setdefault(f, None)
    return list(files)


def count_spectra(path: str | Path) -> int | None:
    """How many spectra a file holds, when that is cheap to learn (for a progress bar's total):
    an MGF's ``BEGIN IONS`` lines, a Parquet's row count, an mzML's ``spectrumList count`` or an
    mzXML's ``scanCount``; None for other files or when the file does not say."""
    import re

    from renovo.data.textfile import open_binary

    path = Path(path)
    suffix = format_suffix(path)
    try:
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(str(path)).metadata.num_rows)
        if suffix in MGF_SUFFIXES:
            count = 0
            with open_binary(path) as handle:
                for line in handle:
                    if line.strip().upper() == b"BEGIN IONS":
                        count += 1
            return count
        if suffix in MZML_SUFFIXES + MZXML_SUFFIXES:
            with open_binary(path) as handle:
                head = handle.read(1 << 16)
            pattern = rb"<spectrumList[^>]*\scount=\"(\d+)\"" if suffix in MZML_SUFFIXES else rb"scanCount=\"(\d+)\""
            match = re.search(pattern, head)
            return int(match.group(1)) if match else None
    except Exception:  # a damaged file is reported by the reader itself, with its line
        return None
    return None


def _guarded(path: Path, records: Iterator[SpectrumRecord]) -> Iterator[SpectrumRecord]:
    """``records``, with a damaged gzip stream reported as a malformed file."""
    import gzip
    import zlib

    try:
        yield from records
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise MalformedFileError(path, None, f"compressed file is damaged or truncated ({error})") from None


def _checked_join(path: Path, table: LabelTable, records: Iterator[SpectrumRecord]) -> Iterator[SpectrumRecord]:
    """``records``; then a label table that labelled none of the file's spectra is an error (every spectrum
    came out unlabelled without a word), and one that labelled under LOW_MATCH_FRACTION of them is warned about."""
    import sys

    table.reset()
    yield from records
    if not table.looked_up or not len(table):
        return
    if table.matched == 0:
        raise MalformedFileError(table.path, None, f"none of the {len(table)} titles of this label table matches a "
                                 f"spectrum of {path} ({table.looked_up} spectra, e.g. {table.missed_example!r}, vs "
                                 f"{next(iter(table))!r} in the table); is it the table of this file?")
    if table.matched < LOW_MATCH_FRACTION * table.looked_up:
        print(f"warning: label table {table.path} labels only {table.matched} of {table.looked_up} spectra of {path} "
              f"(e.g. no label for {table.missed_example!r})", file=sys.stderr)


def find_sibling_labels(path: str | Path) -> Path | None:
    """``<stem>.peprec`` next to ``path``, if there is one."""
    path = Path(path)
    for suffix in SIBLING_LABEL_SUFFIXES:
        candidate = path.with_name(path.name[: -len(path.suffix)] if is_compressed(path) else path.name).with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _labels(labels, path: Path) -> dict[str, Label] | None:
    if labels is None:
        sibling = find_sibling_labels(path)
        return read_label_table(sibling) if sibling is not None else None
    if labels is False:
        return None
    if isinstance(labels, Mapping):
        return {str(k): v if isinstance(v, Label) else Label(v) for k, v in labels.items()}
    return read_label_table(labels)


def read_spectra(
    path: str | Path,
    *,
    labels: str | Path | Mapping[str, str] | bool | None = None,
    vocabulary: Vocabulary | None = None,
    skips: SkipCounter | None = None,
    on_unknown_mod: str = "skip",
    centroid: bool = True,
    column_map: Mapping[str, str] | None = None,
) -> Iterator[SpectrumRecord]:
    """Read the spectra of an MGF, mzML, mzXML, Parquet, NIST MSP or SpectraST sptxt file (by extension).

    ``labels``: a label table (MS2PIP peprec, or TSV/CSV with title + peptide
    columns) or a ``{title: peptide}`` mapping, joined on the spectrum title;
    None (default) joins a sibling ``<stem>.peprec`` when one exists; False
    never joins. A table label takes precedence over an MGF ``SEQ=`` label.
    ``vocabulary``: labels are parsed against it (default vocabulary if None);
    a label using a token outside it is an unknown modification.
    ``on_unknown_mod``: "skip" (count and drop the spectrum), "error", or
    "ignore" (do not read labels at all: every spectrum is kept unlabelled, for inference).
    ``centroid``: centroid profile-mode spectra (True) or skip them (False).
    ``column_map``: for Parquet files in another layout, ``{renovo column: file column}``
    (see :mod:`renovo.data.parquet`; InstaNovo's layout is recognised without one).
    Text and XML files may be gzip-compressed (``.mgf.gz``, ``.mzML.gz``).
    Skipped spectra are counted in ``skips``.
    """
    path = Path(path)
    if not path.is_file():
        raise MalformedFileError(path, None, "no such file")
    builder = RecordBuilder(path, vocabulary=vocabulary, skips=skips, on_unknown_mod=on_unknown_mod, centroid=centroid)
    table = _labels(labels, path)
    suffix = format_suffix(path)
    if is_compressed(path) and suffix in PARQUET_SUFFIXES:
        raise MalformedFileError(path, None, "a Parquet file cannot be gzip-compressed (Parquet compresses its own pages)")
    records = _read(path, suffix, builder, table, column_map)
    return _checked_join(path, table, records) if isinstance(table, LabelTable) else records


def _read(path: Path, suffix: str, builder: RecordBuilder, table, column_map) -> Iterator[SpectrumRecord]:
    if suffix in MGF_SUFFIXES:
        from renovo.data.mgf import read_mgf

        return _guarded(path, read_mgf(path, builder, table))
    if suffix in MZML_SUFFIXES:
        from renovo.data.mzml import read_mzml

        return _guarded(path, read_mzml(path, builder, table))
    if suffix in MZXML_SUFFIXES:
        from renovo.data.mzml import read_mzxml

        return _guarded(path, read_mzxml(path, builder, table))
    if suffix in PARQUET_SUFFIXES:
        from renovo.data.parquet import read_parquet

        return read_parquet(path, builder, table, column_map=column_map)
    if suffix in LIBRARY_SUFFIXES:
        from renovo.data.library import read_library

        return _guarded(path, read_library(path, builder, table))
    raise MalformedFileError(path, None, f"unknown spectrum format {suffix!r}; renovo reads {', '.join(SPECTRUM_SUFFIXES)}")


def check_spectrum_files(paths, column_map: Mapping[str, str] | None = None) -> None:
    """Check every input before any work: a missing file, an unknown format, an unreadable or foreign
    Parquet file, or a text file broken at its start raises `MalformedFileError` naming the file.

    Cheap: Parquet files are checked from their footer (schema and column types),
    other formats by reading up to their first spectrum. A structural error deep
    inside a text file is still found only when reading reaches it.
    """
    for path in map(Path, paths):
        if not path.is_file():
            raise MalformedFileError(path, None, "no such file")
        suffix = format_suffix(path)
        if suffix not in SPECTRUM_SUFFIXES:
            raise MalformedFileError(path, None, f"unknown spectrum format {suffix!r}; renovo reads {', '.join(SPECTRUM_SUFFIXES)}")
        if suffix in PARQUET_SUFFIXES and not is_compressed(path):
            from renovo.data.parquet import open_parquet

            open_parquet(path, column_map)
            continue
        next(iter(read_spectra(path, labels=False, skips=SkipCounter(), on_unknown_mod="ignore")), None)
