"""The one spectrum record every reader yields, skip accounting, and the
error for structurally malformed files."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from renovo.errors import RenovoError


@dataclass
class SpectrumRecord:
    """One MS2 spectrum, centroided, with optional label and provenance.

    ``mz`` (peaks,) float64 in m/z, sorted ascending; ``intensity`` (peaks,)
    float32, raw (not preprocessed); ``precursor_mz`` in m/z;
    ``precursor_charge`` ≥ 1; ``peptide`` canonical ProForma or None;
    ``index`` the spectrum's 0-based position in ``source_file``.
    ``label_weight`` scales the cross-entropy on the label (1: a label to learn from; 0: a label that only
    tells the physics losses where the fragments are, as label-free adaptation gives a decoded peptide).
    """

    mz: np.ndarray
    intensity: np.ndarray
    precursor_mz: float
    precursor_charge: int
    peptide: str | None = None
    source_file: str = ""
    index: int = 0
    title: str | None = None
    scan: str | None = None
    retention_time_s: float | None = None
    label_weight: float = 1.0

    def __post_init__(self) -> None:
        self.mz = np.asarray(self.mz, dtype=np.float64)
        self.intensity = np.asarray(self.intensity, dtype=np.float32)
        self.precursor_mz = float(self.precursor_mz)
        self.precursor_charge = int(self.precursor_charge)

    @property
    def n_peaks(self) -> int:
        return int(self.mz.shape[0])

    def where(self) -> str:
        """A short human-readable pointer to this spectrum."""
        name = f" ({self.title})" if self.title else ""
        return f"{self.source_file}#{self.index}{name}"


class MalformedFileError(RenovoError, ValueError):
    """A file that is structurally broken (not one bad spectrum, but bad syntax).

    The message names the file and the 1-based line where reading stopped.
    """

    def __init__(self, path, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


# Skip reasons, as printed. Readers use these constants so reports stay comparable.
NO_CHARGE = "no precursor charge"
BAD_CHARGE = "unusable precursor charge (≤ 0, negative mode or ambiguous)"
NO_PRECURSOR = "no precursor m/z"
BAD_PRECURSOR = "unreadable precursor m/z (e.g. a decimal comma)"
NO_PEAKS = "no peaks (or all intensities zero)"
BAD_VALUES = "NaN, infinite or negative m/z or intensity"
BAD_LABEL = "unparseable peptide label"
UNKNOWN_MOD = "unknown modification in label"
PROFILE = "profile-mode spectrum and centroid=False"
PEAK_LENGTHS = "m/z and intensity lists of different lengths"
NOT_MS2 = "not an MS2 spectrum"


@dataclass
class SkipCounter:
    """Counts skipped spectra by reason, keeping a few examples of each.

    One counter may be shared by several readers (e.g. all inputs of a
    ``renovo convert`` run); ``report()`` prints the totals.
    """

    max_examples: int = 3
    counts: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    #: spectra read and kept, so the report can say "n of m".
    kept: int = 0
    #: spectra converted from profile to centroid mode (not a skip).
    centroided: int = 0

    def skip(self, reason: str, where: str = "", detail: str = "") -> None:
        self.counts[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < self.max_examples:
            examples.append(f"{where}{': ' + detail if detail else ''}")

    def merge(self, other: "SkipCounter") -> None:
        self.counts.update(other.counts)
        self.kept += other.kept
        self.centroided += other.centroided
        for reason, examples in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(examples[: max(0, self.max_examples - len(mine))])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __getitem__(self, reason: str) -> int:
        return self.counts[reason]

    def as_dict(self) -> dict:
        return {"kept": self.kept, "centroided": self.centroided, "skipped": dict(self.counts)}

    def report(self) -> str:
        lines = [
            f"kept {self.kept} of {self.kept + self.total} spectra, skipped {self.total}"
            + (f" ({self.centroided} profile-mode spectra centroided)" if self.centroided else "")
        ]
        for reason, count in self.counts.most_common():
            lines.append(f"  {count:>8}  {reason}")
            for example in self.examples.get(reason, []):
                lines.append(f"            e.g. {example}")
        return "\n".join(lines)
