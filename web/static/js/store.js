/* Progressive enhancement for the storefront. Everything works without this file:
   it hides no-JS "Apply" buttons (htmx submits on change), moves focus to an
   explanation that htmx just swapped in, copies the share link, and guards
   the order form against double submission (the server is idempotent anyway).

   Ordering: every htmx request carries an increasing sequence number
   (X-Request-Seq); the server echoes it on the panel it answers with, together
   with the stored revision the panel shows (X-Configuration-Revision). An
   answer showing an older revision than the panel on screen is dropped, and of
   two answers showing the same revision the later request wins; so a slow
   answer never replaces a newer one, whichever order the server took the
   clicks in (a late click is applied on top of the earlier ones). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function focusExplanation(root) {
    var why = (root || document).querySelector("[data-autofocus]");
    if (why) { why.focus({ preventScroll: false }); }
  }

  var sent = 0;
  var shown = 0;
  var shownRevision = 0;

  function dropStale(event) {
    var xhr = event.detail.xhr;
    var seq = parseInt((xhr && xhr.getResponseHeader("X-Request-Seq")) || "", 10);
    if (isNaN(seq)) { return; }
    if (xhr.status === 409) {
      // A click made on an older revision: the answer is the configuration as saved now, show it.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
    var revision = parseInt(xhr.getResponseHeader("X-Configuration-Revision") || "", 10);
    var older = isNaN(revision)
      ? seq < shown
      : revision < shownRevision || (revision === shownRevision && seq < shown);
    if (older) {
      event.detail.shouldSwap = false;  // an older answer arriving late: keep the newer panel
      event.detail.ignoreTitle = true;
      return;
    }
    shown = Math.max(shown, seq);
    if (!isNaN(revision)) { shownRevision = revision; }
    var target = event.detail.target;
    if (target && target.id === "panel" && !document.body.contains(target)) {
      // An earlier answer already replaced the panel this request was made from: swap into the current one.
      event.detail.target = document.getElementById("panel");
    }
  }

  document.addEventListener("htmx:configRequest", function (event) {
    sent += 1;
    event.detail.headers["X-Request-Seq"] = String(sent);
    // The answer's beforeSwap event fires on the request's target, which a newer answer may
    // already have replaced (a detached element's events never reach the document): listen
    // on the target itself.
    var target = event.detail.target;
    if (target && !target.hasAttribute("data-seq-guard")) {
      target.setAttribute("data-seq-guard", "");
      target.addEventListener("htmx:beforeSwap", dropStale);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "panel") {
      var panel = document.getElementById("panel");
      var from = event.detail.requestConfig && event.detail.requestConfig.elt;
      if (from && from.hasAttribute && from.hasAttribute("data-step-link")) {
        var heading = panel && panel.querySelector(".step-title");
        if (heading) { heading.focus({ preventScroll: true }); }
        return;
      }
      focusExplanation(panel);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); return; }
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
