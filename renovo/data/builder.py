"""Validation shared by every reader: one place decides whether a spectrum is
kept (and how it is cleaned) or skipped, and under which reason."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from renovo.chem import PeptideParseError, UnknownModificationError, Vocabulary, parse_peptide
from renovo.data import records as R
from renovo.data.centroid import centroid as _centroid
from renovo.data.centroid import is_profile
from renovo.data.labels import Label
from renovo.data.records import SkipCounter, SpectrumRecord

#: What to do with a spectrum whose label cannot be read: drop the spectrum (counted),
#: raise, or keep the spectrum unlabelled ("ignore", for inference where labels do not matter).
ON_UNKNOWN_MOD = ("skip", "error", "ignore")
#: Larger charges are garbage (Parquet stores the charge as int16; top-down spectra stay below ~100).
MAX_CHARGE = 100
#: Intensities are stored as float32; a larger value would become inf.
_MAX_INTENSITY = float(np.finfo(np.float32).max)


def first_float(text: str | None) -> float | None:
    """The first number in a header value (``PEPMASS=445.12 1234`` → 445.12, ``RetentionTime=12.5,12.1`` → 12.5), or None."""
    if text is None:
        return None
    fields = text.replace(",", " ").split()
    if not fields:
        return None
    try:
        return float(fields[0])
    except ValueError:
        return None


def parse_charge(text: str | None) -> tuple[int | None, str | None]:
    """Charge from MGF-style text ("2+", "2", "+2", "3+ and 4+"): (charge, skip reason)."""
    if text is None or not str(text).strip():
        return None, R.NO_CHARGE
    text = str(text).strip()
    if "," in text or " and " in text.lower():
        return None, R.BAD_CHARGE
    if text.endswith("-") or text.startswith("-"):
        return None, R.BAD_CHARGE
    try:
        charge = int(text.strip("+"))
    except ValueError:
        return None, R.BAD_CHARGE
    if charge <= 0:
        return None, R.BAD_CHARGE
    return charge, None


class RecordBuilder:
    """Turns raw fields of one spectrum into a :class:`SpectrumRecord` or a counted skip."""

    def __init__(
        self,
        path: str | Path,
        *,
        vocabulary: Vocabulary | None = None,
        skips: SkipCounter | None = None,
        on_unknown_mod: str = "skip",
        centroid: bool = True,
    ):
        if on_unknown_mod not in ON_UNKNOWN_MOD:
            raise ValueError(f"on_unknown_mod must be one of {ON_UNKNOWN_MOD}, not {on_unknown_mod!r}")
        self.path = str(path)
        self.name = Path(path).name
        self.vocabulary = vocabulary
        self.skips = skips if skips is not None else SkipCounter()
        self.on_unknown_mod = on_unknown_mod
        self.centroid = centroid

    # long function: one check after another, each with its own skip reason, in the order a record is read.
    def build(
        self,
        mz,
        intensity,
        precursor_mz: float | None,
        charge: int | None,
        label: Label | str | None,
        index: int,
        title: str | None = None,
        scan: str | None = None,
        retention_time_s: float | None = None,
        charge_reason: str | None = None,
        where: str | None = None,
        precursor_reason: str | None = None,
    ) -> SpectrumRecord | None:
        """The record, or None after counting why it was skipped.

        ``charge_reason`` (``precursor_reason``) is the skip reason when ``charge``
        (``precursor_mz``) could not be read; a label table's charge fills in a missing one.
        """
        where = where or f"{self.name}#{index}" + (f" ({title})" if title else "")
        skip = self.skips.skip
        if isinstance(label, str):
            label = Label(label)
        if precursor_mz is None or not math.isfinite(precursor_mz) or precursor_mz <= 0:
            skip(precursor_reason or R.NO_PRECURSOR, where, f"precursor m/z {precursor_mz!r}")
            return None
        if charge is None and label is not None and label.charge:
            charge, charge_reason = label.charge, None
        if charge is None or charge <= 0 or charge > MAX_CHARGE:
            skip(charge_reason or (R.NO_CHARGE if charge is None else R.BAD_CHARGE), where)
            return None
        mz = np.asarray(mz, dtype=np.float64)  # (points,)
        intensity = np.asarray(intensity, dtype=np.float64)  # (points,)
        if mz.shape != intensity.shape:
            skip(R.BAD_VALUES, where, f"{mz.shape[0]} m/z values but {intensity.shape[0]} intensities")
            return None
        if mz.shape[0] == 0:
            skip(R.NO_PEAKS, where)
            return None
        if not (np.all(np.isfinite(mz)) and np.all(np.isfinite(intensity))) or mz.min() < 0 or intensity.min() < 0 \
                or intensity.max() > _MAX_INTENSITY:
            skip(R.BAD_VALUES, where)
            return None
        if not np.any(intensity > 0):
            skip(R.NO_PEAKS, where)
            return None
        if np.any(np.diff(mz) < 0):
            order = np.argsort(mz, kind="stable")
            mz, intensity = mz[order], intensity[order]
        if is_profile(mz, intensity):
            if not self.centroid:
                skip(R.PROFILE, where, f"{mz.shape[0]} points")
                return None
            mz, intensity = _centroid(mz, intensity)
            self.skips.centroided += 1
        else:
            nonzero = intensity > 0
            if not nonzero.all():
                mz, intensity = mz[nonzero], intensity[nonzero]
        peptide = None
        if label is not None and (label.text or label.error) and self.on_unknown_mod != "ignore":
            try:
                if label.error is not None:
                    raise label.error
                peptide = parse_peptide(label.text, self.vocabulary).proforma
            except UnknownModificationError as error:
                if self.on_unknown_mod == "error":
                    raise
                skip(R.UNKNOWN_MOD, where, str(error.modification))
                return None
            except PeptideParseError as error:
                skip(R.BAD_LABEL, where, str(error))
                return None
        self.skips.kept += 1
        return SpectrumRecord(
            mz=mz,
            intensity=intensity.astype(np.float32),
            precursor_mz=float(precursor_mz),
            precursor_charge=int(charge),
            peptide=peptide,
            source_file=self.path,
            index=int(index),
            title=title,
            scan=scan,
            retention_time_s=retention_time_s,
        )
