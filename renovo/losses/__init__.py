"""Physics losses: theoretical fragments from token probabilities, spectrum and precursor losses.

See docs/losses.md for the formulas, bounds and defaults.
"""
from renovo.losses.huber import HuberPeakDistanceLoss
from renovo.losses.peaks import TheoreticalFragments, theoretical_fragments, theoretical_peaks
from renovo.losses.precursor import ExpectedSquaredPrecursorLoss, Log1pPPMPrecursorLoss, ScaledL1PrecursorLoss
from renovo.losses.spectral import GaussianSpectralLoss

__all__ = [
    "ExpectedSquaredPrecursorLoss",
    "GaussianSpectralLoss",
    "HuberPeakDistanceLoss",
    "Log1pPPMPrecursorLoss",
    "ScaledL1PrecursorLoss",
    "TheoreticalFragments",
    "theoretical_fragments",
    "theoretical_peaks",
]
