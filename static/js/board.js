// Moving deals: drag and drop on the board (SortableJS) and the "Move to…" menu on every card
// and on the opportunity page. Every move is one htmx request to /opportunities/<id>/move/; the
// server answers with the re-rendered card and column heads (swapped by htmx, then the
// "epos:moved" event), with the dialog to show (retargeted into the move dialog, then the
// "epos:move-dialog" event), or, on the opportunity page, with a refresh. The card goes back to
// its column unless the move went through. Messages and errors are epos.js's.
(function () {
  "use strict";

  const dialog = document.getElementById("move-dialog");
  if (!dialog) return;
  const dialogBody = document.getElementById("move-dialog-body");
  const stageData = document.getElementById("stage-menu");
  const stages = stageData ? JSON.parse(stageData.textContent) : [];
  const detailHead = document.querySelector(".opportunity-head[data-move-url]");
  const sortables = [];
  let pending = null; // {id, card, from, index, stageId, version, reloadOnClose}

  function board() { return document.getElementById("board"); }
  function listFor(stageId) { return document.querySelector('.cards[data-stage-id="' + stageId + '"]'); }

  function moveUrl(id) {
    if (detailHead) return detailHead.dataset.moveUrl;
    return board().dataset.moveUrl.replace("/0/", "/" + id + "/");
  }

  function setBusy(busy) {
    sortables.forEach(function (sortable) { sortable.option("disabled", busy); });
  }

  // --- starting a move ---------------------------------------------------------------------

  function start(card, stageId, from, index) {
    if (pending) { // one move at a time: put a second drag straight back
      if (from && card) from.insertBefore(card, from.children[index] || null);
      return;
    }
    const source = card || detailHead;
    pending = {
      id: source.dataset.opportunityId,
      card: card,
      from: from,
      index: index,
      stageId: String(stageId),
      fromStage: from ? from.dataset.stageId : source.dataset.stageId,
      version: source.dataset.version,
      reloadOnClose: false,
    };
    send(new FormData());
  }

  function send(extra) {
    const values = { stage: pending.stageId };
    if (pending.version) values.expected_version = pending.version;
    const root = board();
    if (root) values.board_query = root.dataset.boardQuery || "";
    extra.forEach(function (value, key) { if (key !== "stage") values[key] = value; });
    if (pending.card) pending.card.classList.add("is-pending");
    setBusy(true);
    pending.inFlight = true;
    // The body is the source: it stays in the page (a swapped card would not), its hx-headers
    // carry the CSRF token, and the events of the answer bubble from it to the listeners below.
    window.htmx.ajax("POST", moveUrl(pending.id), {
      source: document.body,
      target: pending.card ? "#" + pending.card.id : "#move-dialog-body",
      swap: "outerHTML",
      values: values,
    });
  }

  function isMove(event) {
    const path = event.detail.requestConfig && event.detail.requestConfig.path;
    return pending && pending.inFlight && path === moveUrl(pending.id);
  }

  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (!isMove(event)) return;
    pending.inFlight = false;
    setBusy(false);
    const card = pending.card && document.getElementById(pending.card.id);
    if (card) card.classList.remove("is-pending");
    const xhr = event.detail.xhr;
    const answered = xhr && (xhr.getResponseHeader("HX-Retarget") || event.detail.successful);
    if (!answered) { // refused without a dialog, or not reached: epos.js says why
      revert();
      closeDialog();
    }
  });

  // --- answers -----------------------------------------------------------------------------

  document.body.addEventListener("epos:moved", function (event) {
    const done = pending;
    pending = null;
    closeDialog();
    const fresh = document.getElementById("card-" + event.detail.id);
    const target = listFor(event.detail.stage);
    // Moved from the menu, the card is still in its old column.
    if (fresh && target && fresh.parentElement !== target) target.prepend(fresh);
    if (fresh) {
      fresh.classList.add("is-moved");
      const button = fresh.querySelector(".move-to");
      if (button && done && done.viaMenu) button.focus();
    }
    offerUndo(done, event.detail);
  });

  // --- undo: for 10 s after a move, a move back by the same rules --------------------------

  const UNDO_MS = 10000;

  function stageName(id) {
    const stage = stages.find(function (s) { return String(s.id) === String(id); });
    return stage ? stage.name : "";
  }

  function offerUndo(done, detail) {
    const back = detail.from;
    if (!window.EPOS) return;
    if (!done || done.isUndo || !back || String(back) === String(detail.stage)) {
      window.EPOS.toast(detail.message);
      return;
    }
    window.EPOS.toast(detail.message, "info", {
      action: "Undo",
      timeout: UNDO_MS,
      onAction: function () { undo(detail.id, back); },
    });
  }

  function undo(id, stageId) {
    const card = document.getElementById("card-" + id);
    if (pending || !card) return;
    pending = {
      id: String(id),
      card: card,
      from: card.parentElement,
      index: indexOf(card),
      stageId: String(stageId),
      fromStage: card.dataset.stageId,
      version: card.dataset.version,
      isUndo: true,
    };
    const extra = new FormData();
    extra.append("note", "Undo: back to " + stageName(stageId));
    send(extra);
  }

  document.body.addEventListener("epos:move-dialog", function () { showDialog(); updateGate(); });

  function showDialog() {
    if (!pending) return;
    const panel = dialogBody.firstElementChild;
    const kind = panel ? panel.dataset.dialogKind : "error";
    // Until the move goes through the card belongs to its old column.
    revertPosition();
    if (kind === "stale") {
      const fresh = dialogBody.querySelector("[data-fresh-card] .card");
      if (fresh && !detailHead) {
        const old = document.getElementById(fresh.id);
        const list = listFor(fresh.dataset.stageId);
        if (old) old.remove();
        if (list) list.prepend(fresh);
      }
      if (detailHead) pending.reloadOnClose = true;
    }
    openDialog();
    const focusable = dialogBody.querySelector("input:not([type=hidden]):not([type=checkbox]), textarea")
      || dialogBody.querySelector("input[type=checkbox], button");
    if (focusable) focusable.focus();
  }

  function revertPosition() {
    if (!pending || !pending.card || !pending.from) return;
    if (pending.card.parentElement !== pending.from || indexOf(pending.card) !== pending.index) {
      pending.from.insertBefore(pending.card, pending.from.children[pending.index] || null);
    }
  }

  function indexOf(element) {
    return Array.prototype.indexOf.call(element.parentElement.children, element);
  }

  function revert() {
    revertPosition();
    const focusCard = pending && pending.card && pending.viaMenu ? pending.card : null;
    pending = null;
    if (focusCard) {
      const button = focusCard.querySelector(".move-to");
      if (button) button.focus();
    }
  }

  // --- the dialog --------------------------------------------------------------------------

  function openDialog() {
    if (!dialog.open) dialog.showModal();
  }

  function closeDialog() {
    if (dialog.open) dialog.close();
    dialogBody.innerHTML = "";
  }

  dialog.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-move-form]");
    if (!form || !pending) return;
    event.preventDefault();
    send(new FormData(form));
  });

  // A tick in the gate dialog changes the deal even when the move is then cancelled.
  dialog.addEventListener("change", function (event) {
    if (pending && event.target.matches(".dialog-items input[type=checkbox]")) pending.ticked = true;
  });
  dialog.addEventListener("htmx:afterSwap", updateGate);

  // The gate's Move button waits until every listed item is ticked, and says so.
  function updateGate() {
    const submit = dialog.querySelector("[data-gate-submit]");
    if (!submit) return;
    const open = dialog.querySelectorAll(".dialog-items input[type=checkbox]:not(:checked)").length;
    submit.disabled = open > 0;
    const hint = dialog.querySelector("[data-gate-hint]");
    if (hint) {
      hint.hidden = open === 0;
      const count = hint.querySelector("[data-gate-open]");
      if (count) count.textContent = String(open);
    }
  }

  function afterCancel(done) {
    if (!done || !done.ticked) return;
    if (detailHead) window.location.reload();
    else live.refresh([done.id]);
  }

  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-dialog-cancel]")) {
      const done = pending;
      revert();
      closeDialog();
      afterCancel(done);
      return;
    }
    if (event.target.closest("[data-dialog-close]")) {
      const reload = pending && pending.reloadOnClose;
      pending = null;
      closeDialog();
      if (reload) window.location.reload();
      return;
    }
    const choice = event.target.closest("[data-menu-stage]");
    if (choice && pending) {
      pending.stageId = choice.dataset.menuStage;
      send(new FormData());
    }
  });

  // Escape closes a modal <dialog>: treat it as Cancel.
  dialog.addEventListener("cancel", function () {
    const done = pending;
    revert();
    dialogBody.innerHTML = "";
    afterCancel(done);
  });

  // Arrow keys walk the "Move to…" menu.
  dialog.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = Array.from(dialog.querySelectorAll("[data-menu-stage]:not([disabled])"));
    const at = buttons.indexOf(document.activeElement);
    if (at === -1) return;
    event.preventDefault();
    const next = event.key === "ArrowDown" ? at + 1 : at - 1;
    buttons[(next + buttons.length) % buttons.length].focus();
  });

  // --- "Move to…" ----------------------------------------------------------------------------

  function openMenu(card) {
    const source = card || detailHead;
    const name = card
      ? card.querySelector(".card-title").textContent
      : document.querySelector(".opportunity-head h1").firstChild.textContent.trim();
    const current = source.dataset.stageId;
    pending = {
      id: source.dataset.opportunityId,
      card: card,
      from: null,
      index: 0,
      stageId: current,
      fromStage: current,
      version: source.dataset.version,
      viaMenu: true,
    };
    const wrapper = document.createElement("div");
    wrapper.className = "move-dialog move-dialog-menu";
    wrapper.dataset.dialogKind = "menu";
    const title = document.createElement("h2");
    title.id = "move-dialog-title";
    title.textContent = "Move “" + name + "” to…";
    const list = document.createElement("ul");
    list.className = "stage-menu";
    list.setAttribute("role", "list");
    stages.forEach(function (stage) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button kind-" + stage.kind;
      button.dataset.menuStage = stage.id;
      button.textContent = stage.name;
      if (String(stage.id) === String(current)) {
        button.disabled = true;
        button.setAttribute("aria-current", "true");
        const here = document.createElement("span");
        here.className = "muted";
        here.textContent = "current";
        button.appendChild(here);
      }
      item.appendChild(button);
      list.appendChild(item);
    });
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button subtle";
    cancel.dataset.dialogCancel = "";
    cancel.textContent = "Cancel";
    wrapper.append(title, list, cancel);
    dialogBody.replaceChildren(wrapper);
    openDialog();
    const first = list.querySelector("button:not([disabled])");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    const menuButton = event.target.closest("[data-move-menu]");
    if (menuButton && !pending) {
      event.preventDefault();
      openMenu(menuButton.closest(".card"));
      return;
    }
    const direct = event.target.closest("[data-move-to]");
    if (direct && !pending && detailHead) {
      start(null, direct.dataset.moveTo, null, 0);
    }
  });

  // --- drag and drop -----------------------------------------------------------------------

  function initSortables(root) {
    if (!window.Sortable || !root.querySelectorAll) return;
    root.querySelectorAll(".cards[data-sortable]").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      sortables.push(window.Sortable.create(list, {
        group: "board",
        draggable: ".card",
        filter: ".is-locked, .move-to",
        preventOnFilter: false,
        // The fallback drags a clone with pointer events: the same in every browser, touch
        // included, and drivable by tests.
        forceFallback: true,
        fallbackTolerance: 4,
        delay: 150,
        delayOnTouchOnly: true,
        animation: 120,
        onEnd: function (event) {
          if (event.from === event.to) return;
          start(event.item, event.to.dataset.stageId, event.from, event.oldIndex);
        },
      }));
    });
  }

  // --- the live board: other people's moves appear within seconds ---------------------------
  // Every LIVE_MS the board asks what moved since its last answer (204 when nothing did). A
  // card being dragged, or moved by this page, is left alone: the next answer brings it again.

  const LIVE_MS = 2500;
  const live = (function () {
    const status = document.querySelector("[data-live-board]");
    if (!status || detailHead) return { refresh: function () {} };
    const inbox = document.createElement("div");
    inbox.id = "live-inbox";
    inbox.hidden = true;
    document.body.appendChild(inbox);
    let since = status.dataset.since;
    let asking = false;
    let extra = [];
    let forced = [];
    let askedFor = null; // the filters an answer was computed with

    function dragging() {
      return Boolean(pending) || Boolean(document.querySelector(".sortable-chosen, .sortable-fallback"));
    }

    function ask(cards) {
      if (asking || dragging()) return;
      const root = board();
      if (!root) return;
      asking = true;
      askedFor = root.dataset.boardQuery || "";
      const query = new URLSearchParams(askedFor);
      query.set("since", since);
      forced = (cards || []).concat(extra).map(String);
      forced.forEach(function (id) { query.append("card", id); });
      extra = [];
      const base = status.dataset.changesUrl;
      window.htmx.ajax("GET", base + (base.indexOf("?") === -1 ? "?" : "&") + query.toString(), {
        source: status, target: "#live-inbox", swap: "innerHTML",
      });
    }

    status.addEventListener("htmx:afterRequest", function (event) {
      asking = false;
      const xhr = event.detail.xhr;
      if (!xhr || (xhr.status !== 200 && xhr.status !== 204 && xhr.status !== 205)) return;
      if (xhr.getResponseHeader("X-Board-Reload")) {
        since = xhr.getResponseHeader("X-Board-Since") || since;
        reloadBoard();
        return;
      }
      if (xhr.status === 200 && !apply()) return; // a drag began meanwhile: ask again later
      since = xhr.getResponseHeader("X-Board-Since") || since;
    });
    // A 205 is not an error here: it asks for a fresh board.
    status.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.xhr.status === 205) { event.detail.shouldSwap = false; event.detail.isError = false; }
    });

    function reloadBoard() {
      const root = board();
      if (!root) return;
      window.htmx.ajax("GET", window.location.pathname + window.location.search, {
        source: root, target: "#board", select: "#board", swap: "outerHTML",
      });
    }

    function apply() {
      // A drag began meanwhile, or the filters changed: this answer is for another board.
      const root = board();
      if (dragging() || !root || (root.dataset.boardQuery || "") !== askedFor) {
        inbox.innerHTML = "";
        return false;
      }
      inbox.querySelectorAll("template[data-card]").forEach(function (template) {
        const fresh = template.content.firstElementChild;
        const old = document.getElementById("card-" + template.dataset.card);
        const asked = forced.indexOf(template.dataset.card) !== -1;
        if (old && !asked && Number(old.dataset.version) >= Number(template.dataset.version)) return;
        const list = listFor(template.dataset.stage);
        if (!list || !fresh) { if (old) old.remove(); return; }
        if (old && old.parentElement === list) old.replaceWith(fresh);
        else { if (old) old.remove(); list.prepend(fresh); }
        fresh.classList.add("is-live");
        window.htmx.process(fresh);
      });
      inbox.querySelectorAll("template[data-gone]").forEach(function (template) {
        const old = document.getElementById("card-" + template.dataset.gone);
        if (old) old.remove();
      });
      inbox.querySelectorAll("template[data-column-head]").forEach(function (template) {
        const head = document.getElementById("column-head-" + template.dataset.columnHead);
        const fresh = template.content.firstElementChild;
        if (head && fresh) {
          const collapsed = head.closest(".column.is-collapsed");
          head.replaceWith(fresh);
          if (collapsed) syncToggle(collapsed);
        }
      });
      inbox.innerHTML = "";
      return true;
    }

    setInterval(function () {
      if (document.visibilityState === "visible") ask();
    }, LIVE_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") ask();
    });
    return { refresh: function (ids) { extra = extra.concat(ids); ask(); } };
  })();

  // --- Won and Lost fold away (remembered per browser) -----------------------------------------

  const FOLDED = "epos.board.folded";
  function folded() {
    try { return JSON.parse(localStorage.getItem(FOLDED) || "[]"); } catch (e) { return []; }
  }
  function syncToggle(column) {
    const button = column.querySelector("[data-column-toggle]");
    if (button) button.setAttribute("aria-expanded", column.classList.contains("is-collapsed") ? "false" : "true");
  }
  function applyFolded(root) {
    const kinds = folded();
    (root.querySelectorAll ? root : document).querySelectorAll(".column[data-stage-kind]").forEach(function (column) {
      column.classList.toggle("is-collapsed", kinds.indexOf(column.dataset.stageKind) !== -1);
      syncToggle(column);
    });
  }
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-column-toggle]");
    if (!toggle) return;
    const column = toggle.closest(".column");
    column.classList.toggle("is-collapsed");
    const kinds = folded().filter(function (kind) { return kind !== column.dataset.stageKind; });
    if (column.classList.contains("is-collapsed")) kinds.push(column.dataset.stageKind);
    try { localStorage.setItem(FOLDED, JSON.stringify(kinds)); } catch (e) { /* private mode */ }
    syncToggle(column);
  });
  applyFolded(document);
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt.id === "board") applyFolded(event.detail.elt);
  });

  initSortables(document);
  document.addEventListener("htmx:load", function (event) { initSortables(event.detail.elt); });
  // After the filters replace the board, drop Sortable instances whose lists are gone.
  document.addEventListener("htmx:afterSwap", function () {
    for (let i = sortables.length - 1; i >= 0; i -= 1) {
      if (!document.body.contains(sortables[i].el)) sortables.splice(i, 1);
    }
  });
})();
