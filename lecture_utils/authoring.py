"""Student and instructor modes: exercise notebooks and slide decks generated from the notebooks.

A code cell marks an exercise's solution like this::

    def iou(a, b):
        # BEGIN SOLUTION
        # HINT: intersection over union of the two areas
        ...solution lines...
        # END SOLUTION

``strip_solutions`` replaces every such block by ``raise NotImplementedError("<hint>")`` at the
block's indentation; everything else stays as it is, so the check cell after an exercise then
fails until the student writes the code.

``mark_slides`` sets the ``slideshow`` metadata that nbconvert's reveal.js exporter and RISE read:
every ``#``/``##`` heading starts a slide, a ``###`` heading or a cell whose output holds a
figure starts a sub-slide (below it), everything else continues the slide before it. Authors never edit that metadata.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

__all__ = ["BEGIN", "END", "strip_solutions", "exercise_notebook", "count_exercises", "exercise_cells",
           "stubbed_names", "names_read", "is_section_heading", "mark_slides", "render_deck"]

#: where the decks find reveal.js & co. (relative to the deck, so a deck folder can be copied whole)
VENDOR = "vendor/node_modules"

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_HINT = re.compile(r"^\s*# HINT:\s*(.*)$")
DEFAULT_HINT = "write this part of the exercise"


def strip_solutions(source: str) -> tuple[str, int]:
    """Return ``(source with every solution block stubbed, number of blocks)``.

    Raises ``ValueError`` on an unclosed or nested block, or an END without a BEGIN.
    """
    out, count = [], 0
    block: list[str] | None = None
    indent = ""
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if block is not None:
                raise ValueError(f"source: nested {BEGIN!r} at line {number}")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped == END:
            if block is None:
                raise ValueError(f"source: {END!r} without {BEGIN!r} at line {number}")
            hints = [m.group(1).strip() for m in map(_HINT.match, block) if m]
            hint = hints[0] if hints else DEFAULT_HINT
            out.append(f"{indent}raise NotImplementedError({hint!r})")
            block, count = None, count + 1
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"source: {BEGIN!r} is never closed by {END!r}")
    return "\n".join(out), count


def exercise_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """A copy of ``nb`` with solutions stubbed and outputs cleared; returns it and the exercise count."""
    nb = nbformat.from_dict(nb)
    total = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source, count = strip_solutions(cell.source)
        total += count
        cell.outputs, cell.execution_count = [], None
    return nb, total


def count_exercises(nb: nbformat.NotebookNode) -> int:
    """How many solution blocks ``nb`` has."""
    return sum(strip_solutions(c.source)[1] for c in nb.cells if c.cell_type == "code")


def exercise_cells(nb: nbformat.NotebookNode) -> list[tuple[int, int]]:
    """``(exercise cell, check cell)`` index pairs: the check is the next code cell after an exercise."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    pairs = []
    for i in code:
        if strip_solutions(nb.cells[i].source)[1]:
            later = [j for j in code if j > i]
            if not later:
                raise ValueError(f"cell {i} holds an exercise but no code cell follows to check it")
            pairs.append((i, later[0]))
    return pairs


def stubbed_names(source: str) -> set[str]:
    """Names a cell no longer provides once its solutions are stubbed.

    Functions and classes whose body holds a solution block (they now raise), and names bound by
    statements inside a block at module level (they are never assigned).
    """
    lines = source.split("\n")
    blocks, start = [], None
    for number, line in enumerate(lines, start=1):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            blocks.append((start, number))
            start = None
    names: set[str] = set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(node.lineno <= a and b <= node.end_lineno for a, b in blocks):
                names.add(node.name)
    for node in tree.body:
        if any(a <= node.lineno <= b for a, b in blocks):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
                elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                    names.add(sub.name)
    return names


def names_read(source: str) -> set[str]:
    """Every bare name a code cell reads (IPython magics and shell lines are skipped)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def is_section_heading(cell) -> bool:
    """A markdown cell whose first line is a ``#`` or ``##`` heading starts a section (a slide)."""
    if cell.cell_type != "markdown":
        return False
    first = cell.source.lstrip().split("\n", 1)[0]
    return first.startswith("# ") or first.startswith("## ")


def _has_figure(cell) -> bool:
    """From the outputs when the cell has run; in a stripped notebook, from the call that shows one."""
    outputs = cell.get("outputs", [])
    if outputs:
        return any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {}) for out in outputs)
    return "plt.show()" in cell.source or "interactive_figure(" in cell.source


def mark_slides(nb: nbformat.NotebookNode) -> int:
    """Set every cell's ``slideshow.slide_type`` from the notebook's structure; return the slide count.

    Cells before the first heading join the first slide. On an executed notebook, a figure is an
    image output; on a stripped one (RISE in JupyterLab), a cell that calls ``plt.show()`` or
    ``viz.interactive_figure``.
    """
    slides = 0
    for cell in nb.cells:
        if is_section_heading(cell):
            kind = "slide"
            slides += 1
        elif slides and ((cell.cell_type == "code" and _has_figure(cell))
                         or (cell.cell_type == "markdown" and cell.source.lstrip().startswith("### "))):
            kind = "subslide"
        else:
            kind = "-"
        cell.metadata["slideshow"] = {"slide_type": kind}
    return slides


def _vendor_urls(out: Path) -> dict[str, str]:
    if not (out / VENDOR / "reveal.js" / "dist" / "reveal.js").exists():
        print(f"note: {out / VENDOR} has no reveal.js; the deck loads it from a CDN (`make slides` installs it)")
        return {}
    return {
        "reveal_url_prefix": f"{VENDOR}/reveal.js",
        "jquery_url": f"{VENDOR}/jquery/dist/jquery.min.js",
        "require_js_url": f"{VENDOR}/requirejs/require.js",
        "mathjax_url": f"{VENDOR}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    }


def render_deck(path: Path | str, out: Path | str, execute: bool = True, timeout: int = 600) -> tuple[Path, int]:
    """Execute the notebook at ``path`` (unless told not to), mark its slides and write a reveal.js
    deck ``<out>/<name>.slides.html``; return ``(deck path, number of slides)``."""
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    path, out = Path(path), Path(out)
    if not path.exists():
        raise FileNotFoundError(f"path: notebook {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    if execute:
        ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
            nb, {"metadata": {"path": str(path.parent)}})
    slides = mark_slides(nb)
    exporter = SlidesExporter(reveal_scroll=True, **_vendor_urls(out))  # long slides scroll
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    out.mkdir(parents=True, exist_ok=True)
    deck = out / f"{path.stem}.slides.html"
    deck.write_text(body, encoding="utf-8")
    return deck, slides
