// EPOS page glue: toasts, htmx error reporting, small conveniences. No framework.
(function () {
  "use strict";

  function toast(message, kind) {
    const box = document.getElementById("toasts");
    if (!box || !message) return;
    const item = document.createElement("div");
    item.className = "toast" + (kind === "error" ? " toast-error" : "");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, kind === "error" ? 7000 : 3500);
  }

  function responseMessage(xhr) {
    const type = (xhr.getResponseHeader("Content-Type") || "").toLowerCase();
    if (type.startsWith("text/plain") && xhr.responseText) return xhr.responseText.slice(0, 300);
    if (xhr.status === 403) return "You may not do that.";
    if (xhr.status === 404) return "That no longer exists, or you may not see it.";
    return "Something went wrong (" + xhr.status + "). Nothing was saved.";
  }

  window.EPOS = { toast: toast };

  // The one notification path: the server says what happened with HX-Trigger "epos:toast"
  // (django-htmx's trigger_client_event); failures are reported here, whoever made the request.
  document.addEventListener("epos:toast", function (event) {
    toast(event.detail && event.detail.message);
  });
  // A refusal that names where it goes (HX-Retarget: a dialog explaining a refused move) is
  // meant to be shown, not reported as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    toast(responseMessage(event.detail.xhr), "error");
  });

  // The one confirmation: a form with data-confirm asks before it is sent, plain or htmx. The
  // capture phase runs before htmx's own submit listener, so a "no" sends nothing at all.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.dataset && form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // Filter forms leave empty fields out of the URL they push (?use_case=security, not
  // ?q=&team=&use_case=security).
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.matches("form[data-drop-empty]")) return;
    const parameters = event.detail.parameters;
    const keys = parameters instanceof FormData ? Array.from(parameters.keys()) : Object.keys(parameters);
    keys.forEach(function (key) {
      const value = parameters instanceof FormData ? parameters.get(key) : parameters[key];
      if (value === "" || value === null) {
        if (parameters instanceof FormData) parameters.delete(key); else delete parameters[key];
      }
    });
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Nothing was saved.", "error");
  });

  document.addEventListener("click", function (event) {
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.parentElement.remove();
    const copy = event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.dataset.copy).then(function () { toast("Link copied."); });
    }
  });
  // A select that applies itself (no inline onchange: the Content-Security-Policy forbids it).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]") && event.target.form) {
      event.target.form.requestSubmit();
    }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // Close open <details> menus (user menu, process switcher) on outside click or Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.usermenu[open], details.switcher[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest("details.usermenu, details.switcher"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // Bars drawn to a percentage: set through the style object, which the policy allows.
  function drawBars(root) {
    root.querySelectorAll("[data-percent]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.percent) || 0)) + "%";
    });
  }
  document.addEventListener("htmx:load", function (event) { drawBars(event.detail.elt); });

  document.addEventListener("DOMContentLoaded", function () {
    drawBars(document);
    // Keep the current step of a long path in view on narrow screens.
    const path = document.querySelector(".path");
    const step = path && path.querySelector('[aria-current="step"]');
    if (step && path.scrollWidth > path.clientWidth) {
      path.scrollLeft = step.offsetLeft - (path.clientWidth - step.clientWidth) / 2;
    }
  });
})();
