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
