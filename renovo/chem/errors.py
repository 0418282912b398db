"""The errors of reading peptides and modifications (a `RenovoError`, so the CLI prints one line)."""
from __future__ import annotations

from renovo.errors import RenovoError


class PeptideParseError(RenovoError, ValueError):
    """A peptide label cannot be read."""


class UnknownModificationError(PeptideParseError):
    """A modification that renovo (or this vocabulary) does not know."""

    def __init__(self, modification: str, known: list[str], where: str = ""):
        self.modification = modification
        self.known = known
        where = f" in {where!r}" if where else ""
        super().__init__(
            f"unknown modification {modification!r}{where}; known: {', '.join(known)} "
            "(add it under vocabulary.extra_modifications in the config)"
        )
