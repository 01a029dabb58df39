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
every ``#``/``##`` heading starts a slide, a ``###`` heading, a cell whose output holds a figure or
a code cell tagged ``slide-code`` (the code is the point: an exercise, a short algorithm) starts a
sub-slide (below it), the set-up cell and cells that only assert or record numbers are skipped,
everything else continues the slide before it. Authors never edit that metadata; the static decks
(``lecture_utils.decks``) apply further rules for the screen.
"""

from __future__ import annotations

import ast
import re

import nbformat

__all__ = ["BEGIN", "END", "strip_solutions", "exercise_notebook", "count_exercises", "exercise_cells",
           "exercise_summaries", "stubbed_names", "names_read", "names_bound", "is_section_heading", "heading_levels", "is_bookkeeping_cell",
           "SLIDE_CODE", "slide_type", "mark_slides"]

#: the cell tag that keeps a code cell's source on the slides (hidden there otherwise)
SLIDE_CODE = "slide-code"

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


_TASK = re.compile(r"\*\*Упражнение(?: \d+)?\.\*\*\s*(.+?[.!?])(?:\s|$)", re.S)


def exercise_summaries(nb: nbformat.NotebookNode) -> list[dict]:
    """Every exercise of a notebook: ``{"cell", "names", "task"}``, where ``task`` is the first sentence
    of the nearest markdown cell above it that starts the exercise with ``**Упражнение.**``.

    The course map of notebook 00 is built from it, so the map cannot promise an exercise that does not exist.
    """
    out = []
    for i, _ in exercise_cells(nb):
        above = [c.source for c in nb.cells[:i] if c.cell_type == "markdown"]
        match = _TASK.search(above[-1]) if above else None
        if match is None:
            raise ValueError(f"cell {i} holds an exercise, but the markdown cell above it does not start one with "
                             "'**Упражнение.**'")
        out.append({"cell": i, "names": sorted(stubbed_names(nb.cells[i].source)),
                    "task": " ".join(match.group(1).split())})
    return out


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
            # the END marker is a comment after the body's last statement, beyond end_lineno: the BEGIN
            # marker inside the definition is what places a block in it
            if any(node.lineno <= a <= node.end_lineno for a, b in blocks):
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
    return {n.id for n in ast.walk(ast.parse(_python_only(source))) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _python_only(source: str) -> str:
    """The cell without IPython magics (``%...``) and shell lines (``!...``, but not a continued ``!= ...``)."""
    def magic(line: str) -> bool:
        stripped = line.lstrip()
        return stripped.startswith("%") or (stripped.startswith("!") and not stripped.startswith("!="))

    return "\n".join("" if magic(line) else line for line in source.split("\n"))


def names_bound(source: str) -> set[str]:
    """Every name a code cell binds at its top level: assignments, loop and ``with`` targets, functions,
    classes and imports (IPython magics and shell lines are skipped)."""
    names: set[str] = set()
    for node in ast.parse(_python_only(source)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            names.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def is_section_heading(cell) -> bool:
    """A markdown cell whose first line is a ``#`` or ``##`` heading starts a section (a slide)."""
    if cell.cell_type != "markdown":
        return False
    first = cell.source.lstrip().split("\n", 1)[0]
    return first.startswith("# ") or first.startswith("## ")


def heading_levels(source: str) -> list[int]:
    """The level (1 for ``#`` ...) of every markdown heading line in ``source``; headings in fenced
    code or inside a folded answer (``<details>``) do not count."""
    levels, fenced, folded = [], False, 0
    for line in source.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            if not folded and (m := re.match(r"^(#{1,6}) \S", line)):
                levels.append(len(m.group(1)))
            folded += line.count("<details") - line.count("</details>")
    return levels


# calls that only keep the books: the set-up, recording a measured number, the closing summary
_BOOKKEEPING = {"setup", "record", "finish"}


def _callee(node) -> str | None:
    """The name of the function a statement's value calls (``record`` in ``x = record(...)``)."""
    value = getattr(node, "value", None)
    if not isinstance(node, (ast.Expr, ast.Assign)) or not isinstance(value, ast.Call):
        return None
    func = value.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def is_bookkeeping_cell(cell) -> bool:
    """A code cell nobody needs to see on a slide: the set-up cell (it calls ``setup(...)``), or a
    cell made only of imports, ``assert`` statements and ``record``/``finish`` calls."""
    if cell.cell_type != "code":
        return False
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.split("\n"))
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    if not body:
        return False
    if any(_callee(node) == "setup" for node in body):
        return True
    return all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Assert)) or _callee(node) in _BOOKKEEPING
               for node in body)


def _has_figure(cell) -> bool:
    """From the outputs when the cell has run; in a stripped notebook, from the call that shows one."""
    outputs = cell.get("outputs", [])
    if outputs:
        return any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {}) for out in outputs)
    return "plt.show()" in cell.source or "interactive_figure(" in cell.source


def slide_type(cell) -> str:
    """The reveal.js/RISE slide type this cell gets: ``slide``, ``subslide``, ``skip`` or ``-``."""
    if cell.cell_type == "markdown":
        levels = heading_levels(cell.source)
        if any(level <= 2 for level in levels):
            return "slide"  # a section heading, even after a folded answer to the section before
        return "subslide" if 3 in levels else "-"
    if cell.cell_type != "code":
        return "-"
    if _has_figure(cell) or SLIDE_CODE in cell.metadata.get("tags", []) or "show_source(" in cell.source:
        return "subslide"
    return "skip" if is_bookkeeping_cell(cell) else "-"


def mark_slides(nb: nbformat.NotebookNode) -> int:
    """Set every cell's ``slideshow.slide_type`` from the notebook's structure; return the slide count.

    Cells before the first heading join the first slide. On an executed notebook, a figure is an
    image output; on a stripped one (RISE in JupyterLab), a cell that calls ``plt.show()`` or
    ``viz.interactive_figure``. A markdown cell that holds a section heading after other text (a
    folded answer to the previous section, say) starts the new slide: the static decks split such
    cells at the heading, RISE cannot.
    """
    slides = 0
    for cell in nb.cells:
        kind = slide_type(cell)
        if kind == "slide":
            slides += 1
        elif kind == "subslide" and not slides:
            kind = "-"
        cell.metadata["slideshow"] = {"slide_type": kind}
    return slides
