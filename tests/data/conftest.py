"""Fixtures for the data tests: the shared real files."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_dir(shared_data: Path) -> Path:
    real = shared_data / "real"
    if not real.is_dir():
        pytest.skip(f"shared real spectra not found at {real}")
    return real
