"""Checkpoint schema versions: what renovo writes, and `migrate` upgrading each older version."""
from __future__ import annotations

import copy

import pytest
import torch

from renovo.model.checkpoint import CheckpointError, load_model, read_checkpoint
from renovo.model.migrate import SCHEMA_VERSION, VERSION_1_CONFIG, SchemaVersionError, migrate


def _version_1_metadata() -> dict:
    """Metadata as the oldest checkpoints hold it: no version, no architecture record, keys added since absent."""
    return {"config": {"seed": 3, "model": {"preset": "tiny"}, "optim": {"lr": 1e-3, "gradient_clip": 1.0},
                       "curriculum": {"stages": []}, "loss": {"precursor": {"type": "scaled_l1"},
                                                            "spectrum": {"type": "gaussian"}}},
            "tokenizer": {"tokens": ["<pad>"]}}


def test_checkpoints_are_written_with_the_current_schema_version(checkpoint):
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)["renovo"]
    assert stored["schema_version"] == SCHEMA_VERSION


def test_version_1_gains_what_its_runs_behaved_as():
    old = _version_1_metadata()
    new = migrate(old)
    assert new["schema_version"] == SCHEMA_VERSION
    assert old == _version_1_metadata()  # the input is not changed
    config = new["config"]
    assert config["optim"] == {"lr": 1e-3, "gradient_clip": 1.0, **VERSION_1_CONFIG["optim"]}
    assert config["curriculum"]["weight_scale"] == {"spectrum": 1.0, "precursor": 1.0}
    assert config["curriculum"]["force_final"] is False
    assert config["loss"]["precursor"] == {"type": "scaled_l1", "mass_mode": "expected"}
    assert config["data"] == {"max_peaks": 150, "preprocess": {}}
    assert config["model"]["preset"] == "tiny" and config["model"]["d_model"] is None
    assert not new["model"]["ion_evidence"]  # written before ion evidence existed: a plain model


def test_version_1_keeps_every_value_it_stored():
    old = _version_1_metadata()
    old["config"]["optim"]["gradient_clip_mode"] = "per_term"
    old["config"]["data"] = {"max_peaks": 80}
    old["model"] = {"recorded": True}
    new = migrate(old)
    assert new["config"]["optim"]["gradient_clip_mode"] == "per_term"
    assert new["config"]["data"] == {"max_peaks": 80, "preprocess": {}}
    assert new["model"] == {"recorded": True}


def test_current_version_is_unchanged(checkpoint):
    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)["renovo"]
    new = migrate(stored)
    assert set(new) == set(stored)
    assert all(new[k] == stored[k] for k in ("config", "tokenizer", "model", "schema_version"))


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "2", True])
def test_a_version_renovo_did_not_write_is_refused(version):
    with pytest.raises(SchemaVersionError):
        migrate({**_version_1_metadata(), "schema_version": version})


def test_a_newer_checkpoint_is_a_one_line_error_naming_the_file(checkpoint, tmp_path):
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    state["renovo"]["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "newer.ckpt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"newer\.ckpt: written by a newer renovo"):
        read_checkpoint(path)


def test_a_version_1_checkpoint_loads_and_predicts_as_it_did(checkpoint, tmp_path):
    """The same weights without a schema version (as written before versions were stored) rebuild the same
    model: same architecture, same logits."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    old = copy.deepcopy(state)
    del old["renovo"]["schema_version"]
    path = tmp_path / "v1.ckpt"
    torch.save(old, path)
    assert read_checkpoint(path)["renovo"]["schema_version"] == SCHEMA_VERSION
    batch = {"mz": torch.tensor([[100.0, 200.0, 300.0]], dtype=torch.float64),
             "intensity": torch.tensor([[0.5, 1.0, 0.2]]), "peak_mask": torch.ones(1, 3, dtype=torch.bool),
             "precursor_mz": torch.tensor([400.0], dtype=torch.float64), "precursor_charge": torch.tensor([2]),
             "precursor_mass_da": torch.tensor([798.0], dtype=torch.float64), "tokens": torch.tensor([[3, 4, 2]])}
    with torch.no_grad():
        assert torch.equal(load_model(path)(batch), load_model(checkpoint)(batch))
