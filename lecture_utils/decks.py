"""Static slide decks for a 1280x720 screen, rendered from notebooks that have already run.

``lecture_utils.authoring.mark_slides`` gives a notebook its slide structure (shared with RISE);
``screen_notebook`` then arranges a copy of an executed notebook for a projector:

* code is hidden, except in cells tagged ``slide-code`` (the code is the point: an exercise, a
  short algorithm), which get a sub-slide of their own, as do figures and displayed source;
* the set-up cell and cells that only assert or record numbers leave the deck, and so do code
  cells that print nothing;
* long text outputs are trimmed to ``MAX_OUTPUT_LINES`` lines; warnings and progress bars, and
  the sliders of widgets (a static page cannot move them), are left out: their figure stays;
* a markdown cell that runs into the next section's heading is split there;
* a sub-slide repeats its section's title, small, above its figure or code;
* a figure keeps a short caption; longer prose after it (over ``CAPTION_CHARS``) moves on to
  the next sub-slide, and prose longer than ``PROSE_CHARS`` is cut into pages at paragraph breaks;
* folded answers (``<details>``) stay folded.

The deck's own script (``deck_template/lecture_deck/deck.js``) fits each slide to the screen as
it is shown: figures get the height the text leaves, then everything shrinks together, down to a
floor. ``tests/browser/test_decks.py`` checks the result in Chromium.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from lecture_utils.authoring import SLIDE_CODE, heading_levels, mark_slides

__all__ = ["SCREEN", "MAX_OUTPUT_LINES", "MAX_SOURCE_LINES", "CAPTION_CHARS", "PROSE_CHARS", "split_sections",
           "split_pages", "screen_outputs", "screen_notebook", "render_deck", "executed_copy"]

#: the projector's screen, in CSS pixels
SCREEN = (1280, 720)
#: a text output longer than this is cut, with a note saying how much was left out
MAX_OUTPUT_LINES = 10
#: displayed source (``viz.show_source``) longer than this is cut the same way
MAX_SOURCE_LINES = 18
#: prose after a figure longer than this (characters of markdown) moves to the next sub-slide
CAPTION_CHARS = 600
#: a markdown cell longer than this is cut into pages at paragraph breaks, one sub-slide each
PROSE_CHARS = 1200
#: where the decks find reveal.js & co. (relative to the deck, so a deck folder can be copied whole)
VENDOR = "vendor/node_modules"
TEMPLATES = Path(__file__).with_name("deck_template")

_WIDGET = "application/vnd.jupyter.widget-view+json"
_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")


def _split_points(source: str) -> list[int]:
    """Line numbers (after the first) where a ``#``..``###`` heading starts a new part."""
    lines = source.split("\n")
    points, fenced, folded = [], False, 0
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            if number and not folded and (levels := heading_levels(line)) and levels[0] <= 3:
                points.append(number)
            folded += line.count("<details") - line.count("</details>")
    return points


def split_sections(cells: list) -> list:
    """Markdown cells cut before every ``#``..``###`` heading that is not their first line, so
    that a heading always starts its own slide; other cells are returned as they are."""
    out = []
    for cell in cells:
        points = _split_points(cell.source) if cell.cell_type == "markdown" else []
        if not points:
            out.append(cell)
            continue
        lines = cell.source.split("\n")
        for k, (start, stop) in enumerate(zip([0, *points], [*points, len(lines)], strict=True)):
            part = copy.deepcopy(cell)
            part.source = "\n".join(lines[start:stop]).strip("\n")
            if "id" in part:
                part.id = f"{cell.id}-{k}" if k else cell.id
            if part.source:
                out.append(part)
    return out


def _paragraph_breaks(lines: list[str]) -> list[int]:
    """Indices of blank lines that end a top-level block (not in a fence, a folded answer or $$ math)."""
    breaks, fenced, folded, math = [], False, 0, False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            folded += line.count("<details") - line.count("</details>")
            math ^= line.count("$$") % 2 == 1
            if not line.strip() and not folded and not math:
                breaks.append(number)
    return breaks


def split_pages(cell) -> list:
    """A markdown cell longer than ``PROSE_CHARS`` cut at paragraph breaks into pages of at most that
    length (a longer paragraph or folded answer stays whole); pages after the first are marked
    ``deck_page`` in their metadata, so that each becomes a sub-slide."""
    if cell.cell_type != "markdown" or len(cell.source) <= PROSE_CHARS:
        return [cell]
    lines = cell.source.split("\n")
    blocks, start = [], 0
    for end in [*_paragraph_breaks(lines), len(lines)]:
        if end > start:
            blocks.append("\n".join(lines[start:end]).strip("\n"))
        start = end + 1
    pages: list[str] = []
    for block in filter(None, blocks):
        if pages and len(pages[-1]) + len(block) + 2 <= PROSE_CHARS:
            pages[-1] += "\n\n" + block
        else:
            pages.append(block)
    out = []
    for k, page in enumerate(pages):
        part = copy.deepcopy(cell)
        part.source = page
        if k:
            part.metadata["deck_page"] = True
            if "id" in part:
                part.id = f"{cell.id}-p{k}"
        out.append(part)
    return out


def _trimmed(text: str, limit: int) -> str:
    lines = text.rstrip("\n").split("\n")
    if len(lines) <= limit:
        return text
    return "\n".join(lines[: limit - 1]) + f"\n… ещё {len(lines) - limit + 1} строк — в ноутбуке\n"


def _lines(text) -> int:
    return "".join(text).rstrip("\n").count("\n") + 1


def screen_outputs(outputs: list) -> list:
    """A cell's outputs as a slide shows them: figures, printed text (trimmed) and displayed
    source (trimmed); no stderr (warnings, progress bars) and no widget views."""
    kept = []
    for out in copy.deepcopy(outputs):
        if out.output_type == "stream":
            if out.name != "stdout":
                continue
            if kept and kept[-1].output_type == "stream":
                kept[-1].text += out.text
            else:
                kept.append(out)
        elif out.output_type in ("display_data", "execute_result"):
            data = out.get("data", {})
            if _WIDGET in data:
                continue  # a slider cannot move in a static page; its figure is a separate output
            if any(kind in data for kind in _IMAGES):
                out.data = {k: v for k, v in data.items() if k in _IMAGES}
            elif "text/html" in data and _lines(data.get("text/plain", "")) > MAX_SOURCE_LINES:
                out.data = {"text/plain": _trimmed("".join(data.get("text/plain", "")), MAX_SOURCE_LINES)}
            elif set(data) <= {"text/plain"}:
                out.data = {"text/plain": _trimmed("".join(data.get("text/plain", "")), MAX_OUTPUT_LINES)}
            kept.append(out)
        else:
            kept.append(out)  # an error: it should be seen
    for out in kept:
        if out.output_type == "stream":
            out.text = _trimmed(out.text, MAX_OUTPUT_LINES)
    return kept


def _title(source: str) -> str:
    """The text of the first ``#``/``##`` heading of a markdown cell."""
    for line in source.split("\n"):
        if (m := re.match(r"^#{1,2} (.*)$", line)):
            return m.group(1).strip()
    return ""


def _section_label(title: str) -> nbformat.NotebookNode:
    # markdown between the <div> lines, so that `code` and $math$ in the title still render
    cell = nbformat.v4.new_markdown_cell(f'<div class="deck-section">\n\n{title}\n\n</div>')
    cell.metadata["slideshow"] = {"slide_type": "subslide"}
    return cell


def screen_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook arranged for the screen (see the module's docstring)."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # no widget state: the deck would fetch a widget manager online
    nb.cells = [page for cell in split_sections(nb.cells) for page in split_pages(cell)]
    mark_slides(nb)
    cells, section, caption = [], "", None  # caption: prose so far after this sub-slide's figure
    for cell in nb.cells:
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind == "skip":
            continue
        if cell.metadata.pop("deck_page", False) and kind == "-":
            kind = "subslide"
            cell.metadata["slideshow"] = {"slide_type": kind}
        if kind in ("slide", "subslide"):
            caption = None
        if cell.cell_type == "markdown" and kind == "-" and caption is not None:
            caption += len(cell.source)
            if caption > CAPTION_CHARS:
                kind, caption = "subslide", None
                cell.metadata["slideshow"] = {"slide_type": kind}
        if cell.cell_type == "code":
            cell.outputs = screen_outputs(cell.outputs)
            if SLIDE_CODE not in cell.metadata.get("tags", []):
                if not cell.outputs:
                    continue
                cell.metadata.setdefault("transient", {})["remove_source"] = True
        if cell.cell_type == "code" and any(k in o.get("data", {}) for o in cell.outputs for k in _IMAGES):
            caption = 0
        if kind == "slide":
            section = _title(cell.source)
        starts_with_heading = cell.cell_type == "markdown" and bool(heading_levels(cell.source.split("\n", 1)[0]))
        if kind == "subslide" and section and not starts_with_heading:
            cells.append(_section_label(section))
            cell.metadata["slideshow"] = {"slide_type": "-"}
        cells.append(cell)
    nb.cells = cells
    return nb


def _vendor_urls(out: Path) -> dict[str, str]:
    if not (out / VENDOR / "reveal.js" / "dist" / "reveal.js").exists():
        print(f"note: {out / VENDOR} has no reveal.js; the deck loads it from a CDN (`make slide-tools` installs it)")
        return {"reveal_url_prefix": "https://unpkg.com/reveal.js@4.6.0"}
    return {
        "reveal_url_prefix": f"{VENDOR}/reveal.js",
        "jquery_url": f"{VENDOR}/jquery/dist/jquery.min.js",
        "require_js_url": f"{VENDOR}/requirejs/require.js",
        "mathjax_url": f"{VENDOR}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    }


def render_deck(path: Path | str, out: Path | str, *, source: Path | str | None = None,
                execute: bool = False, timeout: int = 600) -> tuple[Path, int]:
    """Write the deck of the notebook at ``path`` to ``<out>/<name>.slides.html``; return
    ``(deck path, number of slides)``.

    ``path`` is normally a notebook that has already run (``make test`` keeps them in
    ``build/executed/cpu/``): its outputs are the deck's figures. ``source``, the notebook it was
    run from, lends its cell tags (so that retagging needs no new run); ``execute=True`` runs
    ``path`` first.
    """
    from nbconvert import SlidesExporter

    path, out = Path(path), Path(out)
    if not path.exists():
        raise FileNotFoundError(f"path: notebook {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    if execute:
        from nbconvert.preprocessors import ExecutePreprocessor

        ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
            nb, {"metadata": {"path": str(path.parent)}})
    if source is not None:
        _take_tags(nb, nbformat.read(source, as_version=4))
    nb = screen_notebook(nb)
    slides = sum(c.metadata["slideshow"]["slide_type"] == "slide" for c in nb.cells)
    exporter = SlidesExporter(template_name="lecture_deck", extra_template_basedirs=[str(TEMPLATES)],
                              reveal_width=str(SCREEN[0]), reveal_height=str(SCREEN[1]),
                              reveal_transition="slide", reveal_theme="white",  # "simple" imports web fonts
                              **_vendor_urls(out))
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    out.mkdir(parents=True, exist_ok=True)
    deck = out / f"{path.stem}.slides.html"
    deck.write_text(body, encoding="utf-8")
    return deck, slides


def _take_tags(nb: nbformat.NotebookNode, source: nbformat.NotebookNode) -> None:
    if [c.source for c in nb.cells] != [c.source for c in source.cells]:
        raise ValueError("source: its cells differ from the executed notebook's (a stale run?)")
    for cell, original in zip(nb.cells, source.cells, strict=True):
        cell.metadata["tags"] = list(original.metadata.get("tags", []))


def executed_copy(notebook: Path | str, executed_dir: Path | str) -> Path | None:
    """``<executed_dir>/<name>.ipynb`` if it is a run of ``notebook`` as it is now (same cells), else None."""
    notebook = Path(notebook)
    candidate = Path(executed_dir) / notebook.name
    if not candidate.exists():
        return None
    ran = nbformat.read(candidate, as_version=4)
    now = nbformat.read(notebook, as_version=4)
    return candidate if [c.source for c in ran.cells] == [c.source for c in now.cells] else None
