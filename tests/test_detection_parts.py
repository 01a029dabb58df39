import math

import numpy as np
import pytest
import torch
import torchvision.ops as tvo

from lecture_utils.anchors import base_anchors, grid_anchors, label_anchors, sample_balanced
from lecture_utils.boxes import box_iou, decode_boxes
from lecture_utils.data import make_scene
from lecture_utils.roi import crop_and_warp, roi_pool
from lecture_utils.selective_search import (
    Strategy,
    hierarchical_grouping,
    initial_regions,
    selective_search,
)

# --- selective search ------------------------------------------------------------------

def test_selective_search_invariants():
    s = make_scene(0, 5)
    regions = initial_regions(s["image"], Strategy("rgb", 60.0))
    n0 = len(regions["size"])
    assert regions["size"].sum() == 128 * 128
    np.testing.assert_allclose(regions["colour"].sum(1), 1.0)  # L1-normalised, as in the paper
    boxes, levels = hierarchical_grouping(regions)
    # a connected image merges into one region: n0 initial + (n0 - 1) merged
    assert len(boxes) == 2 * n0 - 1 and (levels[:n0] == 0).all()
    assert boxes[-1].tolist() == [0, 0, 128, 128]
    # every merged box is the union of the boxes of two regions formed before it (so it contains
    # both, and areas never shrink along the hierarchy)
    b = np.asarray(boxes)
    for k in range(n0, len(b)):
        union = np.concatenate([np.minimum(b[:k, None, :2], b[None, :k, :2]),
                                np.maximum(b[:k, None, 2:], b[None, :k, 2:])], -1)  # [k, k, 4]
        assert (union == b[k]).all(-1).any(), f"merged box {k} is not the union of two earlier boxes"
    props = selective_search(s["image"])
    assert props.shape[1] == 4 and len(props) == len(torch.unique(props, dim=0))
    assert (props[:, :2] >= 0).all() and (props[:, 2:] <= 128).all() and (props[:, 2:] > props[:, :2]).all()
    assert torch.equal(props, selective_search(s["image"]))  # deterministic


def test_selective_search_finds_the_objects():
    found = total = 0
    for i in range(10):
        s = make_scene(3, i)
        iou = box_iou(s["boxes"].as_subclass(torch.Tensor), selective_search(s["image"]))
        found += int((iou.max(1).values >= 0.5).sum())
        total += len(s["boxes"])
    assert found / total >= 0.9


def test_selective_search_rejects_bad_input():
    with pytest.raises(ValueError, match="image"):
        selective_search(torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="colour_space"):
        selective_search(torch.zeros(3, 8, 8), strategies=[Strategy("xyz")])
    with pytest.raises(ValueError, match="max_proposals"):
        selective_search(torch.zeros(3, 8, 8), max_proposals=0)


# --- RoI pooling -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [1.0, 0.5, 0.125, 1 / 3])
@pytest.mark.parametrize("size", [(2, 2), (3, 5), (7, 7)])
def test_roi_pool_matches_torchvision_exactly(seed, scale, size):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 4, 20, 24, generator=g)
    xy = torch.rand(12, 2, generator=g) * 40 - 5
    wh = torch.rand(12, 2, generator=g) * 30
    b = torch.cat([torch.randint(0, 2, (12, 1), generator=g).float(), xy, xy + wh], 1)
    b[::2, 1:] = torch.round(b[::2, 1:] * 2) / 2  # half-integers exercise the rounding rule
    assert torch.equal(roi_pool(x, b, size, scale), tvo.roi_pool(x, b, size, scale))
    as_list = [b[b[:, 0] == i, 1:] for i in range(2)]
    order = torch.argsort(b[:, 0], stable=True)
    assert torch.equal(roi_pool(x, as_list, size, scale), tvo.roi_pool(x, b[order], size, scale))


def test_roi_pool_by_hand():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    out = roi_pool(x, [torch.tensor([[0.0, 0.0, 3.0, 3.0]])], 2)
    assert out.flatten().tolist() == [5.0, 7.0, 13.0, 15.0]  # end cell inclusive: a 4x4 RoI
    with pytest.raises(ValueError, match="output_size"):
        roi_pool(x, [torch.tensor([[0.0, 0, 1, 1]])], 0)
    with pytest.raises(ValueError, match="batch indices"):
        roi_pool(x, torch.tensor([[3.0, 0, 0, 1, 1]]), 2)


def test_crop_and_warp_is_a_resize_of_the_crop():
    img = torch.rand(1, 3, 64, 64)
    crops = crop_and_warp(img, [torch.tensor([[8.0, 16.0, 40.0, 48.0]])], size=32)
    torch.testing.assert_close(crops[0], img[0, :, 16:48, 8:40])  # same size: identity


# --- anchors -----------------------------------------------------------------------------

def test_anchor_shapes_and_order():
    base = base_anchors((16, 32), (0.5, 1.0, 2.0))
    wh = base[:, 2:] - base[:, :2]
    torch.testing.assert_close(wh.prod(1), torch.tensor([256.0, 1024.0] * 3))  # area = scale**2
    torch.testing.assert_close(wh[:, 1] / wh[:, 0], torch.tensor([0.5, 0.5, 1.0, 1.0, 2.0, 2.0]))
    a = grid_anchors((2, 3), 8, (16,), (1.0,))
    assert a.shape == (6, 4)
    centres = (a[:, :2] + a[:, 2:]) / 2
    assert centres.tolist() == [[4, 4], [12, 4], [20, 4], [4, 12], [12, 12], [20, 12]]


def test_anchor_labelling_on_a_hand_made_case():
    anchors = torch.tensor([
        [0.0, 0, 10, 10],    # exactly the first object: positive
        [1.0, 0, 11, 10],    # IoU 0.82 with it: positive
        [5.0, 0, 15, 10],    # IoU 0.33: ignored
        [40.0, 40, 50, 50],  # far away: negative
        [20.0, 20, 23, 23],  # the best anchor (IoU 0.36 < 0.7) for the small second object: positive
    ])
    gt = torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 25, 25]])
    labels, matched = label_anchors(anchors, gt)
    assert labels.tolist() == [1, 1, -1, 0, 1]
    assert matched[[0, 1, 4]].tolist() == [0, 0, 1]
    labels, _ = label_anchors(anchors, torch.zeros((0, 4)))
    assert (labels == 0).all()


def test_every_object_gets_a_positive_anchor_and_sampling_is_balanced():
    anchors = grid_anchors((16, 16), 8)
    for i in range(10):
        s = make_scene(1, i)
        labels, matched = label_anchors(anchors, s["boxes"].as_subclass(torch.Tensor))
        assert set(matched[labels == 1].tolist()) == set(range(len(s["boxes"])))
        pos, neg = sample_balanced(labels, 64, 0.5, torch.Generator().manual_seed(i))
        assert len(pos) <= 32 and len(pos) + len(neg) == 64
        assert (labels[pos] == 1).all() and (labels[neg] == 0).all()


def test_rpn_targets_decode_back_to_objects():
    from lecture_utils.models.rcnn import rpn_targets

    anchors = grid_anchors((16, 16), 8)
    s = make_scene(2, 0)
    gt = s["boxes"].as_subclass(torch.Tensor)
    idx, objectness, pos, targets = rpn_targets(anchors, gt, 128, torch.Generator().manual_seed(0))
    assert objectness.sum() == pos.sum() > 0
    decoded = decode_boxes(targets[pos], anchors[idx[pos]])
    assert (box_iou(decoded, gt).max(1).values > 1 - 1e-5).all()


# --- models ------------------------------------------------------------------------------

def test_detectors_train_step_and_predict_shapes():
    from lecture_utils.models.rcnn import FasterRCNN, FastRCNN, RCNNCropNet, torchvision_faster_rcnn
    from lecture_utils.train import scene_batches

    images, targets = next(scene_batches(0, 2))
    for model in (FasterRCNN(3), torchvision_faster_rcnn(3)):
        model.train()
        losses = model(images, targets)
        assert all(torch.isfinite(v) for v in losses.values())
        sum(losses.values()).backward()
        model.eval()
        with torch.no_grad():
            out = model(images)
        assert len(out) == 2 and out[0]["boxes"].shape[1] == 4
    fast = FastRCNN(3)
    props = [t["boxes"] + 1 for t in targets]
    fast.train()
    assert set(fast(images, props, targets)) == {"loss_classifier", "loss_box_reg"}
    crops = RCNNCropNet(3)
    assert crops(torch.rand(5, 3, 32, 32)).shape == (5, 4)
    with pytest.raises(ValueError, match="images"):
        FasterRCNN(3).eval()(torch.rand(1, 3, 64, 64))


def test_checkpoint_round_trip_and_refusal(tmp_path):
    from lecture_utils.checkpoints import load_checkpoint, save_checkpoint
    from lecture_utils.models.backbones import SmallBackbone

    model = SmallBackbone()
    save_checkpoint(model, "m.pt", {"steps": 3}, tmp_path)
    other = SmallBackbone()
    assert load_checkpoint(other, "m.pt", tmp_path, verbose=False) == {"steps": 3}
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    (tmp_path / "m.pt").write_bytes(b"corrupt")
    assert load_checkpoint(other, "m.pt", tmp_path, verbose=False) is None
    assert load_checkpoint(other, "absent.pt", tmp_path, verbose=False) is None


def test_pretrained_loader_uses_the_local_cache_only(tmp_path, monkeypatch):
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    from lecture_utils import pretrained

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.delenv("LECTURE_ALLOW_DOWNLOAD", raising=False)
    assert pretrained.coco_faster_rcnn(verbose=False) is None  # nothing cached, downloads off
    # a file the course makes itself stands in for the cached COCO weights
    from torchvision.models.detection import FasterRCNN_MobileNet_V3_Large_320_FPN_Weights as W

    path = pretrained.cached_weights_path(W.COCO_V1)
    path.parent.mkdir(parents=True)
    reference = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
    torch.save(reference.state_dict(), path)
    # its sha256 does not start with the digits torchvision put in the file name: refused
    assert pretrained.coco_faster_rcnn(verbose=False) is None
    # the genuine file would pass that check; stand in for it
    monkeypatch.setattr(pretrained, "_digest_problem", lambda _path: None)
    model, names = pretrained.coco_faster_rcnn(verbose=False)
    assert len(names) == 91 and not model.training
    key = next(iter(reference.state_dict()))
    assert torch.equal(model.state_dict()[key], reference.state_dict()[key])
    assert math.isfinite(next(model.parameters()).detach().sum().item())


def test_cached_weights_are_checked_against_their_digest(tmp_path):
    from lecture_utils import pretrained
    from lecture_utils.checkpoints import sha256_of

    blob = tmp_path / "blob"
    blob.write_bytes(b"weights")
    digest = sha256_of(blob)
    good, bad = tmp_path / f"model-{digest[:8]}.pth", tmp_path / "model-0123abcd.pth"
    good.write_bytes(b"weights")
    bad.write_bytes(b"weights")
    assert pretrained._digest_problem(good) is None  # torchvision's convention: name carries the digest
    assert "does not start with" in pretrained._digest_problem(bad)
    unnamed = tmp_path / "dino.pth"  # DINO's files carry no digest: the course records one on download
    unnamed.write_bytes(b"weights")
    (tmp_path / "dino.pth.sha256").write_text(digest + "\n")
    assert pretrained._digest_problem(unnamed) is None
    unnamed.write_bytes(b"tampered")
    assert "differs" in pretrained._digest_problem(unnamed)
