"""Shared fixtures: where the real data is, and small synthetic inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _data_root() -> Path | None:
    value = os.environ.get("MAMMOCAD_DATA")
    if not value:
        return None
    root = Path(value).expanduser().resolve()  # CI passes a relative path
    return root if root.is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Root of the real public data (``MAMMOCAD_DATA``); skips where absent."""
    root = _data_root()
    if root is None:
        pytest.skip("real data not available: set MAMMOCAD_DATA to the shared data folder")
    return root


@pytest.fixture(scope="session")
def mias_dir(data_root: Path) -> Path:
    """The mini-MIAS folder (Info.txt + mdbNNN.png); skips where absent."""
    path = data_root / "mias"
    if not (path / "Info.txt").is_file():
        pytest.skip(f"mini-MIAS not found under {data_root} (expected mias/Info.txt)")
    return path
