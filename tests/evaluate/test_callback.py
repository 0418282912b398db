"""The decoded-metric validation callback logs the standard metrics of greedy predictions."""
from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from renovo.chem import Tokenizer
from renovo.evaluate import DecodedValidationMetrics
from renovo.evaluate.callback import build_callback
from renovo.evaluate import evaluate_peptides
from tests.decode.standins import TableModel, make_batch, script_tables

PEK = [{"K": 0.9}, {"E": 0.9}, {"P": 0.9}, {"<eos>": 0.9}]


class Wrapper(L.LightningModule):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def validation_step(self, batch, batch_idx):
        return None


def test_callback_logs_metrics_of_greedy_predictions(tmp_path):
    model = TableModel(script_tables(Tokenizer(), [PEK, PEK, PEK]))
    batch = make_batch(3)
    batch["peptides"] = ["PEK", "GGR", "PEKK"]
    loader = DataLoader([batch], batch_size=None, collate_fn=lambda x: x)
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[DecodedValidationMetrics(max_batches=2)], default_root_dir=tmp_path,
    )
    trainer.validate(Wrapper(model), dataloaders=loader, verbose=False)
    expected = evaluate_peptides(["PEK"] * 3, batch["peptides"])
    logged = trainer.callback_metrics
    assert float(logged["val/peptide_recall"]) == pytest.approx(1 / 3)
    for name in ("aa_precision", "aa_recall", "peptide_recall", "peptide_precision"):
        assert float(logged[f"val/{name}"]) == pytest.approx(expected[name])
    # How well the decoded peptides explain their spectra, as the reranker's features measure it.
    assert 0.0 <= float(logged["val/decoded_ion_fraction"]) <= 1.0
    assert 0.0 <= float(logged["val/decoded_gaussian_cosine"]) <= 1.0


def test_build_callback_reads_the_training_config():
    callback = build_callback({"data": {"max_length": 25}, "trainer": {}})
    assert isinstance(callback, DecodedValidationMetrics) and callback.max_length == 35
    assert callback.beam_size == 1 and callback.precursor_tolerance_ppm is None and callback.max_batches == 8
    callback = build_callback({"data": {"max_length": 25}, "trainer": {
        "val_decode_beam": 5, "val_decode_tolerance_ppm": 20, "val_decode_batches": 2}})
    assert (callback.beam_size, callback.precursor_tolerance_ppm, callback.max_batches) == (5, 20.0, 2)
