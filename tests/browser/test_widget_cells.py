"""Widget cells, as ``make test`` executed them headless: each draws its default picture and shows
its sliders, and none echoes the value of its last line (``viz.interactive_figure`` returns nothing)."""

import nbformat
import pytest
from browser_support import REPO, executed_notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WITH_WIDGETS = [p.stem for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
                if "interactive_figure(" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("name", WITH_WIDGETS)
def test_widget_cells_draw_their_default_picture_and_echo_nothing(name):
    nb = nbformat.read(executed_notebook(name), as_version=4)
    cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and "interactive_figure(" in c.source]
    assert cells
    for i, cell in cells:
        kinds = [("image" if "image/png" in o.get("data", {}) else "widget" if WIDGET_VIEW in o.get("data", {})
                  else o.output_type) for o in cell.outputs]
        assert kinds.count("image") == 1 and kinds.count("widget") == 1, f"{name} cell {i}: outputs {kinds}"
        assert "execute_result" not in kinds, f"{name} cell {i} echoes its last line: {kinds}"
