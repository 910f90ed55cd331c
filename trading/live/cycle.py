"""The live trading cycle for one closed bar: engine -> decision -> ML filter -> runner -> one transaction.

The incremental feature engine lives in the worker process (the `trading` queue has one ordered
consumer, so bars arrive in order). On a cold start, after a gap, or if a bar arrives out of order,
the engine is rebuilt from stored bars, so a restarted worker computes the same features as one that
never stopped. Configuration is read on every bar, so an admin edit applies from the next bar.

The Signal row, its risk verdict, the bracket's management state, the orders and their commands are
committed together (``execution.apply``): the database never holds a decision half written, and
nothing is sent before it is committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from mlfilter import inference
from options.selectors import bias_at
from trading import config
from trading.engine import regime as rg
from trading.engine.calendar import to_ns
from trading.engine.confluence import ConfluenceConfig
from trading.engine.decision import SignalDecision, decide
from trading.engine.incremental import FeatureEngine
from trading.live import clock, execution
from trading.models import AuditLog, Bar, Signal

log = logging.getLogger(__name__)
WARMUP_BARS = 3000


@dataclass
class _EngineState:
    engine: FeatureEngine
    last_ts: datetime | None = None


_engines: dict[str, _EngineState] = {}


def reset_engines() -> None:
    """Forget worker-local engine state (tests; a deploy of new engine code)."""
    _engines.clear()


def _bar_input(bar: Bar) -> dict[str, Any]:
    return {"ts": bar.ts, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
            "volume": bar.volume, "buy_volume": bar.buy_volume, "sell_volume": bar.sell_volume,
            "bid": bar.bid, "ask": bar.ask}


def _rebuild(symbol: str, before: datetime) -> _EngineState:
    """Replay the last WARMUP_BARS stored bars before `before` into a fresh engine."""
    state = _EngineState(engine=FeatureEngine())
    history = list(Bar.objects.filter(symbol=symbol, ts__lt=before).order_by("-ts")[:WARMUP_BARS])
    for old in reversed(history):
        state.engine.update(_bar_input(old))
        state.last_ts = old.ts
    log.info("engine for %s rebuilt from %d stored bars", symbol, len(history))
    return state


def _engine_for(bar: Bar) -> _EngineState:
    state = _engines.get(bar.symbol)
    earlier = Bar.objects.filter(symbol=bar.symbol, ts__lt=bar.ts).order_by("-ts")
    previous = earlier.values_list("ts", flat=True).first()
    if state is None or state.last_ts != previous:
        state = _rebuild(bar.symbol, bar.ts)
        _engines[bar.symbol] = state
    return state


def latest_dealer_bias(at: datetime) -> float | None:
    """The newest valid SPX snapshot's score at or before `at` (None when there is none)."""
    return bias_at(at)


def evaluate(bar: Bar, confluence: ConfluenceConfig | None = None) -> tuple[SignalDecision, dict[str, float]]:
    """Advance the worker's engine by one bar and decide; pure apart from reading bars and config."""
    state = _engine_for(bar)
    state.engine.set_dealer_bias(latest_dealer_bias(bar.ts))
    row = state.engine.update(_bar_input(bar))
    state.last_ts = bar.ts
    confluence = confluence or config.confluence_config()
    features = {k: v for k, v in row.items() if k != "ts"}
    features["confluence"] = confluence.score(features)
    # The regime reads the volatility percentile that the volatility_regime feature is built from.
    regime = rg.classify(features["efficiency_ratio"], features["volatility_regime"], bars_seen=state.engine.n)
    decision = decide(features, regime, confluence)
    return decision, features


def _ml_filter(decision: SignalDecision, features: dict[str, float]) -> tuple[float | None, str, bool | None]:
    """(confidence, model version, passed) for candidate signals; the model was trained on those only.

    Without a usable model the confidence is None and the signal passes: never an invented number.
    A model trained on simulated data scores the signal but its verdict is advisory (passed None).
    """
    if decision.direction == 0:
        return None, "", None
    confidence, version = inference.score(features)
    if confidence is None:
        return None, "", None
    return confidence, version, inference.passes(confidence) if inference.enforcing() else None


def _reasons(decision: SignalDecision, confidence: float | None, passed: bool | None) -> list[str]:
    reasons = list(decision.reasons)
    if passed is False:
        reasons.append(f"ML filter: confidence {confidence:.3f} below {inference.current_threshold():.2f}")
    elif confidence is not None and passed is None:
        verdict = "would pass" if inference.passes(confidence) else "would block"
        reasons.append(f"ML advisory (model trained on simulated data, not enforced): confidence {confidence:.3f} "
                       f"{verdict} at {inference.current_threshold():.2f}")
    return reasons


def _lateness_s(bar: Bar) -> float | None:
    """Feed time since the bar closed (None when the feed time is unknown)."""
    newest = clock.current().newest_ns()
    if newest is None:
        return None
    return (newest - to_ns(bar.ts)) / 1e9 - bar.interval_s


def run_cycle(*, bar: Bar) -> Signal | None:
    """Decide on `bar`: store its Signal and carry out the decision, in one transaction.

    A second call for the same bar stores nothing and returns None, so nothing downstream runs twice.
    """
    if Signal.objects.filter(bar=bar).exists():
        log.info("bar %s already has a signal; repeated task ignored", bar.pk)
        return None
    settings = config.run_settings()
    decision, features = evaluate(bar, settings.confluence)
    confidence, version, passed = _ml_filter(decision, features)
    reasons = _reasons(decision, confidence, passed)
    late = _lateness_s(bar)
    if late is not None and late > settings.risk.stale_data_seconds:
        reasons.append(f"late: this cycle ran {late:.0f} s after the bar closed (the queue was unreachable); "
                       "no entry on stale data, exits and stop management carried out")
    try:
        with transaction.atomic():
            signal = Signal.objects.create(
                bar=bar, symbol=bar.symbol, ts=bar.ts, features=decision.features, confluence=decision.confluence,
                label=decision.label, direction=decision.direction, regime=decision.regime,
                strategy=decision.strategy, reasons=reasons, ml_confidence=confidence,
                model_version=version, ml_passed=passed)
            if late is not None and late > settings.risk.stale_data_seconds:
                AuditLog.objects.create(actor="trading-cycle", action="cycle.late", reason=reasons[-1][:500],
                                        after={"bar": bar.ts.isoformat(), "late_s": round(late, 1)})
            execution.apply(signal=signal, bar=bar, features=features, settings=settings)
    except IntegrityError:
        return None
    return signal
