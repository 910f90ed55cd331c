"""Real-data location for the engine tests: ``shared_data()`` is ``MIA_SHARED_DATA`` or
``<repo>/../shared/data``; when missing it skips the test locally and fails it when CI=true.
(The implementation is the suite-wide one in ``tests.shared_data``.)"""

from __future__ import annotations

from pathlib import Path

from tests.shared_data import IN_CI, need, shared_data

__all__ = ["IN_CI", "es_minute_file", "need", "shared_data"]


def es_minute_file() -> Path:
    """The derived front-month ES 1-minute file (PROVENANCE section 9)."""
    return shared_data() / "es" / "es_1min_frontmonth_lean_DERIVED.csv"
