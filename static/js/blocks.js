// Building blocks: small progressive enhancements. Every page works without this file; the
// markdown preview is htmx attributes on the textarea, confirmations are epos.js's data-confirm.
(function () {
  "use strict";
  // The panel may be swapped in again by htmx, script tag included: set up once.
  if (window.eposBlocksLoaded) return;
  window.eposBlocksLoaded = true;

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
})();
