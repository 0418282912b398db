"""Checkpoints record the architecture; ones written before it was recorded load as plain models."""
from __future__ import annotations

import torch

from renovo.chem import Tokenizer
from renovo.model import build_model, model_config
from renovo.model.checkpoint import load_model, tokenizer_state
from renovo.train import load_config


def _save(path, model, config, record: bool):
    metadata = {"config": config, "tokenizer": tokenizer_state(model.tokenizer)}
    if record:
        metadata["model"] = model.config.to_dict()
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "renovo": metadata}, path)


def _batch():
    return {
        "mz": torch.tensor([[200.1, 350.2, 500.3]], dtype=torch.float64),
        "intensity": torch.tensor([[0.5, 1.0, 0.2]]),
        "peak_mask": torch.ones(1, 3, dtype=torch.bool),
        "precursor_mass_da": torch.tensor([800.4], dtype=torch.float64),
        "precursor_charge": torch.tensor([2]),
        "tokens": torch.tensor([Tokenizer().encode("PEPTK")]),
    }


def test_checkpoint_without_an_architecture_record_loads_as_the_plain_model(tmp_path):
    config = load_config("ce_only", ["model.preset=small"]).to_dict()  # the small preset now reads ion evidence
    torch.manual_seed(0)
    plain = build_model(model_config("small", ion_evidence=False)).eval()
    config["model"].pop("ion_evidence")  # as a config written before the key existed
    _save(tmp_path / "old.ckpt", plain, config, record=False)
    loaded = load_model(tmp_path / "old.ckpt")
    assert not loaded.has_ion_evidence
    torch.testing.assert_close(loaded(_batch()), plain(_batch()))


def test_recorded_architecture_wins_over_the_config(tmp_path):
    config = load_config("ce_only", ["model.preset=small", "model.ion_evidence=false"]).to_dict()
    torch.manual_seed(1)
    model = build_model(model_config("small", ion_evidence={"widths_da": [0.05], "into": "logits"})).eval()
    _save(tmp_path / "new.ckpt", model, config, record=True)
    loaded = load_model(tmp_path / "new.ckpt")
    assert loaded.has_ion_evidence and loaded.ion_evidence.config.widths_da == (0.05,)
    assert loaded.evidence_into == "logits"
    torch.testing.assert_close(loaded(_batch()), model(_batch()))
