"""The decoding settings, once: `DecodeConfig`.

Every caller that decodes — `renovo sequence`, `renovo calibrate`, training-time validation, fine-tuning
rounds, the benches and the Casanovo peer harness — builds one of these, so each setting's default,
type, valid range and meaning is written here and nowhere else, and an invalid value is one line
naming the setting before any spectrum is read. `DecodeConfig.from_keys` names the setting by the
caller's own key (``trainer.val_decode_beam``, ``--beam``) instead.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping

from renovo.chem import isotope_offsets as as_isotope_offsets
from renovo.errors import RenovoError

if TYPE_CHECKING:
    from renovo.decode.scorer import CandidateScorer


class DecodeConfigError(RenovoError, ValueError):
    """A decoding setting out of range; ``field`` names it, the message says what it must be."""

    def __init__(self, field: str, requirement: str, value: Any, name: str | None = None):
        self.field, self.requirement, self.value = field, requirement, value
        super().__init__(f"{name or field.replace('_', '-')} must be {requirement}, not {value!r}")

    def named(self, name: str) -> "DecodeConfigError":
        """The same error naming the setting as the caller spells it (a config key, a CLI option)."""
        return DecodeConfigError(self.field, self.requirement, self.value, name)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class DecodeConfig:
    """How spectra are decoded. Frozen: one value travels from the caller to the search unchanged."""

    #: Beam width: candidates kept per spectrum at each step; 1 is greedy decoding. Integer ≥ 1.
    beam: int = 5
    #: Predictions reported per spectrum, best first. Integer, 1 ≤ top_k ≤ beam.
    top_k: int = 1
    #: Most tokens decoded before the stop token (a peptide cut there is marked incomplete). Integer ≥ 1.
    max_length: int = 60
    #: Spectra decoded together (memory, not results: a batch's spectra do not interact). Integer ≥ 1.
    batch_size: int = 32
    #: Precursor-mass constraint tolerance in ppm (Casanovo's 50); None turns the constraint off. Number > 0.
    precursor_tolerance_ppm: float | None = 50.0
    #: Isotope peaks (× 1.00335 Da) the measured precursor may have been picked at: offsets ≥ 0, first wins
    #: on a tie (a count k means 0..k: `renovo.chem.isotope_offsets`). Stored as a tuple of ints.
    isotope_offsets: tuple[int, ...] = (0, 1)
    #: Reorders the beam's candidates by calibrated probability when set (None: the model's score alone).
    scorer: "CandidateScorer | None" = None
    #: Spectra with fewer peaks after the model's preprocessing are skipped and counted (Casanovo's default is
    #: 20; on the shared real files it skips 23 of 728, on simulated spectra 1 in 1000: docs/decoding.md).
    #: Integer ≥ 1: a spectrum with no peak left is never sequenced.
    min_peaks: int = 20
    #: Spectra of a higher precursor charge are skipped and counted; None: the model's largest charge
    #: embedding (a charge above that one is always skipped, never given the largest one's embedding).
    max_charge: int | None = None

    def __post_init__(self) -> None:
        """DecodeConfigError naming the first setting out of range; numbers normalised (ppm to float,
        isotope offsets to a tuple of ints)."""
        for name in ("beam", "top_k", "max_length", "batch_size", "min_peaks"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise DecodeConfigError(name, "an integer ≥ 1", value)
        if self.max_charge is not None and (not _is_int(self.max_charge) or self.max_charge < 1):
            raise DecodeConfigError("max_charge", "an integer ≥ 1 or unset", self.max_charge)
        if self.top_k > self.beam:
            raise DecodeConfigError("top_k", f"≤ beam ({self.beam})", self.top_k)
        tolerance = self.precursor_tolerance_ppm
        if tolerance is not None:
            if (isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real)
                    or not (math.isfinite(tolerance) and tolerance > 0)):
                raise DecodeConfigError("precursor_tolerance_ppm", "a number > 0 (ppm) or unset", tolerance)
            object.__setattr__(self, "precursor_tolerance_ppm", float(tolerance))
        try:
            offsets = as_isotope_offsets(self.isotope_offsets)
        except (TypeError, ValueError):
            offsets = ()
        if not offsets or any(k < 0 for k in offsets):
            raise DecodeConfigError("isotope_offsets", "integers ≥ 0", self.isotope_offsets)
        object.__setattr__(self, "isotope_offsets", offsets)

    @property
    def mass_constraint(self) -> bool:
        """Whether the precursor-mass constraint is on (a tolerance is set)."""
        return self.precursor_tolerance_ppm is not None

    @classmethod
    def from_keys(cls, keys: Mapping[str, tuple[str, Any]], **fixed) -> "DecodeConfig":
        """A DecodeConfig of ``{field: (the caller's name for it, value)}`` and ``fixed`` fields; an invalid
        value is a one-line error naming the caller's key (``trainer.val_decode_beam must be …``)."""
        values = {field: value for field, (_, value) in keys.items()}
        try:
            return cls(**values, **fixed)
        except DecodeConfigError as error:
            name = keys[error.field][0] if error.field in keys else None
            raise (error.named(name) if name else error) from None

    def describe(self) -> dict:
        """The settings as plain values (the scorer as whether one is set)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "scorer"}
        out["rerank"] = self.scorer is not None
        return out


#: The beam when a scorer reranks the candidates: reranking needs candidates to choose among (measured:
#: docs/results/rerank/); without one the beam is `DecodeConfig.beam`.
RERANK_BEAM = 10

#: Every field's default: where a caller needs one value (an argparse default, a keyword default).
DEFAULTS = DecodeConfig()

__all__ = ["DEFAULTS", "RERANK_BEAM", "DecodeConfig", "DecodeConfigError"]
