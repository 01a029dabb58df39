"""Student mode: exercise notebooks generated from the solution notebooks.

A code cell marks an exercise's solution like this::

    def iou(a, b):
        # BEGIN SOLUTION
        # HINT: intersection over union of the two areas
        ...solution lines...
        # END SOLUTION

``strip_solutions`` replaces every such block by ``raise NotImplementedError("<hint>")`` at the
block's indentation; everything else stays as it is, so the check cell after an exercise then
fails until the student writes the code.
"""

from __future__ import annotations

import re

import nbformat

__all__ = ["BEGIN", "END", "strip_solutions", "exercise_notebook", "count_exercises"]

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
