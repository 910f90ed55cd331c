"""The four Elite techniques, batch form, each in [0, 1] with 0.5 neutral (see ``core``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading.engine.features.core import (
    DIVERGENCE_N,
    EFFICIENCY_N,
    SLOT_MINUTES,
    TICK_ALPHA,
    TICK_LAG,
    VOL_QUANT,
    VOL_WINDOW,
    BarContext,
    ema,
    lagged,
)


def tick_momentum(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.25 EMA(sign(dc)) + 0.25 tanh((c - c_{t-5}) / (2 ATR))``: the persistence of
    up/down closes (EMA alpha 2/11 of their signs) and the 5-bar move in ATR units.
    Why: a run of same-direction prints is the earliest, cheapest sign of one-sided flow."""
    persistence = ema(np.sign(ctx.ret), TICK_ALPHA)
    move = (ctx.close - lagged(ctx.close, TICK_LAG)) / ctx.atr_s
    return 0.5 + 0.25 * persistence + 0.25 * np.tanh(move / 2.0)


def windowed(cum: np.ndarray, n: int) -> np.ndarray:
    """Sum over the last n rows from a running sum: ``cum_t - cum_{t-n}`` (``cum_{<0} = 0``)."""
    return cum - lagged(cum, n, first=0.0)


def delta_divergence(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.25 (tanh(3 D) - tanh(P / 3))``, D = 20-bar delta / 20-bar volume, P = 20-bar
    price change / ATR. Agreement of price and delta cancels to ~0.5; price up on selling delta
    drops below 0.5 (bearish divergence: the rally is not being bought), price down on buying
    delta rises above it (absorption of sellers)."""
    dd = windowed(np.cumsum(ctx.delta), DIVERGENCE_N)
    vv = windowed(np.cumsum(ctx.volume), DIVERGENCE_N)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(vv > 0, dd / np.where(vv > 0, vv, 1.0), 0.0)
    p = (ctx.close - lagged(ctx.close, DIVERGENCE_N)) / ctx.atr_s
    return 0.5 + 0.25 * (np.tanh(3.0 * d) - np.tanh(p / 3.0))


def vol_quantum(ctx: BarContext) -> np.ndarray:
    """``round(50 ln(ATR / close))``: relative volatility in 2 % steps. Ranking integers makes ties
    exact, so the batch and incremental percentiles agree to the last bit."""
    return np.round(VOL_QUANT * np.log(ctx.atr_s / ctx.close))


def volatility_regime(ctx: BarContext) -> np.ndarray:
    """Percentile (average rank / count) of the current ``vol_quantum`` among the last 390 bars
    (one RTH day, fewer at the start). < 1/3 low, 1/3..2/3 normal, > 2/3 high volatility.
    Why: stops, targets and which strategy works all depend on volatility relative to its recent
    norm, not on its level."""
    q = pd.Series(vol_quantum(ctx))
    return q.rolling(VOL_WINDOW, min_periods=1).rank(pct=True).to_numpy()


def session_optimizer(ctx: BarContext) -> np.ndarray:
    """``m_slot / (m_slot + m_all)`` where m_slot is the expanding mean of |dc| / ATR over past
    bars in this 30-minute CT slot (this bar included: its return is realized at its close) and
    m_all the same over all bars; 0.5 with no history. Above 0.5: this time of day has moved
    more than average, so signals here have room to run. Only realized returns are used.
    """
    x = np.abs(ctx.ret) / ctx.atr_s
    slot = ctx.minute // SLOT_MINUTES
    order = np.argsort(slot, kind="stable")
    sorted_slot = slot[order]
    cuts = np.flatnonzero(np.diff(sorted_slot)) + 1
    slot_sum = np.empty(len(x))
    slot_cnt = np.empty(len(x))
    for part in np.split(order, cuts):
        slot_sum[part] = np.cumsum(x[part])
        slot_cnt[part] = np.arange(1, len(part) + 1)
    m_slot = slot_sum / slot_cnt
    m_all = np.cumsum(x) / np.arange(1, len(x) + 1)
    tot = m_slot + m_all
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, m_slot / np.where(tot > 0, tot, 1.0), 0.5)


def efficiency_ratio(ctx: BarContext) -> np.ndarray:
    """Kaufman efficiency ratio over 20 bars: ``|c_t - c_{t-20}| / sum |dc|`` in [0, 1] (0 if flat).
    Near 1: price went straight (trend); near 0: it churned (range). Used by ``regime``."""
    path = windowed(np.cumsum(np.abs(ctx.ret)), EFFICIENCY_N)
    net = np.abs(ctx.close - lagged(ctx.close, EFFICIENCY_N))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(path > 0, net / np.where(path > 0, path, 1.0), 0.0), 0.0, 1.0)
