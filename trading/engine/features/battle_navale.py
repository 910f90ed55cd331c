"""The eight Battle Navale features, batch form. Each returns an array in [0, 1], 0.5 neutral,
above 0.5 bullish. Row t reads rows <= t only (see ``core``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trading.engine import sessions
from trading.engine.features.core import (
    IMBALANCE_ALPHA,
    MACD_FAST,
    MACD_SIGNAL,
    MACD_SLOW,
    RSI_ALPHA,
    VWAP_SLOPE_ALPHA,
    BarContext,
    ema,
    first_of_group,
    group_sum,
    lagged,
    squash,
)

# session_analysis weights per segment: how much a move from the segment open tends to persist.
SEGMENT_WEIGHT = {
    sessions.ASIA: 0.5,
    sessions.LONDON: 0.8,
    sessions.US_OPEN: 1.0,
    sessions.MIDDAY: 0.4,
    sessions.US_CLOSE: 0.8,
    sessions.BREAK: 0.0,
}
NO_SUPPORT, NO_RESISTANCE = 0.2, 0.8  # price below every level (breakdown) / above every level


def session_vwap(ctx: BarContext) -> np.ndarray:
    """Session VWAP of typical price (h + l + c) / 3, reset at the 17:00 CT Globex open; the close
    while the session has traded no volume."""
    tp = (ctx.high + ctx.low + ctx.close) / 3.0
    pv = group_sum(np.cumsum(tp * ctx.volume), ctx.session_start)
    vv = group_sum(np.cumsum(ctx.volume), ctx.session_start)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(vv > 0, pv / np.where(vv > 0, vv, 1.0), ctx.close)


def vwap_trend(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.3 tanh(dev / 2) + 0.2 tanh(5 slope / ATR)``, ``dev = (close - VWAP) / ATR``,
    ``slope`` = EMA(alpha 2/11) of the bar-to-bar VWAP change (0 on a session's first bar).

    Why: institutions benchmark to session VWAP; price held above a rising VWAP means buyers in
    control. The session is anchored at the 17:00 CT Globex open (ES trades ~23 h; the RTH 08:30
    CT anchor would drop the overnight auction; see ``sessions``).
    """
    vw = session_vwap(ctx)
    step = np.where(ctx.session_start, 0.0, vw - lagged(vw, 1))
    slope = ema(step, VWAP_SLOPE_ALPHA)
    dev = (ctx.close - vw) / ctx.atr_s
    return 0.5 + 0.3 * np.tanh(dev / 2.0) + 0.2 * np.tanh(5.0 * slope / ctx.atr_s)


def volume_imbalance(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.5 EMA(delta) / EMA(volume)`` (alpha 2/21): the recent share of aggressive buying.

    Why: aggressor imbalance is the most direct read of who is pushing. ``delta`` is buy - sell
    volume when the bars carry it, else the quote/tick-rule and close-location estimate of
    ``orderflow.bar_delta``. |delta| <= volume, so the ratio stays in [-1, 1].
    """
    ed, ev = ema(ctx.delta, IMBALANCE_ALPHA), ema(ctx.volume, IMBALANCE_ALPHA)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(ev > 0, ed / np.where(ev > 0, ev, 1.0), 0.0)
    return np.clip(0.5 + 0.5 * ratio, 0.0, 1.0)


def price_action(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.5 clip(0.4 body + 0.6 clip(engulf + pin + inside_break, -1, 1), -1, 1)``.

    body = (c - o) / (h - l); engulf = +1 bullish engulfing (prior bar down, this bar up, opens
    at/below prior close and closes at/above prior open), -1 bearish mirror; pin = +1 for a
    hammer (lower wick >= 60 % of range, body <= 30 %), -1 shooting star; inside_break = +1 when
    the prior bar was inside its predecessor and this bar closes above the prior high, -1 below
    its low. Why: these candle patterns mark rejection or acceptance of a price in one or two
    bars, faster than any average. Pure price comparisons: exact in batch and incremental.
    """
    o, h, lo, c = ctx.open, ctx.high, ctx.low, ctx.close
    o1, h1, l1, c1 = lagged(o, 1), lagged(h, 1), lagged(lo, 1), lagged(c, 1)
    h2, l2 = lagged(h, 2), lagged(lo, 2)
    rng = h - lo
    safe = np.where(rng > 0, rng, 1.0)
    body = np.where(rng > 0, (c - o) / safe, 0.0)
    engulf = ((c1 < o1) & (c > o) & (o <= c1) & (c >= o1)).astype(float) - (
        (c1 > o1) & (c < o) & (o >= c1) & (c <= o1)
    ).astype(float)
    lower = np.minimum(o, c) - lo
    upper = h - np.maximum(o, c)
    small = np.abs(c - o) <= 0.3 * rng
    pin = ((rng > 0) & small & (lower >= 0.6 * rng)).astype(float) - (
        (rng > 0) & small & (upper >= 0.6 * rng)
    )
    inside = (h1 <= h2) & (l1 >= l2)
    brk = (inside & (c > h1)).astype(float) - (inside & (c < l1))
    idx = np.arange(len(c))
    engulf[idx < 1] = 0.0
    brk[idx < 2] = 0.0
    pattern = np.clip(engulf + pin + brk, -1.0, 1.0)
    return 0.5 + 0.5 * np.clip(0.4 * body + 0.6 * pattern, -1.0, 1.0)


def momentum_flow(ctx: BarContext) -> np.ndarray:
    """``0.5 RSI + 0.5 squash(2 hist / ATR)``: Wilder RSI (as a fraction, alpha 1/14) and the MACD
    (12, 26, 9) histogram in ATR units. Why: RSI measures the balance of up and down closes, the
    MACD histogram the acceleration of trend; together they tell whether momentum is building."""
    gain, loss = np.maximum(ctx.ret, 0.0), np.maximum(-ctx.ret, 0.0)
    g, lo = ema(gain, RSI_ALPHA), ema(loss, RSI_ALPHA)
    tot = g + lo
    rsi = np.where(tot > 0, g / np.where(tot > 0, tot, 1.0), 0.5)
    macd = ema(ctx.close, MACD_FAST) - ema(ctx.close, MACD_SLOW)
    hist = macd - ema(macd, MACD_SIGNAL)
    return 0.5 * rsi + 0.5 * squash(2.0 * hist / ctx.atr_s)


def swings(ctx: BarContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Last and previous confirmed swing high and swing low (NaN before there is one).

    A swing high is bar t-2 with a high above the two bars before it and at least the two bars
    after it; it is confirmed (known) at bar t, so no future bar is read.
    """
    if "swings" in ctx.cache:
        return ctx.cache["swings"]
    h, lo = ctx.high, ctx.low
    n = len(h)
    out = []
    for x, sign in ((h, 1.0), (lo, -1.0)):
        y = sign * x
        y0, y1, y2, y3, y4 = y, lagged(y, 1), lagged(y, 2), lagged(y, 3), lagged(y, 4)
        pivot = (y2 > y3) & (y2 > y4) & (y2 >= y1) & (y2 >= y0) & (np.arange(n) >= 4)
        vals = x[np.flatnonzero(pivot) - 2]
        count = np.cumsum(pivot)
        last = np.where(count > 0, vals[np.maximum(count - 1, 0)] if len(vals) else np.nan, np.nan)
        prev = np.where(count > 1, vals[np.maximum(count - 2, 0)] if len(vals) else np.nan, np.nan)
        out += [last, prev]
    ctx.cache["swings"] = (out[0], out[1], out[2], out[3])
    return ctx.cache["swings"]


def market_structure(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.2 sign(SH - SH') + 0.2 sign(SL - SL') + 0.1 break``: higher highs and higher lows
    (SH/SL last confirmed swing high/low, SH'/SL' the ones before) are an uptrend's structure;
    break = +1 when the close is above the last swing high, -1 below the last swing low."""
    sh, sh0, sl, sl0 = swings(ctx)
    with np.errstate(invalid="ignore"):
        hh = np.nan_to_num(np.sign(sh - sh0))
        hl = np.nan_to_num(np.sign(sl - sl0))
        brk = (ctx.close > sh).astype(float) - (ctx.close < sl)
    return 0.5 + 0.2 * hh + 0.2 * hl + 0.1 * brk


def _prev_in_group(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``x[t-1]`` inside the group, NaN on a group's first row."""
    out = lagged(x, 1)
    out[starts] = np.nan
    return out


def sr_levels(ctx: BarContext) -> list[np.ndarray]:
    """Support/resistance levels known before bar t, one column each (NaN if not known yet).

    Columns: prior session high, low, close and POC; this session's high and low so far; the
    overnight (before 08:30 CT) high and low; the developing POC; the last swing high and low.
    POC: the ``tick_size`` price bucket of the close with the most session volume (ties keep the
    earlier bucket) - a one-dict-update-per-bar profile, so it stays O(1) incrementally.
    """
    st, sess = ctx.session_start, ctx.session
    hi_all = pd.Series(ctx.high).groupby(sess).cummax().to_numpy()
    lo_all = pd.Series(ctx.low).groupby(sess).cummin().to_numpy()
    hi, lo = _prev_in_group(hi_all, st), _prev_in_group(lo_all, st)
    on = (ctx.minute < sessions.RTH_OPEN_MIN) | (ctx.minute >= 17 * 60)
    on_hi = _prev_in_group(pd.Series(np.where(on, ctx.high, -np.inf)).groupby(sess).cummax().to_numpy(), st)
    on_lo = _prev_in_group(pd.Series(np.where(on, ctx.low, np.inf)).groupby(sess).cummin().to_numpy(), st)
    on_hi[~np.isfinite(on_hi)] = np.nan
    on_lo[~np.isfinite(on_lo)] = np.nan
    bucket = np.round(ctx.close / ctx.tick_size)
    cv = pd.Series(ctx.volume).groupby([sess, bucket]).cumsum().to_numpy()
    prior_max = _prev_in_group(pd.Series(cv).groupby(sess).cummax().to_numpy(), st)
    new_poc = st | (cv > prior_max)
    poc = first_of_group(bucket, new_poc) * ctx.tick_size
    dev_poc = _prev_in_group(poc, st)
    # Prior session's final values: the row before each session start belongs to the prior session.
    ends = np.flatnonzero(st)[1:] - 1
    prior = np.full((4, len(st)), np.nan)
    sid = np.cumsum(st) - 1  # 0-based session ordinal
    has = sid >= 1
    for j, col in enumerate((hi_all, lo_all, ctx.close, poc)):
        prior[j][has] = col[ends][sid[has] - 1]
    sh, _, sl, _ = swings(ctx)
    return [*prior, hi, lo, on_hi, on_lo, dev_poc, sh, sl]


def support_resistance(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.3 * (d_res - d_sup) / (d_res + d_sup)`` from the nearest level at/below the close
    (support, distance d_sup) and at/above it (resistance, d_res); 0.2 below every level, 0.8
    above every level, 0.5 with no level or sitting on one.

    Why: near support the risk of a long is small and bounces are likely; near resistance the
    reverse. A close beyond every known level is a breakout (or breakdown) and reads as such.
    """
    c = ctx.close
    sup = np.full(len(c), -np.inf)
    res = np.full(len(c), np.inf)
    any_level = np.zeros(len(c), dtype=bool)
    for lv in sr_levels(ctx):  # one column at a time: no n x 11 temporaries
        any_level |= ~np.isnan(lv)
        np.maximum(sup, np.where(lv <= c, lv, -np.inf), out=sup)
        np.minimum(res, np.where(lv >= c, lv, np.inf), out=res)
    d_s, d_r = c - sup, res - c
    tot = d_s + d_r
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = 0.5 + 0.3 * np.where(tot > 0, (d_r - d_s) / np.where(tot > 0, tot, 1.0), 0.0)
    out = np.where(np.isinf(sup), NO_SUPPORT, np.where(np.isinf(res), NO_RESISTANCE, mid))
    return np.where(any_level, out, 0.5)


def session_analysis(ctx: BarContext) -> np.ndarray:
    """``0.5 + 0.5 w_seg tanh((close - segment_open) / (2 ATR))``: the move since the current
    segment (Asia/London/US open/midday/US close, see ``sessions``) began, weighted by how much
    such moves tend to persist in that segment (US open 1.0 ... midday 0.4, maintenance break 0).
    Why: the same move means more in the opening drive than in the lunch lull."""
    key = ctx.session * 8 + ctx.segment
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    seg_open = first_of_group(ctx.open, starts)
    w = np.array([SEGMENT_WEIGHT[s] for s in range(6)])[ctx.segment]
    return 0.5 + 0.5 * w * np.tanh((ctx.close - seg_open) / (2.0 * ctx.atr_s))


def dealers_bias(index: pd.DatetimeIndex, options: pd.DataFrame | None) -> np.ndarray:
    """The latest options snapshot's ``dealer_bias_score`` at or before each bar (clipped to [0, 1]),
    0.5 when there is none. Why: dealers short gamma amplify moves, long gamma damp them; the
    score (from ``options.analytics``) says which way their hedging leans."""
    n = len(index)
    if options is None or len(options) == 0 or "dealer_bias_score" not in options:
        return np.full(n, 0.5)
    opt = options.sort_index()
    t_opt = pd.DatetimeIndex(opt.index).tz_convert("UTC").as_unit("ns").asi8
    t_bar = pd.DatetimeIndex(index).as_unit("ns").asi8
    pos = np.searchsorted(t_opt, t_bar, side="right") - 1
    vals = opt["dealer_bias_score"].to_numpy(np.float64)
    out = np.where(pos >= 0, vals[np.maximum(pos, 0)], 0.5)
    return np.clip(np.where(np.isnan(out), 0.5, out), 0.0, 1.0)
