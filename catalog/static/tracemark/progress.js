// Report issuance progress: polls the report's progress URL until it is issued or failed.
(function () {
  "use strict";
  const cell = document.querySelector("[data-progress-url]");
  if (!cell || !cell.dataset.progressUrl) return;
  const text = document.getElementById("progress");
  const bar = document.getElementById("progress-bar");
  function poll() {
    fetch(cell.dataset.progressUrl, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((p) => {
        if (text) text.textContent = p.progress + "% " + (p.progress_message || "");
        if (bar) bar.value = p.progress;
        if (p.status === "issued" || p.status === "failed") window.location.reload();
        else setTimeout(poll, 1000);
      })
      .catch(() => setTimeout(poll, 3000));
  }
  poll();
})();
