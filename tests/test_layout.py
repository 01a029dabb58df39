"""The README's layout block names every module of the package, so it cannot go stale silently."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("## Layout"):readme.index("Every algorithm lives once")]
    words = set(re.findall(r"[a-z_]+", block))
    modules = {p.stem for p in (ROOT / "lecture_utils").rglob("*.py") if p.stem != "__init__"}
    packages = {p.parent.name for p in (ROOT / "lecture_utils").rglob("__init__.py")} - {"lecture_utils"}
    missing = sorted((modules | packages) - words)
    assert not missing, f"README's Layout block does not mention {missing}"
