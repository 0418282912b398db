"""Physics losses: theoretical fragments from token probabilities, spectrum and precursor losses,
and the registry that builds them from a config.

See docs/losses.md for the formulas, bounds and defaults.
"""
from renovo.losses.huber import HuberPeakDistanceLoss
from renovo.losses.marginal import MarginalSpectralLoss
from renovo.losses.peaks import TheoreticalFragments, theoretical_fragments, theoretical_peaks
from renovo.losses.precursor import ExpectedSquaredPrecursorLoss, Log1pPPMPrecursorLoss, ScaledL1PrecursorLoss
from renovo.losses.registry import (PRECURSOR_LOSSES, SPECTRUM_LOSSES, PrecursorTerm, SpectrumTerm,
                                    build_precursor_loss, build_spectrum_loss)
from renovo.losses.spectral import GaussianSpectralLoss, gaussian_cosine

__all__ = [
    "ExpectedSquaredPrecursorLoss",
    "PRECURSOR_LOSSES",
    "PrecursorTerm",
    "SPECTRUM_LOSSES",
    "SpectrumTerm",
    "build_precursor_loss",
    "gaussian_cosine",
    "build_spectrum_loss",
    "GaussianSpectralLoss",
    "HuberPeakDistanceLoss",
    "MarginalSpectralLoss",
    "Log1pPPMPrecursorLoss",
    "ScaledL1PrecursorLoss",
    "TheoreticalFragments",
    "theoretical_fragments",
    "theoretical_peaks",
]
