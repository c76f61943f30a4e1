// Metric charts with uPlot: the server sends each run's history already
// downsampled (LTTB), so the browser draws at most a few thousand points
// per series whatever the history's length.
(function () {
  "use strict";
  var box = document.getElementById("chart");
  if (!box || typeof uPlot === "undefined") return;
  var prefix = document.body.dataset.prefix || "";
  var status = document.getElementById("chart-status");
  var xaxis = document.getElementById("xaxis");
  var smoothing = document.getElementById("smoothing");
  var smoothOut = document.getElementById("smoothing-value");
  var logscale = document.getElementById("logscale");
  var colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var series = [];
  var byX = {}; // fetched series per x axis metric ("" for step and time)
  var plot = null;
  var t0 = performance.now();

  // metricX is the metric the x axis shows ("" for step and time axes).
  function metricX() {
    var v = xaxis ? xaxis.value : "step";
    return v.indexOf("metric:") === 0 ? v.slice(7) : "";
  }

  function xs(s, mode) {
    if (s.x && mode.indexOf("metric:") === 0) return s.x;
    if (mode === "time") return s.time.map(function (t) { return t / 1000; });
    if (mode === "relative") {
      var first = s.time.length ? s.time[0] : 0;
      return s.time.map(function (t) { return (t - first) / 1000; });
    }
    return s.step;
  }

  function draw() {
    var mode = xaxis ? xaxis.value : "step";
    var w = smoothing ? parseFloat(smoothing.value) : 0;
    var log = logscale && logscale.checked;
    if (smoothOut) smoothOut.textContent = w.toFixed(2);
    var tables = series.map(function (s) {
      var y = dawnSmooth.ema(s.value, w);
      if (log) y = y.map(function (v) { return v > 0 ? v : null; });
      var x = xs(s, mode);
      // uPlot.join needs increasing x: wall time may repeat, so keep order.
      return [x, y];
    });
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var opts = {
      width: Math.max(320, box.clientWidth || 800), height: 360,
      scales: { x: { time: mode === "time" }, y: { distr: log ? 3 : 1 } },
      axes: [{ label: mode === "step" ? "step" : (mode === "time" ? "wall time" : (mode === "relative" ? "seconds since first point" : mode.slice(7) + " (at the same step)")) }, { label: box.dataset.key }],
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.name, stroke: colors[i % colors.length], width: 1.5, spanGaps: true, points: { show: false } };
      }))
    };
    if (plot) plot.destroy();
    box.textContent = "";
    plot = new uPlot(opts, data, box);
    window.dawnChart = plot;
    box.dataset.series = String(series.length);
    box.dataset.x = mode;
    box.dataset.drawnMs = String(Math.round(performance.now() - t0));
  }

  // load fetches the series for the x axis metric mx ("" for step and
  // time) once, then draws.
  function load(mx) {
    if (byX[mx]) { series = byX[mx]; t0 = performance.now(); draw(); box.dataset.ready = "1"; return; }
    box.dataset.ready = "0";
    var url = prefix + "/data/history?runs=" + encodeURIComponent(box.dataset.runs) + "&key=" + encodeURIComponent(box.dataset.key) +
      (mx ? "&x=" + encodeURIComponent(mx) : "") + "&points=" + Math.min(4000, Math.max(500, 2 * (box.clientWidth || 1000)));
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + " " + t.slice(0, 200)); });
      return r.json();
    }).then(function (j) {
      series = byX[mx] = j.series;
      draw();
      var total = series.reduce(function (a, s) { return a + s.total; }, 0);
      var shown = series.reduce(function (a, s) { return a + s.step.length; }, 0);
      if (status) status.textContent = total + " points" + (mx ? " paired with " + mx + " by step" : "") + ", " + shown + " drawn (downsampled on the server) · server " + j.server_ms.toFixed(0) + " ms · drawn in " + box.dataset.drawnMs + " ms";
      box.dataset.ready = "1";
    }).catch(function (e) {
      if (status) status.textContent = "chart: " + e.message;
      box.dataset.error = e.message;
    });
  }
  load(metricX());
  if (xaxis) xaxis.addEventListener("input", function () { t0 = performance.now(); load(metricX()); });
  [smoothing, logscale].forEach(function (el) { if (el) el.addEventListener("input", function () { t0 = performance.now(); draw(); }); });
})();
