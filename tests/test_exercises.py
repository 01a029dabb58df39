"""Student mode: every generated exercise notebook fails exactly at its check cells.

The exercise notebook is executed from the top through its last check cell, errors allowed:
each check cell must stop with ``NotImplementedError`` (the check really calls the exercise) and
no other cell may fail (no other cell depends on the solution). Cells after the last check are
byte-for-byte the solution notebook's, which ``make test`` executes anyway; for them it suffices
to show statically that none reads a name the stubs took away. Executing only the prefix keeps
this test to about a minute instead of a second run of every notebook.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lecture_utils.authoring import (
    exercise_cells,
    exercise_notebook,
    names_read,
    strip_solutions,
    stubbed_names,
)

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("0[1-8]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercise_notebook_fails_exactly_at_its_checks(path, monkeypatch):
    solution = nbformat.read(path, as_version=4)
    pairs = exercise_cells(solution)
    assert len(pairs) >= 2, f"{path.name} needs at least two exercises, has {len(pairs)}"
    student, count = exercise_notebook(solution)
    assert count == sum(strip_solutions(solution.cells[i].source)[1] for i, _ in pairs)  # a cell may hold two
    checks = {check for _, check in pairs}
    last = max(checks)

    gone = set().union(*(stubbed_names(solution.cells[i].source) for i, _ in pairs))
    for j, cell in enumerate(student.cells[last + 1:], start=last + 1):
        if cell.cell_type == "code":
            assert not names_read(cell.source) & gone, f"{path.name} cell {j} uses {names_read(cell.source) & gone}"

    prefix = nbformat.from_dict(student)
    prefix.cells = student.cells[: last + 1]
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the kernel inherits these: no windows, no downloads
    monkeypatch.setenv("LECTURE_ALLOW_DOWNLOAD", "0")
    NotebookClient(prefix, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    failed = {j: out["ename"] for j, cell in enumerate(prefix.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"}
    assert set(failed) == checks, f"{path.name}: failing cells {failed}, check cells {sorted(checks)}"
    assert set(failed.values()) == {"NotImplementedError"}, failed
