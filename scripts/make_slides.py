"""Render every course notebook to a reveal.js deck in build/slides/ (``make slides``).

A deck shows a notebook that has run, so that its figures are in it: the copy ``make test``
keeps in ``build/executed/cpu/`` when it is a run of the notebook as it is now, else the notebook
is executed here first. ``lecture_utils.decks`` arranges it for a 1280x720 screen (code hidden
except in cells tagged ``slide-code``, long outputs trimmed, figures scaled to fit, set-up and
bookkeeping cells left out) and nbconvert's slides exporter writes ``build/slides/NN_*.slides.html``.
reveal.js, jQuery, RequireJS and MathJax come from ``build/slides/vendor`` (installed from the npm
registry by ``make slide-tools``), so the decks open offline: open the file in a browser.

``--mark`` writes the slide structure into the (stripped) notebooks themselves, so that RISE in
JupyterLab presents them (Alt + R); the committed notebooks carry it, and a test keeps it current.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat

from lecture_utils.authoring import mark_slides
from lecture_utils.decks import executed_copy, render_deck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--out", default="build/slides")
    parser.add_argument("--executed", default="build/executed/cpu",
                        help="where already executed notebooks are looked for (default: %(default)s)")
    parser.add_argument("--no-execute", action="store_true",
                        help="never run a notebook: without a current executed copy its deck has no outputs")
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
        ran = executed_copy(path, args.executed)
        if ran is not None:
            deck, slides = render_deck(ran, args.out, source=path)
            origin = f"from {ran}"
        else:
            deck, slides = render_deck(path, args.out, execute=not args.no_execute)
            origin = "not executed" if args.no_execute else "executed now"
        print(f"{path.name}: {slides} slides ({origin}) -> {deck}", flush=True)


if __name__ == "__main__":
    main()
