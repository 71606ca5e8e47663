// Building blocks: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // The panel may be swapped in again by htmx, script tag included: set up once.
  if (window.eposBlocksLoaded) return;
  window.eposBlocksLoaded = true;

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // Live markdown preview of the block body while typing.
  function setUpPreview(root) {
    root.querySelectorAll("textarea[data-preview-url]").forEach(function (area) {
      if (area.dataset.bbPreviewReady) return;
      area.dataset.bbPreviewReady = "1";
      var target = document.getElementById(area.dataset.previewTarget || "bb-preview");
      if (!target) return;
      var timer = null;
      area.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var data = new FormData();
          data.append("body", area.value);
          fetch(area.dataset.previewUrl, {
            method: "POST",
            body: data,
            credentials: "same-origin",
            headers: { "X-CSRFToken": csrfToken(area.form) },
          })
            .then(function (response) { return response.ok ? response.text() : null; })
            .then(function (html) { if (html !== null) target.innerHTML = html; });
        }, 400);
      });
    });
  }

  // Discovery: ticking a challenge (or a need) ticks every pair under it and opens it.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-bb-group]")) return;
    var group = box.closest("details");
    if (!group) return;
    if (box.checked) group.open = true;
    group.querySelectorAll("input[name=pair]").forEach(function (pair) {
      pair.checked = box.checked;
    });
  });

  // Ask before actions that are hard to undo.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.dataset && form.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpPreview(document); });
  } else {
    setUpPreview(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { setUpPreview(event.target); });
})();
