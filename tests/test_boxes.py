import math

import pytest
import torch
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st

from lecture_utils import boxes as B


def random_boxes(n, seed, scale=100.0, integer=False):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * scale
    wh = torch.rand(n, 2, generator=g) * scale / 2
    b = torch.cat([xy, xy + wh], 1)
    return b.round() if integer else b


box_lists = st.lists(
    st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0, 50), st.floats(0, 50)),
    min_size=0, max_size=12,
).map(lambda rows: torch.tensor([[x, y, x + w, y + h] for x, y, w, h in rows],
                                dtype=torch.float64).reshape(-1, 4))


@settings(max_examples=60, deadline=None)
@given(a=box_lists, b=box_lists)
def test_iou_and_giou_match_torchvision(a, b):
    torch.testing.assert_close(B.box_iou(a, b), tvo.box_iou(a, b), equal_nan=True)
    torch.testing.assert_close(B.generalized_box_iou(a, b), tvo.generalized_box_iou(a, b), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(a=box_lists)
def test_iou_properties(a):
    iou = B.box_iou(a, a)
    finite = ~torch.isnan(iou)
    assert ((iou[finite] >= 0) & (iou[finite] <= 1 + 1e-12)).all()
    torch.testing.assert_close(iou, iou.T, equal_nan=True)
    positive = B.box_area(a) > 0
    assert torch.allclose(iou.diagonal()[positive], torch.ones(int(positive.sum()), dtype=a.dtype))


@pytest.mark.parametrize("fmt", B.FORMATS)
def test_conversions_match_torchvision_and_round_trip(fmt):
    b = random_boxes(50, 0)
    for out in B.FORMATS:
        converted = B.box_convert(b, "xyxy", out)
        torch.testing.assert_close(converted, tvo.box_convert(b, "xyxy", out))
        torch.testing.assert_close(B.box_convert(converted, out, "xyxy"), b)
    conv = B.box_convert(b, "xyxy", fmt)
    torch.testing.assert_close(B.box_iou(conv, conv, fmt=fmt), tvo.box_iou(b, b))
    torch.testing.assert_close(B.box_area(conv, fmt=fmt), tvo.box_area(b))


def test_batched_iou_and_int_boxes():
    a, b = random_boxes(8, 1).reshape(2, 4, 4), random_boxes(6, 2).reshape(2, 3, 4)
    torch.testing.assert_close(B.box_iou(a, b), tvo.box_iou(a, b))
    ai = random_boxes(10, 3, integer=True).long()
    torch.testing.assert_close(B.box_iou(ai, ai), tvo.box_iou(ai, ai), equal_nan=True)


def test_degenerate_inputs():
    zero = torch.tensor([[5.0, 5.0, 5.0, 5.0], [1.0, 1.0, 1.0, 9.0]])
    torch.testing.assert_close(B.box_iou(zero, zero), tvo.box_iou(zero, zero), equal_nan=True)
    empty = torch.zeros((0, 4))
    assert B.box_iou(empty, zero).shape == (0, 2)
    assert B.nms(empty, torch.zeros(0), 0.5).shape == (0,)
    same = torch.tensor([[0.0, 0, 10, 10]] * 3)
    scores = torch.tensor([0.1, 0.9, 0.5])
    assert torch.equal(B.nms(same, scores, 0.5), tvo.nms(same, scores, 0.5))


def test_clip():
    b = torch.tensor([[-5.0, 3.0, 120.0, 90.0]])
    torch.testing.assert_close(B.clip_boxes_to_image(b, (80, 100)), tvo.clip_boxes_to_image(b, (80, 100)))


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_torchvision(seed, threshold):
    n = 5 + seed * 10
    b = random_boxes(n, seed)
    scores = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).float() / n  # no ties
    idxs = torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(seed))
    assert torch.equal(B.nms(b, scores, threshold), tvo.nms(b, scores, threshold))
    assert torch.equal(B.batched_nms(b, scores, idxs, threshold), tvo.batched_nms(b, scores, idxs, threshold))


def test_batched_nms_never_suppresses_across_classes():
    b = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10]])
    assert B.batched_nms(b, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert B.nms(b, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0]


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000))
def test_encode_decode_round_trip(seed):
    g = random_boxes(20, seed).double() + torch.tensor([0, 0, 1, 1.0])  # positive sizes
    p = random_boxes(20, seed + 1).double() + torch.tensor([0, 0, 1, 1.0])
    for w in [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)]:
        deltas = B.encode_boxes(g, p, w)
        torch.testing.assert_close(B.decode_boxes(deltas, p, w), g, rtol=1e-12, atol=1e-10)


def test_encode_on_a_hand_made_case():
    proposal = torch.tensor([[0.0, 0.0, 10.0, 20.0]])  # centre (5, 10), size 10 x 20
    target = torch.tensor([[2.0, 4.0, 22.0, 24.0]])  # centre (12, 14), size 20 x 20
    expected = torch.tensor([[(12 - 5) / 10, (14 - 10) / 20, math.log(2.0), 0.0]])
    torch.testing.assert_close(B.encode_boxes(target, proposal), expected)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(3), "shape"),
    (torch.zeros(2, 5), "shape"),
    (torch.tensor([[10.0, 0, 5, 5]]), "x2 < x1"),
    (torch.tensor([[0.0, float("nan"), 5, 5]]), "NaN"),
    ([[0, 0, 1, 1]], "torch.Tensor"),
])
def test_bad_boxes_raise_clear_errors(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        B.box_iou(bad, torch.zeros(1, 4))


def test_bad_nms_arguments():
    b = random_boxes(4, 0)
    with pytest.raises(ValueError, match="scores"):
        B.nms(b, torch.rand(3), 0.5)
    with pytest.raises(ValueError, match="idxs"):
        B.batched_nms(b, torch.rand(4), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match="weights"):
        B.encode_boxes(b, b, (1.0, 0.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="fmt"):
        B.box_iou(b, b, fmt="yxyx")
