/* SLA Hub: live countdowns and charts. Progressive enhancement: every page reads
   correctly without this file (times are rendered by the server). */
(function () {
  "use strict";

  function part(n, unit) { return n + unit; }

  function humanize(seconds) {
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return part(d, "d") + " " + part(h, "h");
    if (h > 0) return part(h, "h") + " " + part(m, "m");
    if (m > 0) return part(m, "m") + " " + part(sec, "s");
    return part(sec, "s");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due);
      if (isNaN(due)) return;
      var left = (due - now) / 1000;
      var warn = el.dataset.warn ? Date.parse(el.dataset.warn) : NaN;
      el.classList.toggle("is-overdue", left < 0);
      el.classList.toggle("is-warning", left >= 0 && !isNaN(warn) && now >= warn);
      el.textContent = left < 0 ? "overdue by " + humanize(left) : humanize(left) + " left";
    });
  }

  var charts = {
    quota: function (canvas, data) {
      return new window.Chart(canvas, {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Actual", data: data.actual, borderColor: "#1f4fa3", backgroundColor: "#1f4fa3",
              borderWidth: 3, pointRadius: 0, tension: 0 },
            { label: "Pace to target", data: data.pace, borderColor: "#6b7280", borderDash: [4, 4],
              borderWidth: 2, pointRadius: 0 },
            { label: "Projection", data: data.projection, borderColor: "#b45309", borderDash: [8, 4],
              borderWidth: 2, pointRadius: 0, spanGaps: true },
            { label: "Target", data: data.target, borderColor: "#17663a", borderWidth: 1, pointRadius: 0 }
          ]
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, title: { display: true, text: data.unit } } } }
      });
    },
    bars: function (canvas, data) {
      return new window.Chart(canvas, {
        type: "bar",
        data: { labels: data.labels,
          datasets: [{ label: data.label, data: data.values, backgroundColor: "#1f4fa3" }] },
        options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    }
  };

  // A chart box sized by its data (data-rows, in rem): set here, as the CSP allows no
  // inline style attribute.
  function sizeBoxes(root) {
    root.querySelectorAll(".chart-box[data-rows]").forEach(function (box) {
      box.style.height = Math.max(parseInt(box.dataset.rows, 10) || 0, 8) + "rem";
    });
  }

  function drawCharts(root) {
    sizeBoxes(root);
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (window.Chart.getChart(canvas)) return;
      var source = document.getElementById(canvas.dataset.source);
      if (!source || !charts[canvas.dataset.chart]) return;
      charts[canvas.dataset.chart](canvas, JSON.parse(source.textContent));
      canvas.dataset.drawn = "true";
    });
  }

  // The commitment editor shows only the fields the chosen kind reads (data-kinds); the
  // server stores only those, so without this file every field shows and nothing breaks.
  function showKindFields(form) {
    var select = form.querySelector("select[name$='kind']");
    if (!select) return;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.dataset.kinds.split(" ").indexOf(select.value) < 0;
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-commitment-form]");
    if (form && /kind$/.test(event.target.name || "")) showKindFields(form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-commitment-form]").forEach(showKindFields);
    tick();
    window.setInterval(tick, 1000);
    drawCharts(document);
  });
  // <button data-print>: print the page (no inline onclick under the CSP).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    tick();
    drawCharts(event.target);
  });
})();
