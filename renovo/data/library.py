"""Spectral libraries: NIST MSP and SpectraST sptxt (a line parser reporting file:line).

Both formats are a sequence of entries::

    Name: AAAACALTPGPLADLAAR/2_1(4,C,CAM)          <- label and charge
    Comment: Parent=913.4818 Mods=1/4,C,CAM ...   <- KEY=VALUE pairs
    PrecursorMZ: 913.4818                          <- (sptxt; MSP often only has Parent=)
    Num peaks: 3                                   <- or NumPeaks:
    101.07  1200.0  "b1/0.01"                      <- m/z, intensity, optional annotation
    ...

Labels come from the ``Name:`` line (``SEQUENCE/charge``) with its
modification notation, written as canonical ProForma for the chemistry parser:

- NIST/MSP: ``_n(pos,res,name)(…)`` after the charge on the Name line, else
  ``Mods=n/pos,res,name/…`` in ``Comment:``. A Name may also mark modified
  residues with a tag (``IETM(O)R/2``, NIST's notation): the ``Mods=`` comment
  then says which modification each is, and is authoritative — it may list
  more than the Name tags (BSA's ``CCTKPESERM(O)PC…`` with three CAM Cs in
  ``Mods=`` only), but every tag must be listed (without one, short tags ``O``,
  ``Cam``, ``p`` or a modification name are read). Positions are 0-based residue
  indices (NIST); an N-terminal modification (Acetyl, Carbamyl, pyro-Glu, …)
  is written at position 0 on the first residue, and position -1 is also read
  as N-terminal for an N-terminal modification (Protein Prospector) while any
  other modification at -1 is C-terminal (MS2PIP), which renovo cannot
  express. If the residues only fit 1-based positions (MS2PIP's writer), those
  are used. ``CAM`` is NIST's name for Carbamidomethyl; ``Pyro-glu`` on E is
  Glu->pyro-Glu.
- SpectraST: masses in brackets are the *nominal mass of the modified
  residue* — ``C[160]`` = C + 57 (Carbamidomethyl), ``M[147]`` = M + 16
  (Oxidation), ``Q[111]``/``E[111]`` pyro-Glu, ``n[43]`` = N-terminal H + 42
  (Acetyl), ``n[44]`` Carbamyl; ``c[17]`` is the free C-terminus. A mass with
  decimals is matched within 0.05 Da, an integer within 0.5 Da.
- A Name already in ProForma/delta notation (``PEPM[Oxidation]K``,
  ``M[+15.995]``, ``[UNIMOD:1]-…``) is passed to the chemistry parser as is.

Library labels are explicit: a bare ``C`` is *unmodified* cysteine. When the
vocabulary makes a modification of that residue fixed (the default turns every
``C`` into ``C[Carbamidomethyl]``), the label cannot be represented and the
spectrum is skipped as an unknown modification ("unmodified C") instead of
being silently relabelled with 57 Da it does not carry.

Precursor m/z: the ``PrecursorMZ:`` line, else ``Parent=`` or
``PrecursorMZ=`` in the comment. Charge: the Name's ``/z``, else a
``Charge:`` line or ``Charge=`` comment. Retention time: ``RetentionTime=``
(seconds; the first value when several are listed).

Errors (:class:`MalformedFileError`, file:line): text before the first
``Name:``; a header line that is not ``Key: value``; a missing or
non-integer peak count; a peak line that is not two numbers (plus an optional
annotation); fewer or more peak lines than the count says; a file that ends
inside an entry. Everything wrong with the *content* of one entry (charge,
precursor, peaks, label) is a counted skip, as for MGF.
"""
from __future__ import annotations

# long module: the three library notations (NIST, SpectraST, ProForma) share one entry reader and one
# label path, so a notation is read the same way in every library file.
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from renovo.chem import PeptideParseError, UnknownModificationError, Vocabulary, default_vocabulary
from renovo.chem.constants import AMINO_ACID_MASS_DA
from renovo.chem.modifications import Modification
from renovo.data.builder import RecordBuilder, first_float, parse_charge
from renovo.data.labels import Label
from renovo.data.records import MalformedFileError, SpectrumRecord
from renovo.data.textfile import open_text

# long module: the MSP and SpectraST readers share the label notations and modification matching
# above; the notation parsers are the part to move out when this grows further.

MSP_SUFFIXES = (".msp",)
SPTXT_SUFFIXES = (".sptxt",)

#: Mass of the N-terminal hydrogen that SpectraST's ``n[…]`` mass includes, Da.
_N_TERM_H_DA = 1.00782503207
#: Mass of the C-terminal OH that SpectraST's ``c[…]`` mass includes, Da.
_C_TERM_OH_DA = 17.00273965
_COMMENT_PAIR = re.compile(r'([A-Za-z_][\w.\-]*)=("[^"]*"|\S*)')
_NAME = re.compile(r"^(?P<sequence>[^/]+)/(?P<charge>[^_\s]*)(?:_(?P<n>\d+)(?P<mods>(?:\([^()]*\))*))?")
_SPECTRAST = re.compile(r"(n|c|[A-Z])(?:\[([^\[\]]*)\])?")
_PROFORMA_N_TERM = re.compile(r"^\[([^\[\]]+)\]-")
_NUMBER = re.compile(r"\d+(\.\d*)?")
_MAX_TOKEN = 60


# ----------------------------------------------------------------------------- labels

def _lookup(name: str, vocabulary: Vocabulary) -> list[Modification]:
    lowered = name.strip().lower()
    return [
        m for m in vocabulary.modifications
        if m.name.lower() == lowered or lowered in (a.lower() for a in m.aliases)
    ]


def _is_n_terminal_name(name: str, vocabulary: Vocabulary) -> bool:
    matches = _lookup(name, vocabulary)
    return bool(matches) and all(m.is_n_terminal for m in matches)


def _msp_name(name: str, residue: str) -> str:
    # NIST writes pyro-Glu from E and from Q with the same name.
    if name.strip().lower() in ("pyro-glu", "pyro_glu", "pyroglu") and residue == "E":
        return "Glu->pyro-Glu"
    return name.strip()


def _check_plain(sequence: str, where: str) -> None:
    if not sequence or not sequence.isalpha() or not sequence.isupper():
        raise PeptideParseError(f"library sequence {sequence[:_MAX_TOKEN]!r} is not upper-case residues in {where!r}")
    for residue in sequence:
        if residue not in AMINO_ACID_MASS_DA:
            raise PeptideParseError(f"unknown residue {residue!r} in {where!r}")


def _explicit(residue: str, vocabulary: Vocabulary, where: str) -> str:
    """A residue the library says is unmodified; refuse it if the vocabulary fixes a modification on it."""
    if residue in vocabulary.fixed:
        raise UnknownModificationError(
            f"unmodified {residue}", [f"{residue} is fixed as {vocabulary.fixed[residue]} in this vocabulary"], where
        )
    return residue


def parse_msp_mods(text: str) -> list[tuple[int, str, str]]:
    """``(position, residue, name)`` of an MSP modification list.

    Accepts ``Mods=`` text (``2/4,C,CAM/7,M,Oxidation``; ``0`` = none) and the
    Name line's ``(4,C,CAM)(7,M,Oxidation)``; raises :class:`PeptideParseError`.
    """
    text = text.strip()
    if not text:
        return []
    if text.startswith("("):
        parts = [p for p in re.findall(r"\(([^()]*)\)", text)]
    else:
        count_text, _, rest = text.partition("/")
        try:
            count = int(count_text)
        except ValueError:
            raise PeptideParseError(f"bad Mods= count in {text[:_MAX_TOKEN]!r}") from None
        parts = [p for p in rest.split("/") if p] if rest else []
        if count != len(parts):
            raise PeptideParseError(f"Mods= says {count} modifications but lists {len(parts)}: {text[:_MAX_TOKEN]!r}")
    mods = []
    for part in parts:
        fields = part.split(",", 2)
        if len(fields) != 3:
            raise PeptideParseError(f"modification {part[:_MAX_TOKEN]!r} is not position,residue,name")
        try:
            position = int(fields[0])
        except ValueError:
            raise PeptideParseError(f"bad modification position {fields[0][:_MAX_TOKEN]!r}") from None
        mods.append((position, fields[1].strip(), fields[2].strip()))
    return mods


def _apply_mods(sequence: str, mods: list[tuple[int, str, str]], vocabulary: Vocabulary, where: str) -> str:
    """ProForma text of a plain sequence with MSP (position, residue, name) modifications."""
    _check_plain(sequence, where)
    n_term = [(p, r, n) for p, r, n in mods if (p in (0, -1) and _is_n_terminal_name(n, vocabulary))]
    residue_mods = [m for m in mods if m not in n_term]
    for position, residue, name in residue_mods:
        if position == -1:
            raise UnknownModificationError(f"C-terminal {name}", ["no C-terminal modifications"], where)
    # NIST positions are 0-based; MS2PIP's writer uses 1-based. Take whichever the residues fit.
    offset = None
    for candidate in (0, 1):
        if all(0 <= p - candidate < len(sequence) and sequence[p - candidate] == r for p, r, _ in residue_mods):
            offset = candidate
            break
    if offset is None:
        bad = next((p, r) for p, r, _ in residue_mods if not (0 <= p < len(sequence) and sequence[p] == r))
        raise PeptideParseError(f"modification at position {bad[0]} on {bad[1]!r} does not fit {sequence!r} in {where!r}")
    on_residue: dict[int, str] = {}
    for position, residue, name in residue_mods:
        index = position - offset
        if index in on_residue:
            raise PeptideParseError(f"two modifications on residue {index} of {sequence!r}")
        if _is_n_terminal_name(name, vocabulary) and index != 0:
            raise UnknownModificationError(f"{name} on {residue}{index}", ["N-terminal only"], where)
        on_residue[index] = _msp_name(name, residue)
    if len(n_term) > 1:
        raise PeptideParseError(f"two N-terminal modifications in {where!r}")
    prefix = ""
    if n_term:
        _, residue, name = n_term[0]
        if residue and residue != sequence[0]:
            raise PeptideParseError(f"N-terminal {name} on {residue!r} but {sequence!r} starts with {sequence[0]!r}")
        prefix = f"[{_msp_name(name, sequence[0])}]-"
    parts = []
    for index, residue in enumerate(sequence):
        if index in on_residue:
            parts.append(f"{residue}[{on_residue[index]}]")
        else:
            parts.append(_explicit(residue, vocabulary, where))
    return prefix + "".join(parts)


def _match_mass(delta_da: float, tolerance_da: float, candidates: list[Modification]) -> Modification | None:
    best = min(candidates, key=lambda m: abs(m.delta_da - delta_da), default=None)
    if best is not None and abs(best.delta_da - delta_da) <= tolerance_da:
        return best
    return None


def _tolerance(text: str) -> float:
    return 0.05 if "." in text else 0.5


def _spectrast(sequence: str, vocabulary: Vocabulary, where: str) -> str:
    """ProForma text of a SpectraST-notation sequence (``n[43]PEPC[160]M[147]K``)."""
    n_term = ""
    parts: list[str] = []
    position = 0
    saw_c_term = False
    prefix = _PROFORMA_N_TERM.match(sequence)
    if prefix:  # ProForma "[Acetyl]-PEPTIDE": the chemistry parser resolves the name
        n_term, position = f"[{prefix.group(1)}]-", prefix.end()
    while position < len(sequence):
        match = _SPECTRAST.match(sequence, position)
        if not match or match.end() == position:
            raise PeptideParseError(f"cannot read {sequence[position:position + 10]!r} in {where!r}")
        position = match.end()
        symbol, bracket = match.groups()
        if saw_c_term:
            raise PeptideParseError(f"residues after the C-terminus in {where!r}")
        if bracket is not None and not _NUMBER.fullmatch(bracket.strip()):
            if symbol in "nc":
                raise PeptideParseError(f"{symbol}[{bracket[:_MAX_TOKEN]}] is not a mass in {where!r}")
            parts.append(f"{symbol}[{bracket}]")  # ProForma name / +delta / UNIMOD: the chemistry parser decides
            continue
        if symbol == "n":
            if parts or n_term or bracket is None:
                raise PeptideParseError(f"misplaced 'n' in {where!r}")
            value = float(bracket)
            modification = _match_mass(value - _N_TERM_H_DA, _tolerance(bracket),
                                       [m for m in vocabulary.modifications if m.is_n_terminal and not m.targets])
            if abs(value - _N_TERM_H_DA) <= _tolerance(bracket):
                continue  # n[1]: the unmodified N-terminus
            if modification is None:
                raise UnknownModificationError(f"n[{bracket}]", sorted(m.name for m in vocabulary.modifications), where)
            n_term = f"[{modification.name}]-"
        elif symbol == "c":
            if not parts or bracket is None:
                raise PeptideParseError(f"misplaced 'c' in {where!r}")
            saw_c_term = True
            if abs(float(bracket) - _C_TERM_OH_DA) > _tolerance(bracket):
                raise UnknownModificationError(f"c[{bracket}]", ["no C-terminal modifications"], where)
        elif symbol not in AMINO_ACID_MASS_DA:
            raise PeptideParseError(f"unknown residue {symbol!r} in {where!r}")
        elif bracket is None:
            parts.append(_explicit(symbol, vocabulary, where))
        else:
            value = float(bracket)
            if abs(value - AMINO_ACID_MASS_DA[symbol]) <= _tolerance(bracket):
                parts.append(_explicit(symbol, vocabulary, where))  # C[103]: written-out unmodified residue
                continue
            candidates = [m for m in vocabulary.modifications if symbol in m.targets]
            modification = _match_mass(value - AMINO_ACID_MASS_DA[symbol], _tolerance(bracket), candidates)
            if modification is None:
                raise UnknownModificationError(f"{symbol}[{bracket}]", sorted(m.name for m in vocabulary.modifications), where)
            if modification.is_n_terminal:  # pyro-Glu written on the first residue
                if parts or n_term:
                    raise PeptideParseError(f"{modification.name} inside {where!r}")
                n_term = f"[{modification.name}]-"
                parts.append(symbol)
            else:
                parts.append(f"{symbol}[{modification.name}]")
    if not parts:
        raise PeptideParseError(f"no residues in {where!r}")
    return n_term + "".join(parts)


_NIST_INLINE = re.compile(r"(?:[A-Z](?:\([^()]*\))?)+")
_NIST_TAG = re.compile(r"([A-Z])(?:\(([^()]*)\))?")
#: Short tags NIST writes after a residue in a Name (``IETM(O)R``), by modification name.
_NIST_TAGS = {"o": "Oxidation", "ox": "Oxidation", "cam": "Carbamidomethyl", "p": "Phospho", "phos": "Phospho",
              "de": "Deamidated", "deam": "Deamidated", "ac": "Acetyl"}


def _nist_inline(sequence: str, comment_mods: str | None, vocabulary: Vocabulary, where: str) -> str:
    """ProForma text of a NIST Name with modification tags after residues (``IETM(O)R``).

    The ``Mods=`` comment, when present, says what the modifications are (the
    tags only mark where); the tagged residues must be the ones it lists.
    Without ``Mods=``, a tag is read as a short name (``O`` Oxidation, ``Cam``
    Carbamidomethyl, ``p`` Phospho) or a modification name.
    """
    residues: list[str] = []
    tagged: list[tuple[int, str, str]] = []
    for match in _NIST_TAG.finditer(sequence):
        residue, tag = match.groups()
        if tag is not None:
            tagged.append((len(residues), residue, tag.strip()))
        residues.append(residue)
    plain = "".join(residues)
    if comment_mods is not None:
        # Mods= is authoritative: NIST's BSA library tags only M(O) in the Name and lists the carbamidomethyl
        # Cs in Mods= alone. A tag must still be one of the listed modifications (0- or 1-based).
        mods = parse_msp_mods(comment_mods)
        listed = {max(p, 0) for p, _, _ in mods}
        marked = sorted(p for p, _, _ in tagged)
        if not set(marked) <= listed and not {p + 1 for p in marked} <= listed:
            raise PeptideParseError(f"the modified residues of {where!r} (positions {marked}) are not among those "
                                    f"its Mods= lists ({sorted(listed)})")
        return _apply_mods(plain, mods, vocabulary, where)
    mods = [(position, residue, _NIST_TAGS.get(tag.lower(), tag)) for position, residue, tag in tagged]
    return _apply_mods(plain, mods, vocabulary, where)


def library_label(name: str, comment_mods: str | None = None, vocabulary: Vocabulary | None = None) -> tuple[str, str]:
    """``(ProForma text, charge text)`` of a library ``Name:`` value.

    ``comment_mods`` is the ``Mods=`` value of the comment (used when the Name
    carries no ``_n(…)`` list). Raises :class:`PeptideParseError` or
    :class:`UnknownModificationError`.
    """
    vocabulary = vocabulary or default_vocabulary()
    name = name.strip()
    match = _NAME.match(name)
    if not match:
        raise PeptideParseError(f"library Name {name[:_MAX_TOKEN]!r} is not SEQUENCE/charge")
    sequence = match.group("sequence").strip()
    charge = match.group("charge")
    if _NIST_INLINE.fullmatch(sequence) and "(" in sequence:
        return _nist_inline(sequence, comment_mods, vocabulary, name), charge
    if not (sequence.isalpha() and sequence.isupper()):
        return _spectrast(sequence, vocabulary, name), charge
    if match.group("n") is not None:
        mods = parse_msp_mods(match.group("mods") or "")
        if int(match.group("n")) != len(mods):
            raise PeptideParseError(f"Name says {match.group('n')} modifications but lists {len(mods)}: {name[:_MAX_TOKEN]!r}")
    elif comment_mods is not None:
        mods = parse_msp_mods(comment_mods)
    else:
        mods = []
    return _apply_mods(sequence, mods, vocabulary, name), charge


# ----------------------------------------------------------------------------- file reading

def parse_comment(text: str) -> dict[str, str]:
    """``KEY=VALUE`` pairs of a ``Comment:`` line (values may be double-quoted)."""
    return {key: value.strip('"') for key, value in _COMMENT_PAIR.findall(text)}


def _peaks(path, lines: list[str], first_line: int) -> tuple[np.ndarray, np.ndarray]:
    """(mz, intensity) float64 of peak lines ``m/z intensity [annotation]``."""
    mz = np.empty(len(lines))  # (peaks,)
    intensity = np.empty(len(lines))  # (peaks,)
    for i, line in enumerate(lines):
        fields = line.split(None, 2)
        if len(fields) < 2:
            raise MalformedFileError(path, first_line + i, f"expected 'm/z intensity [annotation]', got {line[:_MAX_TOKEN]!r}")
        try:
            mz[i], intensity[i] = float(fields[0]), float(fields[1])
        except ValueError:
            raise MalformedFileError(path, first_line + i, f"not a number in peak line {line[:_MAX_TOKEN]!r}") from None
    return mz, intensity


def _entries(path: Path) -> Iterator[tuple[int, dict[str, str], list[str], int]]:
    """(line of Name:, headers keyed lower-case without spaces, peak lines, line of first peak)."""
    headers: dict[str, str] | None = None
    start = 0
    expected: int | None = None
    peaks: list[str] = []
    first_peak = 0
    with open_text(path) as handle:  # gzip or plain; a BOM is dropped
        for line_number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if expected is not None and len(peaks) < expected:
                if line:
                    if not peaks:
                        first_peak = line_number
                    peaks.append(line)
                    continue
                raise MalformedFileError(path, line_number, f"entry at line {start} declares {expected} peaks but has {len(peaks)}")
            if not line or line[0] == "#":
                continue
            key, colon, value = line.partition(":")
            key = key.replace(" ", "").lower()
            if key == "name" and colon:
                if headers is not None:
                    if expected is None:
                        raise MalformedFileError(path, start, "entry has no 'Num peaks:' line")
                    yield start, headers, peaks, first_peak
                headers, start, expected, peaks = {"name": value.strip()}, line_number, None, []
                continue
            if headers is None:
                raise MalformedFileError(path, line_number, f"text before the first 'Name:' line: {line[:_MAX_TOKEN]!r}")
            if expected is not None:
                raise MalformedFileError(path, line_number, f"entry at line {start} has more than its {expected} peaks: {line[:_MAX_TOKEN]!r}")
            if not colon or not key:
                raise MalformedFileError(path, line_number, f"expected 'Key: value' in the entry begun at line {start}, got {line[:_MAX_TOKEN]!r}")
            if key == "numpeaks":
                try:
                    expected = int(value.strip())
                except ValueError:
                    raise MalformedFileError(path, line_number, f"bad peak count {value.strip()[:_MAX_TOKEN]!r}") from None
                if expected < 0:
                    raise MalformedFileError(path, line_number, f"negative peak count {expected}")
                first_peak = line_number + 1
                continue
            headers[key] = value.strip()
    if headers is not None:
        if expected is None:
            raise MalformedFileError(path, start, "entry begun here has no 'Num peaks:' line (truncated file?)")
        if len(peaks) < expected:
            raise MalformedFileError(path, start, f"entry begun here declares {expected} peaks but the file ends after {len(peaks)} (truncated file?)")
        yield start, headers, peaks, first_peak


def read_library(path: str | Path, builder: RecordBuilder, labels: dict[str, Label] | None = None) -> Iterator[SpectrumRecord]:
    """Records of an MSP or sptxt library (the notations are told apart per entry).

    Labels: ``labels[Name]`` when given (the Name line is the title), else the
    Name line itself.
    """
    path = Path(path)
    vocabulary = builder.vocabulary or default_vocabulary()
    for index, (start, headers, peak_lines, first_peak) in enumerate(_entries(path)):
        name = headers["name"]
        comment = parse_comment(headers.get("comment", ""))
        mz, intensity = _peaks(path, peak_lines, first_peak)
        charge_text = None
        label: Label | None
        if labels is not None and name in labels:
            label = labels[name]
            match = _NAME.match(name)
            charge_text = match.group("charge") if match else None
        else:
            try:
                text, charge_text = library_label(name, comment.get("Mods"), vocabulary)
                label = Label(text)
            except PeptideParseError as error:
                label = Label(name, error=error)
                match = _NAME.match(name)
                charge_text = match.group("charge") if match else None
        if not charge_text:
            charge_text = headers.get("charge") or comment.get("Charge")
        charge, reason = parse_charge(charge_text)
        precursor = first_float(headers.get("precursormz"))
        if precursor is None:
            precursor = first_float(comment.get("Parent") or comment.get("PrecursorMZ"))
        record = builder.build(
            mz,
            intensity,
            precursor,
            charge,
            label,
            index,
            title=name,
            scan=comment.get("Scan") or headers.get("libid"),
            retention_time_s=first_float(comment.get("RetentionTime")),
            charge_reason=reason,
            where=f"{path.name}:{start} (entry {index}, {name[:_MAX_TOKEN]})",
        )
        if record is not None:
            yield record


read_msp = read_library
read_sptxt = read_library
