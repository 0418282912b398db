"""Gradient tables of the losses, computed by autograd (what `renovo gradients` prints).

Precursor table: loss value and gradient per Da of the old (log1p ppm) and new
(scaled L1) precursor losses at several mass errors, for the proposal's table.
Spectrum table: |∂loss/∂m/z| on one predicted peak against its distance to the
one observed peak, for each spectrum loss. Everything is computed in float64;
the same computation in float32 shows where a gradient underflows to exactly 0.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from renovo.losses.huber import HuberPeakDistanceLoss
from renovo.losses.precursor import Log1pPPMPrecursorLoss, ScaledL1PrecursorLoss
from renovo.losses.spectral import GaussianSpectralLoss


@dataclass
class GradientConfig:
    peptide_mass_da: float = 1200.0  # the proposal's table: 200 Da <-> 167k ppm
    errors_da: tuple[float, ...] = (10.0, 50.0, 100.0, 200.0)
    scale_factor: float = 0.004
    distances_mz: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0)
    observed_mz: float = 500.0
    sigma: float = 0.05
    bin_size: float = 0.1
    max_mz: float = 2000.0
    huber_delta: float = 1.0
    multiscale_sigmas: tuple[float, ...] = (0.05, 0.5, 2.0)
    variance_sd_mz: float = 0.5  # s: the predicted peak's m/z standard deviation for the variance-aware kernel


@dataclass
class GradientTables:
    config: GradientConfig
    precursor: list[dict] = field(default_factory=list)
    spectrum: list[dict] = field(default_factory=list)
    spectrum_float32: list[dict] = field(default_factory=list)
    spectrum_losses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "precursor": self.precursor,
            "spectrum": self.spectrum,
            "spectrum_float32": self.spectrum_float32,
        }


def _value_and_grad(fn, x: float, dtype: torch.dtype) -> tuple[float, float]:
    point = torch.tensor([x], dtype=dtype, requires_grad=True)
    value = fn(point)
    (grad,) = torch.autograd.grad(value, point)
    return float(value.detach()), float(grad)


def precursor_rows(config: GradientConfig) -> list[dict]:
    old = Log1pPPMPrecursorLoss()
    new = ScaledL1PrecursorLoss(config.scale_factor)
    target = torch.tensor([config.peptide_mass_da], dtype=torch.float64)
    rows = []
    for error in config.errors_da:
        pred = config.peptide_mass_da + error
        old_value, old_grad = _value_and_grad(lambda p: old(p, target), pred, torch.float64)
        new_value, new_grad = _value_and_grad(lambda p: new(p, target), pred, torch.float64)
        rows.append(
            {
                "error_da": error,
                "error_ppm": error / config.peptide_mass_da * 1e6,
                "log1p_loss": old_value,
                "log1p_grad_per_da": old_grad,
                "scaled_l1_loss": new_value,
                "scaled_l1_grad_per_da": new_grad,
            }
        )
    return rows


def spectrum_losses(config: GradientConfig) -> dict[str, tuple[torch.nn.Module, bool]]:
    """name -> (loss module, needs pred_variance)."""
    return {
        f"huber δ={config.huber_delta:g}": (HuberPeakDistanceLoss(config.huber_delta), False),
        f"grid σ={config.sigma:g}": (
            GaussianSpectralLoss(config.sigma, config.bin_size, config.max_mz, render="grid"),
            False,
        ),
        f"analytic σ={config.sigma:g}": (GaussianSpectralLoss(config.sigma), False),
        "multi-scale σ=" + ",".join(f"{s:g}" for s in config.multiscale_sigmas): (
            GaussianSpectralLoss(list(config.multiscale_sigmas)),
            False,
        ),
        f"variance-aware σ={config.sigma:g}, s={config.variance_sd_mz:g}": (
            GaussianSpectralLoss(config.sigma, variance_aware=True),
            True,
        ),
    }


def spectrum_rows(config: GradientConfig, dtype: torch.dtype) -> list[dict]:
    losses = spectrum_losses(config)
    obs_mz = torch.tensor([[config.observed_mz]], dtype=dtype)  # (1, 1)
    intensity = torch.ones_like(obs_mz)
    mask = torch.ones_like(obs_mz, dtype=torch.bool)
    variance = torch.full_like(obs_mz, config.variance_sd_mz**2)
    rows = []
    for distance in config.distances_mz:
        row: dict = {"distance_mz": distance}
        for name, (loss_fn, needs_variance) in losses.items():
            kwargs = {"pred_variance": variance} if needs_variance else {}

            def fn(p, loss_fn=loss_fn, kwargs=kwargs):
                return loss_fn(p.view(1, 1), mask, obs_mz, intensity, mask, **kwargs)

            value, grad = _value_and_grad(fn, config.observed_mz + distance, dtype)
            row[name] = {"loss": value, "grad_abs": abs(grad)}
        rows.append(row)
    return rows


def compute_tables(config: GradientConfig | None = None) -> GradientTables:
    config = config or GradientConfig()
    return GradientTables(
        config=config,
        precursor=precursor_rows(config),
        spectrum=spectrum_rows(config, torch.float64),
        spectrum_float32=spectrum_rows(config, torch.float32),
        spectrum_losses=list(spectrum_losses(config)),
    )


def _fmt(x: float) -> str:
    return "0" if x == 0 else f"{x:.3g}"


def precursor_markdown(tables: GradientTables) -> str:
    c = tables.config
    lines = [
        f"Precursor losses at a {c.peptide_mass_da:g} Da peptide (float64, autograd; gradient per Da of predicted mass):",
        "",
        "| Error (Da) | Error (ppm) | log1p loss | log1p gradient | scaled L1 loss | scaled L1 gradient |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in tables.precursor:
        lines.append(
            f"| {r['error_da']:g} | {r['error_ppm']:,.0f} | {r['log1p_loss']:.3f} | {r['log1p_grad_per_da']:.4f} "
            f"| {r['scaled_l1_loss']:.3f} | {r['scaled_l1_grad_per_da']:.4f} |"
        )
    return "\n".join(lines)


def spectrum_markdown(tables: GradientTables) -> str:
    c = tables.config
    names = tables.spectrum_losses
    lines = [
        f"Spectrum losses: |∂loss/∂m/z| on one predicted peak at distance d from one observed peak "
        f"(m/z {c.observed_mz:g}, intensity 1; grid bin {c.bin_size:g}, max m/z {c.max_mz:g}; float64, autograd):",
        "",
        "| d (m/z) | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for r in tables.spectrum:
        lines.append(f"| {r['distance_mz']:g} | " + " | ".join(_fmt(r[n]["grad_abs"]) for n in names) + " |")
    lines.append("")
    lines.append("A 0 in float64 is a gradient below ~1e-308 (exp(-d²/4σ²) underflows even there).")
    lines.append("")
    underflow = underflow_notes(tables)
    if underflow:
        lines.append(
            "Computed in float32 instead, these gradients underflow: to exactly 0, or to a subnormal "
            "(< 1.2e-38: digits lost, and 0 wherever kernels flush subnormals to zero; bf16 has the same range):"
        )
        lines.append("")
        lines += [
            f"- {name}: " + ", ".join(f"d = {d:g} ({kind})" for d, kind in items) for name, items in underflow.items()
        ]
    else:
        lines.append("No gradient underflows in float32 at these distances.")
    return "\n".join(lines)


def underflow_notes(tables: GradientTables) -> dict[str, list[tuple[float, str]]]:
    """loss name -> [(distance, "0" | "subnormal")] where float32 underflows but float64 does not."""
    tiny = torch.finfo(torch.float32).tiny
    notes: dict[str, list[tuple[float, str]]] = {}
    for r64, r32 in zip(tables.spectrum, tables.spectrum_float32):
        for name in tables.spectrum_losses:
            g64, g32 = r64[name]["grad_abs"], r32[name]["grad_abs"]
            if g64 > 0 and g32 == 0:
                notes.setdefault(name, []).append((r64["distance_mz"], "0"))
            elif 0 < g32 < tiny:
                notes.setdefault(name, []).append((r64["distance_mz"], "subnormal"))
    return notes


def markdown(tables: GradientTables) -> str:
    return "\n".join(
        [
            "# Loss gradients",
            "",
            "## Precursor",
            "",
            precursor_markdown(tables),
            "",
            "## Spectrum",
            "",
            spectrum_markdown(tables),
            "",
        ]
    )


def plot(tables: GradientTables, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    errors = [r["error_da"] for r in tables.precursor]
    left.plot(errors, [r["log1p_grad_per_da"] for r in tables.precursor], "o-", label="log1p(ppm/1e5) (old)")
    left.plot(errors, [r["scaled_l1_grad_per_da"] for r in tables.precursor], "s-", label="0.004·|Δ| (new)")
    left.set(xlabel="precursor mass error (Da)", ylabel="gradient per Da", yscale="log",
             title=f"Precursor losses, {tables.config.peptide_mass_da:g} Da peptide")
    left.legend()
    distances = [r["distance_mz"] for r in tables.spectrum]
    styles = ["o-", "s--", "^:", "D-", "v-"]
    for i, name in enumerate(tables.spectrum_losses):
        # log axes cannot show 0: drop the points where the gradient is exactly 0
        points = [(d, r[name]["grad_abs"]) for d, r in zip(distances, tables.spectrum) if r[name]["grad_abs"] > 0]
        if points:
            right.plot(*zip(*points), styles[i % len(styles)], label=name, alpha=0.85)
    right.set(xlabel="distance to nearest observed peak (m/z)", ylabel="|∂loss/∂m/z| (float64)",
              xscale="log", yscale="log", title="Spectrum losses, one predicted peak")
    right.legend(fontsize=8)
    fig.tight_layout()
    from renovo.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
