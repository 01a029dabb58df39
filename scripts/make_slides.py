"""Render every course notebook to a reveal.js deck in build/slides/ (``make slides``).

Each notebook is executed (so its figures are in the deck), its ``slideshow`` metadata is set
from its sections by ``lecture_utils.authoring.mark_slides`` (a ``#``/``##`` heading = a slide,
a ``###`` heading or a figure = a sub-slide), and nbconvert's slides exporter writes
``build/slides/NN_*.slides.html``. reveal.js, jQuery, RequireJS and MathJax come from
``build/slides/vendor`` (installed from the npm registry by ``make slides``), so the decks open
offline: ``python -m http.server -d build/slides`` or simply open the file in a browser.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lecture_utils.authoring import render_deck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--out", default="build/slides")
    parser.add_argument("--no-execute", action="store_true", help="render without running (no figures)")
    args = parser.parse_args()
    os.environ.setdefault("LECTURE_ALLOW_DOWNLOAD", "0")
    paths = [Path(p) for p in args.notebooks] or sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        if not path.exists():
            parser.error(f"notebook {path} does not exist")
        deck, slides = render_deck(path, args.out, execute=not args.no_execute)
        print(f"{path.name}: {slides} slides -> {deck}", flush=True)


if __name__ == "__main__":
    main()
