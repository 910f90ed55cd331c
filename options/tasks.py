"""Celery tasks of the options queue (every task name starting `options.` is routed there).

Beat runs `options.snapshot` every 5 minutes with kwargs {"underlying": "SPX"} and {"underlying": "NDX"}.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from options import selectors, services
from options.analytics.snapshot import analyze
from options.sources import ChainSource
from options.sources.synthetic import SyntheticChainSource
from trading.engine.calendar import CmeCalendar
from trading.models import Bar

log = logging.getLogger(__name__)
SYNTHETIC_UNDERLYINGS = ("SPX", "NDX")
_calendar: CmeCalendar | None = None


def _is_open(bar: Bar) -> bool:
    global _calendar
    if _calendar is None:  # building the schedule costs ~100 ms: once per worker
        _calendar = CmeCalendar()
    return _calendar.is_open(int(bar.ts.timestamp() * 1_000_000_000))


def _source_for(underlying: str, bar: Bar) -> tuple[ChainSource, str, bool] | None:
    """(source, source name, simulated). Only the synthetic chain exists until a live chain source
    (IBKR) is configured, so every feed uses it for now and the snapshot is marked simulated."""
    real = getattr(settings, "MIA_OPTIONS_SOURCE", "synthetic")
    if settings.MIA_FEED == "sim" or real == "synthetic":
        if underlying not in SYNTHETIC_UNDERLYINGS:
            return None
        # One seed per day: open interest does not move intraday, the levels follow the ES price.
        source = SyntheticChainSource(es_price=bar.close, asof=bar.ts, underlying=underlying,
                                      basis=selectors.default_basis(), seed=int(f"{bar.ts:%Y%m%d}"))
        return source, "synthetic", True
    return None


@shared_task(name="options.snapshot", autoretry_for=(ConnectionError, TimeoutError, OperationalError),
             retry_backoff=True, retry_backoff_max=120, retry_jitter=True, max_retries=5)
def snapshot(underlying: str) -> str:
    """Analyse the current chain of `underlying` at the latest ES bar and store it."""
    underlying = underlying.upper()
    bar = Bar.objects.filter(symbol=settings.MIA_SYMBOL).order_by("-ts").first()
    if bar is None:
        log.info("options.snapshot %s: no bars yet; skipped", underlying)
        return "no_data"
    if not _is_open(bar):
        return "closed"
    picked = _source_for(underlying, bar)
    if picked is None:
        log.warning("options.snapshot: no chain source for %s; skipped", underlying)
        return "no_source"
    source, name, simulated = picked
    if selectors.has_snapshot(underlying=underlying, asof=bar.ts, source=name):
        return "unchanged"  # no new bar since the last run (feed stopped): nothing new to say
    chain = source.fetch()
    result = analyze(chain, config=selectors.analysis_config())
    row = services.record_snapshot(result=result, source=name, simulated=simulated, chain=chain, es_price=bar.close)
    return f"{underlying} {row.pk} {'valid' if row.valid else 'invalid'}"
