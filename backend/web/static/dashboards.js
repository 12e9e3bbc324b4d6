// The dashboards' charts (Chart.js, served by the app from node_modules): each
// <figure class="chart" data-chart="{...}" data-table="id"> is drawn from the table it names,
// so a chart always shows the numbers of the table beside it. data-chart says the chart's type
// (bar, line, doughnut), the label column, the series columns and which rows; each cell has its
// raw value (data-value: fen, a count, a fraction) and kind (data-kind). Money is drawn in yuan,
// ratios in percent. window.dashboardCharts: the charts by table id (the browser tests read it).
(function () {
  "use strict";
  var figures = document.querySelectorAll("figure.chart[data-chart]");
  window.dashboardCharts = {};
  if (!figures.length) return;
  if (!window.Chart) {
    figures.forEach(function (f) { f.hidden = true; });
    return;
  }
  var PALETTE = ["#b3261e", "#0b57d0", "#1e7b34", "#9a6700", "#6a1b9a", "#00796b", "#d84315", "#546e7a",
                 "#283593", "#ad1457", "#558b2f", "#4e342e"];
  var UNITS = {money: "¥", percent: "%", change: "%"};

  function value(cell) {
    var raw = cell.getAttribute("data-value"), kind = cell.getAttribute("data-kind");
    if (raw === null || raw === "") return null;
    var v = Number(raw);
    if (kind === "money") return v / 100;
    if (kind === "percent" || kind === "change") return Math.round(v * 10000) / 100;
    return v;
  }

  function format(v, kind) {
    if (v === null || v === undefined) return "—";
    if (kind === "money") return "¥" + v.toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    if (kind === "percent" || kind === "change") return v.toFixed(2) + "%";
    return v.toLocaleString("zh-CN");
  }

  function draw(figure) {
    var spec = JSON.parse(figure.getAttribute("data-chart"));
    var table = document.getElementById(figure.getAttribute("data-table"));
    if (!table) return null;
    var headers = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) { return c.textContent.trim(); });
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.classList.contains("empty"); });
    if (spec.rows) rows = spec.rows.map(function (i) { return rows[i]; }).filter(Boolean);
    var labels = rows.map(function (r) { return r.cells[spec.label].textContent.trim(); });
    var kinds = spec.series.map(function (col) { return rows.length ? rows[0].cells[col].getAttribute("data-kind") : "int"; });
    var doughnut = spec.type === "doughnut";
    var datasets = spec.series.map(function (col, i) {
      var data = rows.map(function (r) { return value(r.cells[col]); });
      var color = doughnut ? labels.map(function (_, j) { return PALETTE[j % PALETTE.length]; }) : PALETTE[i % PALETTE.length];
      return {label: headers[col], data: data, backgroundColor: color, borderColor: doughnut ? "#fff" : color,
              borderWidth: doughnut ? 1 : 2, kind: kinds[i]};
    });
    var unit = UNITS[kinds[0]] || "";
    // the page's words in its language (the template's data attributes)
    var yuanWord = figure.getAttribute("data-yuan") || "元";
    var colon = figure.getAttribute("data-colon") || "：";
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: {
        legend: {display: doughnut || datasets.length > 1, position: doughnut ? "right" : "top"},
        tooltip: {callbacks: {label: function (ctx) {
          var v = doughnut ? ctx.parsed : (spec.horizontal ? ctx.parsed.x : ctx.parsed.y);
          return (doughnut ? ctx.label : ctx.dataset.label) + colon + format(v, ctx.dataset.kind);
        }}}
      }
    };
    if (!doughnut) {
      var valueAxis = {beginAtZero: true, stacked: !!spec.stacked,
                       title: {display: !!unit, text: unit === "¥" ? yuanWord : unit}};
      var labelAxis = {stacked: !!spec.stacked, ticks: {autoSkip: true, maxRotation: 60}};
      options.indexAxis = spec.horizontal ? "y" : "x";
      options.scales = spec.horizontal ? {x: valueAxis, y: labelAxis} : {x: labelAxis, y: valueAxis};
    }
    var canvas = figure.querySelector("canvas");
    var chart = new window.Chart(canvas, {type: spec.type, data: {labels: labels, datasets: datasets}, options: options});
    if (!rows.length) figure.classList.add("no-data");
    return chart;
  }

  figures.forEach(function (figure) {
    try {
      var chart = draw(figure);
      if (chart) window.dashboardCharts[figure.getAttribute("data-table")] = chart;
    } catch (e) {
      figure.hidden = true;  // the table still holds the numbers
      if (window.console) console.error("chart", figure.getAttribute("data-table"), e);
    }
  });
})();
