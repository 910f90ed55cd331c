"""The stored configuration as the engine's ``RunSettings`` (reads only; the admin writes it).

One function builds what the live worker trades under and what ``backtest`` and ``replay`` run under
by default, so an operator's edit in the admin reaches all three the same way.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from django.db import connection, transaction

from options.models import BiasSettings
from trading.engine.calendar import from_ns
from trading.engine.confluence import ConfluenceConfig
from trading.engine.fills import FillConfig
from trading.engine.orders import BracketPolicy
from trading.engine.risk import RiskConfig
from trading.engine.settings import RunSettings
from trading.models import NewsEvent, RiskSettings, StrategyConfig

BIAS_FIELDS = ("underlyings", "snapshot_minutes", "dealer_sign", "es_spx_basis")


def confluence_config(row: StrategyConfig | None = None) -> ConfluenceConfig:
    row = row or StrategyConfig.current()
    return ConfluenceConfig(weights=row.weights(), **row.thresholds())


def risk_config(row: RiskSettings | None = None) -> RiskConfig:
    row = row or RiskSettings.current()
    blackouts = tuple(NewsEvent.objects.order_by("start").values_list("start", "end"))
    return RiskConfig(
        daily_loss_limit=row.daily_loss_limit_usd, daily_profit_target=row.daily_profit_target_usd,
        max_position=row.max_position, max_trades_per_day=row.max_trades_per_day,
        max_drawdown_pct=row.max_drawdown_pct, max_consecutive_losses=row.max_consecutive_losses,
        cooldown_minutes=row.cooldown_minutes, max_order_qty=min(row.max_order_qty, row.max_position),
        price_collar_ticks=row.price_collar_ticks, max_orders_per_minute=row.max_orders_per_minute,
        stale_data_seconds=row.stale_data_seconds, flat_before_close_minutes=row.flat_before_close_minutes,
        news_blackouts=blackouts, risk_per_trade=row.risk_per_trade_pct / 100.0)


def bracket_policy(row: RiskSettings | None = None) -> BracketPolicy:
    row = row or RiskSettings.current()
    return BracketPolicy(stop_atr_mult=row.stop_atr_multiple, target_r=row.target_r_multiple)


def fill_config(row: RiskSettings | None = None) -> FillConfig:
    row = row or RiskSettings.current()
    return FillConfig(slippage_ticks=row.slippage_ticks, commission_per_side=row.commission_per_contract_usd)


def run_settings() -> RunSettings:
    """Everything stored that decides what is traded. Read on every bar, so kept per process and read
    again only when ``version()`` says a row changed (one small query instead of five)."""
    current = version()
    cached = _cache.get("settings")
    if cached is not None and _cache.get("version") == current:
        return cached
    risk = RiskSettings.current()
    bias = BiasSettings.current()
    settings = RunSettings(confluence=confluence_config(), risk=risk_config(risk), bracket=bracket_policy(risk),
                           fills=fill_config(risk), start_equity=risk.account_equity_usd,
                           bias={name: getattr(bias, name) for name in BIAS_FIELDS})
    _cache.update(version=current, settings=settings)
    return settings


_cache: dict[str, object] = {}
VERSIONED = (StrategyConfig, RiskSettings, BiasSettings, NewsEvent)


def version() -> tuple:
    """Changes whenever a stored setting does: each table's last change in its history (every save and
    delete through the admin or the services writes one), the singletons' ``updated_at``, and the
    news events' count and newest id (a bulk write keeps no history)."""
    if "sql" not in _cache:
        quote = connection.ops.quote_name
        parts = [f"(SELECT MAX(history_id) FROM {quote(m.history.model._meta.db_table)})" for m in VERSIONED]
        parts += [f"(SELECT updated_at FROM {quote(m._meta.db_table)} WHERE id = 1)"
                  for m in (StrategyConfig, RiskSettings, BiasSettings)]
        news = quote(NewsEvent._meta.db_table)
        parts += [f"(SELECT COUNT(*) FROM {news})", f"(SELECT MAX(id) FROM {news})"]
        _cache["sql"] = "SELECT " + ", ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(_cache["sql"])
        return tuple(cursor.fetchone())


@transaction.atomic
def store(settings: RunSettings) -> None:
    """Write ``settings`` as the stored configuration (``replay`` seeds its scratch database with it).

    Refuses settings the stored rows cannot hold (an engine default with no admin field, say): the
    live path would then not run under them, and a replay must run under exactly what it was given.
    """
    strategy = StrategyConfig.load()
    for name, weight in settings.confluence.weights.items():
        setattr(strategy, f"w_{name}", weight)
    for name in ("strong_buy", "buy", "sell", "strong_sell"):
        setattr(strategy, name, getattr(settings.confluence, name))
    strategy.save()
    r, row = settings.risk, RiskSettings.load()
    row.account_equity_usd = settings.start_equity
    row.daily_loss_limit_usd, row.daily_profit_target_usd = r.daily_loss_limit, r.daily_profit_target
    row.max_position, row.max_trades_per_day, row.max_drawdown_pct = r.max_position, r.max_trades_per_day, \
        r.max_drawdown_pct
    row.max_consecutive_losses, row.cooldown_minutes = r.max_consecutive_losses, r.cooldown_minutes
    row.max_order_qty, row.price_collar_ticks = r.max_order_qty, r.price_collar_ticks
    row.max_orders_per_minute, row.stale_data_seconds = r.max_orders_per_minute, r.stale_data_seconds
    row.flat_before_close_minutes, row.risk_per_trade_pct = r.flat_before_close_minutes, r.risk_per_trade * 100.0
    row.stop_atr_multiple, row.target_r_multiple = settings.bracket.stop_atr_mult, settings.bracket.target_r
    row.slippage_ticks, row.commission_per_contract_usd = settings.fills.slippage_ticks, \
        settings.fills.commission_per_side
    row.save()
    NewsEvent.objects.all().delete()
    NewsEvent.objects.bulk_create([NewsEvent(title="blackout", start=_aware(a), end=_aware(b))
                                   for a, b in r.news_blackouts])
    bias = BiasSettings.load()
    for name in BIAS_FIELDS:
        if name in settings.bias:
            setattr(bias, name, settings.bias[name])
    bias.save()
    stored, wanted = run_settings().to_dict(), settings.to_dict()
    differ = [k for k, v in wanted.items() if not _same(stored[k], v)]
    if differ:
        raise ValueError(f"these settings cannot be stored (section {', '.join(differ)} differs from what the "
                         "admin's fields hold); the live path could not run under them")


def _same(a: object, b: object) -> bool:
    """Equal, floats to 1e-12 (a percent stored as a percent comes back within an ulp or two)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _aware(moment: datetime | int) -> datetime:
    if isinstance(moment, int):
        return from_ns(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = ["bracket_policy", "confluence_config", "fill_config", "risk_config", "run_settings", "store"]
