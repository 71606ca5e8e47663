// The deal workspace: its sections become tabs (the URL's #fragment says which), and the undo
// bar after a move disappears when its time is up. Without this file every section shows.
(function () {
  "use strict";

  const nav = document.querySelector("[data-deal-tabs]");
  if (nav) {
    const tabs = Array.from(nav.querySelectorAll("a[data-tab]"));
    const sections = tabs.map(function (tab) { return document.getElementById(tab.dataset.tab); });
    nav.setAttribute("role", "tablist");
    tabs.forEach(function (tab, index) {
      tab.setAttribute("role", "tab");
      tab.id = "tab-" + tab.dataset.tab;
      const section = sections[index];
      if (section) {
        section.setAttribute("role", "tabpanel");
        section.setAttribute("aria-labelledby", tab.id);
      }
    });

    function sectionFor(hash) {
      const id = (hash || "").replace(/^#/, "");
      if (!id) return null;
      const direct = tabs.find(function (tab) { return tab.dataset.tab === id; });
      if (direct) return direct.dataset.tab;
      // A link into a section (#tl-move-12, #check-item-3) opens the section that holds it.
      const target = document.getElementById(id);
      const holder = target && target.closest("[data-section]");
      return holder ? holder.id : null;
    }

    function show(name, focus) {
      tabs.forEach(function (tab, index) {
        const active = tab.dataset.tab === name;
        tab.setAttribute("aria-selected", active ? "true" : "false");
        tab.tabIndex = active ? 0 : -1;
        if (sections[index]) sections[index].hidden = !active;
        if (active && focus) tab.focus();
      });
    }

    nav.addEventListener("click", function (event) {
      const tab = event.target.closest("a[data-tab]");
      if (!tab) return;
      event.preventDefault();
      show(tab.dataset.tab, false);
      history.replaceState(null, "", "#" + tab.dataset.tab);
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const at = tabs.indexOf(document.activeElement);
      if (at === -1) return;
      event.preventDefault();
      const next = tabs[(at + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      show(next.dataset.tab, true);
      history.replaceState(null, "", "#" + next.dataset.tab);
    });
    window.addEventListener("hashchange", function () {
      const name = sectionFor(location.hash);
      if (name) show(name, false);
    });
    const first = sectionFor(location.hash) || tabs[0].dataset.tab;
    show(first, false);
    const anchor = location.hash && document.getElementById(location.hash.slice(1));
    if (anchor && !anchor.matches("[data-section]")) anchor.scrollIntoView({ block: "center" });
  }

  // The undo bar goes when the server would no longer offer the undo.
  const undo = document.querySelector("[data-undo-until]");
  if (undo) {
    const left = Number(undo.dataset.undoUntil) * 1000 - Date.now();
    setTimeout(function () { undo.remove(); }, Math.max(0, left));
  }
})();
