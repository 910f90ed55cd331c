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

  const handlers = {tick: onTick, state: onState, health: onHealth};

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
  wireKillSwitch();
  connect();
})();
