"""The residue vocabulary: which tokens a model reads and writes, with masses.

A token is a canonical ProForma fragment: an amino acid (``K``), a modified
amino acid (``M[Oxidation]``) or an N-terminal modification (``[Acetyl]-``),
which is its own token placed before the first residue.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from renovo.chem.constants import AMINO_ACID_MASS_DA
from renovo.chem.errors import UnknownModificationError
from renovo.chem.modifications import KNOWN_MODIFICATIONS, Modification, modification_from_config

DEFAULT_FIXED_MODS: tuple[str, ...] = ("C[Carbamidomethyl]",)
DEFAULT_VARIABLE_MODS: tuple[str, ...] = (
    "M[Oxidation]",
    "N[Deamidated]",
    "Q[Deamidated]",
    "[Acetyl]-",
    "[Carbamyl]-",
    "[Ammonia-loss]-",
    "[Gln->pyro-Glu]-",
    "[Glu->pyro-Glu]-",
)


@dataclass(frozen=True)
class Vocabulary:
    """Residue tokens and their masses (Da, float64).

    ``fixed`` maps an amino acid to the token that replaces it everywhere (with
    the default, a bare ``C`` in a label means ``C[Carbamidomethyl]``).
    ``modifications`` is every modification the parser can recognise, in or out
    of this vocabulary.
    """

    masses_da: dict[str, float]
    fixed: dict[str, str] = field(default_factory=dict)
    modifications: tuple[Modification, ...] = KNOWN_MODIFICATIONS

    @property
    def tokens(self) -> list[str]:
        return list(self.masses_da)

    def __contains__(self, token: str) -> bool:
        return token in self.masses_da

    def __len__(self) -> int:
        return len(self.masses_da)

    def mass_da(self, token: str) -> float:
        return self.masses_da[token]

    @staticmethod
    def is_n_terminal(token: str) -> bool:
        return token.endswith("-")


def _token_mass(token: str, modifications: dict[str, Modification]) -> float:
    if token.endswith("]-"):
        name = token[1:-2]
        return modifications[name].delta_da
    if "[" in token:
        residue, name = token[0], token[2:-1]
        return AMINO_ACID_MASS_DA[residue] + modifications[name].delta_da
    return AMINO_ACID_MASS_DA[token]


def default_vocabulary(
    fixed_mods: Iterable[str] = DEFAULT_FIXED_MODS,
    variable_mods: Iterable[str] = DEFAULT_VARIABLE_MODS,
    extra_modifications: Iterable[dict | Modification] = (),
) -> Vocabulary:
    """The 20 amino acids, with ``fixed_mods`` replacing their bare residue and
    ``variable_mods`` added as tokens of their own.

    ``extra_modifications`` extends the known modifications from a config
    (mappings with name, delta_da, targets, position, unimod_id); name them in
    ``variable_mods`` or ``fixed_mods`` to put them in the vocabulary.
    """
    extra = tuple(m if isinstance(m, Modification) else modification_from_config(m) for m in extra_modifications)
    known = {m.name: m for m in KNOWN_MODIFICATIONS + extra}
    masses: dict[str, float] = dict(AMINO_ACID_MASS_DA)
    fixed: dict[str, str] = {}
    for token in fixed_mods:
        residue = token[0]
        _check_token(token, known)
        del masses[residue]
        masses[token] = _token_mass(token, known)
        fixed[residue] = token
    for token in variable_mods:
        _check_token(token, known)
        masses[token] = _token_mass(token, known)
    return Vocabulary(masses_da=masses, fixed=fixed, modifications=tuple(known.values()))


@lru_cache(maxsize=1)
def shared_default_vocabulary() -> Vocabulary:
    """``default_vocabulary()``, built once and shared (the vocabulary of a label read without one)."""
    return default_vocabulary()


def _check_token(token: str, known: dict[str, Modification]) -> None:
    if token.endswith("]-") and token.startswith("["):
        name = token[1:-2]
    elif len(token) > 3 and token[1] == "[" and token.endswith("]"):
        name = token[2:-1]
        if token[0] not in AMINO_ACID_MASS_DA:
            raise ValueError(f"vocabulary token {token!r}: unknown residue {token[0]!r}")
    else:
        raise ValueError(f"vocabulary token {token!r} is not of the form 'M[Name]' or '[Name]-'")
    if name not in known:
        raise UnknownModificationError(name, sorted(known))
    modification = known[name]
    if token.endswith("]-") != modification.is_n_terminal:
        raise ValueError(f"vocabulary token {token!r}: {name} is {modification.position}")
    if not modification.is_n_terminal and modification.targets and token[0] not in modification.targets:
        raise ValueError(f"vocabulary token {token!r}: {name} sits on {', '.join(modification.targets)}")


#: A mass-notation modification matches a known one within this many Da.
_MASS_MATCH_DA = 0.01


def _unknown(text: str, known: list[str]) -> str:
    return (f"unknown modification {text!r}; known here: {', '.join(known)} (or give it by mass, e.g. S[+79.966], "
            "or under vocabulary.extra_modifications)")


def _find_modification(text: str, residue: str | None, known: dict[str, Modification]) -> Modification:
    """The modification ``text`` names: a name or alias, ``UNIMOD:n``, or a mass delta (``+79.966``);
    an unknown mass becomes a modification named by that mass."""
    import re

    n_terminal = residue is None
    stripped = text.strip()
    lowered = stripped.lower()
    placed = [m for m in known.values() if m.is_n_terminal == n_terminal]
    candidates = [m for m in placed if n_terminal or not m.targets or residue in m.targets]
    if lowered.startswith(("unimod:", "u:")):
        try:
            accession = int(lowered.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"bad Unimod accession {text!r}") from None
        matches = [m for m in candidates if m.unimod_id == accession]
        if not matches:
            raise ValueError(_unknown(text, sorted(f"{m.name} (UNIMOD:{m.unimod_id})" for m in candidates
                                                   if m.unimod_id is not None)))
        return matches[0]
    if re.fullmatch(r"[+-]\d+(\.\d*)?", stripped):
        delta = float(stripped)
        matches = sorted((m for m in candidates if abs(m.delta_da - delta) <= _MASS_MATCH_DA),
                         key=lambda m: abs(m.delta_da - delta))
        if matches:
            return matches[0]
        return Modification(name=f"{delta:+.4f}", unimod_id=None, delta_da=delta,
                            targets=() if n_terminal else (residue,), position="n-term" if n_terminal else "anywhere")
    matches = [m for m in placed if m.name.lower() == lowered or lowered in (a.lower() for a in m.aliases)]
    if not matches:
        raise ValueError(_unknown(text, sorted(m.name for m in candidates)))
    return matches[0]  # canonical_token checks that it may sit on the residue


def canonical_token(spec: str, known: dict[str, Modification]) -> tuple[str, Modification | None]:
    """(canonical token, its modification) of a vocabulary entry as a user writes it:
    ``K``, ``C[Carbamidomethyl]``, ``S[UNIMOD:21]``, ``S[+79.966]``, ``[Acetyl]-``, ``[+42.011]-``."""
    import re

    spec = str(spec).strip()
    if spec in AMINO_ACID_MASS_DA:
        return spec, None
    match = re.fullmatch(r"\[([^\[\]]+)\]-?", spec)
    if match:
        modification = _find_modification(match.group(1), None, known)
        return modification.token(), modification
    match = re.fullmatch(r"([A-Z])\[([^\[\]]+)\]|([A-Z])([+-]\d+(?:\.\d*)?)", spec)
    if not match:
        raise ValueError(f"vocabulary entry {spec!r} is not a residue (K), a modified residue (M[Oxidation], "
                         "S[UNIMOD:21], S[+79.966]) or an N-terminal modification ([Acetyl]-)")
    residue = match.group(1) or match.group(3)
    if residue not in AMINO_ACID_MASS_DA:
        raise ValueError(f"vocabulary entry {spec!r}: unknown residue {residue!r}")
    modification = _find_modification(match.group(2) or match.group(4), residue, known)
    if modification.targets and residue not in modification.targets:
        raise ValueError(f"vocabulary entry {spec!r}: {modification.name} sits on {', '.join(modification.targets)}")
    return modification.token(residue), modification


def vocabulary_from_config(section: dict | None) -> Vocabulary:
    """The vocabulary of a config's ``vocabulary`` section (``fixed``, ``variable``,
    ``extra_modifications``; see renovo/configs/default.yaml). Entries are
    resolved by name, Unimod accession or mass (:func:`canonical_token`); an
    empty ``fixed`` keeps every residue plain (unalkylated cysteine is ``C``)."""
    section = dict(section or {})
    extra = [m if isinstance(m, Modification) else modification_from_config(m)
             for m in section.get("extra_modifications") or ()]
    known = {m.name: m for m in KNOWN_MODIFICATIONS + tuple(extra)}
    tokens: dict[str, list[str]] = {"fixed": [], "variable": []}
    for kind in ("fixed", "variable"):
        for spec in section.get(kind, DEFAULT_FIXED_MODS if kind == "fixed" else DEFAULT_VARIABLE_MODS) or ():
            token, modification = canonical_token(spec, known)
            if modification is None:
                if kind == "fixed":
                    raise ValueError(f"fixed vocabulary entry {spec!r} is a plain residue; fixed entries are "
                                     "modified residues such as C[Carbamidomethyl]")
                continue  # plain residues are always in the vocabulary
            if modification.name not in known:
                known[modification.name] = modification
                extra.append(modification)
            if kind == "fixed" and modification.is_n_terminal:
                raise ValueError(f"fixed vocabulary entry {spec!r}: N-terminal modifications can only be variable")
            if token not in tokens[kind]:
                tokens[kind].append(token)
    residues = [t[0] for t in tokens["fixed"]]
    if len(set(residues)) != len(residues):
        raise ValueError(f"two fixed modifications on one residue: {tokens['fixed']}")
    return default_vocabulary(tokens["fixed"], [t for t in tokens["variable"] if t not in tokens["fixed"]], extra)


def reading_vocabulary(extra: Iterable[Modification] = ()) -> Vocabulary:
    """A vocabulary for reading any renovo output: every residue plain (no fixed modification, so
    ``C`` is unmodified cysteine) and every known modification on each residue it may sit on."""
    known = {m.name: m for m in KNOWN_MODIFICATIONS + tuple(extra)}
    variable = []
    for modification in known.values():
        if modification.is_n_terminal:
            variable.append(modification.token())
        else:
            variable += [modification.token(r) for r in (modification.targets or AMINO_ACID_MASS_DA)]
    return default_vocabulary((), variable, tuple(extra))
