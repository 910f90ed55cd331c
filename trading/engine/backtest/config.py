"""What a backtest runs under and what it returns: ``BacktestConfig``, ``BacktestResult`` and the
DESIGN section 5 summary keys (pure; no Django)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trading.engine.calendar import CmeCalendar
from trading.engine.confluence import ConfluenceConfig
from trading.engine.fills import FillConfig
from trading.engine.instrument import ES, Instrument
from trading.engine.limits import RiskConfig
from trading.engine.metrics import json_safe
from trading.engine.orders import BracketPolicy
from trading.engine.settings import DEFAULT_START_EQUITY, RunSettings

SUMMARY_KEYS = ("bars", "trades", "win_rate", "profit_factor", "net_pnl_usd", "gross_profit_usd", "gross_loss_usd",
                "max_drawdown_pct", "max_drawdown_usd", "sharpe", "sortino", "expectancy_usd", "trades_per_day",
                "start", "end", "elapsed_s", "bars_per_s", "rejected_rows")
REQUIRED_COLUMNS = ("open", "high", "low", "close")
MLFilter = Callable[[pd.DataFrame], np.ndarray]  # candidate bars' features -> True where the entry may go


@dataclass
class BacktestConfig:
    """What to run and under which rules.

    ``ml_filter(features) -> bool array`` is the ML verdict per bar: False blocks a new entry on that
    bar (exits are never filtered), as in the live worker. ``from_settings`` builds one from the
    stored (or ``--config``) settings, which is how the command line and the page run backtests.
    """

    strategy: str = "confluence"
    start_equity: float = DEFAULT_START_EQUITY
    fast: int = 10
    slow: int = 30
    confluence: ConfluenceConfig = field(default_factory=ConfluenceConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    fills: FillConfig = field(default_factory=FillConfig)
    bracket: BracketPolicy = field(default_factory=BracketPolicy)
    instrument: Instrument = ES
    ml_filter: MLFilter | None = None
    options: pd.DataFrame | None = None
    calendar: CmeCalendar | None = None

    def __post_init__(self) -> None:
        if not self.start_equity > 0:
            raise ValueError(f"starting equity must be > 0, got {self.start_equity}")

    @classmethod
    def from_settings(cls, settings: RunSettings, **overrides: Any) -> BacktestConfig:
        fields = {"confluence": settings.confluence, "risk": settings.risk, "fills": settings.fills,
                  "bracket": settings.bracket, "start_equity": settings.start_equity}
        fields.update(overrides)
        return cls(**fields)


@dataclass
class BacktestResult:
    """Trades, the per-bar equity curve (UTC index) and the metrics of one run."""

    trades: pd.DataFrame
    equity: pd.Series
    metrics: dict[str, Any]
    bars: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    elapsed_s: float
    notes: dict[str, Any] = field(default_factory=dict)

    def summary(self, rejected_rows: int = 0) -> dict[str, Any]:
        """The contract JSON object (inf/NaN as None)."""
        out = {
            "bars": self.bars,
            **{k: self.metrics[k] for k in SUMMARY_KEYS if k in self.metrics},
            "start": _iso(self.start),
            "end": _iso(self.end),
            "elapsed_s": round(self.elapsed_s, 6),
            "bars_per_s": round(self.bars / self.elapsed_s, 1) if self.elapsed_s > 0 else None,
            "rejected_rows": rejected_rows,
        }
        return json_safe({k: out[k] for k in SUMMARY_KEYS})


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def check_bars(bars: pd.DataFrame) -> None:
    """Refuse frames the simulators would silently misread."""
    missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
    if missing:
        raise ValueError(f"bars lack column(s): {', '.join(missing)}")
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise ValueError("bars need a tz-aware (UTC) DatetimeIndex")
    if not bars.index.is_monotonic_increasing:
        raise ValueError("bars must be sorted by time")
