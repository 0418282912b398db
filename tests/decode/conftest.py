"""Fixtures shared by the sequencing tests."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny untrained model saved the way training saves it."""
    from renovo.train import RenovoModule, load_config

    torch.manual_seed(0)
    module = RenovoModule(load_config(None, ["model.preset=tiny"]))
    state = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(state)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save(state, path)
    return path
