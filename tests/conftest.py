"""Shared test helpers: where the repository is, and the local dataset copy when one sits beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """$KX_DATA_DIR, else ../shared/data beside the checkout (our build machines); None elsewhere."""
    for candidate in (os.environ.get("KX_DATA_DIR"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def real_data_dir() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("no local dataset copy (set KX_DATA_DIR to a directory with mnist/, fashion_mnist/, ...)")
    return path
