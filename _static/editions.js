// The header button to the other edition (added by _ext/editions.py) opens the counterpart page in
// the same tab, at the section the reader is looking at: sections carry the ids es-1, es-2, ... in
// both editions.
document.addEventListener("DOMContentLoaded", () => {
  const link = document.querySelector("a.edition-switch");
  if (!link) return;
  link.removeAttribute("target");
  link.setAttribute("lang", link.classList.contains("edition-zh-CN") ? "zh-CN" : "en");
  const page = link.getAttribute("href").split("#")[0];
  const current = () => {
    let id = null;
    for (const anchor of document.querySelectorAll("[id^='es-']")) {
      if (anchor.getBoundingClientRect().top > window.innerHeight / 3) break;
      id = anchor.id;
    }
    return id;
  };
  const point = () => { const id = current(); link.href = id ? `${page}#${id}` : page; };
  link.addEventListener("click", point);
  link.addEventListener("mouseenter", point);
  link.addEventListener("focus", point);
});
