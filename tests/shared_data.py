"""Where the real market data lives, and what to do when it is missing.

Locally a missing ../shared/data skips the tests that need it; in CI (CI=true) it fails them, so a
green CI always means the real-data tests ran.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def shared_data() -> Path:
    path = Path(os.environ.get("MIA_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        message = f"real data not found at {path} (set MIA_SHARED_DATA)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def need(condition: bool, message: str) -> None:
    """Skip locally, fail in CI, when something a test needs (a browser, a binary) is missing."""
    if not condition:
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
