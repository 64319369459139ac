// The statement's period-over-period chart, drawn with Chart.js when it loads; the SVG and the table stay otherwise.
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("statement-series");
  var canvas = document.getElementById("statement-chart");
  if (!data || !canvas || typeof window.Chart === "undefined") return;
  var series = JSON.parse(data.textContent);
  var style = getComputedStyle(document.documentElement);
  var colour = function (name) { return style.getPropertyValue(name).trim(); };
  canvas.hidden = false;
  document.getElementById("statement-chart-fallback").hidden = true;
  new window.Chart(canvas, {
    data: {
      labels: series.labels,
      datasets: [
        { type: "bar", label: series.names.revenue + " (" + series.currency + ")", data: series.revenue,
          backgroundColor: colour("--accent"), yAxisID: "money" },
        { type: "bar", label: series.names.costs + " (" + series.currency + ")", data: series.costs,
          backgroundColor: colour("--warn"), yAxisID: "money" },
        { type: "bar", label: series.names.value_added + " (" + series.currency + ")", data: series.value_added,
          backgroundColor: colour("--good"), yAxisID: "money" },
        { type: "line", label: series.names.active_users, data: series.active_users,
          borderColor: colour("--ink-soft"), backgroundColor: colour("--ink-soft"), yAxisID: "people" }
      ]
    },
    options: {
      responsive: true,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : undefined,
      scales: {
        money: { type: "linear", position: "left", beginAtZero: true },
        people: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                  ticks: { precision: 0 } }
      }
    }
  });
});
