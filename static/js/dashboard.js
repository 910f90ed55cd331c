// MIA dashboard: one websocket, typed JSON messages (DESIGN §6), charts redrawn in place.
(function () {
  "use strict";
  const el = (id) => document.getElementById(id);
  const json = (id) => JSON.parse(el(id).textContent);
  const money = (v) => (v === null || v === undefined) ? "—" : Number(v).toFixed(2);
  const MAX_CANDLES = 600;
  const MAX_SIGNALS = 15;
  const DARK = {paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#8a96a3"}};
  const GRID = "#222b35";

  // ---- time zone: every chart time is shown in the chosen zone (exchange time by default) -------
  let zone = el("tz-select").value;
  function fmt(iso) {
    const d = new Date(iso);
    const opts = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                  second: "2-digit", hourCycle: "h23"};
    if (zone !== "local") opts.timeZone = zone;
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", opts).formatToParts(d).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  // ---- price chart: candles, session VWAP, dealer's-bias levels, fills -------------------------
  const chartDiv = el("price-chart");
  const candles = json("initial-bars").map((b) => ({...b}));
  const fills = json("initial-fills");
  let levels = json("initial-levels");
  const srLevels = json("sr-levels");  // prior session high/low/close, overnight high/low
  let chartReady = false;
  let redrawPending = false;

  function sessionKey(iso) {  // CME session date: the 17:00 CT open starts the next day's session
    const d = new Date(new Date(iso).getTime() + 7 * 3600 * 1000);
    return new Intl.DateTimeFormat("en-CA", {timeZone: "America/Chicago"}).format(d);
  }

  function vwap() {
    let key = null, pv = 0, vol = 0;
    return candles.map((c) => {
      const k = sessionKey(c.ts);
      if (k !== key) { key = k; pv = 0; vol = 0; }
      const v = Math.max(c.volume || 0, 1e-9);
      pv += (c.high + c.low + c.close) / 3 * v;
      vol += v;
      return pv / vol;
    });
  }

  function figure() {
    const x = candles.map((c) => fmt(c.ts));
    const traces = [
      {type: "candlestick", name: "ES", x: x, open: candles.map((c) => c.open), high: candles.map((c) => c.high),
       low: candles.map((c) => c.low), close: candles.map((c) => c.close),
       increasing: {line: {color: "#27ae60"}}, decreasing: {line: {color: "#e5484d"}}},
      {type: "scatter", mode: "lines", name: "session VWAP", x: x, y: vwap(), line: {color: "#f2c94c", width: 1}},
      {type: "scatter", mode: "markers", name: "buys", x: fills.filter((f) => f.side === "BUY").map((f) => fmt(f.ts)),
       y: fills.filter((f) => f.side === "BUY").map((f) => f.price), text: fills.filter((f) => f.side === "BUY").map((f) => f.role),
       marker: {symbol: "triangle-up", size: 10, color: "#2f80ed"}},
      {type: "scatter", mode: "markers", name: "sells", x: fills.filter((f) => f.side === "SELL").map((f) => fmt(f.ts)),
       y: fills.filter((f) => f.side === "SELL").map((f) => f.price), text: fills.filter((f) => f.side === "SELL").map((f) => f.role),
       marker: {symbol: "triangle-down", size: 10, color: "#bb6bd9"}},
    ];
    // The price axis follows the candles; a level outside it is named at the top or bottom edge
    // instead of squashing the candles into a sliver.
    const lows = candles.map((c) => c.low), highs = candles.map((c) => c.high);
    const lo = Math.min(...lows), hi = Math.max(...highs), pad = Math.max(2, (hi - lo) * 0.1);
    const range = candles.length ? [lo - pad, hi + pad] : undefined;
    const all = levels.concat(srLevels.map((l) => ({...l, dash: "dot"})));
    const inside = all.filter((l) => !range || (l.price >= range[0] && l.price <= range[1]));
    const outside = range ? all.filter((l) => l.price < range[0] || l.price > range[1]) : [];
    const shapes = inside.map((l) => ({type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: l.price, y1: l.price,
                                       line: {color: l.color, width: 1, dash: l.dash || "dash"}}));
    const annotations = inside.map((l) => ({xref: "paper", x: 1, xanchor: "right", yref: "y", y: l.price, yshift: 8,
                                            text: `${l.label} ${l.price}`, showarrow: false, font: {color: l.color, size: 11}}))
      .concat(outside.map((l, i) => ({xref: "paper", x: 0.01, xanchor: "left", yref: "paper",
                                      y: l.price > range[1] ? 1 - i * 0.05 : 0.02 + i * 0.05,
                                      text: `${l.price > range[1] ? "▲" : "▼"} ${l.label} ${l.price}`, showarrow: false,
                                      font: {color: l.color, size: 11}})));
    const layout = {...DARK, height: 500, margin: {l: 55, r: 10, t: 10, b: 30}, showlegend: false, dragmode: "pan",
                    uirevision: "keep-zoom", shapes: shapes, annotations: annotations,
                    xaxis: {type: "date", gridcolor: GRID, rangeslider: {visible: false}},
                    yaxis: {tickformat: ".2f", gridcolor: GRID, range: range}};
    return {data: traces, layout: layout};
  }

  function redraw() {
    redrawPending = false;
    const fig = figure();
    Plotly.react(chartDiv, fig.data, fig.layout, {responsive: true, displaylogo: false, scrollZoom: true});
    chartReady = true;
    chartDiv.dataset.levels = levels.length;
    chartDiv.dataset.candles = candles.length;
  }

  function scheduleRedraw() {  // at most one redraw per animation frame, however many messages arrive
    if (!redrawPending) { redrawPending = true; requestAnimationFrame(redraw); }
  }

  function minuteStart(iso) {
    const d = new Date(iso);
    d.setUTCSeconds(0, 0);
    return d.toISOString();
  }

  function onTick(d) {
    el("last-price").textContent = Number(d.price).toFixed(2);
    el("last-time").textContent = fmt(d.ts).slice(11);
    lastTickWall = Date.now();
    const start = minuteStart(d.ts);
    const last = candles[candles.length - 1];
    if (last && minuteStart(last.ts) === start) {
      last.high = Math.max(last.high, d.price);
      last.low = Math.min(last.low, d.price);
      last.close = d.price;
    } else {
      candles.push({ts: start, open: d.price, high: d.price, low: d.price, close: d.price, volume: 0});
      if (candles.length > MAX_CANDLES) candles.shift();
    }
    scheduleRedraw();
  }

  function onBar(d) {  // the stored bar replaces the candle the ticks were building
    const i = candles.findIndex((c) => minuteStart(c.ts) === minuteStart(d.ts));
    if (i >= 0) candles[i] = {...d}; else candles.push({...d});
    scheduleRedraw();
  }

  function onBias(d) {
    if (d.levels && d.levels.length) { levels = d.levels; scheduleRedraw(); }
  }

  // ---- trading state, health ----------------------------------------------------------------
  let lastTickWall = null;

  function onState(d) {
    const box = el("trading-state");
    if (!box) return;
    box.className = "state state-" + d.state.toLowerCase();
    box.dataset.state = d.state;
    el("state-value").textContent = d.state;
    box.querySelector(".state-reason").textContent = d.reason + (d.changed_by ? " — " + d.changed_by : "");
    const pending = el("state-pending");
    if (pending && d.pending) {
      pending.replaceChildren(...d.pending.map((c) =>
        listItem(`${c.action} queued, not yet confirmed by the gateway (${Math.round(c.age_s)} s)`)));
    }
  }

  function mark(id, ok, text) {
    const item = el(id);
    item.className = ok === null ? "unknown" : (ok ? "ok" : "bad");
    if (text !== undefined && item.querySelector("span")) item.querySelector("span").textContent = text;
  }

  function onHealth(d) {
    const g = d.gateway || {};
    if (g.feed) el("feed-source").textContent = g.feed + (g.simulated ? " (simulated)" : "");
    if (g.quarantined !== undefined) el("feed-quarantined").textContent = g.quarantined;
    if (g.bars !== undefined) el("feed-bars").textContent = g.bars;
    if (g.simulated !== undefined) el("sim-badge").hidden = !g.simulated;
    if (g.broker_status && g.broker_status.mode) {  // a venue's account: PAPER or LIVE, masked
      const badge = el("account-badge"), venue = g.venue || {};
      badge.textContent = g.broker_status.mode.toUpperCase() + " · " + g.broker_status.account
        + (venue.contract ? " · " + venue.contract : "");
      badge.className = "badge " + (g.broker_status.mode === "live" ? "live" : "paper");
      badge.hidden = false;
      mark("h-broker", !!g.broker_status.connected, g.broker);
    }
    if (g.at !== undefined) { mark("h-gateway", true); mark("h-broker", true, g.broker); }
    if (d.workers) mark("h-workers", d.workers.ok);
    if (d.redis) mark("h-redis", d.redis.ok);
    if (d.gateway && d.gateway.ok !== undefined) {
      mark("h-gateway", d.gateway.ok);
      mark("h-broker", d.gateway.broker_ok !== undefined ? d.gateway.broker_ok : d.gateway.ok);
    }
  }

  setInterval(() => {  // the feed age ticks up between messages, so staleness shows without a push
    if (lastTickWall === null) return;
    const age = (Date.now() - lastTickWall) / 1000;
    el("feed-age").textContent = age.toFixed(1) + " s";
    el("feed-age").classList.toggle("stale", age > 30);
    mark("h-feed", age < 30, age.toFixed(0) + " s");
  }, 1000);

  // ---- P&L, limits, orders, fills, signals ------------------------------------------------------
  const pnlDiv = el("pnl-chart");
  let pnlReady = false;

  function meter(id, value, max, text) {
    const m = el(id);
    m.max = max; m.value = Math.max(0, value);
    m.optimum = 0; m.low = max * 0.5; m.high = max * 0.8;
    el(id + "-text").textContent = text;
  }

  function onPnl(d) {
    const today = el("pnl-today");
    today.textContent = money(d.pnl_today_usd);
    today.classList.toggle("up", d.pnl_today_usd > 0);
    today.classList.toggle("down", d.pnl_today_usd < 0);
    el("pnl-position").textContent = d.position + (d.avg_price ? " @ " + d.avg_price : "");
    el("pnl-unrealized").textContent = money(d.unrealized_usd);
    el("pnl-realized").textContent = money(d.realized_today_usd);
    el("pnl-trades").textContent = d.trades_today;
    el("pnl-equity").textContent = money(d.equity_usd);
    const lim = d.limits || {};
    meter("lim-loss", -d.pnl_today_usd, lim.daily_loss_usd, `${money(Math.max(0, -d.pnl_today_usd))} / ${lim.daily_loss_usd}`);
    meter("lim-trades", d.trades_today, lim.max_trades, `${d.trades_today} / ${lim.max_trades}`);
    meter("lim-dd", d.drawdown_pct, lim.max_drawdown_pct, `${Number(d.drawdown_pct).toFixed(2)} % / ${lim.max_drawdown_pct} %`);
    meter("lim-streak", d.consecutive_losses, lim.max_consecutive_losses, `${d.consecutive_losses} / ${lim.max_consecutive_losses}`);
    el("lim-wr").textContent = `${d.win_rate ?? "—"} · ${d.profit_factor ?? "—"}`;
    if (!pnlReady) {
      Plotly.newPlot(pnlDiv, [{x: [fmt(d.at)], y: [d.pnl_today_usd], mode: "lines", line: {color: "#27ae60"}}],
        {...DARK, height: 120, margin: {l: 45, r: 5, t: 5, b: 20}, xaxis: {gridcolor: GRID, tickformat: "%H:%M"},
         yaxis: {gridcolor: GRID, tickprefix: "$"}},
        {displayModeBar: false, responsive: true});
      pnlReady = true;
    } else {
      Plotly.extendTraces(pnlDiv, {x: [[fmt(d.at)]], y: [[d.pnl_today_usd]]}, [0], 2000);
    }
  }

  function listItem(text) {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }

  function onOrder(d) {
    const list = el("working-orders");
    const none = el("no-orders");
    if (none) none.remove();
    const existing = list.querySelector(`[data-coid="${CSS.escape(d.client_order_id)}"]`);
    if (existing) existing.remove();
    if (["NEW", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"].includes(d.state)) {
      const item = listItem(`${d.role} ${d.side} ${d.qty} ${d.price ?? "MKT"} · ${d.state}`);
      item.dataset.coid = d.client_order_id;
      list.append(item);
    }
  }

  function onFill(d) {
    const none = el("no-fills");
    if (none) none.remove();
    el("fills").prepend(listItem(`${fmt(d.ts).slice(11)} ${d.side} ${d.qty} @ ${d.price} · ${d.role}`));
    fills.push({ts: d.ts, price: d.price, side: d.side, role: d.role});
    scheduleRedraw();
  }

  function onAlert(d) {
    if (d.level === "info") return;  // progress notes (ML training) are shown on their own pages
    const bar = el("alert-bar");
    bar.textContent = d.message;
    bar.hidden = false;
  }

  const gaugeDiv = el("confluence-gauge");
  function drawGauge(value, label) {
    const data = [{type: "indicator", mode: "gauge+number", value: value, number: {valueformat: ".3f"},
      title: {text: label || "confluence", font: {size: 14}},
      gauge: {axis: {range: [0, 1]}, bar: {color: "#2f80ed"}, steps: [
        {range: [0, 0.25], color: "#5b1f22"}, {range: [0.25, 0.40], color: "#3d2a2b"},
        {range: [0.40, 0.60], color: "#26303a"}, {range: [0.60, 0.75], color: "#23392c"},
        {range: [0.75, 1], color: "#1e4d2f"}]}}];
    Plotly.react(gaugeDiv, data, {...DARK, height: 190, margin: {l: 25, r: 25, t: 40, b: 10}, font: {color: "#e6e9ee"}},
                 {displayModeBar: false, responsive: true});
  }

  function onSignal(d) {
    drawGauge(d.confluence, d.label);
    const feed = el("signal-feed");
    const empty = el("no-signals");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = "signal label-" + d.label.toLowerCase();
    item.dataset.id = d.id;
    const link = document.createElement("a");
    link.href = `/signals/${d.id}/`;
    const time = document.createElement("time");
    time.textContent = fmt(d.ts).slice(11, 16);
    const strong = document.createElement("strong");
    strong.textContent = d.label;
    link.append(time, " ", strong, ` ${d.confluence.toFixed(3)} · ${d.regime} · ${d.strategy}`);
    if (d.risk_approved) link.append(" · ORDER");
    item.append(link);
    feed.prepend(item);
    while (feed.children.length > MAX_SIGNALS) feed.lastElementChild.remove();
  }

  // ---- websocket ---------------------------------------------------------------------------
  const handlers = {tick: onTick, bar: onBar, state: onState, health: onHealth, signal: onSignal, pnl: onPnl,
                    order: onOrder, fill: onFill, alert: onAlert, bias: onBias};

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/dashboard/");
    ws.onopen = () => { el("ws-status").textContent = "live"; };
    ws.onclose = () => { el("ws-status").textContent = "reconnecting…"; setTimeout(connect, 2000); };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      const handler = handlers[msg.type];
      if (handler) handler(msg.data);
    };
  }

  // ---- kill switch: every action behind a confirmation naming its consequence -------------------
  function wireKillSwitch() {
    const dialog = el("confirm-dialog");
    document.querySelectorAll(".kill-buttons button[data-action]").forEach((button) => {
      button.addEventListener("click", () => {
        el("confirm-text").textContent = button.dataset.confirm;
        el("confirm-action").value = button.dataset.action;
        el("confirm-ok").textContent = "Confirm " + button.textContent.trim().toLowerCase();
        dialog.showModal();
      });
    });
    el("confirm-cancel").addEventListener("click", () => dialog.close());
    el("kill-form").addEventListener("htmx:afterRequest", () => dialog.close());
  }

  el("tz-select").addEventListener("change", (event) => { zone = event.target.value; scheduleRedraw(); });

  redraw();
  const first = document.querySelector("#signal-feed .signal");
  drawGauge(first ? parseFloat(first.querySelector(".score").textContent) : 0.5,
            first ? first.querySelector("strong").textContent : "confluence");
  wireKillSwitch();
  connect();
})();
