"""``read_spectra``: one entry point for every spectrum format renovo reads."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Mapping

from renovo.chem import Vocabulary
from renovo.data.builder import RecordBuilder
from renovo.data.labels import Label, read_label_table
from renovo.data.records import MalformedFileError, SkipCounter, SpectrumRecord

MGF_SUFFIXES = (".mgf",)
MZML_SUFFIXES = (".mzml",)
PARQUET_SUFFIXES = (".parquet", ".pq")
LIBRARY_SUFFIXES = (".msp", ".sptxt")
SPECTRUM_SUFFIXES = MGF_SUFFIXES + MZML_SUFFIXES + PARQUET_SUFFIXES + LIBRARY_SUFFIXES
#: A label table beside a spectrum file with the same stem is joined automatically.
SIBLING_LABEL_SUFFIXES = (".peprec",)


def find_sibling_labels(path: str | Path) -> Path | None:
    """``<stem>.peprec`` next to ``path``, if there is one."""
    path = Path(path)
    for suffix in SIBLING_LABEL_SUFFIXES:
        candidate = path.with_suffix(suffix)
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
) -> Iterator[SpectrumRecord]:
    """Read the spectra of an MGF, mzML, renovo Parquet, NIST MSP or SpectraST sptxt file (by extension).

    ``labels``: a label table (MS2PIP peprec, or TSV/CSV with title + peptide
    columns) or a ``{title: peptide}`` mapping, joined on the spectrum title;
    None (default) joins a sibling ``<stem>.peprec`` when one exists; False
    never joins. A table label takes precedence over an MGF ``SEQ=`` label.
    ``vocabulary``: labels are parsed against it (default vocabulary if None);
    a label using a token outside it is an unknown modification.
    ``on_unknown_mod``: "skip" (count and drop the spectrum), "error", or
    "ignore" (do not read labels at all: every spectrum is kept unlabelled, for inference).
    ``centroid``: centroid profile-mode spectra (True) or skip them (False).
    Skipped spectra are counted in ``skips``.
    """
    path = Path(path)
    if not path.is_file():
        raise MalformedFileError(path, None, "no such file")
    builder = RecordBuilder(path, vocabulary=vocabulary, skips=skips, on_unknown_mod=on_unknown_mod, centroid=centroid)
    table = _labels(labels, path)
    suffix = path.suffix.lower()
    if suffix in MGF_SUFFIXES:
        from renovo.data.mgf import read_mgf

        return read_mgf(path, builder, table)
    if suffix in MZML_SUFFIXES:
        from renovo.data.mzml import read_mzml

        return read_mzml(path, builder, table)
    if suffix in PARQUET_SUFFIXES:
        from renovo.data.parquet import read_parquet

        return read_parquet(path, builder, table)
    if suffix in LIBRARY_SUFFIXES:
        from renovo.data.library import read_library

        return read_library(path, builder, table)
    raise MalformedFileError(path, None, f"unknown spectrum format {suffix!r}; renovo reads {', '.join(SPECTRUM_SUFFIXES)}")


def check_spectrum_files(paths) -> None:
    """Check every input before any work: a missing file, an unknown format, an unreadable or foreign
    Parquet file, or a text file broken at its start raises `MalformedFileError` naming the file.

    Cheap: Parquet files are checked from their footer (schema and column types),
    other formats by reading up to their first spectrum. A structural error deep
    inside a text file is still found only when reading reaches it.
    """
    for path in map(Path, paths):
        if not path.is_file():
            raise MalformedFileError(path, None, "no such file")
        suffix = path.suffix.lower()
        if suffix not in SPECTRUM_SUFFIXES:
            raise MalformedFileError(path, None, f"unknown spectrum format {suffix!r}; renovo reads {', '.join(SPECTRUM_SUFFIXES)}")
        if suffix in PARQUET_SUFFIXES:
            from renovo.data.parquet import open_parquet

            open_parquet(path)
            continue
        next(iter(read_spectra(path, labels=False, skips=SkipCounter(), on_unknown_mod="ignore")), None)
