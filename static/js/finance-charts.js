// 营销财务月报 charts: the figures come from data-chart attributes (the CSP forbids inline script),
// drawn by chart.js served from static/vendor.  Rates arrive in basis points and money in fen
// (integers from the server); they are scaled here for display only.  Without chart.js the tables
// above each chart still hold every figure.
(function () {
  "use strict";
  function read(id) {
    var canvas = document.getElementById(id);
    return canvas && window.Chart ? { canvas: canvas, data: JSON.parse(canvas.dataset.chart) } : null;
  }
  function percent(bp) { return bp === null ? null : bp / 100; }
  var colours = ["#2b6cb0", "#dd6b20", "#718096"];

  function trend() {
    var found = read("trend-chart");
    if (!found) return;
    var d = found.data;
    new window.Chart(found.canvas, {
      type: "line",
      data: {
        labels: d.labels,
        datasets: [d.amount, d.households].map(function (values, i) {
          return { label: d.names[i], data: values.map(percent), borderColor: colours[i],
                   backgroundColor: colours[i], spanGaps: true, tension: 0.2 };
        })
      },
      options: { maintainAspectRatio: false, animation: false,
                 scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } } }
    });
  }

  function aging() {
    var found = read("aging-chart");
    if (!found) return;
    var d = found.data;
    new window.Chart(found.canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: d.series.map(function (series, i) {
          return { label: series.name, backgroundColor: colours[i],
                   data: series.fen.map(function (fen) { return fen / 100; }) };
        })
      },
      options: { maintainAspectRatio: false, animation: false,
                 scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: function (v) { return "¥" + v; } } } } }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { trend(); aging(); });
})();
