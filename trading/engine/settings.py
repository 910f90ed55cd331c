"""``RunSettings``: everything that decides what MIA trades, as one value (pure; no Django).

The live worker, ``backtest`` and ``replay`` all run under one of these: by default it is built from
the configuration stored in the database (``trading.config.run_settings``: the strategy weights and
thresholds, the risk settings, the news blackouts, the dealer's-bias settings), so a setting an
operator edits in the admin applies to the next bar and to the next backtest alike. ``--config
FILE.json`` reads the same layout (``to_dict``); a missing section or key keeps the default, an
unknown one is an error, so a typo never silently runs with a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trading.engine.confluence import ConfluenceConfig
from trading.engine.fills import FillConfig
from trading.engine.limits import RiskConfig
from trading.engine.orders import BracketPolicy

DEFAULT_START_EQUITY = 50_000.0
SECTIONS = ("confluence", "risk", "bracket", "fills", "start_equity", "bias")


@dataclass(frozen=True)
class RunSettings:
    confluence: ConfluenceConfig = field(default_factory=ConfluenceConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    bracket: BracketPolicy = field(default_factory=BracketPolicy)
    fills: FillConfig = field(default_factory=FillConfig)
    start_equity: float = DEFAULT_START_EQUITY
    bias: Mapping[str, Any] = field(default_factory=dict)  # dealer's-bias settings, as stored

    def __post_init__(self) -> None:
        if not self.start_equity > 0:
            raise ValueError(f"start_equity must be > 0, got {self.start_equity}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly, the layout ``from_dict`` and ``--config`` read."""
        risk = {f.name: getattr(self.risk, f.name) for f in dataclasses.fields(self.risk) if f.init}
        risk["news_blackouts"] = [[_iso(a), _iso(b)] for a, b in self.risk.news_blackouts]
        return {"confluence": {"weights": dict(self.confluence.weights), "strong_buy": self.confluence.strong_buy,
                               "buy": self.confluence.buy, "sell": self.confluence.sell,
                               "strong_sell": self.confluence.strong_sell},
                "risk": risk, "bracket": dataclasses.asdict(self.bracket), "fills": dataclasses.asdict(self.fills),
                "start_equity": self.start_equity, "bias": dict(self.bias)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: RunSettings | None = None) -> RunSettings:
        """Settings from ``data`` over ``base`` (the defaults when None); raises ValueError naming a bad key."""
        base = base or cls()
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ValueError(f"unknown settings section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
        confluence = base.confluence
        if "confluence" in data:
            given = _known(data["confluence"], ("weights", "strong_buy", "buy", "sell", "strong_sell"), "confluence")
            values = {"weights": dict(confluence.weights), "strong_buy": confluence.strong_buy,
                      "buy": confluence.buy, "sell": confluence.sell, "strong_sell": confluence.strong_sell}
            values.update(given)
            confluence = ConfluenceConfig(**values)
        risk = base.risk
        if "risk" in data:
            given = dict(_known(data["risk"], _init_fields(RiskConfig), "risk"))
            if "news_blackouts" in given:
                given["news_blackouts"] = tuple((_when(a), _when(b)) for a, b in given["news_blackouts"])
            risk = dataclasses.replace(risk, **given)
        bracket = _replace(base.bracket, data, "bracket")
        fills = _replace(base.fills, data, "fills")
        start = float(data.get("start_equity", base.start_equity))
        bias = dict(data.get("bias", base.bias))
        return cls(confluence=confluence, risk=risk, bracket=bracket, fills=fills, start_equity=start, bias=bias)


def _init_fields(klass: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(klass) if f.init)


def _known(section: Any, names: tuple[str, ...], where: str) -> Mapping[str, Any]:
    if not isinstance(section, Mapping):
        raise ValueError(f"settings section {where!r} must be an object")
    unknown = sorted(set(section) - set(names))
    if unknown:
        raise ValueError(f"unknown {where} setting(s) {', '.join(unknown)}")
    return section


def _replace(current: Any, data: Mapping[str, Any], where: str) -> Any:
    if where not in data:
        return current
    return dataclasses.replace(current, **_known(data[where], _init_fields(type(current)), where))


def _iso(value: datetime | int) -> str | int:
    return value.isoformat() if isinstance(value, datetime) else value


def _when(value: str | int) -> datetime | int:
    """A blackout bound: ISO-8601 (naive means UTC) or UTC ns."""
    if not isinstance(value, str):
        return int(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
