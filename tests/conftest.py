"""Shared test fixtures: where the shared real data lives."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# `renovo train` fits a reranker on 2,000 simulated spectra after training; the tests' tiny runs (in this
# process or as subprocesses, which inherit it) skip that unless a test asks for it.
os.environ.setdefault("RENOVO_SCORER_SPECTRA", "0")
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real annotated spectra beside the project (../shared/data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def foreign_factories():
    """Context manager: tensor factories default to the ``meta`` device and float64.

    Code under test gets CPU inputs; a tensor it creates without taking its
    device from those inputs lands on ``meta`` and the first operation mixing
    it with them fails ("Tensor on device meta is not on the expected device
    cpu") — what a CPU tensor would do to CUDA inputs. A float tensor created
    without taking its dtype from the inputs is float64 and promotes float32
    results, which the tests check. Inputs must be built outside the block.
    """
    import contextlib

    import torch

    @contextlib.contextmanager
    def guard():
        dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with torch.device("meta"):
                yield
        finally:
            torch.set_default_dtype(dtype)

    return guard


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny untrained model saved the way training saves it (sequencing and output-safety tests)."""
    import torch

    from renovo.train import RenovoModule, load_config

    torch.manual_seed(0)
    module = RenovoModule(load_config(None, ["model.preset=tiny"]))
    state = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(state)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save(state, path)
    return path
