"""Where option chains come from: CBOE downloads, the synthetic demo generator (IBKR later).

Every source satisfies :class:`ChainSource`, so the snapshot task does not care which one it holds.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from options.analytics.chain import Chain

__all__ = ["ChainSource"]


@runtime_checkable
class ChainSource(Protocol):
    """Anything that can produce the current chain; raises on failure rather than returning junk."""

    def fetch(self) -> Chain:
        """Return a fresh chain snapshot."""
        ...
