"""What the browser checks share: paths, the screen, Chromium's flags, and the rule that a missing
piece skips a check on a laptop but fails it in CI (``LECTURE_REQUIRE_BROWSER=1``)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
EXECUTED = REPO / "build" / "executed" / "cpu"
SLIDES = REPO / "build" / "slides"
REQUIRE_BROWSER = os.environ.get("LECTURE_REQUIRE_BROWSER", "") == "1"
#: the screen of a lecture hall's projector (and of the checks)
SCREEN = {"width": 1280, "height": 720}
# As root in a container Chromium needs --no-sandbox; the rest keeps it off the (closed) network.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def unavailable(reason: str) -> None:
    """Skip the check on a laptop; fail it in CI, where the Makefile installs everything."""
    if REQUIRE_BROWSER:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def notebook_names() -> list[str]:
    return [p.stem for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


def executed_notebook(name: str) -> Path:
    """The notebook as ``make test`` executed it, refusing a missing, stale or figure-less copy."""
    from lecture_utils.decks import executed_copy

    path = EXECUTED / f"{name}.ipynb"
    if not path.exists():
        unavailable(f"{path.relative_to(REPO)} is missing: the decks are rendered from the notebooks "
                    "that `make test` executed (its notebook step writes build/executed/cpu/)")
    if executed_copy(REPO / "notebooks" / f"{name}.ipynb", EXECUTED) is None:
        unavailable(f"{path.relative_to(REPO)} is stale: notebooks/{name}.ipynb changed since it ran")
    executed = nbformat.read(path, as_version=4)
    errors = [(i, o) for i, c in enumerate(executed.cells) for o in c.get("outputs", []) if o.output_type == "error"]
    if errors:
        i, error = errors[0]
        pytest.fail(f"{path.relative_to(REPO)}: the run failed at cell {i} ({error.ename}: {error.evalue[:200]}); "
                    "its deck would show the traceback", pytrace=False)
    if not any("image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])):
        pytest.fail(f"{path.relative_to(REPO)} holds no figures: executed with MPLBACKEND=Agg? "
                    "Decks need the inline backend", pytrace=False)
    return path
