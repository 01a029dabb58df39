"""Render every course notebook to a reveal.js deck in build/slides/ (``make slides``).

Each notebook is executed (so its figures are in the deck), its ``slideshow`` metadata is set
from its sections by ``lecture_utils.authoring.mark_slides`` (a ``#``/``##`` heading = a slide,
a ``###`` heading or a figure = a sub-slide), and nbconvert's slides exporter writes
``build/slides/NN_*.slides.html``. reveal.js, jQuery, RequireJS and MathJax come from
``build/slides/vendor`` (installed from the npm registry by ``make slides``), so the decks open
offline: ``python -m http.server -d build/slides`` or simply open the file in a browser.

``--mark`` writes the same metadata into the (stripped) notebooks themselves, so that RISE in
JupyterLab presents them (Alt + R); the committed notebooks carry it, and a test keeps it current.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat

from lecture_utils.authoring import mark_slides, render_deck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--out", default="build/slides")
    parser.add_argument("--no-execute", action="store_true", help="render without running (no figures)")
    parser.add_argument("--mark", action="store_true",
                        help="only write the slideshow metadata into the notebooks themselves (for RISE)")
    args = parser.parse_args()
    os.environ.setdefault("LECTURE_ALLOW_DOWNLOAD", "0")
    paths = [Path(p) for p in args.notebooks] or sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        if not path.exists():
            parser.error(f"notebook {path} does not exist")
        if args.mark:
            nb = nbformat.read(path, as_version=4)
            print(f"{path.name}: {mark_slides(nb)} slides marked")
            nbformat.write(nb, path)
            continue
        deck, slides = render_deck(path, args.out, execute=not args.no_execute)
        print(f"{path.name}: {slides} slides -> {deck}", flush=True)


if __name__ == "__main__":
    main()
