// A 户号's use (pages/usage.html): bars of kWh per day, month or year, stacked by 尖峰平谷 where the
// meter records them, and last year's months as a line.  The figures come from data- attributes (the
// CSP forbids inline script) in Wh, scaled to kWh here for display only; the table under the chart
// holds every figure for readers without JavaScript.
(function () {
  "use strict";
  var colours = { total: "#07c160", sharp: "#fa5151", peak: "#fa9d3b", flat: "#10aeff", valley: "#576b95",
                  last_year: "#b2b2b2" };
  function kwh(wh) { return wh === null ? null : wh / 1000; }

  function draw() {
    var canvas = document.getElementById("usage-chart");
    if (!canvas || !window.Chart) return;
    var d = JSON.parse(canvas.dataset.chart), names = JSON.parse(canvas.dataset.names);
    var split = Object.keys(d.registers);
    var datasets = (split.length ? split : ["total"]).map(function (name) {
      var values = split.length ? d.registers[name] : d.total;
      return { type: "bar", label: names[name], data: values.map(kwh), backgroundColor: colours[name], stack: "use" };
    });
    if (d.last_year) {
      datasets.push({ type: "line", label: names.last_year, data: d.last_year.map(kwh), borderColor: colours.last_year,
                      backgroundColor: colours.last_year, spanGaps: true, tension: 0.2, stack: "last_year" });
    }
    new window.Chart(canvas, {
      data: { labels: d.labels, datasets: datasets },
      options: { maintainAspectRatio: false, animation: false,
                 plugins: { legend: { display: datasets.length > 1 } },
                 scales: { x: { stacked: true, ticks: { autoSkip: true, maxRotation: 0 } },
                           y: { stacked: true, beginAtZero: true, ticks: { callback: function (v) { return v + " kWh"; } } } } }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
