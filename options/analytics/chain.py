"""The in-memory option chain every source produces and every analysis consumes.

One row per contract (a CBOE line holds a call and a put, so it becomes two rows). The column set is
fixed so the CBOE parser, the synthetic generator and a future IBKR source are interchangeable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["CONTRACT_COLUMNS", "Chain", "ChainFileError", "empty_contracts", "underlying_from_root"]

#: Column -> dtype of ``Chain.contracts``. ``expiry`` is the calendar expiry date (midnight, naive);
#: ``root`` is the OCC root (SPX vs SPXW decides AM or PM settlement); ``line`` is the 1-based source
#: line (0 when the chain does not come from a file) so a number on screen can be traced to its row.
CONTRACT_COLUMNS: dict[str, str] = {
    "symbol": "object",
    "root": "object",
    "expiry": "datetime64[s]",
    "strike": "float64",
    "is_call": "bool",
    "bid": "float64",
    "ask": "float64",
    "last": "float64",
    "volume": "float64",
    "iv": "float64",
    "delta": "float64",
    "gamma": "float64",
    "open_interest": "float64",
    "line": "int64",
}

_ROOT_TO_UNDERLYING = {
    "SPX": "SPX",
    "SPXW": "SPX",
    "SPXPM": "SPX",
    "NDX": "NDX",
    "NDXP": "NDX",
    "SPY": "SPY",
    "QQQ": "QQQ",
    "XSP": "XSP",
}


class ChainFileError(ValueError):
    """The input is not an option chain at all (as opposed to a chain with some bad rows).

    The message always starts with ``line N:`` so a CLI can print it as its one-line reason.
    """

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def underlying_from_root(root: str) -> str:
    """Map an OCC root (SPXW, NDXP, ...) to the underlying index or ETF ticker."""
    return _ROOT_TO_UNDERLYING.get(root.upper(), root.upper())


def empty_contracts() -> pd.DataFrame:
    """A zero-row contracts frame with the canonical columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in CONTRACT_COLUMNS.items()})


@dataclass(frozen=True)
class Chain:
    """An option chain snapshot.

    ``asof`` must be timezone-aware (it is normalised to UTC): time to expiry is measured from it,
    and a naive time would silently shift every 0-DTE gamma by the local offset.
    """

    underlying: str
    spot: float
    asof: dt.datetime
    contracts: pd.DataFrame = field(default_factory=empty_contracts)

    def __post_init__(self) -> None:
        if self.asof.tzinfo is None or self.asof.utcoffset() is None:
            raise ValueError("Chain.asof must be timezone-aware")
        object.__setattr__(self, "asof", self.asof.astimezone(dt.UTC))
        missing = [c for c in CONTRACT_COLUMNS if c not in self.contracts.columns]
        if missing:
            raise ValueError(f"Chain.contracts lacks columns {missing}")

    def __len__(self) -> int:
        return len(self.contracts)

    @property
    def expiries(self) -> list[dt.date]:
        """Distinct expiry dates, ascending."""
        values = np.unique(self.contracts["expiry"].to_numpy(dtype="datetime64[D]"))
        return [d.astype(dt.date) for d in values]
