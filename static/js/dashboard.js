// MIA dashboard: one websocket, typed JSON messages (DESIGN §6), charts redrawn in place.
(function () {
  "use strict";
  const MAX_POINTS = 3000;
  const el = (id) => document.getElementById(id);
  const chartDiv = el("price-chart");
  let chartReady = false;
  let lastTickWall = null;

  function initChart() {
    const bars = JSON.parse(el("initial-bars").textContent);
    const trace = {x: bars.map((b) => b.ts), y: bars.map((b) => b.close), mode: "lines", name: "ES",
                   line: {color: "#2f80ed", width: 1.5}};
    const layout = {margin: {l: 50, r: 10, t: 10, b: 30}, height: 320, paper_bgcolor: "rgba(0,0,0,0)",
                    plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#8a96a3"}, showlegend: false,
                    xaxis: {type: "date", gridcolor: "#222b35"}, yaxis: {tickformat: ".2f", gridcolor: "#222b35"}};
    Plotly.newPlot(chartDiv, [trace], layout, {responsive: true, displaylogo: false});
    chartReady = true;
    drawLevels(JSON.parse(el("initial-levels").textContent));
  }

  // Dealer's-bias levels (gamma flip, call wall, put wall) in ES prices, as horizontal lines.
  function drawLevels(levels) {
    if (!chartReady) return;
    const shapes = levels.map((l) => ({type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: l.price, y1: l.price,
                                        line: {color: l.color, width: 1, dash: "dash"}}));
    const annotations = levels.map((l) => ({xref: "paper", x: 1, xanchor: "right", yref: "y", y: l.price,
                                             text: `${l.label} ${l.price}`, showarrow: false,
                                             font: {color: l.color, size: 11}, yshift: 8}));
    Plotly.relayout(chartDiv, {shapes: shapes, annotations: annotations});
    chartDiv.dataset.levels = levels.length;
  }

  function onBias(d) {
    if (d.levels && d.levels.length) drawLevels(d.levels);
  }

  function onTick(d) {
    el("last-price").textContent = Number(d.price).toFixed(2);
    el("last-time").textContent = new Date(d.ts).toISOString().slice(11, 19) + " UTC";
    lastTickWall = Date.now();
    if (chartReady) Plotly.extendTraces(chartDiv, {x: [[d.ts]], y: [[d.price]]}, [0], MAX_POINTS);
  }

  function onState(d) {
    const box = el("trading-state");
    if (!box) return;
    box.className = "state state-" + d.state.toLowerCase();
    box.dataset.state = d.state;
    el("state-value").textContent = d.state;
    box.querySelector(".state-reason").textContent = d.reason + (d.changed_by ? " — " + d.changed_by : "");
  }

  function onHealth(d) {
    const g = d.gateway || {};
    if (g.feed) el("feed-source").textContent = g.feed + (g.simulated ? " (simulated)" : "");
    if (g.quarantined !== undefined) el("feed-quarantined").textContent = g.quarantined;
    if (g.bars !== undefined) el("feed-bars").textContent = g.bars;
    el("sim-badge").hidden = !g.simulated;
  }

  const gaugeDiv = el("confluence-gauge");
  const MAX_SIGNALS = 15;

  function drawGauge(value, label) {
    const data = [{type: "indicator", mode: "gauge+number", value: value, number: {valueformat: ".3f"},
      title: {text: label || "confluence", font: {size: 14}},
      gauge: {axis: {range: [0, 1]}, bar: {color: "#2f80ed"}, steps: [
        {range: [0, 0.25], color: "#5b1f22"}, {range: [0.25, 0.40], color: "#3d2a2b"},
        {range: [0.40, 0.60], color: "#26303a"}, {range: [0.60, 0.75], color: "#23392c"},
        {range: [0.75, 1], color: "#1e4d2f"}]}}];
    Plotly.react(gaugeDiv, data, {height: 170, margin: {l: 20, r: 20, t: 30, b: 0},
      paper_bgcolor: "rgba(0,0,0,0)", font: {color: "#e6e9ee"}}, {displayModeBar: false, responsive: true});
  }

  function onSignal(d) {
    drawGauge(d.confluence, d.label);
    const feed = el("signal-feed");
    const empty = el("no-signals");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = "signal label-" + d.label.toLowerCase();
    item.dataset.id = d.id;
    const time = document.createElement("time");
    time.textContent = new Date(d.ts).toISOString().slice(11, 16);
    const strong = document.createElement("strong");
    strong.textContent = d.label;
    item.append(time, " ", strong, ` ${d.confluence.toFixed(3)} · ${d.regime} · ${d.strategy}`);
    feed.prepend(item);
    while (feed.children.length > MAX_SIGNALS) feed.lastElementChild.remove();
  }

  const money = (v) => (v === null || v === undefined) ? "—" : Number(v).toFixed(2);
  const pnlDiv = el("pnl-chart");
  let pnlReady = false;

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
    if (!pnlReady) {
      Plotly.newPlot(pnlDiv, [{x: [d.at], y: [d.pnl_today_usd], mode: "lines", line: {color: "#27ae60"}}],
        {height: 120, margin: {l: 40, r: 5, t: 5, b: 20}, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
         font: {color: "#8a96a3"}, xaxis: {gridcolor: "#222b35"}, yaxis: {gridcolor: "#222b35"}},
        {displayModeBar: false, responsive: true});
      pnlReady = true;
    } else {
      Plotly.extendTraces(pnlDiv, {x: [[d.at]], y: [[d.pnl_today_usd]]}, [0], 2000);
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
    const working = ["NEW", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"].includes(d.state);
    if (existing) existing.remove();
    if (working) {
      const item = listItem(`${d.role} ${d.side} ${d.qty} ${d.price ?? "MKT"} · ${d.state}`);
      item.dataset.coid = d.client_order_id;
      list.append(item);
    }
  }

  function onFill(d) {
    const none = el("no-fills");
    if (none) none.remove();
    el("fills").prepend(listItem(`${d.ts.slice(11, 19)} ${d.side} ${d.qty} @ ${d.price} · ${d.role}`));
  }

  function onAlert(d) {
    const bar = el("alert-bar");
    bar.textContent = d.message;
    bar.hidden = false;
  }

  const handlers = {tick: onTick, state: onState, health: onHealth, signal: onSignal, pnl: onPnl, order: onOrder,
                    fill: onFill, alert: onAlert, bias: onBias};

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

  setInterval(() => {
    if (lastTickWall !== null) {
      const age = (Date.now() - lastTickWall) / 1000;
      const cell = el("feed-age");
      cell.textContent = age.toFixed(1) + " s";
      cell.classList.toggle("stale", age > 30);
    }
  }, 1000);

  initChart();
  const firstSignal = document.querySelector("#signal-feed .signal strong");
  const firstScore = firstSignal ? parseFloat(firstSignal.nextSibling.textContent) : 0.5;
  drawGauge(isNaN(firstScore) ? 0.5 : firstScore, firstSignal ? firstSignal.textContent : "confluence");
  wireKillSwitch();
  connect();
})();
