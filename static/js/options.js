// MIA Options page: GEX by strike with spot/flip/walls, the bias score and its history, gamma cycles.
// Initial data comes from the page; `bias` messages on /ws/dashboard/ update it (Plotly.react redraws).
(function () {
  "use strict";
  const MAX_HISTORY = 2000;
  const ZOOM = 0.06;
  const COLORS = {spot: "#2f80ed", flip: "#F2C94C", call: "#27AE60", put: "#E5484D"};
  const el = (id) => document.getElementById(id);
  const state = JSON.parse(el("options-initial").textContent);
  let current = JSON.parse(el("options-current").textContent);
  const baseLayout = () => ({margin: {l: 50, r: 10, t: 10, b: 35}, height: 340, paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)", font: {color: "#8a96a3"}, showlegend: false, bargap: 0.05});
  const config = {responsive: true, displaylogo: false};

  const fmt = (v, digits) => (v === null || v === undefined || Number.isNaN(Number(v)))
    ? "—" : Number(v).toFixed(digits);

  function vline(x, color, name) {
    return {type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
            line: {color: color, width: 2, dash: name === "spot" ? "solid" : "dash"}};
  }

  function label(x, color, text, row) {
    return {x: x, xref: "x", yref: "paper", y: 1 - row * 0.07, text: text, showarrow: false,
            font: {color: color, size: 11}, xanchor: "left"};
  }

  // Most of the gamma sits within a few percent of spot; the far strikes stay one zoom-out away.
  function zoom(snap) {
    return (snap && snap.spot) ? [snap.spot * (1 - ZOOM), snap.spot * (1 + ZOOM)] : undefined;
  }

  function drawGex(snap) {
    const p = (snap && snap.profile) || {strike: [], gex_bn: []};
    const colors = p.gex_bn.map((v) => (v >= 0 ? COLORS.call : COLORS.put));
    const bars = {type: "bar", x: p.strike, y: p.gex_bn, marker: {color: colors}, name: "GEX",
                  hovertemplate: "strike %{x}<br>%{y:.3f} $bn<extra></extra>"};
    const shapes = [], notes = [];
    const marks = snap ? [["spot", snap.spot, COLORS.spot, "spot"], ["flip", snap.gamma_flip, COLORS.flip, "flip"],
      ["call", snap.call_wall, COLORS.call, "call wall"], ["put", snap.put_wall, COLORS.put, "put wall"]] : [];
    marks.forEach(([name, x, color, text], i) => {
      if (x === null || x === undefined) return;
      shapes.push(vline(x, color, name));
      notes.push(label(x, color, text + " " + fmt(x, 0), i));
    });
    const layout = Object.assign(baseLayout(), {shapes: shapes, annotations: notes,
      xaxis: {gridcolor: "#222b35", title: {text: "strike"}, range: zoom(snap)}, yaxis: {gridcolor: "#222b35", zerolinecolor: "#3a4653"}});
    Plotly.react(el("gex-chart"), [bars], layout, config);
  }

  function drawHistory(hist) {
    const line = {type: "scatter", mode: "lines+markers", x: hist.asof, y: hist.score, name: "bias",
                  line: {color: COLORS.spot, width: 1.5}, marker: {size: 4}};
    const layout = Object.assign(baseLayout(), {height: 260, xaxis: {type: "date", gridcolor: "#222b35"},
      yaxis: {range: [0, 1], gridcolor: "#222b35"},
      shapes: [{type: "line", xref: "paper", x0: 0, x1: 1, y0: 0.5, y1: 0.5, line: {color: "#3a4653", dash: "dot"}}]});
    Plotly.react(el("bias-chart"), [line], layout, config);
  }

  function showFacts(snap) {
    const s = snap || {};
    const c = s.cycles || {};
    el("opt-asof").textContent = s.asof ? new Date(s.asof).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "—";
    el("opt-score").textContent = fmt(s.score, 3);
    el("opt-spot").textContent = fmt(s.spot, 2);
    el("opt-flip").textContent = fmt(s.gamma_flip, 2);
    el("opt-call-wall").textContent = fmt(s.call_wall, 2);
    el("opt-put-wall").textContent = fmt(s.put_wall, 2);
    el("opt-gex").textContent = fmt(s.total_gex_bn, 2);
    el("opt-pcr").textContent = fmt(s.pcr_oi, 2);
    el("opt-es-levels").textContent = (s.levels && s.levels.length)
      ? s.levels.map((l) => l.label + " " + fmt(l.price, 2)).join(" · ") : "—";
    el("cyc-expiry").textContent = c.expiry || "—";
    el("cyc-max-pain").textContent = fmt(c.max_pain, 0);
    el("cyc-rr").textContent = fmt(c.risk_reversal_25d, 4);
    el("cyc-0dte").textContent = fmt(c.share_0dte, 3);
    el("cyc-opex").textContent = (c.days_to_opex === null || c.days_to_opex === undefined) ? "—" : c.days_to_opex;
    el("opt-invalid").hidden = !snap || snap.valid;
    el("sim-badge").hidden = !s.simulated;
  }

  function render() {
    const entry = state[current] || {latest: null, history: {asof: [], score: [], valid: []}};
    showFacts(entry.latest);
    drawGex(entry.latest);
    drawHistory(entry.history);
    document.querySelectorAll(".opt-tabs button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.underlying === current));
    });
  }

  function onBias(d) {
    const entry = state[d.underlying] || (state[d.underlying] = {latest: null, history: {asof: [], score: [], valid: []}});
    // An invalid chain keeps the last valid levels on screen; its neutral score still enters the history.
    if (d.valid || !entry.latest) entry.latest = d;
    const h = entry.history;
    const i = h.asof.indexOf(d.asof);
    if (i >= 0) { h.score[i] = d.score; h.valid[i] = d.valid; } else { h.asof.push(d.asof); h.score.push(d.score); h.valid.push(d.valid); }
    if (h.asof.length > MAX_HISTORY) { h.asof.shift(); h.score.shift(); h.valid.shift(); }
    if (d.underlying === current) render();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/ws/dashboard/");
    ws.onopen = () => { el("ws-status").textContent = "live"; };
    ws.onclose = () => { el("ws-status").textContent = "reconnecting…"; setTimeout(connect, 2000); };
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "bias") onBias(msg.data);
    };
  }

  document.querySelectorAll(".opt-tabs button").forEach((b) => {
    b.addEventListener("click", () => {
      current = b.dataset.underlying;
      history.replaceState(null, "", "?underlying=" + encodeURIComponent(current));
      render();
    });
  });

  render();
  connect();
})();
