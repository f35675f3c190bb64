// Keel's built-in script: marks the page as scripted and copies the
// request id shown on error pages with a click. No inline script is
// needed, so the strict Content-Security-Policy holds.
(function () {
  "use strict";
  document.documentElement.classList.add("keel-js");
  document.addEventListener("click", function (event) {
    var code = event.target.closest("[data-copy]");
    if (code && navigator.clipboard) {
      navigator.clipboard.writeText(code.textContent.trim());
    }
  });
})();
