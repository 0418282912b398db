"""The decoded-metric validation callback logs the standard metrics of greedy predictions."""
from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from renovo.chem import Tokenizer
from renovo.evaluate import DecodedValidationMetrics
from renovo.decode import DecodeConfig
from renovo.evaluate.callback import build_callback
from renovo.train import load_config
from renovo.evaluate import evaluate_peptides
from tests.decode.standins import TableModel, make_batch, script_tables

GREEDY = DecodeConfig(beam=1, max_length=40, precursor_tolerance_ppm=None)
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
        enable_model_summary=False, callbacks=[DecodedValidationMetrics(GREEDY, max_batches=2)], default_root_dir=tmp_path,
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
    callback = build_callback(load_config(None, ["data.max_length=25"]))
    assert isinstance(callback, DecodedValidationMetrics) and callback.decode.max_length == 35
    assert callback.decode.beam == 1 and callback.decode.precursor_tolerance_ppm is None and callback.max_batches == 8
    callback = build_callback(load_config(None, ["data.max_length=25", "trainer.val_decode_beam=5",
                                                 "trainer.val_decode_tolerance_ppm=20", "trainer.val_decode_batches=2"]))
    assert (callback.decode.beam, callback.decode.precursor_tolerance_ppm, callback.max_batches) == (5, 20.0, 2)


@pytest.mark.parametrize("setting, message", [
    # Refused where the config is loaded (the config rules), before a callback or a run folder exists.
    ("trainer.val_decode_beam=0", "config key trainer.val_decode_beam = 0: must be an integer ≥ 1"),
    ("trainer.val_decode_tolerance_ppm=abc", "config key trainer.val_decode_tolerance_ppm = 'abc': must be a number "
                                             "> 0 or null"),
    ("trainer.val_decode_batches=-3", "config key trainer.val_decode_batches = -3: must be an integer ≥ 0 or null"),
])
def test_invalid_decode_settings_of_a_training_config_are_one_line_naming_the_key(setting, message, tmp_path, capsys):
    from renovo.cli import main
    from renovo.errors import RenovoError

    with pytest.raises(RenovoError) as error:
        build_callback(load_config(None, [setting]))
    assert str(error.value) == message
    # `renovo train` refuses it before any work: no run folder, one line.
    out = tmp_path / "run"
    assert main(["train", "--set", setting, "--max-steps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(message) and not out.exists()
