// MIA ML page: feature importances, calibration curve and drift (PSI) charts of the selected model,
// a confirmation before deploying, and the latest training run's progress (polled while the page is open).
(function () {
  "use strict";
  const el = (id) => document.getElementById(id);
  const charts = JSON.parse(el("ml-charts").textContent || "{}");
  const config = {responsive: true, displaylogo: false};
  const layout = (extra) => Object.assign({margin: {l: 130, r: 10, t: 10, b: 40}, height: 320,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#8a96a3"}, showlegend: false},
    extra);

  function drawImportances(imp) {
    if (!el("ml-importances") || !imp) return;
    const bar = {type: "bar", orientation: "h", x: imp.values, y: imp.names, marker: {color: "#2f80ed"},
                 hovertemplate: "%{y}: %{x:.4f}<extra></extra>"};
    Plotly.react(el("ml-importances"), [bar], layout({xaxis: {gridcolor: "#222b35", title: {text: "weighted importance"}},
      height: Math.max(320, 22 * imp.names.length)}), config);
  }

  function drawCalibration(cal) {
    if (!el("ml-calibration")) return;
    const bins = (cal && cal.bins) || [];
    const ideal = {type: "scatter", mode: "lines", x: [0, 1], y: [0, 1], line: {color: "#3a4653", dash: "dot"},
                   hoverinfo: "skip"};
    const curve = {type: "scatter", mode: "lines+markers", x: bins.map((b) => b.predicted),
                   y: bins.map((b) => b.observed), text: bins.map((b) => b.n), line: {color: "#27AE60"},
                   marker: {size: bins.map((b) => 5 + Math.min(15, Math.sqrt(b.n)))},
                   hovertemplate: "predicted %{x:.3f}<br>observed %{y:.3f}<br>n=%{text}<extra></extra>"};
    Plotly.react(el("ml-calibration"), [ideal, curve], layout({margin: {l: 50, r: 10, t: 10, b: 40},
      xaxis: {range: [0, 1], gridcolor: "#222b35", title: {text: "predicted confidence"}},
      yaxis: {range: [0, 1], gridcolor: "#222b35", title: {text: "observed hit rate"}}}), config);
  }

  function drawDrift(drift) {
    if (!el("ml-drift") || !drift || !drift.names || !drift.names.length) return;
    const colors = drift.psi.map((v) => (v > drift.threshold ? "#E5484D" : "#2f80ed"));
    const bar = {type: "bar", orientation: "h", x: drift.psi, y: drift.names, marker: {color: colors},
                 hovertemplate: "%{y}: PSI %{x:.3f}<extra></extra>"};
    const line = {type: "line", xref: "x", yref: "paper", x0: drift.threshold, x1: drift.threshold, y0: 0, y1: 1,
                  line: {color: "#F2C94C", dash: "dash"}};
    Plotly.react(el("ml-drift"), [bar], layout({shapes: [line], xaxis: {gridcolor: "#222b35", title: {text: "PSI"}},
      height: Math.max(320, 22 * drift.names.length)}), config);
  }

  function showRun(run) {
    if (!run || !el("ml-run-progress")) return;
    el("ml-run-status").textContent = run.status;
    el("ml-run-progress").value = run.progress;
    el("ml-run-message").textContent = run.message;
  }

  // Training progress arrives over the dashboard websocket as ML alerts; nothing polls.
  function listen() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/dashboard/");
    ws.onclose = () => setTimeout(listen, 2000);
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      const d = msg.data || {};
      if (msg.type === "alert" && d.source === "ml" && d.progress !== undefined) {
        showRun({status: d.status || "running", progress: d.progress, message: d.message});
      }
    };
  }

  document.querySelectorAll("form.ml-deploy").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(`Deploy ${form.dataset.version}? The trading cycle scores signals with it from the next bar.`)) {
        event.preventDefault();
      }
    });
  });

  function draw() {
    if (typeof Plotly === "undefined") return;
    drawImportances(charts.importances);
    drawCalibration(charts.calibration);
    drawDrift(charts.drift);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
  listen();
})();
