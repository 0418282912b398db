"""Validation metrics of decoded peptides, logged during training.

Teacher-forced token accuracy flatters a model (every step sees the true
prefix); the field scores decoded peptides. This callback decodes (as its `DecodeConfig`
says: from the run config's ``trainer.val_decode_*``, greedy by default) the
first ``max_batches`` validation batches of each validation run and logs
``val/aa_precision``, ``val/aa_recall``, ``val/peptide_recall`` and
``val/peptide_precision`` (the standard metrics, :mod:`renovo.evaluate`), and how well the decoded
peptides explain their spectra — labels or not — as the reranker measures it (`renovo.decode.features`):
``val/decoded_ion_fraction`` and ``val/decoded_gaussian_cosine`` (σ 0.01 Da), means over the decoded spectra.

`RealSpectraValidation` decodes labelled real spectra (``data.val_real``)
beside the validation set at every validation, as `renovo sequence` decodes
(beam search, precursor-mass constraint, isotope offsets 0 and 1), and logs
the same metrics under ``val_real/`` (per file too, when there are several),
so a run can keep its best checkpoint by the real figure
(``trainer.checkpoint_monitor: val_real/peptide_recall``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import lightning as L

from renovo.data import SpectrumCollator, SpectrumRecord, load_labelled_dataset
from renovo.decode import FEATURE_NAMES, DecodeConfig, Decoder, candidate_features
from renovo.errors import RenovoError
from renovo.evaluate.metrics import evaluate_peptides
from renovo.model.checkpoint import tokenizer_from_config

METRICS = ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision")


class DecodedValidationMetrics(L.Callback):
    """Decode validation batches with ``decode`` and log the standard metrics under ``prefix``.

    The LightningModule must hold a SequenceModel as ``.model``. ``max_batches`` bounds the decoding
    time (None: every batch). `build_callback` makes it from a training config's ``trainer.val_decode_*``.
    """

    def __init__(self, decode: DecodeConfig, max_batches: int | None = None, prefix: str = "val/"):
        super().__init__()
        self.decode = decode
        self.max_batches = _check_batches(max_batches, "max_batches")
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
        model = pl_module.model
        results = Decoder(model, self.decode).search(batch, top_k=1)
        self._predictions.extend(r[0].peptide if r else None for r in results)
        self._targets.extend(targets)
        self._batches += 1
        features = candidate_features(batch, [r[:1] for r in results], model.tokenizer)
        ion, cosine = FEATURE_NAMES.index("ion_fraction"), FEATURE_NAMES.index("gaussian_cosine_10mda")
        self._explained.extend((float(f[0, ion]), float(f[0, cosine])) for f in features if len(f))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self._targets:
            return
        metrics = evaluate_peptides(self._predictions, self._targets, vocabulary=pl_module.model.tokenizer.vocabulary)
        logged = {f"{self.prefix}{name}": float(metrics[name]) for name in METRICS}
        if self._explained:
            logged[f"{self.prefix}decoded_ion_fraction"] = sum(e[0] for e in self._explained) / len(self._explained)
            logged[f"{self.prefix}decoded_gaussian_cosine"] = sum(e[1] for e in self._explained) / len(self._explained)
        pl_module.log_dict(logged, on_step=False, on_epoch=True, sync_dist=True)


class RealSpectraValidation(L.Callback):
    """At the end of every validation, decode ``records`` (labelled spectra) with ``settings`` and log the
    standard metrics as ``<prefix><metric>``, and ``<prefix><file stem>/<metric>`` for each source file
    when they come from several (aa_precision and peptide_recall). ``collator``: the run's (spectra
    preprocessed as in training)."""

    def __init__(self, records: Sequence[SpectrumRecord], collator: SpectrumCollator,
                 settings: DecodeConfig | None = None, prefix: str = "val_real/"):
        super().__init__()
        self.records = list(records)
        self.collator = collator
        self.settings = settings if settings is not None else DecodeConfig()
        self.prefix = prefix

    def predictions(self, model) -> list[str | None]:
        """The best prediction of each record (None where the search found none)."""
        out: list[str | None] = []
        for _, results in Decoder(model, self.settings, self.collator).decode(self.records):
            out.extend(r[0][0].peptide if r else None for r in results)
        return out

    def metrics(self, predictions: Sequence[str | None], vocabulary=None) -> dict[str, float]:
        targets = [r.peptide for r in self.records]
        metrics = evaluate_peptides(predictions, targets, vocabulary=vocabulary)
        logged = {f"{self.prefix}{name}": float(metrics[name]) for name in METRICS}
        files = sorted({r.source_file for r in self.records})
        for source in files if len(files) > 1 else ():
            mine = [i for i, r in enumerate(self.records) if r.source_file == source]
            part = evaluate_peptides([predictions[i] for i in mine], [targets[i] for i in mine], vocabulary=vocabulary)
            for name in ("aa_precision", "peptide_recall"):
                logged[f"{self.prefix}{Path(source).stem}/{name}"] = float(part[name])
        return logged

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        model = pl_module.model
        vocabulary = model.tokenizer.vocabulary
        # Every rank decodes all records (the same figure everywhere: a checkpoint monitor must agree).
        pl_module.log_dict(self.metrics(self.predictions(model), vocabulary), on_step=False, on_epoch=True,
                           sync_dist=True)


def real_validation(config: Mapping) -> RealSpectraValidation | None:
    """The `RealSpectraValidation` of a run config (``data.val_real``, ``trainer.val_real_*``), its files read
    with the run's vocabulary (a file without usable labelled spectra is a one-line error); None without files."""
    paths = config["data"].get("val_real") or []
    if isinstance(paths, str):
        paths = [paths]
    if not paths:
        return None
    t = config["trainer"]
    settings = real_decode_config(config)
    tokenizer = tokenizer_from_config(config)
    records = load_labelled_dataset(paths, tokenizer, settings.max_length, "real validation data",
                                    stream=False).records
    limit = _check_batches(t["val_real_max_spectra"], "trainer.val_real_max_spectra")
    return RealSpectraValidation(records[:limit] if limit else records, SpectrumCollator.from_config(tokenizer, config),
                                 settings)


def build_callbacks(config: Mapping) -> list[L.Callback]:
    """The validation callbacks of a training run: decoded metrics of the validation set and, with
    ``data.val_real`` files, of the real spectra."""
    real = real_validation(config)
    return [build_callback(config)] + ([real] if real is not None else [])


def _check_batches(value, key: str) -> int | None:
    """A count of batches (or spectra) to decode: an integer ≥ 0, or None for all; else one line naming ``key``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise RenovoError(f"{key} must be an integer ≥ 0 or null (all), not {value!r}")
    return value


def validation_decode_config(config: Mapping) -> DecodeConfig:
    """The `DecodeConfig` of a run's decoded validation (``trainer.val_decode_beam``,
    ``trainer.val_decode_tolerance_ppm``; up to ``data.max_length`` + 10 tokens, so a model that overshoots
    a label's length is scored, not cut); an invalid value is one line naming its key."""
    t = config["trainer"]
    return DecodeConfig.from_keys({
        "beam": ("trainer.val_decode_beam", t["val_decode_beam"]),
        "precursor_tolerance_ppm": ("trainer.val_decode_tolerance_ppm", t["val_decode_tolerance_ppm"]),
    }, max_length=config["data"]["max_length"] + 10)


def real_decode_config(config: Mapping) -> DecodeConfig:
    """The `DecodeConfig` of ``data.val_real``'s decoding (``trainer.val_real_beam``,
    ``trainer.val_real_tolerance_ppm``; otherwise `renovo sequence`'s settings)."""
    t = config["trainer"]
    return DecodeConfig.from_keys({
        "beam": ("trainer.val_real_beam", t["val_real_beam"]),
        "precursor_tolerance_ppm": ("trainer.val_real_tolerance_ppm", t["val_real_tolerance_ppm"]),
    })


def check_decode_settings(config: Mapping) -> None:
    """Every ``trainer.val_decode_*`` / ``val_real_*`` setting of a run config, checked before any training:
    one line naming the first invalid key."""
    validation_decode_config(config)
    _check_batches(config["trainer"]["val_decode_batches"], "trainer.val_decode_batches")
    real_decode_config(config)
    _check_batches(config["trainer"]["val_real_max_spectra"], "trainer.val_real_max_spectra")


def build_callback(config: Mapping) -> DecodedValidationMetrics:
    """The callback `renovo train` adds: decoded metrics of the first ``trainer.val_decode_batches`` validation
    batches, decoded as `validation_decode_config` says."""
    return DecodedValidationMetrics(validation_decode_config(config),
                                    _check_batches(config["trainer"]["val_decode_batches"], "trainer.val_decode_batches"))
