"""Figures of a plan's report (matplotlib, Agg): one figure per question.

Every curve is the mean over a config's seeds at each logged step, the band
± one sd; training curves are smoothed by a centred rolling mean (window
stated in the title) because single batches are noisy.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np


def _save(fig, path: Path, dpi: int = 80) -> None:
    """PNG with a 256-colour palette: a third of the size of matplotlib's RGBA for line plots, so a
    report folder with its figures stays small enough to commit."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    from renovo.files import atomic_path

    with atomic_path(path) as tmp:
        Image.open(buffer).convert("RGB").quantize(256).save(tmp, format="PNG", optimize=True)


def _seed_matrix(series_list: list, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values (seeds, steps)) over the union of steps, NaN where a seed did not log."""
    present = [s[key] for s in series_list if key in s]
    if not present:
        return np.array([]), np.empty((0, 0))
    steps = np.unique(np.concatenate([p[0] for p in present]))
    matrix = np.full((len(present), len(steps)), np.nan)
    for row, (st, vals) in enumerate(present):
        matrix[row, np.searchsorted(steps, st)] = vals
    return steps, matrix


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    out = np.full_like(values, np.nan)
    half = window // 2
    for i in range(len(values)):
        chunk = values[max(0, i - half): i + half + 1]
        chunk = chunk[np.isfinite(chunk)]
        if len(chunk):
            out[i] = chunk.mean()
    return out


def _mean_band(series_list: list, key: str, smooth: bool, log: bool):
    """(steps, mean, low, high, n seeds) of ``key`` over seeds, or None if no seed logged it."""
    steps, matrix = _seed_matrix(series_list, key)
    if not len(steps):
        return None
    if log:
        matrix = np.where(matrix > 0, matrix, np.nan)  # zero weights (stage 1) have no place on a log axis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(matrix, axis=0)
        sd = np.nanstd(matrix, axis=0, ddof=1) if matrix.shape[0] > 1 else np.zeros_like(mean)
    window = max(1, len(steps) // 40) if smooth else 1
    mean, sd = _smooth(mean, window), _smooth(np.nan_to_num(sd), window)
    low, high = mean - sd, mean + sd
    if log:
        low = np.where(low > 0, low, mean / 10)
    return steps, mean, low, high, matrix.shape[0]


def _plot_key(ax, runs_by_config: dict, key: str, title: str, smooth: bool, log: bool = False,
              transform=None, colors: dict | None = None) -> bool:
    drew, positive = False, False
    for i, (config, series_list) in enumerate(runs_by_config.items()):
        if transform is not None:
            series_list = [transform(s) for s in series_list]
        band = _mean_band(series_list, key, smooth, log)
        if band is None:
            continue
        steps, mean, low, high, n = band
        color = (colors or {}).get(config, f"C{i}")
        ax.plot(steps, mean, color=color, label=f"{Path(config).stem} (n={n})", lw=1.3)
        ax.fill_between(steps, low, high, color=color, alpha=0.2, lw=0)
        drew = True
        positive |= bool(np.isfinite(mean).any() and np.nanmax(mean) > 0)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=7)
    if log and positive:
        ax.set_yscale("log")
    return drew


def switch_on_steps(runs_by_config: dict) -> dict[str, float]:
    """{config: median over its seeds of the first step a physics weight is > 0}; configs that never switch on
    (ce_only) are left out."""
    out = {}
    for config, series_list in runs_by_config.items():
        steps = []
        for series in series_list:
            on = [int(st[vals > 0][0]) for key in ("train/w_spectrum", "train/w_precursor") if key in series
                  for st, vals in [series[key]] if np.any(vals > 0)]
            if on:
                steps.append(min(on))
        if steps:
            out[config] = float(np.median(steps))
    return out


def _mark_switch_on(ax, switch_on: dict[str, float], colors: dict[str, str]) -> None:
    """A dashed vertical line where each config's physics losses switch on (median over seeds)."""
    for config, step in switch_on.items():
        ax.axvline(step, color=colors.get(config, "grey"), ls="--", lw=0.9, alpha=0.8)


def _loss_panels(loss_types: dict[str, dict]) -> list[tuple[str, str, bool, list[str] | None]]:
    """The losses figure's panels: CE, one per spectrum-loss type, one per precursor-loss type, total.
    Each (key, title, log, configs or None for all): a Huber distance (~10) and a cosine (≤ 1) never share
    an axis."""
    panels: list[tuple[str, str, bool, list[str] | None]] = [("train/ce", "cross-entropy", False, None)]
    for component in ("spectrum", "precursor"):
        by_type: dict[str, list[str]] = {}
        for config, types in loss_types.items():
            by_type.setdefault(str(types.get(component) or "?"), []).append(config)
        if len(by_type) <= 1:
            kind = next(iter(by_type), "")
            label = f" ({kind})" if kind and kind != "?" else ""
            panels.append((f"train/{component}", f"{component} loss{label}, unweighted", False, None))
        else:
            for kind, configs in by_type.items():
                panels.append((f"train/{component}", f"{component} loss: {kind}, unweighted", False, configs))
    panels.append(("train/total", "total (weighted sum)", False, None))
    return panels


def _primary_figure(plan, runs_by_config: dict, path: Path) -> bool:
    """Per config: CE vs the weighted physics terms (top), ‖∇CE‖ vs the weighted gradients (bottom)."""
    import matplotlib.pyplot as plt

    configs = list(runs_by_config)
    fig, axes = plt.subplots(2, len(configs), figsize=(max(9.0, 4.2 * len(configs)), 6.4), squeeze=False)
    rows = (
        ("loss value", [("train/ce", "CE", True), ("train/weighted_spectrum", "w · spectrum", True),
                        ("train/weighted_precursor", "w · precursor", True)]),
        ("gradient norm", [("grad/ce_norm", "‖∇CE‖", False), ("grad/spectrum_weighted_norm", "w · ‖∇spectrum‖", False),
                           ("grad/precursor_weighted_norm", "w · ‖∇precursor‖", False)]),
    )
    drew_any = False
    for col, config in enumerate(configs):
        series_list = [_weighted(s) for s in runs_by_config[config]]
        for row, (ylabel, keys) in enumerate(rows):
            ax = axes[row, col]
            for i, (key, label, smooth) in enumerate(keys):
                band = _mean_band(series_list, key, smooth, log=True)
                if band is None or not np.isfinite(band[1]).any():
                    continue
                steps, mean, low, high, _ = band
                ax.plot(steps, mean, color=f"C{i}", label=label, lw=1.3)
                ax.fill_between(steps, low, high, color=f"C{i}", alpha=0.2, lw=0)
                drew_any = True
            if ax.lines:
                ax.set_yscale("log")
                ax.legend(fontsize=7)
            ax.set_title(f"{Path(config).stem}: {ylabel}", fontsize=9)
            ax.set_xlabel("step", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{plan.name} ({plan.size}): does CE stay the primary signal?\nloss terms and gradient norms "
                 "entering the update; mean over seeds, band ± 1 sd; log scale; zero weights omitted",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    if drew_any:
        _save(fig, path)
    plt.close(fig)
    return drew_any


def _weighted(series: dict) -> dict:
    """Add train/w·spectrum and train/w·precursor (what enters the total) to a run's series."""
    out = dict(series)
    for name in ("spectrum", "precursor"):
        if f"train/{name}" in series and f"train/w_{name}" in series:
            steps, values = series[f"train/{name}"]
            weights = dict(zip(*series[f"train/w_{name}"]))
            out[f"train/weighted_{name}"] = (steps, np.array([values[i] * weights.get(s, np.nan)
                                                              for i, s in enumerate(steps)]))
    return out


FIGURES = {
    "losses.png": ("Do the losses decrease, and smoothly? Training loss components over steps",
                   [("train/ce", "cross-entropy", False), ("train/spectrum", "spectrum loss (unweighted)", False),
                    ("train/precursor", "precursor loss (unweighted)", False), ("train/total", "total (weighted sum)", False)]),
    "gradients.png": ("How do gradients flow? Per-component gradient norms and cosines with CE",
                      [("grad/ce_norm", "‖∇CE‖", True), ("grad/spectrum_weighted_norm", "w · ‖∇spectrum‖", True),
                       ("grad/precursor_weighted_norm", "w · ‖∇precursor‖", True),
                       ("grad/spectrum_cos_ce", "cos(∇spectrum, ∇CE)", False),
                       ("grad/precursor_cos_ce", "cos(∇precursor, ∇CE)", False),
                       ("grad/total_norm_pre_clip", "total gradient norm before clipping", True)]),
    "validation.png": ("Which config ends more accurate? Validation metrics over steps",
                       [("val/aa_precision", "AA precision (decoded)", False),
                        ("val/peptide_recall", "peptide recall (decoded)", False),
                        ("val/token_acc", "token accuracy (teacher-forced)", False), ("val/ce", "validation CE", False)]),
}


def make_figures(plan, runs_by_config: dict[str, list], out: str | Path,
                 loss_types: dict[str, dict] | None = None) -> dict[str, str]:
    """Write the PNGs into ``out``; {file name: caption}.

    ``runs_by_config``: {config: [one finished run's metric series, {column: (steps, values)}]};
    ``plan`` gives the titles (name, size); ``loss_types``: {config: {"spectrum": type, "precursor": type}},
    so that losses of different types get their own axes. A dashed line marks where each config's physics
    losses switch on; a panel nothing was logged for is left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    written: dict[str, str] = {}
    if not runs_by_config:
        return written
    colors = {config: f"C{i}" for i, config in enumerate(runs_by_config)}
    switch_on = switch_on_steps(runs_by_config)
    primary = "Does CE stay the primary signal? Loss terms and gradient norms entering the update"
    if _primary_figure(plan, runs_by_config, out / "primary.png"):
        written["primary.png"] = primary
    figures = dict(FIGURES)
    losses_caption = figures["losses.png"][0]
    figures["losses.png"] = (losses_caption, _loss_panels(loss_types or {c: {} for c in runs_by_config}))
    for name, (caption, panels) in figures.items():
        panels = [(p[0], p[1], p[2], p[3] if len(p) > 3 else None) for p in panels]
        drawable = [p for p in panels if any(p[0] in series or ("weighted_" in p[0])
                                             for c, runs in runs_by_config.items() if p[3] is None or c in p[3]
                                             for series in runs)]
        if not drawable:
            continue
        cols = 3 if len(drawable) > 4 else min(2, len(drawable))
        rows = math.ceil(len(drawable) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.4 * rows), squeeze=False)
        drew_any = False
        used = []
        for ax, (key, title, log, only) in zip(axes.flat, drawable):
            smooth = key.startswith("train/")
            subset = {c: r for c, r in runs_by_config.items() if only is None or c in only}
            drew = _plot_key(ax, subset, key, title + (" (smoothed)" if smooth else ""), smooth, log,
                             transform=_weighted if "weighted_" in key else None, colors=colors)
            if drew:
                _mark_switch_on(ax, {c: v for c, v in switch_on.items() if c in subset}, colors)
                used.append(ax)
            else:
                ax.remove()
            drew_any |= drew
        for ax in list(axes.flat)[len(drawable):]:
            ax.remove()
        handles, labels = {}, {}
        for ax in used:
            for handle, text in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(text, handle)
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(4, len(handles)),
                       fontsize=8)
        note = "; dashed line: physics losses switch on (median over seeds)" if switch_on else ""
        fig.suptitle(f"{plan.name} ({plan.size}): {caption}\nmean over seeds, band ± 1 sd{note}", fontsize=10)
        fig.tight_layout(rect=(0, 0.06, 1, 0.93))
        if drew_any:
            _save(fig, out / name)
            written[name] = caption
        plt.close(fig)
    order = ("losses.png", "primary.png", "gradients.png", "validation.png")
    return {k: written[k] for k in order if k in written}
