// Measures the slide reveal.js shows now, as the audience sees it (page coordinates, after scaling).
// Returns plain data; the Python test decides what counts as a failure.
() => {
  const slide = Reveal.getCurrentSlide();
  // the bounds: reveal's slide canvas as drawn (scaled) on the screen, clipped to the viewport
  const canvas = document.querySelector(".reveal .slides").getBoundingClientRect();
  const frame = {left: Math.max(0, canvas.left), top: Math.max(0, canvas.top),
                 right: Math.min(window.innerWidth, canvas.right), bottom: Math.min(window.innerHeight, canvas.bottom)};
  const vw = window.innerWidth, vh = window.innerHeight;
  const mathjax = el => el.closest && el.closest(".MathJax, .MathJax_CHTML, .MathJax_Display, .MJX_Assistive_MathML, mjx-container");
  const describe = el => {
    const cell = el.closest ? el.closest(".jp-Cell") : null;
    const kind = cell ? (cell.classList.contains("jp-CodeCell") ? "code cell" : "markdown cell") : el.tagName.toLowerCase();
    const text = ((cell || el).innerText || "").trim().replace(/\s+/g, " ").slice(0, 70);
    return `${kind} "${text}"`;
  };
  const box = {left: 0, top: 0, right: 0, bottom: 0};
  const culprit = {left: null, top: null, right: null, bottom: null};
  const extend = (r, el) => {
    if (r.width <= 0 || r.height <= 0) return;
    const beyond = {left: frame.left - r.left, top: frame.top - r.top, right: r.right - frame.right,
                    bottom: r.bottom - frame.bottom};
    for (const side in beyond) {
      if (beyond[side] > box[side]) { box[side] = beyond[side]; culprit[side] = describe(el); }
    }
  };
  const clipped = [];
  let minFont = Infinity, minFontText = "";
  // a folded answer shows its summary only (Chromium still lays the rest out, unseen)
  const folded = node => {
    const el = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const details = el && el.closest("details:not([open])");
    return details && !(details.querySelector(":scope > summary") || details).contains(el);
  };
  const walker = document.createTreeWalker(slide, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      if (folded(node)) return NodeFilter.FILTER_REJECT;
      if (node.nodeType === Node.ELEMENT_NODE) {
        const style = getComputedStyle(node);
        if (style.display === "none" || style.visibility === "hidden") return NodeFilter.FILTER_REJECT;
        if (node.tagName === "ASIDE" && node.classList.contains("notes")) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
      if (!rects.length) continue;  // inside a folded <details>, or otherwise not drawn
      const parent = node.parentElement;
      for (const r of rects) extend(r, parent);
      if (!mathjax(parent) && parent.offsetHeight > 0) {
        // the font size the audience sees: CSS size times the on-screen scale of the parent
        const scale = parent.getBoundingClientRect().height / parent.offsetHeight;
        const px = parseFloat(getComputedStyle(parent).fontSize) * scale;
        if (px < minFont) { minFont = px; minFontText = node.textContent.trim().slice(0, 40); }
      }
      continue;
    }
    const r = node.getBoundingClientRect();
    if (node.tagName === "IMG" || node.tagName === "svg" || node.tagName === "CANVAS") extend(r, node);
    const style = getComputedStyle(node);
    const hides = v => v === "hidden" || v === "auto" || v === "scroll" || v === "clip";
    if (node !== slide && !mathjax(node)
        && ((hides(style.overflowY) && node.scrollHeight > node.clientHeight + 2)
         || (hides(style.overflowX) && node.scrollWidth > node.clientWidth + 2))) {
      clipped.push(`${describe(node)}: <${node.tagName.toLowerCase()} class="${node.className}"> hides ${node.scrollWidth - node.clientWidth} px across, ${node.scrollHeight - node.clientHeight} px down`);
    }
  }
  // the slide itself scrolling (nbconvert's reveal_scroll) hides what lies below its fold
  if (slide.scrollHeight > slide.clientHeight + 2 && getComputedStyle(slide).overflowY !== "visible") {
    clipped.push(`the slide scrolls: ${slide.scrollHeight - slide.clientHeight} px lie below its fold`);
  }
  const images = [...slide.querySelectorAll("img")].filter(img => img.getBoundingClientRect().width > 0 || img.naturalWidth > 0).map(img => {
    const r = img.getBoundingClientRect();
    let inside = r.width > 0 && r.left >= frame.left - 1 && r.top >= frame.top - 1
                 && r.right <= frame.right + 1 && r.bottom <= frame.bottom + 1;
    // an ancestor that clips (overflow other than visible) must hold the whole image too
    for (let el = img.parentElement; el && el !== slide.parentElement; el = el.parentElement) {
      const s = getComputedStyle(el);
      if (s.overflowX !== "visible" || s.overflowY !== "visible") {
        const a = el.getBoundingClientRect();
        if (r.left < a.left - 1 || r.top < a.top - 1 || r.right > a.right + 1 || r.bottom > a.bottom + 1) inside = false;
      }
    }
    const nw = img.naturalWidth, nh = img.naturalHeight;
    // the largest size the image could have on this screen, aspect kept, never enlarged
    const best = Math.min(1, vw / nw, vh / nh);
    return {
      loaded: img.complete && nw > 0, inside,
      width: Math.round(r.width), height: Math.round(r.height), natural: [nw, nh],
      aspect_error: nw ? Math.abs((r.width / r.height) / (nw / nh) - 1) : 1,
      size_ratio: nw ? (r.width / nw) / best : 0,
    };
  });
  const idx = Reveal.getIndices();
  return {
    slide: `${idx.h}.${idx.v || 0}`,
    frame: [frame.left, frame.top, frame.right, frame.bottom].map(Math.round),
    title: (slide.querySelector("h1, h2, h3, h4") || {}).innerText || "",
    overflow: box, culprit, clipped, images,
    fitted: slide.dataset.fitted === undefined ? null : Number(slide.dataset.fitted),
    open_details: slide.querySelectorAll("details[open]").length,
    details: slide.querySelectorAll("details").length,
    min_font_px: minFont === Infinity ? null : Math.round(minFont * 10) / 10, min_font_text: minFontText,
    widget_errors: (slide.innerText.match(/Error displaying widget/g) || []).length,
  };
}
