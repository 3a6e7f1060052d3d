/* Report charts: each <canvas data-chart="ID"> draws the JSON in <script id="ID">, which
   the server built from the very table shown beside it. Without JS the tables remain.
   A spec may carry `targets` ([{label, value}]: dashed lines the series are read against)
   and `unit: "minutes"` (axis and tooltips in hours and minutes, as the tables read). */
(function () {
  "use strict";
  var COLOURS = ["#1f4fa3", "#17663a", "#a3141d", "#7a4a00", "#6b3fa0", "#00707a", "#505a6b"];
  var TARGET_COLOURS = ["#111827", "#6b3fa0"];

  // The same words as reports.tables.Minutes: 954.3 → "15 h 54 min", 2.5 → "2 min 30 s".
  function minutesText(value) {
    if (value === null || value === undefined || isNaN(value)) return "—";
    var seconds = Math.round(value * 60);
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60), rest = seconds % 60;
    if (minutes < 10) return rest ? minutes + " min " + rest + " s" : minutes + " min";
    minutes = Math.round(seconds / 60);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (!hours) return minutes + " min";
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    if (days) return hours ? days + " d " + hours + " h" : days + " d";
    return minutes ? hours + " h " + minutes + " min" : hours + " h";
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    var spec = JSON.parse(source.textContent);
    var datasets = spec.series.map(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      return {
        label: s.label, data: s.data, borderColor: colour, backgroundColor: colour,
        spanGaps: true, tension: 0.2, borderDash: s.dashed ? [6, 4] : [], pointRadius: s.dashed ? 0 : 3
      };
    });
    (spec.targets || []).forEach(function (t, i) {
      var colour = TARGET_COLOURS[i % TARGET_COLOURS.length];
      datasets.push({
        type: "line", label: t.label, data: spec.labels.map(function () { return t.value; }),
        borderColor: colour, backgroundColor: colour, borderDash: [6, 4], borderWidth: 2,
        pointRadius: 0, fill: false, order: -1
      });
    });
    var y = { beginAtZero: true };
    var tooltip = {};
    if (spec.unit === "minutes") {
      y.ticks = { callback: function (v) { return minutesText(v); } };
      tooltip.callbacks = {
        label: function (ctx) { return ctx.dataset.label + ": " + minutesText(ctx.parsed.y); }
      };
    }
    canvas.chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: true,
        plugins: { legend: { display: datasets.length > 1, position: "bottom" }, tooltip: tooltip },
        scales: { y: y }
      }
    });
  }

  window.slahubMinutesText = minutesText;
  function init() { document.querySelectorAll("canvas[data-chart]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(function (c) { if (c.chart) c.chart.resize(); });
  });
})();
