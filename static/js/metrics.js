/* Dashboard charts: Chart.js drawn from the JSON specs the page embeds
   (<script type="application/json" id="chart-…">). A click on a bar opens the list of the
   opportunities behind it (each dataset carries one link per bar). */
(function () {
  "use strict";
  var palette = ["#1f6feb", "#2da44e", "#d4a72c", "#cf222e", "#8250df", "#0a7b83"];
  var numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

  function format(value, percent) {
    if (value === null || value === undefined) return "—";
    return percent ? numbers.format(value * 100) + " %" : numbers.format(value);
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return null;
    var spec = JSON.parse(source.textContent);
    var valueAxis = spec.horizontal ? "x" : "y";
    var categoryAxis = spec.horizontal ? "y" : "x";
    var datasets = spec.datasets.map(function (dataset, index) {
      var color = palette[index % palette.length];
      var line = (dataset.type || spec.type) === "line";
      return {
        label: dataset.label,
        data: dataset.data,
        type: dataset.type || spec.type,
        backgroundColor: line ? color : color + "cc",
        borderColor: color,
        borderWidth: line ? 2 : 0,
        pointRadius: line && spec.labels.length <= 40 ? 3 : 0,
        fill: false,
        tension: 0.2,
        spanGaps: true,
        order: line ? 0 : 1,
        maxBarThickness: 36
      };
    });
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      title: { display: !!spec.yTitle, text: spec.yTitle },
      ticks: { callback: function (value) { return format(value, spec.percent); } }
    };
    if (spec.percent) scales[valueAxis].suggestedMax = 1;
    // Stage names must all show; only long month or day series may skip labels.
    var many = spec.labels.length > 16;
    scales[categoryAxis] = { ticks: { autoSkip: many, maxRotation: spec.horizontal ? 0 : 40 } };
    var chart = new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: true },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + format(context.parsed[valueAxis], spec.percent);
              },
              footer: function (items) {
                if (!items.length) return "";
                var links = spec.datasets[items[0].datasetIndex].links;
                return links && links[items[0].dataIndex] ? "Click to list the deals" : "";
              }
            }
          }
        },
        scales: scales,
        onHover: function (event, elements) {
          var clickable = elements.length && (spec.datasets[elements[0].datasetIndex].links || [])[elements[0].index];
          event.native.target.style.cursor = clickable ? "pointer" : "default";
        },
        onClick: function (event, elements) {
          if (!elements.length) return;
          var links = spec.datasets[elements[0].datasetIndex].links || [];
          var url = links[elements[0].index];
          if (url) window.location.assign(url);
        }
      }
    });
    window.eposCharts[spec.id] = chart;
    return chart;
  }

  function toggleCustomDates() {
    var period = document.querySelector("#dashboard-filters select[name=period]");
    if (!period) return;
    var custom = period.value === "custom";
    document.querySelectorAll("#dashboard-filters .custom-dates").forEach(function (label) {
      label.style.display = custom ? "" : "none";
    });
  }

  window.eposCharts = window.eposCharts || {};
  document.querySelectorAll("canvas[data-chart]").forEach(draw);
  var period = document.querySelector("#dashboard-filters select[name=period]");
  if (period) {
    period.addEventListener("change", toggleCustomDates);
    toggleCustomDates();
  }
})();
