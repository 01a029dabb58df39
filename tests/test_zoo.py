"""The zoo builds exactly the models the shipped checkpoints hold (scripts, notebooks and tests
all build through it, so this is the test that they agree)."""

import re

import pytest
import torch

from lecture_utils.checkpoints import CHECKPOINT_DIR, load_checkpoint
from lecture_utils.data import CLASSES
from lecture_utils.models.zoo import OPERATORS, SEGMENTERS

SHIPPED = sorted(p.name for p in CHECKPOINT_DIR.glob("*.pt"))


@pytest.mark.parametrize("name", [n for n in SHIPPED if n.startswith(("seg_", "operator_"))])
def test_every_shipped_checkpoint_fits_its_zoo_model(name):
    # _s1: another seed; _multires: the same model trained on several grids
    kind, key = re.match(r"(seg|operator)_(.+?)(_4k)?(_s\d+)?(_multires)?\.pt$", name).group(1, 2)
    model = SEGMENTERS[key](len(CLASSES) + 1) if kind == "seg" else OPERATORS[key]()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    meta = load_checkpoint(model, name, verbose=False)
    assert meta is not None, f"{name} does not fit SEGMENTERS/OPERATORS[{key!r}]"
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights did load


def test_every_zoo_model_has_a_checkpoint():
    for key in SEGMENTERS:
        assert f"seg_{key}.pt" in SHIPPED or f"seg_{key}_4k.pt" in SHIPPED, key
    for key in OPERATORS:
        assert f"operator_{key}.pt" in SHIPPED, key
