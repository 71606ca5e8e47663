// Profile page: copy a new API key. No inline scripts (CSP); the confirmation before revoking
// a key is epos.js's data-confirm.
(function () {
  "use strict";

  function toast(message, kind) {
    if (window.EPOS) window.EPOS.toast(message, kind);
  }

  // Copy with the Clipboard API where the browser allows it; otherwise select the key so the
  // user can copy it by hand.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const field = document.querySelector(button.dataset.copyTarget);
    if (!field) return;
    function selectByHand() {
      field.focus();
      field.select();
      toast("Press Ctrl+C (⌘C on a Mac) to copy the selected key.");
    }
    if (!navigator.clipboard || !window.isSecureContext) {
      selectByHand();
      return;
    }
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = "Copied";
      toast("API key copied.");
    }, selectByHand);
  });
})();
