"""Instructor mode: slide metadata from sections, a rendered deck, and a headless-browser look at it."""

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import nbformat
import numpy as np
import pytest

from lecture_utils.authoring import is_section_heading, mark_slides, render_deck

REPO = Path(__file__).parents[1]
VENDOR = REPO / "build" / "slides" / "vendor"
# CI sets this, so that a missing browser or reveal.js fails the run instead of skipping the check
REQUIRE_BROWSER = os.environ.get("LECTURE_REQUIRE_BROWSER", "") == "1"


def figure_output():
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def test_mark_slides_follows_the_sections():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\ntext"),
        nbformat.v4.new_code_cell("setup()"),
        nbformat.v4.new_markdown_cell("## First idea"),
        nbformat.v4.new_code_cell("plot()", outputs=[figure_output()]),
        nbformat.v4.new_markdown_cell("### A detail"),
        nbformat.v4.new_markdown_cell("prose with a # that is not a heading"),
        nbformat.v4.new_markdown_cell("## Second idea"),
    ])
    assert mark_slides(nb) == 3
    kinds = [c.metadata["slideshow"]["slide_type"] for c in nb.cells]
    assert kinds == ["slide", "-", "slide", "subslide", "subslide", "-", "slide"]
    assert [is_section_heading(c) for c in nb.cells] == [True, False, True, False, False, False, True]


class _TopSections(HTMLParser):
    """Counts the <section> elements directly inside reveal's <div class="slides">."""

    def __init__(self):
        super().__init__()
        self.depth, self.in_slides, self.top = 0, False, 0

    def handle_starttag(self, tag, attrs):
        if tag == "div" and ("class", "slides") in attrs:
            self.in_slides = True
        elif tag == "section" and self.in_slides:
            self.depth += 1
            self.top += self.depth == 1

    def handle_endtag(self, tag):
        if tag == "section" and self.in_slides:
            self.depth -= 1


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """Notebook 01 executed and rendered, next to a link to the offline reveal.js copy."""
    out = tmp_path_factory.mktemp("slides")
    if (VENDOR / "node_modules" / "reveal.js").exists():
        (out / "vendor").symlink_to(VENDOR, target_is_directory=True)
    elif REQUIRE_BROWSER:
        pytest.fail(f"{VENDOR} lacks reveal.js: `make slide-tools` installs it")
    notebook = REPO / "notebooks" / "01_iou_map.ipynb"
    path, slides = render_deck(notebook, out)
    return path, slides, nbformat.read(notebook, as_version=4)


def test_deck_has_one_slide_per_section(deck):
    path, slides, nb = deck
    sections = sum(is_section_heading(c) for c in nb.cells)
    parser = _TopSections()
    parser.feed(path.read_text(encoding="utf-8"))
    assert slides == sections and parser.top == sections
    html = path.read_text(encoding="utf-8")
    folded = sum(c.source.count("<details") for c in nb.cells if c.cell_type == "markdown")
    assert folded and html.count("<details") == folded  # folded answers stay folded (HTML <details>) until clicked
    assert "image/png" in html or "data:image/png" in html  # executed: figures are in the deck


def test_deck_opens_in_headless_chromium(deck, tmp_path):
    browser = shutil.which("chromium")
    if browser is None or not (VENDOR / "node_modules" / "reveal.js").exists():
        if REQUIRE_BROWSER:
            pytest.fail("chromium or the offline reveal.js is missing: `make slide-tools` installs them")
        pytest.skip("chromium or the offline reveal.js is not installed (make slide-tools)")
    path = deck[0]
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,720",
             "--virtual-time-budget=10000"]
    shot = tmp_path / "deck.png"
    subprocess.run(flags + [f"--screenshot={shot}", path.as_uri()], check=True, capture_output=True, timeout=120)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (720, 1280)
    background = np.median(pixels.reshape(-1, 3), axis=0)
    ink = np.abs(pixels - background).sum(-1) > 0.3
    assert ink.mean() > 0.01, f"the screenshot is blank: {ink.mean():.4f} of the pixels differ from the background"
    # reveal.js itself ran (it marks its root "ready"): the offline copy loaded
    dom = subprocess.run(flags + ["--dump-dom", path.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    assert 'class="reveal ' in dom and " ready" in dom.split('class="reveal ', 1)[1].split('"', 1)[0]


def test_committed_notebooks_carry_current_slide_marks():
    """RISE reads the marks from the notebooks; `python scripts/make_slides.py --mark` refreshes them."""
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        committed = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
        mark_slides(nb)
        assert committed == [c.metadata["slideshow"]["slide_type"] for c in nb.cells], path.name
