"""The objective's physics losses built from a config, each called as ``loss(fragments, batch)``.

``build_spectrum_loss(config["loss"]["spectrum"])`` and
``build_precursor_loss(config["loss"]["precursor"])`` look the ``type`` up in
a registry (``"none"``: no loss, None) and wrap the tensor-level loss in a
term that takes the theoretical fragments (`TheoreticalFragments`, from the
decoder's probabilities) and the batch (the observed peaks, the precursor and
label masses), so the objective needs no case per loss type. Observed values
are cast to the fragments' dtype (the physics dtype: float64 or float32).
A bad setting raises `RenovoError` naming the config key.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from renovo.errors import RenovoError
from renovo.chem import Tokenizer
from renovo.losses.huber import HuberPeakDistanceLoss
from renovo.losses.marginal import MarginalSpectralLoss
from renovo.losses.peaks import TheoreticalFragments
from renovo.losses.precursor import ExpectedSquaredPrecursorLoss, Log1pPPMPrecursorLoss, ScaledL1PrecursorLoss
from renovo.losses.spectral import GaussianSpectralLoss


class SpectrumTerm(nn.Module):
    """A spectrum loss as the objective calls it: ``(fragments, batch) -> scalar``."""

    def __init__(self, kind: str, loss: nn.Module, variance_aware: bool = False):
        super().__init__()
        self.kind = kind
        self.loss = loss
        #: Widen each predicted peak by its mass variance (Gaussian loss only).
        self.variance_aware = variance_aware

    def forward(self, fragments: TheoreticalFragments, batch: Mapping) -> torch.Tensor:
        device, dtype = fragments.mz.device, fragments.mz.dtype
        obs_mz = batch["mz"].to(device=device, dtype=dtype)  # (B, Q)
        obs_intensity = batch["intensity"].to(device=device, dtype=dtype)  # (B, Q)
        obs_mask = batch["peak_mask"].to(device)  # (B, Q)
        extra = {"pred_variance": fragments.variance_mz2} if self.variance_aware else {}
        return self.loss(fragments.mz, fragments.mask, obs_mz, obs_intensity, obs_mask, **extra)


class MarginalSpectrumTerm(SpectrumTerm):
    """The teacher-forced marginal rendering (`MarginalSpectralLoss`): reads the probabilities the fragments
    came from, the batch's target tokens and the label's mass (the measured one where a label has none)."""

    def forward(self, fragments: TheoreticalFragments, batch: Mapping) -> torch.Tensor:
        if fragments.token_probs is None:
            raise ValueError("the marginal spectrum loss needs the fragments' token probabilities")
        device, dtype = fragments.token_probs.device, fragments.mz.dtype
        label = batch["peptide_mass_da"].to(device=device, dtype=torch.float64)  # (B,)
        measured = batch["precursor_mass_da"].to(device=device, dtype=torch.float64)
        mass = torch.where(torch.isfinite(label), label, measured)
        return self.loss(fragments.token_probs, batch["tokens"], mass, batch["precursor_charge"],
                         batch["mz"].to(device=device, dtype=dtype), batch["intensity"].to(device=device, dtype=dtype),
                         batch["peak_mask"].to(device))


class PrecursorTerm(nn.Module):
    """A precursor loss as the objective calls it: ``(fragments, batch) -> scalar``, against the
    label's mass (``target: label``) or the measured precursor's (``target: measured``)."""

    def __init__(self, kind: str, loss: nn.Module, target_key: str, uses_variance: bool = False):
        super().__init__()
        self.kind = kind
        self.loss = loss
        self.target_key = target_key
        self.uses_variance = uses_variance

    def forward(self, fragments: TheoreticalFragments, batch: Mapping) -> torch.Tensor:
        predicted = fragments.peptide_mass_da  # (B,)
        target = batch[self.target_key].to(device=predicted.device, dtype=predicted.dtype)  # (B,)
        if self.uses_variance:
            return self.loss(predicted, target, pred_mass_var_da2=fragments.peptide_mass_var_da2)
        return self.loss(predicted, target)


def _gaussian(spec: Mapping, tokenizer: Tokenizer | None = None) -> SpectrumTerm:
    variance_aware = spec["variance_aware"]
    loss = GaussianSpectralLoss(sigma=spec["sigma"], bin_size=spec["bin_size"], max_mz=spec["max_mz"],
                                render=spec["render"], sigma_weights=spec["sigma_weights"],
                                variance_aware=variance_aware)
    return SpectrumTerm("gaussian", loss, variance_aware)


def _huber(spec: Mapping, tokenizer: Tokenizer | None = None) -> SpectrumTerm:
    return SpectrumTerm("huber", HuberPeakDistanceLoss(delta=spec["huber_delta"]))


def _gaussian_marginal(spec: Mapping, tokenizer: Tokenizer | None = None) -> SpectrumTerm:
    if spec["render"] != "analytic" or spec["variance_aware"] or spec["mass_mode"] != "expected":
        raise ValueError("gaussian_marginal renders in closed form from the probabilities themselves: "
                         "render analytic, variance_aware false, mass_mode expected")
    loss = MarginalSpectralLoss(tokenizer or Tokenizer(), sigma=spec["sigma"], sigma_weights=spec["sigma_weights"],
                                charges=tuple(int(z) for z in spec["charges"]))
    return MarginalSpectrumTerm("gaussian_marginal", loss)


def _isotopes(prec: Mapping) -> int | tuple[int, ...]:
    isotopes = prec["isotope_offsets"]
    return tuple(isotopes) if isinstance(isotopes, list) else int(isotopes)


#: loss.spectrum.type -> builder of its term (from the config section and the run's tokenizer)
SPECTRUM_LOSSES: dict[str, Callable[[Mapping, Tokenizer | None], SpectrumTerm]] = {
    "gaussian": _gaussian, "huber": _huber, "gaussian_marginal": _gaussian_marginal}
#: loss.precursor.type -> (tensor-level loss from the config section, whether it takes the mass variance)
PRECURSOR_LOSSES: dict[str, tuple[Callable[[Mapping], nn.Module], bool]] = {
    "scaled_l1": (lambda p: ScaledL1PrecursorLoss(p["scale_factor"], isotope_offsets=_isotopes(p)), False),
    "log1p": (lambda p: Log1pPPMPrecursorLoss(p["ppm_scale"], isotope_offsets=_isotopes(p)), False),
    "expected_squared": (lambda p: ExpectedSquaredPrecursorLoss(p["scale_factor"], isotope_offsets=_isotopes(p)),
                         True),
}
#: loss.precursor.target -> the batch key of the mass it is compared with
PRECURSOR_TARGETS = {"label": "peptide_mass_da", "measured": "precursor_mass_da"}
SPECTRUM_TYPES = (*SPECTRUM_LOSSES, "none")
PRECURSOR_TYPES = (*PRECURSOR_LOSSES, "none")


def _choice(value, options: Sequence[str], key: str) -> str:
    if value not in options:
        raise RenovoError(f"config {key} must be one of {', '.join(options)}; got {value!r}")
    return value


def build_spectrum_loss(spec: Mapping, tokenizer: Tokenizer | None = None) -> SpectrumTerm | None:
    """The spectrum loss of a ``loss.spectrum`` config section (None for ``type: none``); ``tokenizer``: the
    run's (its vocabulary and decoding direction; the default tokenizer when None)."""
    kind = _choice(spec["type"], SPECTRUM_TYPES, "loss.spectrum.type")
    if kind == "none":
        return None
    try:
        return SPECTRUM_LOSSES[kind](spec, tokenizer)
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config loss.spectrum: {error}") from None


def build_precursor_loss(prec: Mapping) -> PrecursorTerm | None:
    """The precursor loss of a ``loss.precursor`` config section (None for ``type: none``)."""
    kind = _choice(prec["type"], PRECURSOR_TYPES, "loss.precursor.type")
    target = _choice(prec["target"], tuple(PRECURSOR_TARGETS), "loss.precursor.target")
    if kind == "none":
        return None
    build, uses_variance = PRECURSOR_LOSSES[kind]
    try:
        return PrecursorTerm(kind, build(prec), PRECURSOR_TARGETS[target], uses_variance)
    except (TypeError, ValueError) as error:
        raise RenovoError(f"config loss.precursor: {error}") from None
