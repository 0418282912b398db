"""Label tables joined to spectra by TITLE: MS2PIP's peprec and plain TSV/CSV.

A table maps a spectrum title to a peptide label (ProForma text, parsed later
by the reader so that bad labels are counted per spectrum) and optionally a
precursor charge. A peprec row's modifications are ``position|Name`` pairs,
1-based residue positions, ``0`` = N-terminus, ``-1`` = C-terminus; they are
written as ProForma (``6|Carbamidomethyl`` → ``C[Carbamidomethyl]`` at residue
6; ``0|Acetyl`` → ``[Acetyl]-``; ``1|Pyro_glu`` → ``Q[Pyro_glu]``, which the
chemistry parser turns into the N-terminal ``[Gln->pyro-Glu]-``).

One title with two different labels is an error naming the title and both
lines (which one is right cannot be guessed). A table read from a file is a
:class:`LabelTable`, which counts how many spectra looked for a label and how
many found one, so :func:`renovo.data.read_spectra` can refuse a join that
matched nothing and warn about one that matched few.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from renovo.chem import PeptideParseError, UnknownModificationError
from renovo.data.records import MalformedFileError

#: Column names accepted for the join key and the label, in order of preference.
TITLE_COLUMNS = ("spec_id", "title", "TITLE", "spectrum_title", "scan")
PEPTIDE_COLUMNS = ("proforma", "peptide", "sequence", "seq", "modified_sequence")
CHARGE_COLUMNS = ("charge", "precursor_charge")


@dataclass(frozen=True)
class Label:
    """A label as read: ProForma ``text``, or the ``error`` that made it unreadable."""

    text: str | None
    charge: int | None = None
    error: PeptideParseError | None = None


#: A join of a label table to a spectrum file that labels under this fraction of its spectra is warned about.
LOW_MATCH_FRACTION = 0.5


class LabelTable(dict):
    """{title: Label} read from ``path``, counting look-ups (``looked_up``) and hits (``matched``).

    Readers ask ``title in table`` (then ``table[title]``) or ``table.get(title)``;
    both count once per spectrum.
    """

    def __init__(self, *args, path: str | Path = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.path = str(path)
        self.looked_up = 0
        self.matched = 0
        self.missed_example: str | None = None

    def _count(self, key, hit: bool) -> bool:
        self.looked_up += 1
        self.matched += hit
        if not hit and self.missed_example is None:
            self.missed_example = str(key)
        return hit

    def __contains__(self, key) -> bool:
        return self._count(key, dict.__contains__(self, key))

    def get(self, key, default=None):
        return dict.get(self, key, default) if self._count(key, dict.__contains__(self, key)) else default

    def reset(self) -> None:
        self.looked_up = self.matched = 0
        self.missed_example = None


def peprec_to_proforma(peptide: str, modifications: str) -> str:
    """ProForma text of a peprec (peptide, modifications) pair.

    Raises :class:`PeptideParseError` for malformed modification lists and
    :class:`UnknownModificationError` for C-terminal modifications, which
    renovo's vocabulary cannot express.
    """
    peptide = peptide.strip()
    modifications = (modifications or "").strip()
    residues = [[aa, ""] for aa in peptide]
    n_term = ""
    if modifications and modifications != "-":
        parts = modifications.split("|")
        if len(parts) % 2:
            raise PeptideParseError(f"peprec modifications {modifications!r} are not position|name pairs")
        for position_text, name in zip(parts[::2], parts[1::2]):
            try:
                position = int(position_text)
            except ValueError:
                raise PeptideParseError(f"bad peprec position {position_text!r} in {modifications!r}") from None
            if position == 0:
                n_term = f"[{name}]-"
            elif position == -1:
                raise UnknownModificationError(f"C-terminal {name}", ["no C-terminal modifications"], peptide)
            elif 1 <= position <= len(residues):
                if residues[position - 1][1]:
                    raise PeptideParseError(f"two modifications on residue {position} of {peptide!r}")
                residues[position - 1][1] = f"[{name}]"
            else:
                raise PeptideParseError(f"peprec position {position} outside {peptide!r}")
    return n_term + "".join(aa + mod for aa, mod in residues)


def _pick(header: list[str], choices: tuple[str, ...], path: Path, what: str, required: bool = True) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for choice in choices:
        if choice.lower() in lowered:
            return lowered.index(choice.lower())
    if required:
        raise MalformedFileError(path, 1, f"label table has no {what} column (looked for {', '.join(choices)}); header: {header}")
    return None


def read_label_table(path: str | Path) -> LabelTable:
    """Read a peprec / TSV / CSV label table into {title: Label}.

    The delimiter is sniffed (tab, comma or spaces). A peprec (a
    ``modifications`` column) is converted to ProForma; a row whose label
    cannot be converted is kept with its error, so the spectrum is skipped and
    counted rather than silently unlabeled.
    """
    path = Path(path)
    from renovo.data.textfile import decode_text

    try:
        data = path.read_bytes()
    except OSError as error:
        raise MalformedFileError(path, None, f"cannot read label table: {error}") from None
    # By byte-order mark: Excel writes UTF-8 CSV with one, which made the first column "\ufefftitle".
    text = decode_text(data, path, "label table")
    lines = text.splitlines()
    if not lines:
        raise MalformedFileError(path, 1, "empty label table")
    first = lines[0]
    if "\t" in first:
        rows = list(csv.reader(lines, delimiter="\t"))
    elif "," in first:
        rows = list(csv.reader(lines))
    else:
        rows = [line.split() for line in lines]
    header = rows[0]
    title_col = _pick(header, TITLE_COLUMNS, path, "title")
    peptide_col = _pick(header, PEPTIDE_COLUMNS, path, "peptide")
    mods_col = _pick(header, ("modifications",), path, "modifications", required=False)
    charge_col = _pick(header, CHARGE_COLUMNS, path, "charge", required=False)
    labels = LabelTable(path=path)
    lines_of: dict[str, int] = {}
    for line_number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise MalformedFileError(path, line_number, f"{len(row)} columns, header has {len(header)}")
        title = row[title_col].strip()
        charge = None
        if charge_col is not None and row[charge_col].strip():
            try:
                charge = int(row[charge_col].strip().rstrip("+"))
            except ValueError:
                raise MalformedFileError(path, line_number, f"bad charge {row[charge_col]!r}") from None
        peptide = row[peptide_col].strip()
        try:
            text_label = peprec_to_proforma(peptide, row[mods_col]) if mods_col is not None else peptide
            label = Label(text_label or None, charge)
        except PeptideParseError as error:
            label = Label(peptide, charge, error)
        if dict.__contains__(labels, title):
            before = dict.__getitem__(labels, title)
            if (before.text, before.charge) != (label.text, label.charge):
                # The last row used to win silently; which one is right cannot be guessed.
                raise MalformedFileError(path, line_number, f"title {title!r} is labelled {label.text!r} here and "
                                         f"{before.text!r} on line {lines_of[title]}; one title, one label")
            continue
        labels[title] = label
        lines_of[title] = line_number
    return labels
