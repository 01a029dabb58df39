"""The lecture hall: every notebook's deck, in headless Chromium at 1280x720, slide by slide.

For each slide and sub-slide the check asserts that nothing reaches past the screen's edges or
hides behind a scroll bar, that every figure is loaded and shown whole (inside the screen, not
squashed, at least ``MIN_FIGURE_SCALE`` of the size it could have alone on this screen), that
text stays legible and that folded answers are still folded. The decks are rendered from the
notebooks ``make test`` executed (``build/executed/cpu``), so no notebook runs twice; the
screenshots land in ``build/slides/shots/<notebook>/`` for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from browser_support import REPO, SCREEN, SLIDES, executed_notebook, notebook_names, unavailable

PROBE = (Path(__file__).parent / "slide_probe.js").read_text(encoding="utf-8")
SHOTS = SLIDES / "shots"
#: the smallest text the audience must be able to read, in screen pixels at 1280x720
MIN_FONT_PX = 14.0
#: a figure shares its slide, but keeps at least this share of the size it would have alone
MIN_FIGURE_SCALE = 0.45
LOCAL = ("file:", "data:", "blob:", "about:")
#: rounding, borders and anti-aliasing: a pixel past an edge is not an overflow
TOLERANCE_PX = 1.5

# reveal.js runs inside RequireJS in nbconvert's decks; this finds it whatever the deck's own scripts do
FIND_REVEAL = """() => {
  if (!window.Reveal && window.requirejs) {
    const defined = requirejs.s.contexts._.defined;
    const key = Object.keys(defined).find(k => k.endsWith("dist/reveal.js"));
    if (key) window.Reveal = defined[key];
  }
  return !!(window.Reveal && Reveal.isReady && Reveal.isReady());
}"""
# MathJax typesets a slide when it is shown; measure only once it is done and the page has drawn
SETTLE = """() => new Promise(resolve => {
  const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
  if (window.MathJax && MathJax.Hub && MathJax.Hub.Queue) MathJax.Hub.Queue(done); else done();
})"""
# a deck that fits its slides itself marks each slide once fitted; older decks have no such step
FITTED = "() => !window.lectureDeck || Reveal.getCurrentSlide().dataset.fitted !== undefined"


def slide_problems(m: dict) -> list[str]:
    """What is wrong with one measured slide (``slide_probe.js``), in words; empty if nothing."""
    problems = []
    for side, px in m["overflow"].items():
        if px > TOLERANCE_PX:
            problems.append(f"content reaches {px:.0f} px past the slide's {side} edge ({m['culprit'][side]})")
    problems += m["clipped"]
    for i, image in enumerate(m["images"], start=1):
        name = f"figure {i} ({image['natural'][0]}x{image['natural'][1]} px)"
        if not image["loaded"]:
            problems.append(f"{name} did not load")
        elif not image["inside"]:
            problems.append(f"{name} is not shown whole: it is cut by the screen or by a scrolling box")
        elif image["aspect_error"] > 0.02:
            problems.append(f"{name} is distorted ({image['aspect_error']:.0%} off its aspect ratio)")
        elif image["size_ratio"] < MIN_FIGURE_SCALE:
            problems.append(f"{name} is shown at {image['width']}x{image['height']} px, "
                            f"{image['size_ratio']:.0%} of what the screen allows (need {MIN_FIGURE_SCALE:.0%})")
    if m["open_details"]:
        problems.append(f"{m['open_details']} folded answer(s) are open before anyone clicked")
    if m["min_font_px"] is not None and m["min_font_px"] < MIN_FONT_PX:
        problems.append(f"text as small as {m['min_font_px']} px (\"{m['min_font_text']}\"), "
                        f"need {MIN_FONT_PX:.0f} px")
    if m["widget_errors"]:
        problems.append("a widget shows 'Error displaying widget'")
    for k, opened in enumerate(m.get("answers_open", []), start=1):
        problems += [f"with answer {k} open, {p}" for p in slide_problems(dict(opened, open_details=0))]
    return problems


def toggle_answer(page, index: int, open_: bool) -> None:
    """Open (or close) the folded answer ``index`` of the shown slide, as a click on its summary does."""
    page.evaluate("""([k, o]) => { const slide = Reveal.getCurrentSlide();
        delete slide.dataset.fitted;
        slide.querySelectorAll("details")[k].open = o;
        if (!window.lectureDeck) slide.dataset.fitted = "none"; }""", [index, open_])
    page.wait_for_function("() => Reveal.getCurrentSlide().dataset.fitted !== undefined", timeout=10_000)
    page.evaluate(SETTLE)


def walk_deck(page, deck: Path, shots: Path | None = None) -> tuple[list[dict], list[str]]:
    """Open ``deck`` and step through it with the keyboard, as a presenter does; measure every
    slide and sub-slide (and screenshot it into ``shots``). Returns the measurements in order and
    the addresses of everything the deck fetched from outside the disk (a lecture hall may be offline)."""
    remote: list[str] = []
    listener = lambda request: remote.append(request.url) if not request.url.startswith(LOCAL) else None  # noqa: E731
    page.on("request", listener)
    page.goto(deck.as_uri())
    page.wait_for_function(FIND_REVEAL, timeout=60_000)
    page.evaluate("() => { Reveal.configure({transition: 'none', backgroundTransition: 'none'});"
                  " Reveal.slide(0, 0); }")
    total = page.evaluate("() => Reveal.getTotalSlides()")
    if shots is not None:
        shutil.rmtree(shots, ignore_errors=True)
        shots.mkdir(parents=True)
    measured = []
    for _ in range(total):
        page.evaluate(SETTLE)
        page.wait_for_function(FITTED, timeout=20_000)
        m = page.evaluate(PROBE)
        if shots is not None:
            m["screenshot"] = str(shots / f"{m['slide']}.png")
            page.screenshot(path=shots / f"{m['slide']}.png")
        # the presenter opens an answer (a click on its summary): the slide must still fit
        m["answers_open"] = []
        for k in range(m["details"]):
            toggle_answer(page, k, True)
            m["answers_open"].append(page.evaluate(PROBE))
            toggle_answer(page, k, False)
        measured.append(m)
        if page.evaluate("() => Reveal.isLastSlide()"):
            break
        page.keyboard.press("Space")  # reveal.js: the next slide, going down into sub-slides first
        page.wait_for_function("s => { const i = Reveal.getIndices(); return `${i.h}.${i.v || 0}` !== s; }",
                               arg=m["slide"], timeout=10_000)
    page.remove_listener("request", listener)
    assert len(measured) == total, f"{deck.name}: stepped through {len(measured)} of {total} slides"
    return measured, remote


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page(viewport=SCREEN)
    yield page
    page.close()


@pytest.mark.parametrize("name", notebook_names())
def test_deck_fits_the_screen(page, name):
    from lecture_utils.decks import render_deck

    if not (SLIDES / "vendor" / "node_modules" / "reveal.js").exists():
        unavailable("build/slides/vendor has no reveal.js: `make slide-tools` installs it from npm")
    start = time.perf_counter()
    deck, slides = render_deck(executed_notebook(name), SLIDES, source=REPO / "notebooks" / f"{name}.ipynb")
    measured, remote = walk_deck(page, deck, SHOTS / name)
    assert not remote, f"{name}: the deck fetches from the network: {sorted(set(remote))[:5]}"
    (SHOTS / f"{name}.json").write_text(json.dumps(measured, ensure_ascii=False, indent=1), encoding="utf-8")
    figures = sum(len(m["images"]) for m in measured)
    in_deck = deck.read_text(encoding="utf-8").count("<img ")
    assert figures == in_deck, f"{name}: {in_deck} figures in the deck, {figures} seen while stepping through"
    bad = {f"slide {m['slide']} {m['title'][:40]!r}": p for m in measured if (p := slide_problems(m))}
    print(f"{name}: {len(measured)} slides, {figures} figures, {len(bad)} bad, "
          f"{time.perf_counter() - start:.1f} s")
    assert not bad, f"{name}: {len(bad)} of {len(measured)} slides do not fit 1280x720 " \
                    f"(screenshots in {SHOTS.relative_to(REPO) / name}):\n" + \
                    "\n".join(f"  {where}: " + "; ".join(p) for where, p in bad.items())
