"""Predictions on disk: mzTab 1.0 as Casanovo 5.2 writes it, renovo's CSV, and
the peers' files read back for scoring.

mzTab: one PSM row per (spectrum, rank). ``sequence`` holds the bare residues
and ``opt_global_cv_MS:1003169_proforma_peptidoform_sequence`` the canonical
ProForma peptide (Casanovo ≥ 5.1's layout); ``modifications`` lists the same
modifications as ``position-UNIMOD:n`` (0 = N-terminus). ``spectra_ref`` is
``ms_run[r]:index=i``: one ``ms_run`` per file the spectra were first read
from (for a renovo Parquet made from several MGFs, each source MGF) and ``i``
the 0-based position of the spectrum there, so every reference is unique and
resolvable. ``opt_global_cv_MS:1003057_scan_number`` holds
``ms_run[r]:scan=n`` when the file gave a numeric scan number (another scan
text goes to ``opt_global_scan``); an empty value is ``null``. m/z, retention time
(seconds) and scores are written at full float64 precision;
``opt_global_mass_error_ppm`` is measured against the precursor corrected by
``opt_global_isotope_offset``. The settings of the run go to
``software[1]-setting[k]`` metadata lines.

CSV (``CSV_COLUMNS``): one row per PSM; column names follow InstaNovo's where
the meaning is the same (``predictions``, ``precursor_mz``,
``precursor_charge``, ``scan_number``, ``delta_mass_ppm``); ``aa_scores`` is
comma-separated like the mzTab column, ``precursor_match`` is ``true``/``false``
(empty without a mass constraint), ``scan_number`` is the text the file gave.

Readers: renovo's and Casanovo's mzTab (≥ 5.1 with the ProForma column,
older ones from ``sequence``), renovo's CSV, and InstaNovo's prediction CSV
(``experiment_name``, ``scan_number``, ``predictions``, ``log_probs``), whose
spectra are named by scan number (:class:`PSM` ``index`` None).
"""
from __future__ import annotations

# long module: every prediction file renovo writes or reads (mzTab, renovo's CSV, the peers'), side by
# side, so a column is named, formatted and parsed in one place.
import csv
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from urllib.parse import unquote, urlparse

from renovo.chem import PeptideParseError, parse_peptide
from renovo.chem.vocabulary import Vocabulary, default_vocabulary
from renovo.decode.features import FEATURE_NAMES
from renovo.decode.psm import PSM, calc_mz
from renovo.errors import RenovoError
from renovo.files import atomic_open, write_text

PROFORMA_COLUMN = "opt_global_cv_MS:1003169_proforma_peptidoform_sequence"
SCAN_COLUMN = "opt_global_cv_MS:1003057_scan_number"
PSM_COLUMNS = [
    "sequence", "PSM_ID", "accession", "unique", "database", "database_version", "search_engine",
    "search_engine_score[1]", "modifications", "retention_time", "charge", "exp_mass_to_charge",
    "calc_mass_to_charge", "spectra_ref", "pre", "post", "start", "end",
    "opt_global_aa_scores", PROFORMA_COLUMN, SCAN_COLUMN, "opt_global_scan",
    "opt_global_rank", "opt_global_mass_error_ppm", "opt_global_isotope_offset", "opt_global_precursor_match",
    "opt_global_title", "opt_global_q_value", "opt_global_model_score",
]
CSV_COLUMNS = [
    "file", "index", "scan_number", "title", "rank", "predictions", "score", "aa_scores", "precursor_charge",
    "precursor_mz", "calc_mz", "delta_mass_ppm", "isotope_offset", "precursor_match", "retention_time_s",
    "q_value", "model_score",
]
#: A reranked run's candidate features (renovo.decode.features): mzTab ``opt_global_<name>``, CSV
#: ``feature_<name>``, written after the columns above when the PSMs carry them.
FEATURE_COLUMNS = tuple(FEATURE_NAMES)
#: Older renovo CSV names, still read.
_CSV_ALIASES = {"peptide": "predictions", "charge": "precursor_charge", "mass_error_ppm": "delta_mass_ppm",
                "scan": "scan_number"}
_SPECTRA_REF = re.compile(r"ms_run\[(\d+)\]:(.*)")
_INDEX_REF = re.compile(r"(?:^|\s)index=(\d+)")
_SCAN_REF = re.compile(r"(?:^|\s)scan=(\S+)")


__all__ = ["CSV_COLUMNS", "FEATURE_COLUMNS", "PROFORMA_COLUMN", "PSM", "PSM_COLUMNS", "SCAN_COLUMN", "calc_mz", "ms_runs_of",
           "peptide_or_none", "read_csv", "read_instanovo_csv", "read_mztab", "read_predictions", "scoring_vocabulary",
           "write_csv", "write_mztab"]


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


def bare_sequence(peptide: str, vocabulary: Vocabulary | None = None) -> str:
    """The residue letters of a ProForma peptide, modifications dropped (mzTab ``sequence``)."""
    if not peptide:
        return ""
    return "".join(token[0] for token in parse_peptide(peptide, vocabulary).residues)


def _value(value) -> str:
    """mzTab cell: null for missing or empty (mzTab has no empty cells), 1/0 for booleans, floats at full
    (repr) precision."""
    if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
        return "null"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _param(cv: str, accession: str, name: str, value: str = "") -> str:
    return f"[{cv}, {accession}, {name}, {value}]"


def _flatten(settings: Mapping, prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in settings.items():
        if isinstance(value, Mapping) and value:
            items += _flatten(value, f"{prefix}{key}.")
        else:
            items.append((f"{prefix}{key}", value))
    return items


def ms_runs_of(psms: Iterable[PSM], also: Sequence[str] = ()) -> list[str]:
    """The ``ms_run`` files of an mzTab: the spectra's source files in order of first appearance,
    then the files ``also`` names (inputs that yielded no spectrum, so they are still listed)."""
    runs: dict[str, None] = {}
    for psm in psms:
        runs.setdefault(str(psm.source_file), None)
    for path in also:
        runs.setdefault(str(path), None)
    return list(runs)


def _location(run: str) -> str:
    path = Path(run)
    return (path if path.is_absolute() else path.resolve()).as_uri()


def _metadata(ms_runs: Sequence[str], vocabulary: Vocabulary, description: str, software: str, version: str,
              settings: Mapping | None) -> list[list[str]]:
    """The MTD lines: versions, software and its settings, runs, fixed and variable modifications."""
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
        ["MTD", "software[1]", _param("MS", "MS:1001456", "analysis software", f"{software} {version}")],
    ]
    for i, (key, value) in enumerate(_flatten(settings or {}), start=1):
        lines.append(["MTD", f"software[1]-setting[{i}]", _value(f"{key} = {value}")])
    lines.append(["MTD", "psm_search_engine_score[1]", _param("MS", "MS:1001143", "search engine specific score for PSMs", "")])
    for i, run in enumerate(ms_runs, start=1):
        lines.append(["MTD", f"ms_run[{i}]-location", _location(run)])
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
    return lines


def write_mztab(
    path: str | Path,
    psms: Iterable[PSM],
    ms_runs: Sequence[str] | None = None,
    vocabulary: Vocabulary | None = None,
    description: str = "renovo de novo peptide sequencing",
    software: str = "renovo",
    settings: Mapping | None = None,
) -> int:
    """Write mzTab 1.0 (Summary, Identification). ``ms_runs``: the spectrum files
    (default: the PSMs' source files); ``settings`` (nested mappings are
    flattened to dotted keys) go to ``software[1]-setting[k]``. Returns the
    number of PSM rows written."""
    from renovo import __version__

    psms = list(psms)
    ms_runs = list(ms_runs) if ms_runs is not None else ms_runs_of(psms)
    vocabulary = vocabulary or default_vocabulary()
    run_of = {str(Path(run)): i + 1 for i, run in enumerate(ms_runs)}
    lines = _metadata(ms_runs, vocabulary, description, software, __version__, settings)
    lines.append([])
    features = [f for f in FEATURE_COLUMNS if any(f in psm.features for psm in psms)]
    lines.append(["PSH"] + PSM_COLUMNS + [f"opt_global_{f}" for f in features])
    count = 0
    for psm_id, psm in enumerate(psms, start=1):
        run = run_of.get(str(Path(psm.source_file)))
        if run is None:
            raise ValueError(f"PSM from {psm.source_file} which is not among the ms_runs")
        if psm.index is None:
            raise ValueError(f"PSM of {psm.source_file} without a spectrum index")
        row = {
            "sequence": bare_sequence(psm.peptide, vocabulary) or None,
            "PSM_ID": psm_id,
            "accession": None,
            "unique": None,
            "database": None,
            "database_version": None,
            "search_engine": _param("MS", "MS:1001456", "analysis software", software),
            "search_engine_score[1]": float(psm.score),
            "modifications": _mzTab_modifications(psm.peptide, vocabulary),
            "retention_time": None if psm.retention_time_s is None else float(psm.retention_time_s),
            "charge": psm.charge,
            "exp_mass_to_charge": float(psm.precursor_mz),
            "calc_mass_to_charge": float(psm.calc_mz),
            "spectra_ref": f"ms_run[{run}]:index={psm.index}",
            "pre": None,
            "post": None,
            "start": None,
            "end": None,
            "opt_global_aa_scores": ",".join(f"{s:.5f}" for s in psm.residue_scores) or None,
            PROFORMA_COLUMN: psm.peptide or None,
            # Only a numeric scan in the PSI-MS scan-number column, as Casanovo writes it; another
            # (an MGF's SCANS=F1:2478) is kept, as the file gave it, in opt_global_scan.
            SCAN_COLUMN: f"ms_run[{run}]:scan={psm.scan}" if str(psm.scan or "").isdigit() else None,
            "opt_global_scan": psm.scan if psm.scan not in (None, "") and not str(psm.scan).isdigit() else None,
            "opt_global_rank": psm.rank,
            "opt_global_mass_error_ppm": float(psm.mass_error_ppm),
            "opt_global_isotope_offset": psm.isotope_offset,
            "opt_global_precursor_match": psm.precursor_match,
            "opt_global_title": psm.title,
            "opt_global_q_value": psm.q_value,
            "opt_global_model_score": psm.model_score,
        }
        lines.append(["PSM"] + [_value(row[c]) for c in PSM_COLUMNS]
                     + [_value(psm.features.get(f)) for f in features])
        count += 1
    write_text(path, "\n".join("\t".join(map(str, line)) for line in lines) + "\n")
    return count


def _csv_float(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def write_csv(path: str | Path, psms: Iterable[PSM]) -> int:
    """One row per PSM with the CSV_COLUMNS; returns the number of rows."""
    count = 0
    psms = list(psms)
    features = [f for f in FEATURE_COLUMNS if any(f in psm.features for psm in psms)]
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS + [f"feature_{f}" for f in features])
        for psm in psms:
            writer.writerow([
                psm.source_file, "" if psm.index is None else psm.index, "" if psm.scan is None else str(psm.scan),
                psm.title or "", psm.rank, psm.peptide, _csv_float(psm.score),
                ",".join(f"{s:.5f}" for s in psm.residue_scores), psm.charge,
                _csv_float(psm.precursor_mz), _csv_float(psm.calc_mz), _csv_float(psm.mass_error_ppm),
                psm.isotope_offset, "" if psm.precursor_match is None else str(bool(psm.precursor_match)).lower(),
                _csv_float(psm.retention_time_s), _csv_float(psm.q_value), _csv_float(psm.model_score),
            ] + [_csv_float(psm.features.get(f)) for f in features])
            count += 1
    return count


def _float(text: str | None) -> float:
    return math.nan if text in ("", "null", None) else float(text)


def _bool(text: str | None) -> bool | None:
    return None if text in ("", "null", None) else text.strip().lower() in ("1", "true")


def _scores(text: str | None) -> list[float]:
    if text in ("", "null", None):
        return []
    return [float(s) for s in re.split(r"[,;\s\[\]]+", text) if s]


def _int(text: str | None, default: int) -> int:
    return default if text in ("", "null", None) else int(float(text))


def _text(value: str | None) -> str | None:
    return None if value in (None, "", "null") else value


def _optional_float(text: str | None) -> float | None:
    value = _float(text)
    return None if math.isnan(value) else value


def _reranked(row: Mapping[str, str], prefix: str, feature_prefix: str) -> dict:
    """The reranker's columns of a row (q-value, the model's own score, candidate features), when present."""
    features = {f: _float(row[feature_prefix + f]) for f in FEATURE_COLUMNS
                if row.get(feature_prefix + f) not in (None, "", "null")}
    return {"q_value": _optional_float(row.get(prefix + "q_value")),
            "model_score": _optional_float(row.get(prefix + "model_score")), "features": features}


def _rank_in_order(psms: list[PSM], has_rank: bool) -> list[PSM]:
    """Without a rank column, rows of one spectrum are ranked in file order (Casanovo's top_match)."""
    if has_rank:
        return psms
    seen: dict[tuple, int] = {}
    for psm in psms:
        key = (psm.source_file, psm.index, psm.scan)
        seen[key] = seen.get(key, 0) + 1
        psm.rank = seen[key]
    return psms


def read_mztab(path: str | Path) -> list[PSM]:
    """PSMs of an mzTab file (renovo's or Casanovo's), ``source_file`` from ``ms_run[n]-location``.

    The peptide is the ProForma column when present, else ``sequence``. A
    ``spectra_ref`` of the form ``ms_run[n]:index=i`` gives the index; one
    with ``scan=s`` (Casanovo on mzML) names the spectrum by scan number.
    """
    runs: dict[int, str] = {}
    header: list[str] | None = None
    psms: list[PSM] = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if fields[0] not in _MZTAB_PREFIXES:
                # A space-delimited or foreign file would otherwise read as zero PSMs and score 0.
                first = line.split(None, 1)[0] if line.split() else ""
                hint = (" (the fields are separated by spaces; mzTab separates them by tabs)"
                        if first in _MZTAB_PREFIXES else "")
                raise RenovoError(f"{path}:{number}: not a tab-separated mzTab line (it should start with one of "
                                  f"{', '.join(sorted(_MZTAB_PREFIXES))} and a tab){hint}")
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
                if len(fields) - 1 != len(header):
                    raise RenovoError(f"{path}:{number}: PSM row has {len(fields) - 1} fields, the PSH header "
                                      f"{len(header)} (a truncated or damaged row)")
                row = dict(zip(header, fields[1:]))
                ref = _SPECTRA_REF.fullmatch(row.get("spectra_ref", "").strip())
                index_match = _INDEX_REF.search(ref.group(2)) if ref else None
                scan_match = _SCAN_REF.search(ref.group(2)) if ref else None
                if ref is None or (index_match is None and scan_match is None):
                    raise RenovoError(f"{path}:{number}: spectra_ref {row.get('spectra_ref')!r} is not "
                                      "ms_run[n]:index=i or ms_run[n]:…scan=s")
                run = int(ref.group(1))
                scan = _text(row.get(SCAN_COLUMN)) or _text(row.get("opt_global_scan"))
                if scan is not None and ":scan=" in scan:
                    scan = scan.split(":scan=", 1)[1]
                if index_match is None:
                    scan = scan_match.group(1)
                retention = _float(row.get("retention_time"))
                try:
                    psms.append(PSM(
                        source_file=runs.get(run, f"ms_run[{run}]"),
                        index=int(index_match.group(1)) if index_match else None,
                        peptide=_text(row.get(PROFORMA_COLUMN)) or _text(row.get("sequence")) or "",
                        score=_float(row.get("search_engine_score[1]")),
                        residue_scores=_scores(row.get("opt_global_aa_scores") or row.get("opt_ms_run[1]_aa_scores")),
                        rank=_int(row.get("opt_global_rank"), 1),
                        charge=_int(row.get("charge"), 0),
                        precursor_mz=_float(row.get("exp_mass_to_charge")),
                        calc_mz=_float(row.get("calc_mass_to_charge")),
                        mass_error_ppm=_float(row.get("opt_global_mass_error_ppm")),
                        isotope_offset=_int(row.get("opt_global_isotope_offset"), 0),
                        precursor_match=_bool(row.get("opt_global_precursor_match")),
                        retention_time_s=None if math.isnan(retention) else retention,
                        title=_text(row.get("opt_global_title")),
                        scan=scan,
                        **_reranked(row, "opt_global_", "opt_global_"),
                    ))
                except ValueError as error:
                    raise RenovoError(f"{path}:{number}: unreadable PSM row ({error})") from None
    if header is None:
        raise RenovoError(f"{path}: no PSM section (no PSH header line): not an mzTab of peptide-spectrum matches")
    return _rank_in_order(psms, "opt_global_rank" in header)


def read_csv(path: str | Path) -> list[PSM]:
    """PSMs of a renovo CSV (``file``, ``index``, ``predictions`` at least) or of InstaNovo's CSV."""
    with _open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        names = [_CSV_ALIASES.get(n, n) for n in (reader.fieldnames or [])]
        if "file" not in names and "predictions" in names and ({"experiment_name", "spectrum_id"} & set(names)):
            return read_instanovo_csv(path)
        missing = {"file", "index", "predictions"} - set(names)
        if missing:
            raise RenovoError(f"{path}: CSV lacks column(s) {', '.join(sorted(missing))} (renovo's CSV), and is "
                              "not InstaNovo's (experiment_name or spectrum_id, scan_number, predictions)")
        psms: list[PSM] = []
        for number, raw in enumerate(reader, start=2):
            _check_csv_row(path, reader, raw)
            row = {_CSV_ALIASES.get(k, k): v for k, v in raw.items()}
            retention = _float(row.get("retention_time_s"))
            try:
                psms.append(PSM(
                    source_file=row["file"],
                    index=_int(row["index"], -1) if row["index"] not in ("", None) else None,
                    peptide=row["predictions"] or "",
                    score=_float(row.get("score")),
                    residue_scores=_scores(row.get("aa_scores")),
                    rank=_int(row.get("rank"), 1),
                    charge=_int(row.get("precursor_charge"), 0),
                    precursor_mz=_float(row.get("precursor_mz")),
                    calc_mz=_float(row.get("calc_mz")),
                    mass_error_ppm=_float(row.get("delta_mass_ppm")),
                    isotope_offset=_int(row.get("isotope_offset"), 0),
                    precursor_match=_bool(row.get("precursor_match")),
                    retention_time_s=None if math.isnan(retention) else retention,
                    title=row.get("title") or None,
                    scan=row.get("scan_number") or None,
                    **_reranked(row, "", "feature_"),
                ))
            except ValueError as error:
                raise RenovoError(f"{path}:{number}: unreadable CSV row ({error})") from None
    return psms


#: InstaNovo's sequence log-probability column, in the versions seen.
_INSTANOVO_SCORES = ("log_probs", "log_probabilities", "instanovo_log_probabilities", "diffusion_log_probabilities")
_INSTANOVO_TOKEN_SCORES = ("token_log_probs", "token_log_probabilities", "instanovo_token_log_probabilities")


def read_instanovo_csv(path: str | Path) -> list[PSM]:
    """PSMs of an InstaNovo prediction CSV.

    A spectrum is named by ``experiment_name`` (the spectrum file's name
    without its extension) and ``scan_number`` (from ``spectrum_id``
    ``name:scan`` when those columns are absent); ``score`` is
    exp(``log_probs``) and residue scores exp(``token_log_probs``).
    ``predictions`` is ProForma with Unimod accessions (``M[UNIMOD:35]``).
    """
    psms: list[PSM] = []
    with _open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or [])
        score_column = next((c for c in _INSTANOVO_SCORES if c in fields), None)
        token_column = next((c for c in _INSTANOVO_TOKEN_SCORES if c in fields), None)
        for number, row in enumerate(reader, start=2):
            _check_csv_row(path, reader, row)
            name, scan = row.get("experiment_name"), row.get("scan_number")
            if row.get("spectrum_id") and (not name or scan in (None, "")):
                name, _, scan = row["spectrum_id"].rpartition(":")
            if not name or scan in (None, ""):
                raise RenovoError(f"{path}:{number}: InstaNovo row without experiment_name/scan_number or spectrum_id")
            try:
                log_probability = _float(row.get(score_column)) if score_column else math.nan
                token_scores = [math.exp(v) for v in _scores(row.get(token_column))] if token_column else []
                psms.append(PSM(
                    source_file=name,
                    index=None,
                    peptide=(row.get("predictions") or "").strip(),
                    score=math.exp(log_probability) if math.isfinite(log_probability) else math.nan,
                    residue_scores=token_scores,
                    charge=_int(row.get("precursor_charge"), 0),
                    precursor_mz=_float(row.get("precursor_mz")),
                    mass_error_ppm=_float(row.get("delta_mass_ppm")),
                    scan=str(scan).strip(),
                ))
            except ValueError as error:
                raise RenovoError(f"{path}:{number}: unreadable InstaNovo row ({error})") from None
    return psms


#: mzTab 1.0 line prefixes (metadata, the four sections' headers and rows, comments).
_MZTAB_PREFIXES = frozenset({"MTD", "PRH", "PRT", "PEH", "PEP", "PSH", "PSM", "SMH", "SML", "COM"})


class _open_text:
    """A prediction file opened as text: UTF-8, a byte-order mark (as Excel writes) skipped; bytes that are not
    UTF-8 or a NUL byte are one-line errors naming the file, not a UnicodeDecodeError from deep in a reader."""

    def __init__(self, path: str | Path, newline: str | None = None):
        self.path = Path(path)
        self.handle = open(self.path, encoding="utf-8-sig", newline=newline)

    def __enter__(self):
        return self.handle

    def __exit__(self, kind, error, traceback):
        self.handle.close()
        if isinstance(error, UnicodeDecodeError):
            raise RenovoError(f"{self.path}: not a text file (byte {error.start} of a chunk is not UTF-8); "
                              "predictions are a tab-separated mzTab or a CSV") from None
        if isinstance(error, csv.Error):
            raise RenovoError(f"{self.path}: not a readable CSV ({error})") from None
        return False


def _check_csv_row(path: Path, reader: csv.DictReader, row: Mapping) -> None:
    """A row with fewer or more cells than the header is damaged (truncated), not a row of empty values."""
    if None in row or None in row.values():
        cells = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or ())
        raise RenovoError(f"{path}:{reader.line_num}: row has {cells} fields, the header {len(reader.fieldnames)} "
                          "(a truncated or damaged row)")


def read_predictions(path: str | Path) -> list[PSM]:
    """PSMs from an ``.mztab`` (renovo, Casanovo) or ``.csv`` (renovo, InstaNovo) file.

    An empty file, one that is not text, a space-separated mzTab or a row cut short are one-line errors
    naming the file (and line): each used to read as zero predictions, or fewer, and score as a bad model.
    """
    path = Path(path)
    if not path.is_file():
        raise RenovoError(f"no predictions file {path}")
    if path.stat().st_size == 0:
        raise RenovoError(f"{path}: empty predictions file")
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    return read_mztab(path)


def scoring_vocabulary(vocabulary: Vocabulary | None = None) -> Vocabulary:
    """A vocabulary that reads every canonical peptide scoring meets: each known modification on
    each residue it may sit on, plus the modifications ``vocabulary`` adds (a mass-named one)."""
    from renovo.chem.modifications import KNOWN_MODIFICATIONS
    from renovo.chem.vocabulary import reading_vocabulary

    known = {m.name for m in KNOWN_MODIFICATIONS}
    extra = [m for m in (vocabulary.modifications if vocabulary is not None else ()) if m.name not in known]
    return reading_vocabulary(extra) if extra else _reading_vocabulary()


@lru_cache(maxsize=1)
def _reading_vocabulary() -> Vocabulary:
    from renovo.chem.vocabulary import reading_vocabulary

    return reading_vocabulary()


def peptide_or_none(peptide: str, vocabulary: Vocabulary | None = None) -> str | None:
    """The canonical ProForma of a predicted peptide, or None if renovo cannot read it.

    Read first with ``vocabulary`` (default: renovo's default, where a bare C
    is carbamidomethylated as in the labels), then with every known
    modification (a phospho model's ``S[Phospho]``).
    """
    if not peptide:
        return None
    for reading in (vocabulary or default_vocabulary(), scoring_vocabulary(vocabulary)):
        try:
            return parse_peptide(peptide, reading).proforma
        except PeptideParseError:
            continue
    return None
