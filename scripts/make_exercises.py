"""Write the student version of every course notebook to build/exercises/ (``make exercises``).

Each block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes a stub raising
NotImplementedError with the block's ``# HINT:`` line; everything else is unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

from lecture_utils.authoring import exercise_notebook


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks")
    parser.add_argument("--out", default="build/exercises")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(args.notebooks).glob("[0-9][0-9]_*.ipynb")):
        nb, count = exercise_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, out / path.name)
        print(f"{path.name}: {count} exercise(s) -> {out / path.name}")


if __name__ == "__main__":
    main()
