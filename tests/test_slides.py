"""Instructor mode: slide structure from sections, decks arranged for the screen (no browser here;
tests/browser/test_decks.py looks at every real deck in Chromium)."""

from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from lecture_utils.authoring import SLIDE_CODE, count_exercises, is_bookkeeping_cell, mark_slides
from lecture_utils.decks import (
    CAPTION_CHARS,
    MAX_OUTPUT_LINES,
    PROSE_CHARS,
    executed_copy,
    render_deck,
    screen_notebook,
    screen_outputs,
    split_pages,
    split_sections,
)

REPO = Path(__file__).parents[1]
VENDOR = REPO / "build" / "slides" / "vendor"
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def figure():
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def widget_view():
    return nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "HBox(children=(FloatSlider(value=1.0),))"})


def kinds(nb):
    return [c.metadata["slideshow"]["slide_type"] for c in nb.cells]


def lecture():
    """A small executed notebook with every kind of cell the course has."""
    return nbformat.v4.new_notebook(cells=[
        md("# Title\ntext"),
        code('import torch\nDEVICE = setup("demo")'),
        md("## First idea\nprose"),
        code("plot()", outputs=[figure(), stream("a caption\n")]),
        md("### A detail"),
        md("prose with a # that is not a heading"),
        code("def iou(a, b):\n    return 0.5", metadata={"tags": [SLIDE_CODE]}),
        code("assert iou(1, 2) == 0.5\nprint('checked')", outputs=[stream("checked\n")]),
        code('record("iou", iou(1, 2))'),
        code("x = 1"),
        md("<details><summary>Answer</summary>\n\n## not a section inside an answer\n</details>\n\n## Second idea\nmore"),
        code("viz.interactive_figure(draw, x=slider)", outputs=[figure(), widget_view(), stream("warn\n", "stderr")]),
        code("summary = finish()", outputs=[stream("Measured in this run\n")]),
    ])


def test_mark_slides_follows_the_sections():
    nb = lecture()
    assert mark_slides(nb) == 3
    assert kinds(nb) == ["slide", "skip", "slide", "subslide", "subslide", "-", "subslide", "-", "skip", "-",
                         "slide", "subslide", "skip"]


@pytest.mark.parametrize("source, expected", [
    ('import torch\n\nDEVICE = setup("01_iou_map")\nSEED = 3', True),
    ('record("AP50", round(ap, 3))\nassert ap > 0.5', True),
    ("summary = finish()", True),
    ("import numpy as np", True),
    ('assert x > 0\nprint("ok")', False),
    ("%time y = f(x)", False),
    ("x = record_everything()", False),
    ("def f(:", False),
])
def test_bookkeeping_cells(source, expected):
    assert is_bookkeeping_cell(code(source)) is expected


def test_headings_after_other_text_start_their_own_cell():
    cells = split_sections([md("<details><summary>Q</summary>\n\n## inside\n</details>\n\n## Next\nprose\n"
                               "```\n# a comment in a fence\n```\n### Detail"), code("# not markdown\n## at all")])
    assert [c.source.split("\n")[0] for c in cells] == ["<details><summary>Q</summary>", "## Next", "### Detail",
                                                        "# not markdown"]
    assert len({c.id for c in cells}) == len(cells)


def test_outputs_for_the_screen():
    long = "".join(f"line {i}\n" for i in range(30))
    out = screen_outputs([stream("a\n"), stream(long), stream("noise", "stderr"), widget_view(), figure()])
    assert [o.output_type for o in out] == ["stream", "display_data"]
    text = out[0].text.rstrip("\n").split("\n")
    assert len(text) == MAX_OUTPUT_LINES and text[0] == "a" and "ещё 22 строк" in text[-1]
    assert set(out[1].data) == {"image/png"}
    source = nbformat.v4.new_output("display_data", data={"text/html": "<div class='highlight'>…</div>",
                                                          "text/plain": "def f():\n" + "    pass\n" * 40})
    shown = screen_outputs([source])[0]
    assert set(shown.data) == {"text/plain"} and "ещё" in shown.data["text/plain"]
    short = nbformat.v4.new_output("display_data", data={"text/html": "<b>x</b>", "text/plain": "x"})
    assert screen_outputs([short])[0].data == short.data


def test_screen_notebook_hides_code_and_drops_bookkeeping():
    nb = lecture()
    nb.metadata["widgets"] = {"state": {}}
    deck = screen_notebook(nb)
    assert "widgets" not in deck.metadata
    sources = [c.source for c in deck.cells]
    assert not any("setup(" in s or "record(" in s or "finish()" in s or s == "x = 1" for s in sources)
    hidden = {c.source: c.metadata.get("transient", {}).get("remove_source", False)
              for c in deck.cells if c.cell_type == "code"}
    assert hidden == {"plot()": True, "def iou(a, b):\n    return 0.5": False,
                      "assert iou(1, 2) == 0.5\nprint('checked')": True,
                      "viz.interactive_figure(draw, x=slider)": True}
    # figure and code sub-slides carry their section's title; a ### sub-slide has its own
    labels = [(c.source, k) for c, k in zip(deck.cells, kinds(deck), strict=True) if "deck-section" in c.source]
    assert [(s.split("\n\n")[1], k) for s, k in labels] == [("First idea", "subslide"), ("First idea", "subslide"),
                                                            ("Second idea", "subslide")]
    assert sum(k == "slide" for k in kinds(deck)) == 3
    assert lecture().cells[1].source.startswith("import")  # the original is untouched


def test_long_prose_after_a_figure_moves_to_the_next_sub_slide():
    caption, discussion = "a short caption", "x" * CAPTION_CHARS
    nb = nbformat.v4.new_notebook(cells=[md("## Idea"), code("plot()", outputs=[figure()]), md(caption),
                                         md(discussion), md("more")])
    deck = screen_notebook(nb)
    subslides = [[]]
    for cell, kind in zip(deck.cells, kinds(deck), strict=True):
        if kind in ("slide", "subslide"):
            subslides.append([])
        subslides[-1].append(cell.source)
    assert subslides[2][1:] == ["plot()", caption]  # the figure keeps its caption
    assert subslides[3][1:] == [discussion, "more"] and "Idea" in subslides[3][0]  # the rest follows, titled


def test_long_prose_is_cut_into_pages_at_paragraph_breaks():
    paragraph = "word " * (PROSE_CHARS // 12)  # 5/12 of a page
    answer = "<details><summary>Q</summary>\n\n" + "answer\n\n" * (PROSE_CHARS // 7) + "</details>"
    source = "\n\n".join([paragraph, paragraph, paragraph, answer, "$$\na\n\nb\n$$"])
    pages = split_pages(md(source))
    assert [p.source for p in pages] == ["\n\n".join([paragraph, paragraph]), paragraph, answer, "$$\na\n\nb\n$$"]
    assert [p.metadata.get("deck_page", False) for p in pages] == [False, True, True, True]
    assert len(split_pages(md("short"))) == 1
    deck = screen_notebook(nbformat.v4.new_notebook(cells=[md("## Long"), md(source)]))
    assert kinds(deck).count("subslide") == 3  # each page after the first, under the section's title


class _Deck(HTMLParser):
    """Counts reveal's slides (<section> directly inside <div class="slides">) and open answers."""

    def __init__(self):
        super().__init__()
        self.depth, self.in_slides, self.top, self.sub, self.open_details, self.remote = 0, False, 0, 0, 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "slides":
            self.in_slides = True
        elif tag == "section" and self.in_slides:
            self.depth += 1
            self.top += self.depth == 1
            self.sub += self.depth == 2
        elif tag == "details" and "open" in attrs:
            self.open_details += 1
        url = attrs.get("src") or (attrs.get("href") if tag == "link" else None)
        if url and url.startswith(("http:", "https:", "//")):
            self.remote.append(url)

    def handle_endtag(self, tag):
        if tag == "section" and self.in_slides:
            self.depth -= 1


def test_render_deck_from_an_executed_notebook(tmp_path):
    path = tmp_path / "demo.ipynb"
    nbformat.write(lecture(), path)
    if (VENDOR / "node_modules" / "reveal.js").exists():
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "vendor").symlink_to(VENDOR, target_is_directory=True)
    deck, slides = render_deck(path, tmp_path / "out")
    html = deck.read_text(encoding="utf-8")
    parser = _Deck()
    parser.feed(html)
    assert slides == parser.top == 3
    assert parser.sub == 3 + 4  # one per slide, plus the figure, the ###, the code and the widget's figure
    assert html.count("<details") == 1 and parser.open_details == 0  # folded answers stay folded
    assert html.count("<img ") == 2 and "DEVICE = setup" not in html and "FloatSlider" not in html
    assert html.count("class=\"nf\">iou<") == 1  # the tagged code is shown
    if (VENDOR / "node_modules" / "reveal.js").exists():
        assert parser.remote == [], parser.remote  # the deck opens offline
    assert "lectureDeck" in html and "width: SCREEN.width" in html


def test_executed_copy_must_match_the_notebook(tmp_path):
    (tmp_path / "ran").mkdir()
    nb = lecture()
    nbformat.write(nb, tmp_path / "demo.ipynb")
    assert executed_copy(tmp_path / "demo.ipynb", tmp_path / "ran") is None
    nbformat.write(nb, tmp_path / "ran" / "demo.ipynb")
    assert executed_copy(tmp_path / "demo.ipynb", tmp_path / "ran") == tmp_path / "ran" / "demo.ipynb"
    nb.cells[2].source += " (edited)"
    nbformat.write(nb, tmp_path / "demo.ipynb")
    assert executed_copy(tmp_path / "demo.ipynb", tmp_path / "ran") is None
    with pytest.raises(ValueError, match="source"):
        render_deck(tmp_path / "ran" / "demo.ipynb", tmp_path / "out", source=tmp_path / "demo.ipynb")


NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_carry_current_slide_marks(path):
    """RISE reads the marks from the notebooks; `python scripts/make_slides.py --mark` refreshes them."""
    nb = nbformat.read(path, as_version=4)
    committed = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    mark_slides(nb)
    assert committed == kinds(nb)
    # RISE: a long live slide scrolls instead of being cut; the white theme fetches no web fonts
    assert nb.metadata.get("rise") == {"scroll": True, "theme": "white"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_show_their_code_on_the_slides(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and count_exercises(nbformat.v4.new_notebook(cells=[cell])):
            assert SLIDE_CODE in cell.metadata.get("tags", []), f"{path.name} cell {i}: an exercise without {SLIDE_CODE!r}"
