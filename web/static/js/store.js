/* Progressive enhancement for the storefront. Everything works without this file:
   it hides no-JS "Apply" buttons (htmx submits on change), moves focus to an
   explanation that htmx just swapped in, copies the share link, and guards
   the order form against double submission (the server is idempotent anyway). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function focusExplanation(root) {
    var why = (root || document).querySelector("[data-autofocus]");
    if (why) { why.focus({ preventScroll: false }); }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "panel") {
      focusExplanation(document.getElementById("panel"));
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) { return; }
    input.select();
    var done = function () { button.textContent = button.getAttribute("data-copied") || button.textContent; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else {
      done();
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-submit-once")) { return; }
    if (form.getAttribute("data-submitted") === "1") { event.preventDefault(); return; }
    form.setAttribute("data-submitted", "1");
    var button = form.querySelector("[type=submit]");
    if (button) { button.setAttribute("aria-busy", "true"); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#why") { focusExplanation(document); }
  });
})();
