// The opportunity list's bulk bar: "select all on this page", the count of selected deals, and
// the action buttons enabled only with something selected. The checkboxes sit in the table and
// belong to #bulk-form through their form attribute, so the table can be reloaded on its own.
(function () {
  "use strict";

  function boxes(form) {
    return Array.from(document.querySelectorAll('input[name="ids"][form="' + form.id + '"]:not(:disabled)'));
  }

  function update() {
    const form = document.getElementById("bulk-form");
    if (!form) return;
    const all = boxes(form);
    const checked = all.filter(function (box) { return box.checked; }).length;
    document.querySelectorAll("[data-select-all]").forEach(function (toggle) {
      toggle.checked = all.length > 0 && checked === all.length;
      toggle.indeterminate = checked > 0 && checked < all.length;
    });
    // On a phone the actions show once something is ticked (static/css/opportunity-list.css).
    form.classList.add("is-live");
    form.classList.toggle("has-selection", checked > 0);
    const count = form.querySelector("[data-selected-count]");
    if (count) count.textContent = checked + " selected";
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = checked === 0;
    });
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      const form = document.getElementById("bulk-form");
      if (form) boxes(form).forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches('[data-select-all], input[name="ids"]')) update();
  });
  // After a bulk action the report is read first; the table below reloads itself.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "bulk-report") {
      const report = event.detail.target.querySelector(".bulk-report");
      if (report) report.focus();
    }
    update();
  });
  // The filters leave empty fields out of the URL (?use_case=security&sort=name, not
  // ?search=&owner=&use_case=security...): shorter links to share and to save as a view.
  document.addEventListener("formdata", function (event) {
    if (!event.target.matches("form[data-drop-empty]")) return;
    Array.from(event.formData.keys()).forEach(function (key) {
      if (event.formData.getAll(key).every(function (value) { return value === ""; })) {
        event.formData.delete(key);
      }
    });
  });
  document.addEventListener("DOMContentLoaded", update);
})();
