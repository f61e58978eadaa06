// Editor: keep the line-number gutter scrolled with the text, and renumber it as lines are added.
document.addEventListener("DOMContentLoaded", () => {
  for (const editor of document.querySelectorAll(".editor")) {
    const gutter = editor.querySelector(".gutter");
    const text = editor.querySelector("textarea");
    const marked = new Set((editor.dataset.problemLines || "").split(",").filter(Boolean).map(Number));
    const render = () => {
      const count = text.value.split("\n").length;
      if (gutter.childElementCount === count) return;
      gutter.replaceChildren(...Array.from({ length: count }, (_, i) => {
        const span = document.createElement("span");
        span.textContent = String(i + 1);
        if (marked.has(i + 1)) span.className = "err";
        return span;
      }));
    };
    text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
    text.addEventListener("input", render);
    render();
  }
  // Clicking a problem's line link moves the caret to that line in the editor.
  for (const link of document.querySelectorAll(".problem a[href^='#L']")) {
    link.addEventListener("click", (event) => {
      const text = document.querySelector(".editor textarea");
      if (!text) return;
      event.preventDefault();
      const line = Number(link.getAttribute("href").slice(2));
      const offset = text.value.split("\n").slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
      text.focus();
      text.setSelectionRange(offset, offset);
      text.scrollTop = (line - 3) * parseFloat(getComputedStyle(text).lineHeight || "16");
    });
  }
});

// Selects marked data-autosubmit submit their form on change (no inline handlers: the CSP forbids them).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
// A report a background job is computing ([data-job-state] queued or running): ask the server for
// the page every 5 s and reload it only once the job's state has changed (the result is in).
document.addEventListener("DOMContentLoaded", () => {
  const marker = document.querySelector("[data-job-state]");
  if (!marker || !["queued", "running"].includes(marker.dataset.jobState)) return;
  const poll = async () => {
    try {
      const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const now = page.querySelector("[data-job-state]");
      if (now && now.dataset.jobState !== marker.dataset.jobState) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // The server away for a moment: try again at the next tick.
    }
    window.setTimeout(poll, 5000);
  };
  window.setTimeout(poll, 5000);
});
