"""The features, one bar at a time: ``FeatureEngine.update(bar)`` equals ``compute_features`` row by row.

Same formulas and the same float operations in the same order as the batch modules
(``features.core``, ``features.battle_navale``, ``features.elite``), so the two agree to ~1e-15
(the test allows 1e-9). Per bar the work is O(1) except the volatility percentile, an insertion
into a sorted 390-value window (bisect + a short memmove).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from trading.engine import sessions
from trading.engine.confluence import ConfluenceConfig
from trading.engine.features import BATTLE_NAVALE
from trading.engine.features import core as k
from trading.engine.features.battle_navale import NO_RESISTANCE, NO_SUPPORT, SEGMENT_WEIGHT
from trading.engine.orderflow import BarDeltaState

_NAN = math.nan
_OPTIONAL = ("bid", "ask", "bid_size", "ask_size", "buy_volume", "sell_volume")
_WEIGHTS = tuple(SEGMENT_WEIGHT[s] for s in range(6))
_LAGS = max(k.TICK_LAG, k.DIVERGENCE_N, k.EFFICIENCY_N) + 1


@dataclass(slots=True)
class Bar:
    """One closed bar. ``ts`` is the bar start: UTC ns, a tz-aware datetime or a pandas Timestamp."""

    ts: Any
    open: float
    high: float
    low: float
    close: float
    volume: float
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    buy_volume: float | None = None
    sell_volume: float | None = None


def _ts_ns(ts: Any) -> int:
    if isinstance(ts, int):
        return ts
    if isinstance(ts, pd.Timestamp):
        return int(ts.as_unit("ns").value) if ts.tzinfo else int(ts.tz_localize("UTC").as_unit("ns").value)
    if isinstance(ts, datetime):
        return _ts_ns(pd.Timestamp(ts))
    return _ts_ns(pd.Timestamp(ts))


def _ema(prev: float, x: float, a: float) -> float:
    return (1.0 - a) * prev + a * x


class FeatureEngine:
    """Incremental features + confluence (+ ``atr`` and ``efficiency_ratio`` for risk and regime)."""

    def __init__(
        self,
        *,
        options: pd.DataFrame | None = None,
        tick_size: float = 0.25,
        config: ConfluenceConfig | None = None,
    ) -> None:
        self.tick_size = tick_size
        self.config = config or ConfluenceConfig()
        self._w = tuple(self.config.weights[n] for n in BATTLE_NAVALE)
        self._clock = sessions.ChicagoClock()
        self._delta = BarDeltaState()
        self._opt_t: list[int] = []
        self._opt_v: list[float] = []
        self._opt_i = -1
        self._bias = 0.5
        if options is not None and len(options) and "dealer_bias_score" in options:
            opt = options.sort_index()
            self._opt_t = pd.DatetimeIndex(opt.index).tz_convert("UTC").as_unit("ns").asi8.tolist()
            self._opt_v = opt["dealer_bias_score"].astype(float).tolist()
        self.n = 0
        self._closes: deque[float] = deque(maxlen=_LAGS)
        self._cum_delta: deque[float] = deque(maxlen=_LAGS)
        self._cum_vol: deque[float] = deque(maxlen=_LAGS)
        self._cum_path: deque[float] = deque(maxlen=_LAGS)
        self._highs: deque[float] = deque(maxlen=5)
        self._lows: deque[float] = deque(maxlen=5)
        self._vol_win: deque[float] = deque()
        self._vol_sorted: list[float] = []
        self._slot_sum: dict[int, float] = {}
        self._slot_cnt: dict[int, int] = {}

    def set_dealer_bias(self, score: float | None) -> None:
        """Live path: the newest options snapshot's ``dealer_bias_score`` (None/NaN -> 0.5)."""
        self._bias = 0.5 if score is None or score != score else min(max(float(score), 0.0), 1.0)

    def _read(self, bar: Any) -> tuple:
        if isinstance(bar, Mapping):
            get = bar.get
            vals = [get(n) for n in _OPTIONAL]
            return (
                _ts_ns(bar["ts"]),
                float(bar["open"]),
                float(bar["high"]),
                float(bar["low"]),
                float(bar["close"]),
                float(bar["volume"]),
                *vals,
            )
        return (
            _ts_ns(bar.ts),
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            float(bar.volume),
            *(getattr(bar, n, None) for n in _OPTIONAL),
        )

    def update(self, bar: Any) -> dict[str, float]:  # noqa: PLR0915 - one straight pass on purpose
        """Add a closed bar (Mapping or ``Bar``-like); returns the features of this bar."""
        ts, o, h, lo, c, v, bid, ask, _bs, _as, buy, sell = self._read(bar)
        n = self.n
        first = n == 0
        local = self._clock.local(ts)
        sess = (local + sessions.SESSION_SHIFT_NS) // sessions.NS_PER_DAY
        minute = (local % sessions.NS_PER_DAY) // sessions.NS_PER_MIN
        seg = sessions.segment_of(minute)
        new_sess = first or sess != self._sess

        # --- core ------------------------------------------------------------------------------
        if first:
            ret, tr = 0.0, h - lo
            self._atr = tr
        else:
            pc = self._pc
            ret = c - pc
            tr = max(h, pc) - min(lo, pc)
            self._atr = _ema(self._atr, tr, 1.0 / k.ATR_N)
        atr = self._atr
        atr_s = max(atr, k.ATR_FLOOR * c)
        delta = self._delta.update(h, lo, c, v, bid, ask, buy, sell)
        closes = self._closes
        closes.append(c)

        def lag(j: int) -> float:  # close j bars ago; the first close before the start (as ``core.lagged``)
            return closes[-1 - j] if n >= j else closes[0]

        # --- vwap_trend ------------------------------------------------------------------------
        tp = (h + lo + c) / 3.0
        if first:
            self._cpv, self._cv = tp * v, v
            self._base_pv = self._base_v = 0.0
        else:
            if new_sess:
                self._base_pv, self._base_v = self._cpv, self._cv
            self._cpv += tp * v
            self._cv += v
        pv, vv = self._cpv - self._base_pv, self._cv - self._base_v
        vw = pv / vv if vv > 0 else c
        step = 0.0 if new_sess else vw - self._vw
        self._vw = vw
        self._slope = step if first else _ema(self._slope, step, k.VWAP_SLOPE_ALPHA)
        f_vwap = 0.5 + 0.3 * math.tanh(((c - vw) / atr_s) / 2.0) + 0.2 * math.tanh(5.0 * self._slope / atr_s)

        # --- volume_imbalance ------------------------------------------------------------------
        if first:
            self._ed, self._ev = delta, v
        else:
            self._ed = _ema(self._ed, delta, k.IMBALANCE_ALPHA)
            self._ev = _ema(self._ev, v, k.IMBALANCE_ALPHA)
        f_imb = 0.5 + 0.5 * (self._ed / self._ev if self._ev > 0 else 0.0)

        # --- price_action ----------------------------------------------------------------------
        rng = h - lo
        body = (c - o) / rng if rng > 0 else 0.0
        pattern = 0.0
        if n >= 1:
            o1, c1 = self._po, self._pc
            pattern += float((c1 < o1) and (c > o) and (o <= c1) and (c >= o1)) - float(
                (c1 > o1) and (c < o) and (o >= c1) and (c <= o1)
            )
        small = abs(c - o) <= 0.3 * rng
        pattern += float(rng > 0 and small and min(o, c) - lo >= 0.6 * rng) - float(
            rng > 0 and small and h - max(o, c) >= 0.6 * rng
        )
        if n >= 2 and self._ph <= self._ph2 and self._pl >= self._pl2:
            pattern += float(c > self._ph) - float(c < self._pl)
        pattern = min(max(pattern, -1.0), 1.0)
        f_pa = 0.5 + 0.5 * min(max(0.4 * body + 0.6 * pattern, -1.0), 1.0)

        # --- momentum_flow ---------------------------------------------------------------------
        gain, loss = max(ret, 0.0), max(-ret, 0.0)
        if first:
            self._g, self._l, self._mf, self._ms = gain, loss, c, c
            self._sig = 0.0
        else:
            self._g = _ema(self._g, gain, k.RSI_ALPHA)
            self._l = _ema(self._l, loss, k.RSI_ALPHA)
            self._mf = _ema(self._mf, c, k.MACD_FAST)
            self._ms = _ema(self._ms, c, k.MACD_SLOW)
        macd = self._mf - self._ms
        self._sig = macd if first else _ema(self._sig, macd, k.MACD_SIGNAL)
        tot = self._g + self._l
        rsi = self._g / tot if tot > 0 else 0.5
        f_mom = 0.5 * rsi + 0.5 * (0.5 + 0.5 * math.tanh(2.0 * (macd - self._sig) / atr_s))

        # --- swings / market_structure ---------------------------------------------------------
        self._highs.append(h)
        self._lows.append(lo)
        if first:
            self._sh = self._sh0 = self._sl = self._sl0 = _NAN
        if n >= 4:
            y0, y1, y2, y3, y4 = (
                self._highs[4],
                self._highs[3],
                self._highs[2],
                self._highs[1],
                self._highs[0],
            )
            if y2 > y3 and y2 > y4 and y2 >= y1 and y2 >= y0:
                self._sh0, self._sh = self._sh, y2
            y0, y1, y2, y3, y4 = (
                -self._lows[4],
                -self._lows[3],
                -self._lows[2],
                -self._lows[1],
                -self._lows[0],
            )
            if y2 > y3 and y2 > y4 and y2 >= y1 and y2 >= y0:
                self._sl0, self._sl = self._sl, self._lows[2]
        sh, sl = self._sh, self._sl
        hh = _sign(sh - self._sh0)
        hl = _sign(sl - self._sl0)
        brk = float(c > sh) - float(c < sl)
        f_ms = 0.5 + 0.2 * hh + 0.2 * hl + 0.1 * brk

        # --- support_resistance ----------------------------------------------------------------
        bucket = float(round(c / self.tick_size))
        if new_sess:
            if first:
                self._prior = [_NAN, _NAN, _NAN, _NAN]
            else:
                self._prior = [self._shi, self._slo, self._pc, self._poc * self.tick_size]
            levels = [*self._prior, _NAN, _NAN, _NAN, _NAN, _NAN, sh, sl]
            self._shi, self._slo = h, lo
            self._onhi, self._onlo = -math.inf, math.inf
            self._profile: dict[float, float] = {}
        else:
            levels = [
                *self._prior,
                self._shi,
                self._slo,
                self._onhi if self._onhi != -math.inf else _NAN,
                self._onlo if self._onlo != math.inf else _NAN,
                self._poc * self.tick_size,
                sh,
                sl,
            ]
            self._shi, self._slo = max(self._shi, h), min(self._slo, lo)
        if minute < sessions.RTH_OPEN_MIN or minute >= 17 * 60:
            self._onhi, self._onlo = max(self._onhi, h), min(self._onlo, lo)
        cv = self._profile.get(bucket, 0.0) + v
        self._profile[bucket] = cv
        if new_sess or cv > self._pmax:
            self._pmax, self._poc = cv, bucket
        f_sr = _support_resistance(c, levels)

        # --- session_analysis ------------------------------------------------------------------
        key = sess * 8 + seg
        if first or key != self._segkey:
            self._segkey, self._segopen = key, o
        f_sa = 0.5 + 0.5 * _WEIGHTS[seg] * math.tanh((c - self._segopen) / (2.0 * atr_s))

        # --- dealers_bias ----------------------------------------------------------------------
        if self._opt_t:
            i, t_opt = self._opt_i, self._opt_t
            while i + 1 < len(t_opt) and t_opt[i + 1] <= ts:
                i += 1
            self._opt_i = i
            val = self._opt_v[i] if i >= 0 else 0.5
            self._bias = 0.5 if val != val else min(max(val, 0.0), 1.0)
        f_db = self._bias

        # --- elite -----------------------------------------------------------------------------
        s = float((ret > 0) - (ret < 0))
        self._tsign = s if first else _ema(self._tsign, s, k.TICK_ALPHA)
        f_tick = 0.5 + 0.25 * self._tsign + 0.25 * math.tanh(((c - lag(k.TICK_LAG)) / atr_s) / 2.0)

        self._cd = delta if first else self._cd + delta
        self._cvol = v if first else self._cvol + v
        self._cpath = abs(ret) if first else self._cpath + abs(ret)
        self._cum_delta.append(self._cd)
        self._cum_vol.append(self._cvol)
        self._cum_path.append(self._cpath)
        nd = k.DIVERGENCE_N
        dd = self._cd - (self._cum_delta[-1 - nd] if n >= nd else 0.0)
        dv = self._cvol - (self._cum_vol[-1 - nd] if n >= nd else 0.0)
        d = dd / dv if dv > 0 else 0.0
        p = (c - lag(nd)) / atr_s
        f_div = 0.5 + 0.25 * (math.tanh(3.0 * d) - math.tanh(p / 3.0))

        q = float(round(k.VOL_QUANT * math.log(atr_s / c)))
        win, srt = self._vol_win, self._vol_sorted
        win.append(q)
        bisect.insort(srt, q)
        if len(win) > k.VOL_WINDOW:
            del srt[bisect.bisect_left(srt, win.popleft())]
        lo_i, hi_i = bisect.bisect_left(srt, q), bisect.bisect_right(srt, q)
        f_vol = (lo_i + (hi_i - lo_i + 1) / 2) / len(srt)

        x = abs(ret) / atr_s
        slot = minute // k.SLOT_MINUTES
        ssum = self._slot_sum.get(slot, 0.0) + x
        scnt = self._slot_cnt.get(slot, 0) + 1
        self._slot_sum[slot], self._slot_cnt[slot] = ssum, scnt
        self._xall = x if first else self._xall + x
        m_slot, m_all = ssum / scnt, self._xall / (n + 1)
        tot = m_slot + m_all
        f_opt = m_slot / tot if tot > 0 else 0.5

        ne = k.EFFICIENCY_N
        path = self._cpath - (self._cum_path[-1 - ne] if n >= ne else 0.0)
        er = min(max(abs(c - lag(ne)) / path if path > 0 else 0.0, 0.0), 1.0)

        # --- bookkeeping -----------------------------------------------------------------------
        self._ph2, self._pl2 = (self._ph, self._pl) if n >= 1 else (h, lo)
        self._po, self._ph, self._pl, self._pc = o, h, lo, c
        self._sess = sess
        self.n = n + 1
        vals = (f_vwap, f_imb, f_pa, f_mom, f_sr, f_ms, f_sa, f_db, f_tick, f_div, f_vol, f_opt)
        out = {name: min(max(val, 0.0), 1.0) for name, val in zip(_NAMES, vals, strict=True)}
        conf = 0.0
        for name, w in zip(BATTLE_NAVALE, self._w, strict=True):
            conf = conf + w * out[name]
        out["confluence"] = conf
        out["atr"] = atr
        out["efficiency_ratio"] = er
        out["ts"] = ts
        return out


_NAMES = (*BATTLE_NAVALE, "tick_momentum", "delta_divergence", "volatility_regime", "session_optimizer")


def _sign(x: float) -> float:
    """np.nan_to_num(np.sign(x)): NaN -> 0."""
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def _support_resistance(c: float, levels: list[float]) -> float:
    """Scalar ``battle_navale.support_resistance``."""
    sup, res, seen = -math.inf, math.inf, False
    for lv in levels:
        if lv != lv:
            continue
        seen = True
        if lv <= c and lv > sup:
            sup = lv
        if lv >= c and lv < res:
            res = lv
    if not seen:
        return 0.5
    if sup == -math.inf:
        return NO_SUPPORT
    if res == math.inf:
        return NO_RESISTANCE
    d_s, d_r = c - sup, res - c
    tot = d_s + d_r
    return 0.5 + 0.3 * ((d_r - d_s) / tot if tot > 0 else 0.0)
