"""Validation metrics of decoded peptides, logged during training.

Teacher-forced token accuracy flatters a model (every step sees the true
prefix); the field scores decoded peptides. This callback decodes (greedy by
default; ``beam_size`` and ``precursor_tolerance_ppm`` for beam search with
the precursor-mass constraint) the first ``max_batches`` validation batches of
each validation run and logs
``val/aa_precision``, ``val/aa_recall``, ``val/peptide_recall`` and
``val/peptide_precision`` (the standard metrics, :mod:`renovo.evaluate`), and how well the decoded
peptides explain their spectra — labels or not — as the reranker measures it (`renovo.decode.features`):
``val/decoded_ion_fraction`` and ``val/decoded_gaussian_cosine`` (σ 0.01 Da), means over the decoded spectra.
"""
from __future__ import annotations

from typing import Any, Mapping

import lightning as L

from renovo.decode import FEATURE_NAMES, beam_search, candidate_features
from renovo.evaluate.metrics import evaluate_peptides

METRICS = ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision")


class DecodedValidationMetrics(L.Callback):
    """Greedy-decode validation batches and log the standard metrics under ``prefix``.

    The LightningModule must hold a SequenceModel as ``.model`` (or be one).
    ``max_batches`` bounds the decoding time (None: every batch);
    ``max_length`` bounds the decoded length.
    """

    def __init__(self, max_batches: int | None = 8, max_length: int = 40, prefix: str = "val/",
                 beam_size: int = 1, precursor_tolerance_ppm: float | None = None):
        super().__init__()
        self.max_batches = max_batches
        self.max_length = max_length
        self.beam_size = beam_size
        self.precursor_tolerance_ppm = precursor_tolerance_ppm
        self.prefix = prefix
        self._predictions: list[str | None] = []
        self._targets: list[str | None] = []
        self._explained: list[tuple[float, float]] = []  # (ion fraction, Gaussian cosine) per decoded spectrum
        self._batches = 0

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._predictions, self._targets, self._explained, self._batches = [], [], [], 0

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Mapping, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if trainer.sanity_checking or (self.max_batches is not None and self._batches >= self.max_batches):
            return
        targets = batch.get("peptides")
        if targets is None or not any(t is not None for t in targets):
            return
        model = getattr(pl_module, "model", pl_module)
        results = beam_search(model, batch, beam_size=self.beam_size, max_length=self.max_length,
                              precursor_tolerance_ppm=self.precursor_tolerance_ppm)
        self._predictions.extend(r[0].peptide if r else None for r in results)
        self._targets.extend(targets)
        self._batches += 1
        features = candidate_features(batch, [r[:1] for r in results], model.tokenizer)
        ion, cosine = FEATURE_NAMES.index("ion_fraction"), FEATURE_NAMES.index("gaussian_cosine_10mda")
        self._explained.extend((float(f[0, ion]), float(f[0, cosine])) for f in features if len(f))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self._targets:
            return
        tokenizer = getattr(pl_module, "tokenizer", None) or getattr(getattr(pl_module, "model", None), "tokenizer", None)
        metrics = evaluate_peptides(self._predictions, self._targets,
                                    vocabulary=tokenizer.vocabulary if tokenizer is not None else None)
        logged = {f"{self.prefix}{name}": float(metrics[name]) for name in METRICS}
        if self._explained:
            logged[f"{self.prefix}decoded_ion_fraction"] = sum(e[0] for e in self._explained) / len(self._explained)
            logged[f"{self.prefix}decoded_gaussian_cosine"] = sum(e[1] for e in self._explained) / len(self._explained)
        pl_module.log_dict(logged, on_step=False, on_epoch=True, sync_dist=True)


def build_callback(config: Mapping | None = None) -> DecodedValidationMetrics:
    """The callback `renovo train` adds: ``trainer.val_decode_*`` settings, up to ``data.max_length`` + 10 tokens."""
    if config is None:
        return DecodedValidationMetrics()
    t = config["trainer"]
    tolerance = t.get("val_decode_tolerance_ppm")
    return DecodedValidationMetrics(
        max_batches=t.get("val_decode_batches", 8),
        max_length=int(config["data"]["max_length"]) + 10,
        beam_size=int(t.get("val_decode_beam", 1)),
        precursor_tolerance_ppm=None if tolerance is None else float(tolerance),
    )
