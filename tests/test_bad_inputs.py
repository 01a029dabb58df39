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
