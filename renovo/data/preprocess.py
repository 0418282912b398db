"""Peak preprocessing, vectorised: the peers' pipeline (depthcharge/Casanovo
via spectrum_utils), in their order:

1. keep ``min_mz ≤ m/z ≤ max_mz``;
2. drop peaks within ``remove_precursor_tol_da`` of the precursor m/z
   (spectrum_utils ``remove_precursor_peak(tol, "Da")``, isotope 0);
3. keep peaks ≥ ``min_relative_intensity`` × base peak, then the
   ``max_peaks`` most intense;
4. scale intensity (``"sqrt"``, ``"log1p"`` or ``"none"``);
5. normalise (``"l2"``, ``"max"`` or ``"none"``).

Output is sorted by m/z. An input whose peaks are all removed returns empty
arrays (the collator pads them; a batch row with no real peak is legal).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Mapping

import numpy as np


@dataclass(frozen=True)
class PreprocessConfig:
    min_mz: float = 50.0
    max_mz: float = 2500.0
    #: Peaks within this many Da of the precursor m/z are removed; None or ≤ 0 keeps them.
    remove_precursor_tol_da: float | None = 2.0
    min_relative_intensity: float = 0.01
    max_peaks: int | None = 150
    scaling: str = "sqrt"
    normalize: str = "l2"

    def __post_init__(self) -> None:
        if self.scaling not in ("sqrt", "log1p", "none"):
            raise ValueError(f"scaling must be sqrt, log1p or none, not {self.scaling!r}")
        if self.normalize not in ("l2", "max", "none"):
            raise ValueError(f"normalize must be l2, max or none, not {self.normalize!r}")
        if self.min_mz > self.max_mz:
            raise ValueError(f"min_mz {self.min_mz} > max_mz {self.max_mz}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_config(cls, config: Mapping | None) -> "PreprocessConfig":
        """The preprocessing a run config asks for: ``data.preprocess`` fields, with
        ``max_peaks`` from ``data.max_peaks`` (its one home in a run config).

        Training, sequencing, benchmarks and experiments all build their
        preprocessing here, so a model is sequenced exactly as it was trained.
        ``config`` is a loaded run config or a checkpoint's (migrated: older
        checkpoints gain the ``data`` keys they were trained with); ``{}`` or None
        (a model built without a run config) gets this class's defaults.
        Raises ValueError naming the bad key.
        """
        if not config:
            return cls()
        data = config["data"]
        values = dict(data["preprocess"])
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"data.preprocess: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        max_peaks = data["max_peaks"]
        if "max_peaks" in values and values["max_peaks"] != max_peaks:
            raise ValueError(f"data.preprocess.max_peaks={values['max_peaks']} disagrees with data.max_peaks={max_peaks}; "
                             "set data.max_peaks only")
        values["max_peaks"] = max_peaks
        return cls(**values)


def preprocess(
    mz: np.ndarray,
    intensity: np.ndarray,
    precursor_mz: float,
    charge: int,
    config: PreprocessConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Preprocessed (mz float64, intensity float32), sorted by m/z.

    ``charge`` is accepted for the peers' signature (their precursor removal
    with isotopes uses it); isotope 0 removal does not need it.
    """
    config = config or PreprocessConfig()
    mz = np.asarray(mz, dtype=np.float64)  # (peaks,)
    intensity = np.asarray(intensity, dtype=np.float64)  # (peaks,)
    keep = (mz >= config.min_mz) & (mz <= config.max_mz) & (intensity > 0)
    if config.remove_precursor_tol_da:
        keep &= np.abs(mz - precursor_mz) > config.remove_precursor_tol_da
    mz, intensity = mz[keep], intensity[keep]
    if mz.shape[0] == 0:
        return mz, intensity.astype(np.float32)
    keep = intensity >= config.min_relative_intensity * intensity.max()
    mz, intensity = mz[keep], intensity[keep]
    if config.max_peaks is not None and mz.shape[0] > config.max_peaks:
        top = np.argpartition(-intensity, config.max_peaks - 1)[: config.max_peaks]
        top.sort()  # input is m/z-sorted, so sorted indices keep m/z order
        mz, intensity = mz[top], intensity[top]
    order = np.argsort(mz, kind="stable")
    mz, intensity = mz[order], intensity[order]
    if config.scaling == "sqrt":
        intensity = np.sqrt(intensity)
    elif config.scaling == "log1p":
        intensity = np.log1p(intensity)
    if config.normalize == "l2":
        norm = np.linalg.norm(intensity)
        if norm > 0:
            intensity = intensity / norm
    elif config.normalize == "max":
        peak = intensity.max()
        if peak > 0:
            intensity = intensity / peak
    return mz, intensity.astype(np.float32)
