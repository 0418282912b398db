"""Predictions on disk: mzTab 1.0 (the peers' format) and CSV, written and read back.

One row per (spectrum, rank). ``sequence`` holds the canonical ProForma
peptide (as Casanovo writes it); ``modifications`` lists the same
modifications in mzTab's ``position-UNIMOD:n`` form (0 = N-terminus).
``spectra_ref`` is ``ms_run[r]:index=i`` with ``i`` the 0-based position of
the spectrum in its file (the index renovo's readers give every spectrum,
skipped ones included), which is how ``renovo evaluate`` joins predictions to
labels. Per-residue probabilities (N→C) go in ``opt_global_aa_scores``.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import unquote, urlparse

from renovo.chem import PROTON_MASS_DA, parse_peptide
from renovo.chem.vocabulary import Vocabulary, default_vocabulary
from renovo.errors import RenovoError
from renovo.files import atomic_open, write_text

PSM_COLUMNS = [
    "sequence", "PSM_ID", "accession", "unique", "database", "database_version", "search_engine",
    "search_engine_score[1]", "modifications", "retention_time", "charge", "exp_mass_to_charge",
    "calc_mass_to_charge", "spectra_ref", "pre", "post", "start", "end",
    "opt_global_rank", "opt_global_aa_scores", "opt_global_mass_error_ppm", "opt_global_precursor_match",
    "opt_global_title", "opt_global_scan",
]
CSV_COLUMNS = [
    "file", "index", "scan", "title", "rank", "peptide", "score", "aa_scores", "charge",
    "precursor_mz", "calc_mz", "mass_error_ppm", "precursor_match", "retention_time_s",
]
_SPECTRA_REF = re.compile(r"ms_run\[(\d+)\]:index=(\d+)")


@dataclass
class PSM:
    """One predicted peptide for one spectrum (``rank`` 1 = best)."""

    source_file: str
    index: int
    peptide: str
    score: float
    residue_scores: list[float] = field(default_factory=list)
    rank: int = 1
    charge: int = 0
    precursor_mz: float = math.nan
    calc_mz: float = math.nan
    mass_error_ppm: float = math.nan
    precursor_match: bool | None = None
    retention_time_s: float | None = None
    title: str | None = None
    scan: str | None = None


def calc_mz(mass_da: float, charge: int) -> float:
    """m/z of a neutral mass (Da) at ``charge``; NaN for charge ≤ 0."""
    return (mass_da + charge * PROTON_MASS_DA) / charge if charge and charge > 0 else math.nan


def _mzTab_modifications(peptide: str, vocabulary: Vocabulary) -> str:
    """mzTab ``modifications``: ``position-UNIMOD:n`` entries, 0 = N-terminus, residues from 1."""
    if not peptide:
        return "null"
    by_name = {m.name: m for m in vocabulary.modifications}
    entries: list[str] = []
    position = 0
    for token in parse_peptide(peptide, vocabulary).tokens:
        if Vocabulary.is_n_terminal(token):
            name, where = token[1:-2], 0
        else:
            position += 1
            if "[" not in token:
                continue
            name, where = token[2:-1], position
        modification = by_name.get(name)
        if modification is None:
            continue
        accession = f"UNIMOD:{modification.unimod_id}" if modification.unimod_id is not None else f"CHEMMOD:{modification.delta_da:+.6f}"
        entries.append(f"{where}-{accession}")
    return ",".join(entries) if entries else "null"


def _value(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "null"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e4 else f"{value:.6f}"
    return str(value).replace("\t", " ").replace("\n", " ")


def _param(cv: str, accession: str, name: str, value: str = "") -> str:
    return f"[{cv}, {accession}, {name}, {value}]"


# long function: the mzTab metadata section line by line, then the PSM rows, in the format's own order.
def write_mztab(
    path: str | Path,
    psms: Iterable[PSM],
    ms_runs: Sequence[str],
    vocabulary: Vocabulary | None = None,
    description: str = "renovo de novo peptide sequencing",
    software: str = "renovo",
) -> int:
    """Write mzTab 1.0 (Summary, Identification); ``ms_runs`` are the input files in order.
    Returns the number of PSM rows written."""
    from renovo import __version__

    vocabulary = vocabulary or default_vocabulary()
    run_of = {str(Path(run)): i + 1 for i, run in enumerate(ms_runs)}
    fixed = sorted(set(vocabulary.fixed.values()))
    variable = [t for t in vocabulary.tokens if ("[" in t) and t not in fixed]
    by_name = {m.name: m for m in vocabulary.modifications}

    def mod_param(token: str) -> str:
        name = token[1:-2] if token.endswith("]-") else token[2:-1]
        modification = by_name[name]
        if modification.unimod_id is None:
            return _param("CHEMMOD", f"CHEMMOD:{modification.delta_da:+.6f}", name)
        return _param("UNIMOD", f"UNIMOD:{modification.unimod_id}", name)

    lines = [
        ["MTD", "mzTab-version", "1.0.0"],
        ["MTD", "mzTab-mode", "Summary"],
        ["MTD", "mzTab-type", "Identification"],
        ["MTD", "description", description],
        ["MTD", "software[1]", _param("MS", "MS:1001456", "analysis software", f"{software} {__version__}")],
        ["MTD", "psm_search_engine_score[1]", _param("MS", "MS:1001143", "search engine specific score for PSMs", "")],
    ]
    for i, run in enumerate(ms_runs, start=1):
        lines.append(["MTD", f"ms_run[{i}]-location", Path(run).resolve().as_uri()])
    if fixed:
        for i, token in enumerate(fixed, start=1):
            lines.append(["MTD", f"fixed_mod[{i}]", mod_param(token)])
            lines.append(["MTD", f"fixed_mod[{i}]-site", token[0]])
    else:
        lines.append(["MTD", "fixed_mod[1]", _param("MS", "MS:1002453", "No fixed modifications searched")])
    if variable:
        for i, token in enumerate(variable, start=1):
            lines.append(["MTD", f"variable_mod[{i}]", mod_param(token)])
            lines.append(["MTD", f"variable_mod[{i}]-site", "N-term" if token.endswith("]-") else token[0]])
    else:
        lines.append(["MTD", "variable_mod[1]", _param("MS", "MS:1002454", "No variable modifications searched")])
    lines.append([])
    lines.append(["PSH"] + PSM_COLUMNS)
    count = 0
    for psm_id, psm in enumerate(psms, start=1):
        run = run_of.get(str(Path(psm.source_file)))
        if run is None:
            raise ValueError(f"PSM from {psm.source_file} which is not among the ms_runs")
        row = {
            "sequence": psm.peptide,
            "PSM_ID": psm_id,
            "accession": None,
            "unique": None,
            "database": None,
            "database_version": None,
            "search_engine": _param("MS", "MS:1001456", "analysis software", software),
            "search_engine_score[1]": psm.score,
            "modifications": _mzTab_modifications(psm.peptide, vocabulary),
            "retention_time": psm.retention_time_s,
            "charge": psm.charge,
            "exp_mass_to_charge": psm.precursor_mz,
            "calc_mass_to_charge": psm.calc_mz,
            "spectra_ref": f"ms_run[{run}]:index={psm.index}",
            "pre": None,
            "post": None,
            "start": None,
            "end": None,
            "opt_global_rank": psm.rank,
            "opt_global_aa_scores": ",".join(f"{s:.5f}" for s in psm.residue_scores) or None,
            "opt_global_mass_error_ppm": psm.mass_error_ppm,
            "opt_global_precursor_match": psm.precursor_match,
            "opt_global_title": psm.title,
            "opt_global_scan": psm.scan,
        }
        lines.append(["PSM"] + [_value(row[c]) for c in PSM_COLUMNS])
        count += 1
    write_text(path, "\n".join("\t".join(map(str, line)) for line in lines) + "\n")
    return count


def write_csv(path: str | Path, psms: Iterable[PSM]) -> int:
    """One row per PSM with the CSV_COLUMNS; returns the number of rows."""
    count = 0
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for psm in psms:
            writer.writerow([
                psm.source_file, psm.index, psm.scan or "", psm.title or "", psm.rank, psm.peptide,
                f"{psm.score:.6g}", ";".join(f"{s:.5f}" for s in psm.residue_scores), psm.charge,
                _value(psm.precursor_mz), _value(psm.calc_mz), _value(psm.mass_error_ppm),
                "" if psm.precursor_match is None else int(psm.precursor_match),
                "" if psm.retention_time_s is None else psm.retention_time_s,
            ])
            count += 1
    return count


def _float(text: str) -> float:
    return math.nan if text in ("", "null", None) else float(text)


def _bool(text: str) -> bool | None:
    return None if text in ("", "null", None) else text.strip().lower() in ("1", "true")


def _scores(text: str, separator: str) -> list[float]:
    return [] if text in ("", "null", None) else [float(s) for s in text.split(separator) if s]


def read_mztab(path: str | Path) -> list[PSM]:
    """PSMs of an mzTab file (renovo's or Casanovo's), ``source_file`` from ``ms_run[n]-location``."""
    runs: dict[int, str] = {}
    header: list[str] | None = None
    psms: list[PSM] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if fields[0] == "MTD" and len(fields) >= 3:
                match = re.fullmatch(r"ms_run\[(\d+)\]-location", fields[1])
                if match:
                    location = fields[2]
                    if location.startswith("file:"):
                        location = unquote(urlparse(location).path)
                    runs[int(match.group(1))] = location
            elif fields[0] == "PSH":
                header = fields[1:]
            elif fields[0] == "PSM":
                if header is None:
                    raise RenovoError(f"{path}:{number}: PSM line before the PSH header")
                row = dict(zip(header, fields[1:]))
                ref = _SPECTRA_REF.search(row.get("spectra_ref", ""))
                if ref is None:
                    raise RenovoError(f"{path}:{number}: spectra_ref {row.get('spectra_ref')!r} is not ms_run[n]:index=i")
                run = int(ref.group(1))
                rank = row.get("opt_global_rank", "null")
                charge = row.get("charge", "null")
                retention = _float(row.get("retention_time", "null"))
                psms.append(PSM(
                    source_file=runs.get(run, f"ms_run[{run}]"),
                    index=int(ref.group(2)),
                    peptide=row.get("sequence", ""),
                    score=_float(row.get("search_engine_score[1]", "null")),
                    residue_scores=_scores(row.get("opt_global_aa_scores") or row.get("opt_ms_run[1]_aa_scores", ""), ","),
                    rank=int(rank) if rank not in ("null", "") else 1,
                    charge=int(float(charge)) if charge not in ("null", "") else 0,
                    precursor_mz=_float(row.get("exp_mass_to_charge", "null")),
                    calc_mz=_float(row.get("calc_mass_to_charge", "null")),
                    mass_error_ppm=_float(row.get("opt_global_mass_error_ppm", "null")),
                    precursor_match=_bool(row.get("opt_global_precursor_match", "null")),
                    retention_time_s=None if math.isnan(retention) else retention,
                    title=None if row.get("opt_global_title") in (None, "null") else row["opt_global_title"],
                    scan=None if row.get("opt_global_scan") in (None, "null") else row["opt_global_scan"],
                ))
    return psms


def read_csv(path: str | Path) -> list[PSM]:
    """PSMs of a CSV written by :func:`write_csv` (``file``, ``index``, ``peptide``, ``score`` at least)."""
    psms: list[PSM] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "index", "peptide"} - set(reader.fieldnames or [])
        if missing:
            raise RenovoError(f"{path}: CSV lacks column(s) {', '.join(sorted(missing))}")
        for row in reader:
            psms.append(PSM(
                source_file=row["file"],
                index=int(row["index"]),
                peptide=row["peptide"],
                score=_float(row.get("score", "")),
                residue_scores=_scores(row.get("aa_scores", ""), ";"),
                rank=int(row.get("rank") or 1),
                charge=int(row.get("charge") or 0),
                precursor_mz=_float(row.get("precursor_mz", "")),
                calc_mz=_float(row.get("calc_mz", "")),
                mass_error_ppm=_float(row.get("mass_error_ppm", "")),
                precursor_match=_bool(row.get("precursor_match", "")),
                title=row.get("title") or None,
                scan=row.get("scan") or None,
            ))
    return psms


def read_predictions(path: str | Path) -> list[PSM]:
    """PSMs from an ``.mztab`` or ``.csv`` file."""
    path = Path(path)
    if not path.is_file():
        raise RenovoError(f"no predictions file {path}")
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    return read_mztab(path)
