"""Every exercise check rejects plausible wrong answers, not only the empty stub.

For each notebook one kernel runs the cells the exercises need (the first cell, and every earlier
cell that binds a name an exercise or check cell reads, transitively). At each exercise, every
mutation of ``exercise_mutations.MUTATIONS`` is executed in place of the solution, followed by the
cells up to and including the check: the check must raise. Then the true solution runs and its check
must pass, so a mutation cannot "fail" only because the kernel is broken.
"""

from __future__ import annotations

import os
import queue
from pathlib import Path

import nbformat
import pytest
from exercise_mutations import MUTATIONS
from jupyter_client.manager import KernelManager

from lecture_utils.authoring import exercise_cells, names_bound, stubbed_names

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("0[1-8]_*.ipynb"))
CELL_TIMEOUT = 300


def mutate(source: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert source.count(old) == 1, f"the mutation's text {old!r} occurs {source.count(old)} times, not once"
        source = source.replace(old, new)
    return source


def free_names(source: str) -> set[str]:
    """Names a cell reads but does not bind itself: a function's own arguments and locals are not free."""
    import ast

    tree = ast.parse("\n".join("" if line.lstrip().startswith("%") else line for line in source.split("\n")))
    free: set[str] = set()
    for node in tree.body:
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
            local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            reads -= local
        free |= reads
    return free - names_bound(source)


def needed_cells(nb, targets: set[int]) -> list[int]:
    """The first code cell, the targets, and every earlier code cell binding a name they (transitively) read."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    keep = {code[0]} | set(targets)
    changed = True
    while changed:
        changed = False
        # free names only: a name a cell binds itself (a loop variable, a local generator) needs no earlier cell
        wanted = set().union(*(free_names(nb.cells[i].source) for i in keep))
        for i in code:
            if i not in keep and i < max(keep) and names_bound(nb.cells[i].source) & wanted:
                keep.add(i)
                changed = True
    return sorted(keep)


class Kernel:
    def __init__(self, cwd: Path):
        env = dict(os.environ, MPLBACKEND="Agg", LECTURE_ALLOW_DOWNLOAD="0", HF_HUB_OFFLINE="1")
        self.manager = KernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, source: str) -> str | None:
        """None if the code ran, else the exception's name."""
        try:
            reply = self.client.execute_interactive(source, timeout=CELL_TIMEOUT, store_history=False,
                                                    output_hook=lambda _msg: None)
        except (TimeoutError, queue.Empty):
            return "Timeout"
        content = reply["content"]
        return None if content["status"] == "ok" else content.get("ename", "error")

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def test_every_exercise_has_mutations():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        names = {n for i, _ in exercise_cells(nb) for n in stubbed_names(nb.cells[i].source)}
        table = MUTATIONS.get(path.stem, {})
        assert set(table) == names, f"{path.stem}: exercises {sorted(names)}, mutations for {sorted(table)}"
        for name, cases in table.items():
            assert len(cases) >= 2, f"{path.stem}.{name}: at least two wrong solutions, has {len(cases)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_checks_reject_wrong_solutions(path):
    nb = nbformat.read(path, as_version=4)
    pairs = exercise_cells(nb)
    table = MUTATIONS[path.stem]
    targets = {j for i, c in pairs for j in range(i, c + 1) if nb.cells[j].cell_type == "code"}
    plan = needed_cells(nb, targets)
    starts = {i: c for i, c in pairs}
    kernel = Kernel(path.parent)
    survived, broken = [], []
    try:
        k = 0
        while k < len(plan):
            i = plan[k]
            if i not in starts:
                assert kernel.run(nb.cells[i].source) is None, f"{path.stem} cell {i} failed with the true solutions"
                k += 1
                continue
            check = starts[i]
            between = [j for j in plan if i < j <= check]
            source = nb.cells[i].source
            for name in sorted(stubbed_names(source)):
                for what, replacements, *cleanup in table[name]:
                    error = kernel.run(mutate(source, replacements))
                    for j in between:
                        if error is not None:
                            break
                        error = kernel.run(nb.cells[j].source)
                    for code in cleanup:  # state a wrong solution leaves behind (a hook on a shared model)
                        assert kernel.run(code) is None, f"{path.stem}: the clean-up after {what!r} failed"
                    if error is None:
                        survived.append(f"{name}: {what}")
                    elif error == "Timeout":
                        broken.append(f"{name}: {what} (timed out)")
            for j in [i, *between]:  # the true solution: everything passes again
                assert kernel.run(nb.cells[j].source) is None, f"{path.stem} cell {j} failed with the true solution"
            k = plan.index(check) + 1
    finally:
        kernel.close()
    assert not broken, broken
    assert not survived, f"{path.stem}: these wrong solutions pass their check: {survived}"
