/* Report charts: each <canvas data-chart="ID"> draws the JSON in <script id="ID">, which
   the server built from the very table shown beside it. Without JS the tables remain. */
(function () {
  "use strict";
  var COLOURS = ["#1f4fa3", "#17663a", "#a3141d", "#7a4a00", "#6b3fa0", "#00707a", "#505a6b"];

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
    canvas.chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: true,
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: { y: { beginAtZero: true } }
      }
    });
  }

  function init() { document.querySelectorAll("canvas[data-chart]").forEach(draw); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(function (c) { if (c.chart) c.chart.resize(); });
  });
})();
