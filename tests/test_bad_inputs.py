"""Every public function keeps the design's promise on bad and edge input (cases: tests/api_probe.py
and tests/api_probe_more.py).

A bad input raises a ValueError or TypeError whose message names the argument; a valid edge input
(empty predictions, empty ground truth, a broken checkpoint) gives its defined result.
"""

import pytest
from api_probe import CASES, Bad, names_argument
from api_probe_more import CASES as MORE

ALL = CASES + MORE


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_case(case):
    if isinstance(case, Bad):
        with pytest.raises(case.errors) as caught:
            case.call()
        assert names_argument(str(caught.value), case.arg), f"the message does not name {case.arg!r}: {caught.value}"
    else:
        assert case.check(case.call()), "the edge input did not give its defined result"


# tooling with tests of its own (authoring, decks, execution, emulation) and the old name of cost
TOOLING = ("authoring", "decks", "execution", "emulation", "profiling")
# nothing to pass them, or only a flag: there is no bad input to try
NO_ARGUMENTS = {"full_profile", "smoke_profile", "downloads_allowed", "metrics_dir", "current_notebook", "finish",
                "use_lecture_style", "load_text_encoder", "coco_faster_rcnn", "dino_vits8", "pick"}


def test_every_public_function_has_a_case():
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    import lecture_utils

    here = Path(__file__).parent
    source = (here / "api_probe.py").read_text() + (here / "api_probe_more.py").read_text()
    reached = {name for _, name in re.findall(r'm\("([\w.]+)"\)\.(\w+)', source)}
    missing = []
    for info in pkgutil.walk_packages(lecture_utils.__path__, "lecture_utils."):
        if info.name.split(".")[1] in TOOLING:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            if callable(getattr(module, name)) and name not in reached | NO_ARGUMENTS:
                missing.append(f"{info.name}.{name}")
    assert not missing, f"public functions no bad-input case calls: {sorted(set(missing))}"
