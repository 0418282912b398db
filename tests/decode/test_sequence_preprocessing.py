"""A model is sequenced with the preprocessing it was trained with (data.max_peaks and data.preprocess)."""
from __future__ import annotations

import pytest
import torch

from renovo.cli import main
from renovo.data import PreprocessConfig, SpectrumCollator, read_spectra
from renovo.model import SpectrumTransformer
from renovo.train import load_config, load_model

MAX_PEAKS = 40  # the default is 150; the real spectra below have more peaks than 40


def test_preprocess_config_from_config_uses_data_max_peaks():
    config = load_config(None, [f"data.max_peaks={MAX_PEAKS}"])
    assert PreprocessConfig.from_config(config).max_peaks == MAX_PEAKS
    assert PreprocessConfig.from_config({}) == PreprocessConfig()  # an old checkpoint without a data section
    with pytest.raises(ValueError, match="data.max_peaks"):
        PreprocessConfig.from_config({"data": {"max_peaks": 40, "preprocess": {"max_peaks": 100}}})
    with pytest.raises(ValueError, match="unknown"):
        PreprocessConfig.from_config({"data": {"preprocess": {"max_peak": 100}}})


def test_sequencing_preprocesses_as_training_did(tmp_path, shared_data, monkeypatch):
    real = shared_data / "real" / "casanovo_mouse_128.mgf"
    run = tmp_path / "run"
    code = main(["train", "--config", "ce_only", "--preset", "tiny", "--max-steps", "2", "--batch-size", "4",
                 "--out", str(run), "--no-progress", "--set", f"data.max_peaks={MAX_PEAKS}",
                 "--set", "data.preprocess.scaling=log1p",
                 "--set", "data.val_size=4", "--set", "trainer.val_every_n_steps=2"])
    assert code in (0, 1)
    checkpoint = run / "checkpoints" / "last.ckpt"

    # What the model's encoder sees when `renovo sequence` runs.
    seen = []
    original_encode = SpectrumTransformer.encode

    def recording_encode(self, mz, intensity, peak_mask, *args, **kwargs):
        seen.append((mz.detach().cpu(), intensity.detach().cpu(), peak_mask.detach().cpu()))
        return original_encode(self, mz, intensity, peak_mask, *args, **kwargs)

    monkeypatch.setattr(SpectrumTransformer, "encode", recording_encode)
    code = main(["sequence", str(real), "--model", str(checkpoint), "-o", str(tmp_path / "pred.mztab"),
                 "--beam", "1", "--max-length", "3", "--no-mass-constraint", "--batch-size", "128", "--device", "cpu",
                 "--min-peaks", "1"])
    assert code == 0 and seen
    mz, intensity, mask = seen[0]
    assert mask.shape[0] == 128
    assert int(mask.sum(1).max()) == MAX_PEAKS  # cut to the trained max_peaks, not the default 150

    # The same spectra through training's collator, built from the run's resolved config.
    trained_config = load_model(checkpoint).config_dict
    assert trained_config["data"]["max_peaks"] == MAX_PEAKS
    records = list(read_spectra(real, labels=False))
    expected = SpectrumCollator.from_config(load_model(checkpoint).tokenizer, trained_config)(records)
    torch.testing.assert_close(mask, expected["peak_mask"])
    torch.testing.assert_close(mz, expected["mz"])
    torch.testing.assert_close(intensity, expected["intensity"])
    # …which differs from the defaults' preprocessing (so this test can fail).
    default = SpectrumCollator(load_model(checkpoint).tokenizer)(records)
    assert default["peak_mask"].shape != mask.shape or not torch.equal(default["intensity"], intensity)
