"""Locate the shared real-data fixtures; skip without them locally, fail under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    return Path(os.environ.get("MIA_SHARED_DATA", REPO.parent / "shared" / "data"))


def data_file(relative: str) -> Path:
    """Path of a shared data file; pytest.skip (or fail when CI=true) if it is missing."""
    path = shared_data() / relative
    if not path.exists():
        message = f"shared data file missing: {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def chain_files() -> list[str]:
    """Relative paths of every CBOE chain download in the shared data (may be empty locally)."""
    folder = shared_data() / "options"
    names = sorted(p.name for p in folder.glob("*quotedata*")) if folder.exists() else []
    if not names and os.environ.get("CI") == "true":
        raise RuntimeError(f"no CBOE chain files under {folder}")
    return [f"options/{n}" for n in names]
