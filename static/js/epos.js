// EPOS page glue: toasts, htmx error reporting, small conveniences. No framework.
(function () {
  "use strict";

  // toast("Saved.") or toast(message, "error"); options.action + options.onAction add a button
  // (an Undo), shown for options.timeout milliseconds.
  function toast(message, kind, options) {
    const box = document.getElementById("toasts");
    if (!box || !message) return null;
    const opts = options || {};
    const item = document.createElement("div");
    item.className = "toast" + (kind === "error" ? " toast-error" : "");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    const text = document.createElement("span");
    text.textContent = message;
    item.appendChild(text);
    if (opts.action && opts.onAction) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "toast-action";
      button.textContent = opts.action;
      button.addEventListener("click", function () { item.remove(); opts.onAction(); });
      item.appendChild(button);
    }
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, opts.timeout || (kind === "error" ? 7000 : 3500));
    return item;
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
    // A form sent back with errors: its summary takes the focus (and the screen reader's).
    const summary = document.querySelector("[data-autofocus]");
    if (summary) summary.focus();
    // Keep the current step of a long path in view on narrow screens.
    const path = document.querySelector(".path");
    const step = path && path.querySelector('[aria-current="step"]');
    if (step && path.scrollWidth > path.clientWidth) {
      path.scrollLeft = step.offsetLeft - (path.clientWidth - step.clientWidth) / 2;
    }
  });
})();

// --- Global search in the top bar (issue 15; templates/epos/partials/_topsearch.html) -------------
// htmx fetches the grouped suggestions as the user types (debounced on the input); this part is the
// ARIA combobox around them: Up/Down move through the options (focus stays in the field,
// aria-activedescendant names the option), Enter opens the chosen one (or, with none chosen,
// submits the form to the results page), Escape closes. "/" or Ctrl+K (Cmd+K) focuses the field;
// on narrow screens the icon opens it under the bar.
(function () {
  "use strict";

  const MIN_LENGTH = 2;

  function topsearch() {
    const form = document.querySelector("[data-topsearch]");
    if (!form) return null;
    return {
      form: form,
      input: form.querySelector('[role="combobox"]'),
      panel: form.querySelector(".topsearch-panel"),
      toggle: form.querySelector("[data-topsearch-toggle]"),
      status: form.querySelector("[data-topsearch-status]"),
    };
  }

  function options(search) {
    return Array.from(search.panel.querySelectorAll('[role="option"]'));
  }

  function activeOption(search) {
    return search.panel.querySelector('[role="option"][aria-selected="true"]');
  }

  function setActive(search, option) {
    options(search).forEach(function (each) {
      each.setAttribute("aria-selected", each === option ? "true" : "false");
    });
    if (option) {
      search.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      search.input.removeAttribute("aria-activedescendant");
    }
  }

  function isShort(search) {
    return search.input.value.trim().length < MIN_LENGTH;
  }

  function showPanel(search, show) {
    const visible = show && !isShort(search) && search.panel.children.length > 0;
    search.panel.hidden = !visible;
    search.input.setAttribute("aria-expanded", visible && options(search).length ? "true" : "false");
    if (!visible) setActive(search, null);
  }

  function clearPanel(search) {
    search.panel.replaceChildren();
    showPanel(search, false);
  }

  function openField(search) {
    search.form.classList.add("is-open");
    search.toggle.setAttribute("aria-expanded", "true");
    search.input.focus();
    search.input.select();
  }

  function closeField(search) {
    search.form.classList.remove("is-open");
    search.toggle.setAttribute("aria-expanded", "false");
    showPanel(search, false);
  }

  function isNarrow(search) {
    return window.getComputedStyle(search.toggle).display !== "none";
  }

  function focusSearch(search) {
    if (isNarrow(search)) openField(search);
    else { search.input.focus(); search.input.select(); }
  }

  function move(search, step) {
    const list = options(search);
    if (!list.length) return;
    if (search.panel.hidden) { showPanel(search, true); }
    const index = list.indexOf(activeOption(search));
    let next = index + step;
    if (index === -1) next = step > 0 ? 0 : list.length - 1;
    else if (next < 0 || next >= list.length) next = (next + list.length) % list.length;
    setActive(search, list[next]);
  }

  function isTyping(element) {
    return Boolean(element && (element.isContentEditable ||
      element.matches("input, textarea, select, [contenteditable]")));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const search = topsearch();
    if (!search) return;
    // The icon is a link to the search page without JavaScript; here it opens the field.
    search.toggle.setAttribute("role", "button");
    search.toggle.setAttribute("aria-expanded", "false");
    search.toggle.setAttribute("aria-controls", "topsearch-field");
    search.toggle.addEventListener("click", function (event) {
      event.preventDefault();
      if (search.form.classList.contains("is-open")) closeField(search); else openField(search);
    });

    // One or no character asks nothing (the server would answer an empty list).
    search.input.addEventListener("htmx:beforeRequest", function (event) {
      if (isShort(search)) { event.preventDefault(); clearPanel(search); }
    });
    search.panel.addEventListener("htmx:afterSwap", function (event) {
      if (event.target !== search.panel) return;
      if (isShort(search)) { clearPanel(search); return; } // an answer to text since deleted
      showPanel(search, document.activeElement === search.input);
      const list = search.panel.querySelector("[data-count]");
      const count = list ? Number(list.dataset.count) : 0;
      search.status.textContent = count
        ? count + (count === 1 ? " suggestion" : " suggestions") + ", use the arrow keys to choose."
        : "No suggestions.";
    });
    search.input.addEventListener("input", function () {
      if (isShort(search)) clearPanel(search);
    });
    search.input.addEventListener("focus", function () { showPanel(search, true); });

    search.input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(search, event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter") {
        const option = !search.panel.hidden && activeOption(search);
        if (option) {
          event.preventDefault();
          window.location.assign(option.href);
        }
      } else if (event.key === "Escape") {
        if (!search.panel.hidden) {
          event.preventDefault();
          showPanel(search, false);
        } else if (search.form.classList.contains("is-open")) {
          closeField(search);
          search.toggle.focus();
        } else if (search.input.value) {
          search.input.value = "";
          clearPanel(search);
        } else {
          search.input.blur();
        }
      } else if (event.key === "Tab") {
        showPanel(search, false);
      }
    });
    search.panel.addEventListener("mousemove", function (event) {
      const option = event.target.closest('[role="option"]');
      if (option && option !== activeOption(search)) setActive(search, option);
    });
    // Clicks elsewhere close the list (and the field, on narrow screens).
    document.addEventListener("click", function (event) {
      if (search.form.contains(event.target)) return;
      showPanel(search, false);
      if (search.form.classList.contains("is-open")) closeField(search);
    });
    document.addEventListener("keydown", function (event) {
      const modified = event.ctrlKey || event.metaKey;
      const hotkey = (event.key === "k" || event.key === "K") && modified && !event.altKey;
      const slash = event.key === "/" && !modified && !event.altKey && !isTyping(event.target);
      if (hotkey || slash) {
        event.preventDefault();
        focusSearch(search);
      }
    });
  });
})();
// --- My day (opportunities/partials/_my_day.html): the home page remembers whether it is open.
(function () {
  "use strict";
  function remember(details) {
    const key = details.dataset.rememberOpen;
    try {
      if (window.localStorage.getItem(key) === "1") details.open = true;
    } catch (error) { /* storage off: it stays as the page sent it */ }
    details.addEventListener("toggle", function () {
      try { window.localStorage.setItem(key, details.open ? "1" : "0"); } catch (error) { /* ignore */ }
    });
  }
  document.addEventListener("htmx:load", function (event) {
    const root = event.detail && event.detail.elt;
    if (!root || !root.querySelectorAll) return;
    if (root.matches("details[data-remember-open]")) remember(root);
    root.querySelectorAll("details[data-remember-open]").forEach(remember);
  });
})();
// --- Top navigation: on a narrow screen it scrolls sideways; show the current entry and fade
// the side that has more, so every section can be found.
(function () {
  "use strict";
  function init() {
    const nav = document.querySelector(".topnav");
    if (!nav) return;
    function mark() {
      const more = nav.scrollWidth - nav.clientWidth;
      nav.classList.toggle("has-more-start", more > 1 && nav.scrollLeft > 1);
      nav.classList.toggle("has-more-end", more > 1 && nav.scrollLeft < more - 1);
    }
    const current = nav.querySelector('[aria-current="page"]');
    if (current && nav.scrollWidth > nav.clientWidth) {
      const left = current.offsetLeft - nav.offsetLeft;
      if (left + current.offsetWidth > nav.scrollLeft + nav.clientWidth) {
        nav.scrollLeft = left - (nav.clientWidth - current.offsetWidth) / 2;
      }
    }
    mark();
    nav.addEventListener("scroll", mark, { passive: true });
    window.addEventListener("resize", mark);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
