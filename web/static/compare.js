// The compare page's parallel-coordinates and scatter charts (ECharts),
// drawn from the numeric table the server embeds in the page.
(function () {
  "use strict";
  var el = document.getElementById("compare-data");
  if (!el || typeof echarts === "undefined") return;
  var d = JSON.parse(el.textContent);
  var n = d.runs.length;
  var par = document.getElementById("parallel");
  if (par && d.columns.length > 0) {
    var chart = echarts.init(par);
    var rows = [];
    var colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    for (var i = 0; i < n; i++) rows.push({ name: d.runs[i], value: d.values.map(function (col) { return col[i]; }), lineStyle: { color: colors[i % colors.length] } });
    chart.setOption({
      animation: false,
      parallelAxis: d.columns.map(function (c, j) { return { dim: j, name: c, nameRotate: 20 }; }),
      parallel: { left: 60, right: 80, top: 60, bottom: 30 },
      tooltip: { formatter: function (p) { return p.name; } },
      series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.8 }, data: rows }]
    });
    par.dataset.lines = String(n);
  }
  var sx = document.getElementById("scatter-x"), sy = document.getElementById("scatter-y");
  var sc = document.getElementById("scatter");
  if (!sc || !sx || !sy || d.columns.length === 0) return;
  var schart = echarts.init(sc);
  function drawScatter() {
    var xi = d.columns.indexOf(sx.value), yi = d.columns.indexOf(sy.value);
    var pts = [];
    for (var i = 0; i < n; i++) {
      var x = d.values[xi][i], y = d.values[yi][i];
      if (x !== null && y !== null) pts.push({ name: d.runs[i], value: [x, y] });
    }
    schart.setOption({
      animation: false,
      xAxis: { name: sx.value, type: "value", scale: true }, yAxis: { name: sy.value, type: "value", scale: true },
      tooltip: { formatter: function (p) { return p.name + ": " + p.value.join(", "); } },
      series: [{ type: "scatter", symbolSize: 12, data: pts, label: { show: true, formatter: "{b}", position: "right" } }]
    }, true);
    sc.dataset.points = String(pts.length);
  }
  sx.addEventListener("change", drawScatter);
  sy.addEventListener("change", drawScatter);
  drawScatter();
})();
