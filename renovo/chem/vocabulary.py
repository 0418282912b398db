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
