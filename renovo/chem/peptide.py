"""Parse peptide labels in the notations found in the field's files and write
one canonical ProForma form.

Accepted: ProForma names (``M[Oxidation]``, ``[Acetyl]-PEPTIDE``), Unimod
accessions (``M[UNIMOD:35]``, ``[UNIMOD:1]-``), mass deltas (``M+15.995``,
``C+57.021``, ``M[+15.995]``, ``+42.011PEPTIDE`` as Casanovo writes them),
InstaNovo ≤ 1.0's parentheses (``M(ox)``, ``C(+57.02)``, ``N(+.98)``,
``(+42.01)PEPTIDE``) and pyro-glu written on the residue
(``Q[Gln->pyro-Glu]``). Several N-terminal modifications in a row (Casanovo
4.x's ``+43.006-17.027``, ``[Carbamyl][Ammonia-loss]-``) are one modification
of their summed mass (Casanovo 5.x writes that one ``[+25.980265]-``).
Output: canonical tokens, e.g. ``[Acetyl]-PEPC[Carbamidomethyl]M[Oxidation]K``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from renovo.chem.errors import PeptideParseError, UnknownModificationError
from renovo.chem.modifications import Modification
from renovo.chem.vocabulary import Vocabulary, shared_default_vocabulary

#: Mass-delta notation matches a known modification within this many Da.
DELTA_TOLERANCE_DA = 0.01

# A modification: [name], (name) as InstaNovo <= 1.0 writes it, or a bare mass delta (+.98 included).
_DELTA = r"[+-](?:\d+(?:\.\d*)?|\.\d+)"
_MOD = rf"\[([^\[\]]+)\]|\(([^()]+)\)|({_DELTA})"
_N_TERM_PART = re.compile(_MOD)
_N_TERM = re.compile(rf"^(?:(?:{_MOD}))+-?")
_RESIDUE = re.compile(rf"([A-Z])(?:{_MOD})?")


@dataclass(frozen=True)
class Peptide:
    """A peptide as canonical tokens, N→C; an N-terminal modification is the first token."""

    tokens: tuple[str, ...]

    @property
    def proforma(self) -> str:
        return "".join(self.tokens)

    @property
    def residues(self) -> tuple[str, ...]:
        """Residue tokens, without an N-terminal modification token."""
        return tuple(t for t in self.tokens if not Vocabulary.is_n_terminal(t))

    def __len__(self) -> int:
        return len(self.residues)

    def __str__(self) -> str:
        return self.proforma


def _resolve(text: str, vocabulary: Vocabulary, residue: str | None, n_terminal: bool, peptide: str) -> Modification:
    """Find the modification a bracket or delta text names."""
    candidates = [m for m in vocabulary.modifications if m.is_n_terminal == n_terminal]
    if residue is not None and not n_terminal:
        # Pyro-glu and other N-terminal modifications may be written on the first residue.
        candidates += [m for m in vocabulary.modifications if m.is_n_terminal]
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith(("unimod:", "u:")):
        try:
            accession = int(lowered.split(":", 1)[1])
        except ValueError:
            raise PeptideParseError(f"bad Unimod accession {text!r} in {peptide!r}") from None
        matches = [m for m in candidates if m.unimod_id == accession]
    elif re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", stripped):
        delta = float(stripped)
        matches = [m for m in candidates if abs(m.delta_da - delta) <= DELTA_TOLERANCE_DA]
    else:
        matches = [
            m for m in candidates
            if m.name.lower() == lowered or lowered in (a.lower() for a in m.aliases)
        ]
    if residue is not None:
        fitting = [m for m in matches if not m.targets or residue in m.targets]
        matches = fitting or matches
    if not matches:
        raise UnknownModificationError(text, sorted({m.name for m in vocabulary.modifications}), peptide)
    # Prefer a modification whose token the vocabulary has.
    for modification in matches:
        if modification.token(residue) in vocabulary:
            return modification
    return matches[0]


def _parse(text: str, vocabulary: Vocabulary) -> Peptide:
    if not isinstance(text, str):
        raise PeptideParseError(f"peptide must be a string, not {type(text).__name__}")
    sequence = text.strip()
    if not sequence:
        raise PeptideParseError("empty peptide")
    tokens: list[str] = []
    n_term_token: str | None = None
    position = 0
    match = _N_TERM.match(sequence)
    if match:
        parts = [next(g for g in part.groups() if g is not None)
                 for part in _N_TERM_PART.finditer(sequence, 0, match.end())]
        if len(parts) == 1:
            modification = _resolve(parts[0], vocabulary, None, True, text)
        else:
            # Stacked N-terminal modifications are one of their summed mass (Casanovo's carbamylation + NH3 loss).
            total = sum(_resolve(part, vocabulary, None, True, text).delta_da for part in parts)
            modification = _resolve(f"{total:+.6f}", vocabulary, None, True, text)
        n_term_token = modification.token()
        position = match.end()
    while position < len(sequence):
        match = _RESIDUE.match(sequence, position)
        if not match:
            raise PeptideParseError(f"cannot read {sequence[position:position + 10]!r} at position {position} of {text!r}")
        residue, bracket, parenthesis, delta = match.groups()
        bracket = bracket if bracket is not None else parenthesis
        position = match.end()
        if residue not in "GASPVTCLINDQKEMHFRYW":
            raise PeptideParseError(f"unknown residue {residue!r} in {text!r}")
        if bracket is None and delta is None:
            tokens.append(vocabulary.fixed.get(residue, residue))
            continue
        modification = _resolve(bracket if bracket is not None else delta, vocabulary, residue, False, text)
        if modification.is_n_terminal:
            if tokens or n_term_token is not None:
                raise PeptideParseError(f"{modification.name} is N-terminal but sits inside {text!r}")
            n_term_token = modification.token()
            tokens.append(vocabulary.fixed.get(residue, residue))
        else:
            tokens.append(modification.token(residue))
    if not tokens:
        raise PeptideParseError(f"no residues in {text!r}")
    if n_term_token is not None:
        modification = next(m for m in vocabulary.modifications if m.is_n_terminal and m.token() == n_term_token)
        if modification.targets and tokens[0][0] not in modification.targets:
            raise PeptideParseError(f"{modification.name} needs {'/'.join(modification.targets)} first, not {tokens[0]!r} in {text!r}")
        tokens.insert(0, n_term_token)
    for token in tokens:
        if token not in vocabulary:
            name = token.strip("[]-") if token.endswith("-") else token[2:-1] if "[" in token else token
            raise UnknownModificationError(name, sorted(t for t in vocabulary.tokens if "[" in t), text)
    return Peptide(tuple(tokens))


@lru_cache(maxsize=65536)
def _parse_default(text: str) -> Peptide:
    return _parse(text, shared_default_vocabulary())


def parse_peptide(text: str, vocabulary: Vocabulary | None = None) -> Peptide:
    """Parse a peptide label; raises :class:`PeptideParseError` (or its subclass
    :class:`UnknownModificationError`) naming what it cannot read."""
    if isinstance(text, Peptide):
        return text
    if vocabulary is None:
        return _parse_default(text) if isinstance(text, str) else _parse(text, shared_default_vocabulary())
    return _parse(text, vocabulary)


def canonical_proforma(text: str, vocabulary: Vocabulary | None = None) -> str:
    """The canonical ProForma form of a label."""
    return parse_peptide(text, vocabulary).proforma
