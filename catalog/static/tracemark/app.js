// Tracemark pages: no inline scripts (CSP script-src 'self').
(function () {
  "use strict";
  // Wide tables scroll sideways inside a wrapper; when they do, the wrapper is a labelled region
  // reachable from the keyboard (the table keeps its own semantics).
  function scrollableTables() {
    for (const table of document.querySelectorAll("table.data")) {
      let wrap = table.parentElement;
      if (!wrap.classList.contains("table-scroll")) {
        wrap = document.createElement("div");
        wrap.className = "table-scroll";
        table.replaceWith(wrap);
        wrap.appendChild(table);
      }
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        const heading = wrap.closest("section") && wrap.closest("section").querySelector("h2");
        wrap.setAttribute("aria-label", (heading ? heading.textContent : "Table") + " (scrolls sideways)");
      } else {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scrollableTables);
  else scrollableTables();
  window.addEventListener("resize", scrollableTables);
})();
