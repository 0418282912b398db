"""The modifications renovo knows: names, Unimod accessions and mass deltas.

renovo keeps its own table instead of resolving names through Unimod at run
time, because pyteomics' and spectrum_utils' name resolution reach for the
network (pyteomics ProForma/Unimod name lookup and spectrum_utils' unimod.obo download). Deltas are computed from elemental
compositions with pyteomics, so they are exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyteomics import mass as _mass


@dataclass(frozen=True)
class Modification:
    """A modification of a residue (``position="anywhere"``) or of the peptide
    N-terminus (``position="n-term"``).

    ``targets`` are the residues it may sit on; for an N-terminal modification
    an empty ``targets`` means any first residue, otherwise the first residue
    must be one of them (pyro-glu forms only on Q or E).
    """

    name: str
    unimod_id: int | None
    delta_da: float
    targets: tuple[str, ...] = ()
    position: str = "anywhere"
    aliases: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_n_terminal(self) -> bool:
        return self.position == "n-term"

    def token(self, residue: str | None = None) -> str:
        """The canonical ProForma token: ``M[Oxidation]`` or ``[Acetyl]-``."""
        if self.is_n_terminal:
            return f"[{self.name}]-"
        if residue is None:
            raise ValueError(f"{self.name} needs a residue")
        return f"{residue}[{self.name}]"


def _delta(formula: str) -> float:
    return _mass.calculate_mass(formula=formula)


def _loss(formula: str) -> float:
    return -_mass.calculate_mass(formula=formula)


#: Every modification renovo can parse. Which of them are in a model's
#: vocabulary is chosen by :func:`renovo.chem.default_vocabulary`.
KNOWN_MODIFICATIONS: tuple[Modification, ...] = (
    Modification("Carbamidomethyl", 4, _delta("H3C2NO"), ("C",), aliases=("CAM",)),
    Modification("Oxidation", 35, _delta("O"), ("M",), aliases=("Ox",)),
    Modification("Deamidated", 7, _delta("O") - _delta("NH"), ("N", "Q"), aliases=("Deamidation",)),
    Modification("Acetyl", 1, _delta("H2C2O"), (), "n-term"),
    Modification("Carbamyl", 5, _delta("HCNO"), (), "n-term"),
    Modification("Ammonia-loss", 385, _loss("NH3"), (), "n-term"),
    Modification("Gln->pyro-Glu", 28, _loss("NH3"), ("Q",), "n-term", aliases=("Pyro_glu", "Pyro-glu", "pyro-Glu")),
    Modification("Glu->pyro-Glu", 27, _loss("H2O"), ("E",), "n-term", aliases=("Pyro_glu_E",)),
    Modification("Phospho", 21, _delta("HPO3"), ("S", "T", "Y"), aliases=("Phosphorylation", "Phos")),
    Modification("Methyl", 34, _delta("CH2"), ("K", "R", "E", "D", "H", "C", "N", "Q"), aliases=("Methylation",)),
    Modification("Dimethyl", 36, _delta("C2H4"), ("K", "R", "N"), aliases=("Dimethylation",)),
    Modification("Trimethyl", 37, _delta("C3H6"), ("K", "R")),
    Modification("GG", 121, _delta("C4H6N2O2"), ("K",), aliases=("GlyGly", "Ubiquitination")),
    Modification("Nitro", 354, _delta("O2N") - _delta("H"), ("Y", "W")),
    Modification("Propionamide", 24, _delta("C3H5NO"), ("C",)),
    Modification("Carboxymethyl", 6, _delta("C2H2O2"), ("C",)),
    Modification("Dioxidation", 425, _delta("O2"), ("M", "W", "C")),
    Modification("Formyl", 122, _delta("CO"), (), "n-term"),
    # Casanovo's "carbamylation and NH3 loss" N-terminal token (no Unimod entry): Casanovo 5.x writes it
    # [+25.980265]-, 4.x +43.006-17.027, InstaNovo <= 1.0 (+25.98).
    Modification("Carbamyl+Ammonia-loss", None, _delta("HCNO") + _loss("NH3"), (), "n-term"),
)


def modification_from_config(entry: dict) -> Modification:
    """Build a modification from a config mapping: name, delta_da, targets,
    optional unimod_id, position ("anywhere" | "n-term") and aliases."""
    try:
        return Modification(
            name=str(entry["name"]),
            unimod_id=entry.get("unimod_id"),
            delta_da=float(entry["delta_da"]),
            targets=tuple(entry.get("targets", ())),
            position=entry.get("position", "anywhere"),
            aliases=tuple(entry.get("aliases", ())),
        )
    except KeyError as error:
        raise ValueError(f"modification config {entry!r} lacks {error.args[0]!r}") from None
