"""More bad, edge and reference cases for the public API, written by a second, independent probe
(a reader who had seen tests/api_probe.py and looked for what it missed). Same kinds of case and
the same rules: see tests/api_probe.py. Edge cases here also compare with the reference libraries
(torchvision.ops, pycocotools, scikit-learn) on valid inputs.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np
import torch
import torchvision.ops as tvo
from api_probe import (
    Bad,
    Edge,
    box,
    checkpoint_dir_with,
    coco_gt,
    det,
    draw,
    empty_boxes,
    image,
    load_into_linear,
    m,
    pred,
    target,
    tiny_unet,
    with_env,
)

T = torch.tensor
NAN, INF = float("nan"), float("inf")
L = torch.int64

def close(a, b, tol=1e-5):
    a, b = torch.as_tensor(a).double(), torch.as_tensor(b).double()
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=tol, equal_nan=True))

g = torch.Generator().manual_seed(0)
def rand_boxes(n, size=64, seed=0):
    gg = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=gg) * size * 0.7
    wh = torch.rand(n, 2, generator=gg) * size * 0.3 + 1
    return torch.cat([xy, xy + wh], 1)

B5 = rand_boxes(5)
B7 = rand_boxes(7, seed=1)
S5 = torch.rand(5, generator=torch.Generator().manual_seed(3))
FEAT = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
RB = torch.cat([torch.tensor([[0.], [1.], [0.], [1.]]), rand_boxes(4, 16, seed=5)], 1)

def coco_many():
    """two images, 2 categories, a few GTs and dets incl. a crowd and small boxes"""
    imgs = [{"id": 1, "width": 64, "height": 64}, {"id": 2, "width": 64, "height": 64}]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 20, 20], "area": 400.0, "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [30, 30, 5, 5], "area": 25.0, "iscrowd": 0},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [10, 10, 40, 40], "area": 1600.0, "iscrowd": 0},
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [0, 0, 64, 8], "area": 512.0, "iscrowd": 1},
        {"id": 5, "image_id": 2, "category_id": 2, "bbox": [40, 40, 10, 12], "area": 120.0, "iscrowd": 0},
    ]
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [3, 2, 19, 21], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [3, 2, 19, 21], "score": 0.9},   # duplicate, tied score
        {"image_id": 1, "category_id": 2, "bbox": [31, 30, 5, 6], "score": 0.4},
        {"image_id": 2, "category_id": 1, "bbox": [12, 8, 38, 40], "score": 0.8},
        {"image_id": 2, "category_id": 1, "bbox": [5, 0, 30, 8], "score": 0.7},     # on the crowd
        {"image_id": 2, "category_id": 2, "bbox": [0, 0, 10, 10], "score": 0.95},   # FP
        {"image_id": 2, "category_id": 2, "bbox": [41, 39, 10, 12], "score": 0.3},
    ]
    return {"images": imgs, "annotations": anns, "categories": cats}, dets

def coco_vs_pycoco(gt, dets):
    a = m("metrics").coco_evaluate(gt, dets)
    b = m("metrics").pycocotools_evaluate(gt, dets)
    diffs = {k: (a[k], b[k]) for k in b if k in a and not (abs(a[k] - b[k]) < 1e-9)}
    return diffs

def sk_jaccard_vs_ours():
    from sklearn.metrics import confusion_matrix as skcm
    from sklearn.metrics import jaccard_score
    gg = torch.Generator().manual_seed(7)
    p = torch.randint(0, 4, (200,), generator=gg)
    t = torch.randint(0, 3, (200,), generator=gg)
    conf = m("metrics").confusion_matrix(p, t, 4)
    sk = skcm(t.numpy(), p.numpy(), labels=[0, 1, 2, 3])
    ours = m("metrics").per_class_iou(conf)
    skj = jaccard_score(t.numpy(), p.numpy(), labels=[0, 1, 2, 3], average=None, zero_division=0)
    return (conf.numpy() == sk).all(), ours.numpy(), skj

def dataset_scene():
    return m("data").make_scene(0, 0)

def mk_lin():
    return torch.nn.Linear(2, 2)

def bad_manifest_dir():
    d = checkpoint_dir_with({"state_dict": mk_lin().state_dict(), "meta": {}})
    (d / "SHA256SUMS").write_text("0" * 64 + "  x.pt\n")
    return d

def no_manifest_dir():
    d = checkpoint_dir_with({"state_dict": mk_lin().state_dict(), "meta": {}})
    (d / "SHA256SUMS").unlink()
    return d

def saved_and_loaded():
    d = tempfile.mkdtemp()
    lin = mk_lin()
    m("checkpoints").save_checkpoint(lin, "y.pt", {"a": 1}, d)
    lin2 = mk_lin()
    meta = m("checkpoints").load_checkpoint(lin2, "y.pt", d, verbose=False)
    return meta, torch.equal(lin.weight, lin2.weight)

def tv_nms_ref(boxes, scores, thr):
    return m("boxes").nms(boxes, scores, thr).tolist() == tvo.nms(boxes, scores, thr).tolist()

def dup_boxes():
    b = torch.cat([box(), box(), box() + 1])
    s = T([0.5, 0.5, 0.4])
    return m("boxes").nms(b, s, 0.5).tolist(), tvo.nms(b, s, 0.5).tolist()


CASES = [
    # ---------------- boxes ----------------
    Bad("box_iou numpy", lambda: m("boxes").box_iou(np.array([[0., 0, 1, 1]]), box()), "boxes1"),
    Bad("box_iou 1-D box", lambda: m("boxes").box_iou(T([0., 0, 1, 1]), box()), "boxes1"),
    Bad("box_iou inf", lambda: m("boxes").box_iou(box(), T([[0., 0, INF, 1]])), "boxes2"),
    Bad("box_iou bool", lambda: m("boxes").box_iou(box().bool(), box()), "boxes1"),
    Bad("box_iou fmt typo", lambda: m("boxes").box_iou(box(), box(), fmt="XYXY"), "fmt"),
    Bad("box_convert xywh neg w", lambda: m("boxes").box_convert(T([[0., 0, -3, 4]]), "xywh", "xyxy"), "boxes"),
    Bad("box_area list", lambda: m("boxes").box_area([[0, 0, 2, 2]]), "boxes"),
    Bad("giou x2<x1", lambda: m("boxes").generalized_box_iou(T([[5., 5, 0, 0]]), box()), "boxes1"),
    Bad("giou NaN", lambda: m("boxes").generalized_box_iou(box(), T([[NAN, 0, 1, 1]])), "boxes2"),
    Bad("clip size negative", lambda: m("boxes").clip_boxes_to_image(box(), (-5, 10)), "size"),
    Bad("clip size 3-tuple", lambda: m("boxes").clip_boxes_to_image(box(), (5, 10, 3)), "size"),
    Bad("clip size bool", lambda: m("boxes").clip_boxes_to_image(box(), (True, 10)), "size"),
    Bad("clip size zero", lambda: m("boxes").clip_boxes_to_image(box(), (0, 0)), "size"),
    Bad("encode zero-width target", lambda: m("boxes").encode_boxes(T([[0., 0, 0, 10]]), box()), "targets"),
    Bad("encode weights 3", lambda: m("boxes").encode_boxes(box(), box(), (1, 1, 1)), "weights"),
    Bad("encode weights negative", lambda: m("boxes").encode_boxes(box(), box(), (1, 1, -1, 1)), "weights"),
    Bad("decode deltas list", lambda: m("boxes").decode_boxes([[0., 0, 0, 0]], box()), "deltas"),
    Bad("decode deltas wrong shape", lambda: m("boxes").decode_boxes(torch.zeros(2, 4), box()), "deltas"),
    Bad("nms threshold 2", lambda: m("boxes").nms(box(), T([1.0]), 2.0), "iou_threshold"),
    Bad("nms threshold -0.1", lambda: m("boxes").nms(box(), T([1.0]), -0.1), "iou_threshold"),
    Bad("nms threshold str", lambda: m("boxes").nms(box(), T([1.0]), "0.5"), "iou_threshold"),
    Bad("nms scores list", lambda: m("boxes").nms(box(), [1.0], 0.5), "scores"),
    Bad("nms scores 2-D", lambda: m("boxes").nms(box(), T([[1.0]]), 0.5), "scores"),
    Bad("nms scores wrong len", lambda: m("boxes").nms(B5, T([1.0, 0.5]), 0.5), "scores"),
    Bad("nms int scores", lambda: m("boxes").nms(box(), T([1]), 0.5), "scores"),
    Bad("nms bool scores", lambda: m("boxes").nms(box(), T([True]), 0.5), "scores"),
    Bad("nms batched boxes", lambda: m("boxes").nms(box()[None], T([1.0]), 0.5), "boxes"),
    Bad("batched_nms bool idxs", lambda: m("boxes").batched_nms(box(), T([1.0]), T([True]), 0.5), "idxs"),
    Bad("batched_nms idxs len", lambda: m("boxes").batched_nms(B5, S5, T([0, 1]), 0.5), "idxs"),
    Bad("batched_nms NaN thr", lambda: m("boxes").batched_nms(box(), T([1.0]), T([0]), NAN), "iou_threshold"),
    Edge("box_iou vs torchvision", lambda: m("boxes").box_iou(B5, B7), lambda r: close(r, tvo.box_iou(B5, B7))),
    Edge("box_iou float64", lambda: m("boxes").box_iou(B5.double(), B7.double()), lambda r: close(r, tvo.box_iou(B5.double(), B7.double()))),
    Edge("box_iou float16 dtype", lambda: m("boxes").box_iou(B5.half(), B7.half()), lambda r: close(r, tvo.box_iou(B5, B7), 2e-3)),
    # two identical zero-area boxes: 0 / 0, NaN as in torchvision (documented; nms treats it as no overlap)
    Edge("box_iou zero-area pair", lambda: m("boxes").box_iou(T([[1., 1, 1, 1]]), T([[1., 1, 1, 1]])),
         lambda r: math.isnan(float(r)) and math.isnan(float(tvo.box_iou(T([[1., 1, 1, 1]]), T([[1., 1, 1, 1]]))))),
    Edge("box_iou xywh vs tv", lambda: m("boxes").box_iou(tvo.box_convert(B5, "xyxy", "xywh"), tvo.box_convert(B7, "xyxy", "xywh"), fmt="xywh"),
         lambda r: close(r, tvo.box_iou(B5, B7))),
    Edge("box_iou cxcywh vs tv", lambda: m("boxes").box_iou(tvo.box_convert(B5, "xyxy", "cxcywh"), tvo.box_convert(B7, "xyxy", "cxcywh"), fmt="cxcywh"),
         lambda r: close(r, tvo.box_iou(B5, B7), 1e-4)),
    Edge("giou vs torchvision", lambda: m("boxes").generalized_box_iou(B5, B7), lambda r: close(r, tvo.generalized_box_iou(B5, B7))),
    Edge("giou zero-area", lambda: m("boxes").generalized_box_iou(T([[1., 1, 1, 1]]), T([[1., 1, 1, 1]])),
         lambda r: close(r, tvo.generalized_box_iou(T([[1., 1, 1, 1]]), T([[1., 1, 1, 1]])))),
    Edge("box_convert round trip", lambda: m("boxes").box_convert(m("boxes").box_convert(B5, "xyxy", "cxcywh"), "cxcywh", "xywh"),
         lambda r: close(r, tvo.box_convert(B5, "xyxy", "xywh"), 1e-4)),
    Edge("box_area int", lambda: m("boxes").box_area(T([[0, 0, 3, 4]])), lambda r: int(r) == 12),
    Edge("box_area vs tv", lambda: m("boxes").box_area(B5), lambda r: close(r, tvo.box_area(B5))),
    Edge("clip vs tv", lambda: m("boxes").clip_boxes_to_image(T([[-5., -3, 70, 20]]), (16, 64)),
         lambda r: close(r, tvo.clip_boxes_to_image(T([[-5., -3, 70, 20]]), (16, 64)))),
    Edge("encode/decode round trip", lambda: m("boxes").decode_boxes(m("boxes").encode_boxes(B5, B7[:5], (10, 10, 5, 5)), B7[:5], (10, 10, 5, 5)),
         lambda r: close(r, B5, 1e-3)),
    Edge("nms vs tv random", lambda: tv_nms_ref(rand_boxes(40, seed=9), torch.rand(40, generator=torch.Generator().manual_seed(9)), 0.3), lambda r: r),
    Edge("nms thr 0 vs tv", lambda: tv_nms_ref(rand_boxes(40, seed=9), torch.rand(40, generator=torch.Generator().manual_seed(9)), 0.0), lambda r: r),
    Edge("nms thr 1 vs tv", lambda: tv_nms_ref(torch.cat([B5, B5]), torch.rand(10, generator=torch.Generator().manual_seed(2)), 1.0), lambda r: r),
    Edge("nms duplicates tied scores", dup_boxes, lambda r: r[0] == r[1]),
    Edge("nms float64", lambda: m("boxes").nms(B5.double(), S5.double(), 0.5).tolist(), lambda r: r == tvo.nms(B5, S5, 0.5).tolist()),
    Edge("nms inf score", lambda: m("boxes").nms(B5, T([INF, 0.1, 0.2, 0.3, -INF]), 0.5).tolist(),
         lambda r: r == tvo.nms(B5, T([INF, 0.1, 0.2, 0.3, -INF]), 0.5).tolist()),
    Edge("nms int boxes", lambda: m("boxes").nms(T([[0, 0, 10, 10], [1, 1, 10, 10]]), T([0.9, 0.8]), 0.5).tolist(), lambda r: r == [0]),
    Edge("batched_nms vs tv", lambda: m("boxes").batched_nms(rand_boxes(30, seed=4), torch.rand(30, generator=torch.Generator().manual_seed(4)),
                                                             torch.arange(30) % 3, 0.2).tolist(),
         lambda r: r == tvo.batched_nms(rand_boxes(30, seed=4), torch.rand(30, generator=torch.Generator().manual_seed(4)), torch.arange(30) % 3, 0.2).tolist()),
    # ---------------- anchors ----------------
    Bad("base_anchors negative scale", lambda: m("anchors").base_anchors(scales=(-16,)), "scales"),
    Bad("base_anchors ratio 0", lambda: m("anchors").base_anchors(ratios=(0.0,)), "ratios"),
    Bad("base_anchors scalar scales", lambda: m("anchors").base_anchors(scales=16), "scales"),
    Bad("grid_anchors float size", lambda: m("anchors").grid_anchors((4.5, 4), 8), "feature_size"),
    Bad("grid_anchors stride NaN", lambda: m("anchors").grid_anchors((4, 4), NAN), "stride"),
    Bad("grid_anchors stride bool", lambda: m("anchors").grid_anchors((4, 4), True), "stride"),
    Bad("label_anchors pos_iou 1.5", lambda: m("anchors").label_anchors(box(), box(), pos_iou=1.5), "pos_iou"),
    Bad("label_anchors anchors list", lambda: m("anchors").label_anchors([[0., 0, 1, 1]], box()), "anchors"),
    Bad("label_anchors gt NaN", lambda: m("anchors").label_anchors(box(), T([[0., NAN, 3, 3]])), "gt_boxes"),
    Bad("sample_balanced float labels", lambda: m("anchors").sample_balanced(T([1.0, 0.0])), "labels"),
    Bad("sample_balanced label 2", lambda: m("anchors").sample_balanced(T([2, 0])), "labels"),
    Bad("sample_balanced fraction 1.5", lambda: m("anchors").sample_balanced(T([1, 0]), positive_fraction=1.5), "positive_fraction"),
    Bad("sample_balanced batch float", lambda: m("anchors").sample_balanced(T([1, 0]), batch_size=2.5), "batch_size"),
    Edge("label_anchors no anchors", lambda: m("anchors").label_anchors(empty_boxes(), box()), lambda r: r[0].numel() == 0),
    Edge("grid_anchors count", lambda: m("anchors").grid_anchors((2, 3), 8), lambda r: tuple(r.shape) == (2 * 3 * 9, 4)),
    Edge("sample_balanced all ignored", lambda: m("anchors").sample_balanced(T([-1, -1, -1])), lambda r: r[0].numel() == 0 and r[1].numel() == 0),
    # ---------------- roi ----------------
    Edge("roi_pool vs tv", lambda: m("roi").roi_pool(FEAT, RB, 3, 0.5), lambda r: close(r, tvo.roi_pool(FEAT, RB, 3, 0.5))),
    Edge("roi_pool list vs tv", lambda: m("roi").roi_pool(FEAT, [B5[:2] / 4, B7[:3] / 4], (2, 3)),
         lambda r: close(r, tvo.roi_pool(FEAT, [B5[:2] / 4, B7[:3] / 4], (2, 3)))),
    Edge("roi_pool box outside vs tv", lambda: m("roi").roi_pool(FEAT, T([[0., 20, 20, 30, 30]]), 2),
         lambda r: close(r, tvo.roi_pool(FEAT, T([[0., 20, 20, 30, 30]]), 2))),
    Edge("roi_pool float64 vs tv", lambda: m("roi").roi_pool(FEAT.double(), RB.double(), 2, 1.0),
         lambda r: close(r, tvo.roi_pool(FEAT.double(), RB.double(), 2, 1.0))),
    Edge("crop vs roi_align", lambda: m("roi").crop_and_warp(FEAT, RB, 5),
         lambda r: close(r, tvo.roi_align(FEAT, RB, (5, 5), 1.0, 1, True))),
    Bad("roi_pool fractional batch", lambda: m("roi").roi_pool(image(), T([[0.5, 0, 0, 4, 4]]), 2), "boxes"),
    Bad("roi_pool batch -0.5", lambda: m("roi").roi_pool(image(), T([[-0.5, 0, 0, 4, 4]]), 2), "boxes"),
    Bad("roi_pool NaN K5 box", lambda: m("roi").roi_pool(image(), T([[0., NAN, 0, 4, 4]]), 2), "boxes"),
    Bad("roi_pool x2<x1 K5", lambda: m("roi").roi_pool(image(), T([[0., 8, 8, 2, 2]]), 2), "boxes"),
    Bad("roi_pool output bool", lambda: m("roi").roi_pool(image(), [box()], True), "output_size"),
    Bad("roi_pool inf scale", lambda: m("roi").roi_pool(image(), [box()], 2, spatial_scale=INF), "spatial_scale"),
    Bad("roi_pool 3-D input", lambda: m("roi").roi_pool(image()[0], [box()], 2), "input"),
    Bad("roi_pool list len != batch", lambda: m("roi").roi_pool(image(1), [box(), box()], 2), "boxes"),
    Bad("crop inf context", lambda: m("roi").crop_and_warp(torch.rand(1,3,16,16), [T([[0.,0,10,10]])], 4, context=INF), "context"),
    Bad("crop x2<x1 K5", lambda: m("roi").crop_and_warp(image(), T([[0., 8, 8, 2, 2]]), 4), "boxes"),
    Bad("crop NaN K5", lambda: m("roi").crop_and_warp(torch.rand(1,3,16,16), T([[0.,NAN,0,4,4]]), 4), "boxes"),
    Bad("crop inf K5", lambda: m("roi").crop_and_warp(torch.rand(1,3,16,16), T([[0.,0,0,INF,4]]), 4), "boxes"),
    Bad("roi_pool inf K5", lambda: m("roi").roi_pool(torch.rand(1,3,16,16), T([[0.,0,0,INF,4]]), 2), "boxes"),
    Bad("crop HWC image", lambda: m("roi").crop_and_warp(torch.rand(1, 16, 16, 3), [box()], 4), "images"),
    Bad("crop uint8 images", lambda: m("roi").crop_and_warp((image() * 255).to(torch.uint8), [box()], 4), "images"),
    Bad("crop size float", lambda: m("roi").crop_and_warp(image(), [box()], 4.0), "size"),
    Bad("to_roi_format K5 list", lambda: m("roi").to_roi_format([[0, 0, 1, 1]]), "boxes"),
    # ---------------- metrics: detection ----------------
    Edge("match thr 0 disjoint", lambda: m("metrics").match_detections(box() + 50, T([0.9]), T([1]), box(), T([1]), 0.0)[0].tolist(),
         lambda r: r == [True]),  # documented: IoU >= threshold, as pycocotools
    Edge("match thr 1 identical", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), box(), T([1]), 1.0)[0].tolist(),
         lambda r: r == [True]),
    Edge("match duplicates", lambda: m("metrics").match_detections(torch.cat([box(), box()]), T([0.9, 0.8]), T([1, 1]), box(), T([1]))[0].tolist(),
         lambda r: r == [True, False]),
    Bad("match gt labels bool", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), box(), T([True])), "gt_labels"),
    Bad("match scores len", lambda: m("metrics").match_detections(box(), T([0.9, 0.1]), T([1]), box(), T([1])), "pred_scores"),
    Bad("match thr bool", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), box(), T([1]), True), "iou_threshold"),
    Bad("match gt list", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), [[0, 0, 10, 10]], T([1])), "gt_boxes"),
    Bad("PR is_tp float 0.5", lambda: m("metrics").precision_recall_curve(T([0.5, 0.2]), T([0.9, 0.8]), 2), "is_tp"),
    Bad("PR is_tp 2", lambda: m("metrics").precision_recall_curve(T([2, 0]), T([0.9, 0.8]), 2), "is_tp"),
    Bad("PR num_gt bool", lambda: m("metrics").precision_recall_curve(T([True]), T([0.9]), True), "num_gt"),
    Bad("PR scores len", lambda: m("metrics").precision_recall_curve(T([True, False]), T([0.9]), 2), "scores"),
    Bad("AP precision > 1", lambda: m("metrics").average_precision(T([1.5, 1.2]), T([0.5, 1.0])), "precision"),
    Bad("AP negative precision", lambda: m("metrics").average_precision(T([-1.0, 0.5]), T([0.5, 1.0])), "precision"),
    Bad("AP recall > 1", lambda: m("metrics").average_precision(T([1.0, 1.0]), T([0.5, 3.0])), "recall"),
    Bad("AP precision inf", lambda: m("metrics").average_precision(T([INF, 1.0]), T([0.5, 1.0])), "precision"),
    Bad("AP 2-D", lambda: m("metrics").average_precision(T([[1.0]]), T([[1.0]])), "precision"),
    Edge("AP voc10 known", lambda: m("metrics").average_precision(torch.tensor([1.0, 0.5, 2 / 3], dtype=torch.float64), torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64)), lambda r: abs(r - (0.5 + 0.5 * 2 / 3)) < 1e-9),
    Edge("AP perfect all methods", lambda: [m("metrics").average_precision(T([1.0]), T([1.0]), k) for k in ("voc07", "voc10", "coco")],
         lambda r: all(abs(v - 1) < 1e-12 for v in r)),
    Edge("PR num_gt 0 no TP", lambda: m("metrics").precision_recall_curve(T([False]), T([0.5]), 0), lambda r: r[1].tolist() == [0.0]),
    Bad("mAP iou_threshold 5 no images", lambda: m("metrics").mean_average_precision([], [], iou_threshold=5), "iou_threshold"),
    Bad("mAP missing scores key", lambda: m("metrics").mean_average_precision([{"boxes": box(), "labels": T([1])}], [target()]), "scores"),
    Bad("mAP float labels", lambda: m("metrics").mean_average_precision([pred(labels=T([1.0]))], [target()]), "labels"),
    Bad("mAP num_classes bool", lambda: m("metrics").mean_average_precision([pred()], [target()], num_classes=True), "num_classes"),
    Bad("mAP pred boxes 3 cols", lambda: m("metrics").mean_average_precision([pred(boxes=T([[0., 0, 1]]))], [target()]), "predictions"),
    Bad("mAP targets not list", lambda: m("metrics").mean_average_precision(pred(), target()), "predictions"),
    Bad("mAP labels len != boxes", lambda: m("metrics").mean_average_precision([pred(labels=T([1, 1]), scores=T([0.9, 0.8]))], [target()]), "predictions"),
    Edge("mAP empty both", lambda: m("metrics").mean_average_precision([], [])["mAP"], lambda r: math.isnan(r)),
    Edge("mAP scores as list", lambda: m("metrics").mean_average_precision([{"boxes": box(), "scores": [0.9], "labels": [1]}], [target()])["mAP"], lambda r: r == 1.0),
    Edge("mAP scores > 1 allowed", lambda: m("metrics").mean_average_precision([pred(scores=T([7.0]))], [target()])["mAP"], lambda r: r == 1.0),
    Edge("mAP coco vs coco_evaluate AP50", lambda: (m("metrics").mean_average_precision(
        [pred(boxes=torch.cat([box(), box() + 30, box() + 2]), scores=T([0.9, 0.8, 0.7]), labels=T([1, 1, 1]))],
        [target(boxes=torch.cat([box(), box() + 31]), labels=T([1, 1]))], method="coco")["mAP"],
        m("metrics").pycocotools_evaluate({"images": [{"id": 1, "width": 64, "height": 64}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 0},
                            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [31, 31, 10, 10], "area": 100.0, "iscrowd": 0}],
            "categories": [{"id": 1, "name": "a"}]},
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
             {"image_id": 1, "category_id": 1, "bbox": [30, 30, 10, 10], "score": 0.8},
             {"image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10], "score": 0.7}])["AP50"]),
        lambda r: abs(r[0] - r[1]) < 1e-9),
    Bad("recall top_n bool", lambda: m("metrics").object_recall([box()], [target()], top_n=True), "top_n"),
    Bad("recall score_threshold NaN", lambda: m("metrics").object_recall([pred()], [target()], score_threshold=NAN), "score_threshold"),
    Bad("recall targets missing boxes", lambda: m("metrics").object_recall([box()], [{"labels": T([1])}]), "targets"),
    Edge("recall threshold 0 disjoint", lambda: m("metrics").object_recall([box() + 50], [target()], iou_threshold=0.0).tolist(),
         lambda r: r == [True]),
    Edge("recall no gt", lambda: m("metrics").object_recall([box()], [target(empty_boxes())]), lambda r: r.numel() == 0),
    # ---------------- metrics: COCO ----------------
    Edge("COCO vs pycocotools mixed", lambda: coco_vs_pycoco(*coco_many()), lambda r: r == {}),
    Edge("COCO vs pycoco no dets", lambda: coco_vs_pycoco(coco_many()[0], []), lambda r: r == {}),
    Edge("COCO vs pycoco only crowd", lambda: coco_vs_pycoco(
        {**coco_gt(), "annotations": [{**coco_gt()["annotations"][0], "iscrowd": 1}]}, [det()]), lambda r: r == {}),
    Edge("COCO vs pycoco 150 dets", lambda: coco_vs_pycoco(coco_gt(), [det(bbox=[i % 20, 0, 10, 10], score=1 - i / 200) for i in range(150)]),
         lambda r: r == {}),
    Edge("COCO zero-size det", lambda: coco_vs_pycoco(coco_gt(), [det(bbox=[0, 0, 0, 0])]), lambda r: r == {}),
    Bad("COCO bbox 3 numbers", lambda: m("metrics").coco_evaluate(coco_gt(), [det(bbox=[0, 0, 10])]), "detections"),
    Bad("COCO det category unknown", lambda: m("metrics").coco_evaluate(coco_gt(), [det(category_id=9)]), "category_id"),
    Bad("COCO score string", lambda: m("metrics").coco_evaluate(coco_gt(), [det(score="0.9")]), "detections"),
    Bad("COCO gt negative area", lambda: m("metrics").coco_evaluate(coco_gt(area=-5.0), []), "area"),
    Bad("COCO iscrowd 2", lambda: m("metrics").coco_evaluate(coco_gt(iscrowd=2), []), "iscrowd"),
    Bad("COCO gt bbox NaN", lambda: m("metrics").coco_evaluate(coco_gt(bbox=[0, 0, NAN, 10]), []), "coco_gt"),
    Bad("COCO missing categories", lambda: m("metrics").coco_evaluate({"images": [], "annotations": []}, []), "coco_gt"),
    Bad("COCO dets tensor bbox", lambda: m("metrics").coco_evaluate(coco_gt(), [det(bbox=T([0., 0, 10, 10]))]), "detections"),
    Bad("to_coco image_ids float", lambda: m("metrics").detections_to_coco([pred()], [1.5]), "image_ids"),
    Bad("to_coco x2<x1", lambda: m("metrics").detections_to_coco([pred(boxes=T([[5., 5, 0, 0]]))], [1]), "predictions"),
    Edge("to_coco xywh", lambda: m("metrics").detections_to_coco([pred(boxes=T([[1., 2, 4, 8]]))], [3]),
         lambda r: r[0]["bbox"] == [1.0, 2.0, 3.0, 6.0] and r[0]["image_id"] == 3),
    Edge("to_coco empty", lambda: m("metrics").detections_to_coco([pred(empty_boxes(), torch.zeros(0), torch.zeros(0, dtype=L))], [1]), lambda r: r == []),
    # ---------------- metrics: segmentation ----------------
    Edge("per_class_iou vs sklearn", sk_jaccard_vs_ours, lambda r: bool(r[0]) and np.allclose(np.nan_to_num(r[1], nan=0), r[2])),
    Edge("mask_iou vs pycoco", lambda: m("metrics").mask_iou(torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5,
                                                           torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(2)) > 0.5),
         lambda r: close(r, _pyco_mask_iou())),
    Bad("mask_iou list", lambda: m("metrics").mask_iou([[[1]]], torch.ones(1, 1, 1).bool()), "masks1"),
    Bad("mask_iou NaN float", lambda: m("metrics").mask_iou(torch.full((1, 2, 2), NAN), torch.ones(1, 2, 2).bool()), "masks1"),
    Bad("paired shapes", lambda: m("metrics").paired_mask_iou(torch.ones(2, 4, 4).bool(), torch.ones(3, 4, 4).bool()), "pred"),
    Bad("paired float", lambda: m("metrics").paired_mask_iou(torch.rand(4, 4), torch.ones(4, 4).bool()), "pred"),
    Bad("paired int 2", lambda: m("metrics").paired_mask_iou(torch.full((4, 4), 2), torch.ones(4, 4).bool()), "pred"),
    Edge("paired empty pair", lambda: m("metrics").paired_mask_iou(torch.zeros(4, 4).bool(), torch.zeros(4, 4).bool()), lambda r: float(r) == 0.0),
    Bad("confusion bool pred", lambda: m("metrics").confusion_matrix(T([True, False]), T([1, 0]), 2), "pred"),
    Bad("confusion negative target", lambda: m("metrics").confusion_matrix(T([0, 1]), T([-1, 0]), 2), "target"),
    Bad("confusion ignore float", lambda: m("metrics").confusion_matrix(T([0, 1]), T([255, 0]), 2, ignore_index=255.5), "ignore_index"),
    Bad("confusion K float", lambda: m("metrics").confusion_matrix(T([0]), T([0]), 2.0), "num_classes"),
    Bad("confusion float target", lambda: m("metrics").confusion_matrix(T([0]), T([0.0]), 2), "target"),
    Bad("confusion ignore=valid class", lambda: m("metrics").confusion_matrix(T([0, 1]), T([0, 1]), 2, ignore_index=True), "ignore_index"),
    Edge("confusion ignore 255", lambda: m("metrics").confusion_matrix(T([0, 1, 1]), T([255, 1, 0]), 2, ignore_index=255).tolist(),
         lambda r: r == [[0, 1], [0, 1]]),
    Edge("confusion empty", lambda: m("metrics").confusion_matrix(torch.zeros(0, dtype=L), torch.zeros(0, dtype=L), 2).tolist(), lambda r: r == [[0, 0], [0, 0]]),
    Edge("confusion uint8", lambda: m("metrics").confusion_matrix(T([1, 2], dtype=torch.uint8), T([1, 1], dtype=torch.uint8), 3).tolist(),
         lambda r: r == [[0, 0, 0], [0, 1, 1], [0, 0, 0]]),
    Bad("pixel_accuracy NaN", lambda: m("metrics").pixel_accuracy(T([[NAN, 0.], [0., 1.]])), "conf"),
    Bad("pixel_accuracy list", lambda: m("metrics").pixel_accuracy([[1, 0], [0, 1]]), "conf"),
    Bad("mean_iou empty", lambda: m("metrics").mean_iou(torch.zeros(0, 0)), "conf"),
    Edge("mean_iou absent class", lambda: m("metrics").mean_iou(T([[2, 0, 0], [0, 2, 0], [0, 0, 0]])), lambda r: r == 1.0),
    Bad("boundary float", lambda: m("metrics").boundary_f_score(torch.rand(4, 4), torch.rand(4, 4), 2), "pred"),
    Bad("boundary id >= K", lambda: m("metrics").boundary_f_score(torch.full((4, 4), 5), torch.zeros(4, 4, dtype=L), 2), "pred"),
    Bad("boundary negative ids", lambda: m("metrics").boundary_f_score(torch.full((4, 4), -1), torch.zeros(4, 4, dtype=L), 2), "pred"),
    Bad("boundary tol float", lambda: m("metrics").boundary_f_score(T([[0]]), T([[0]]), 2, tolerance=1.5), "tolerance"),
    Edge("boundary perfect", lambda: m("metrics").boundary_f_score(_seg(), _seg(), 3), lambda r: r == 1.0),
    Edge("boundary 1 pixel (documented NaN)", lambda: m("metrics").boundary_f_score(T([[1]]), T([[1]]), 2), lambda r: math.isnan(r)),
    # ---------------- data ----------------
    Bad("config image_size float", lambda: m("data").SceneConfig(image_size=64.0), "image_size"),
    Bad("config image_size bool", lambda: m("data").SceneConfig(image_size=True), "image_size"),
    Bad("config noise negative", lambda: m("data").SceneConfig(noise_std=-0.1), "noise_std"),
    Bad("config classes empty", lambda: m("data").SceneConfig(classes=()), "classes"),
    Bad("config classes str", lambda: m("data").SceneConfig(classes="circle"), "classes"),
    Bad("config visible fraction 2", lambda: m("data").SceneConfig(min_visible_fraction=2.0), "min_visible_fraction"),
    Bad("config min_objects -1", lambda: m("data").SceneConfig(min_objects=-1), "min_objects"),
    Bad("config size_range 3", lambda: m("data").SceneConfig(size_range=(0.1, 0.2, 0.3)), "size_range"),
    Bad("config contrast NaN", lambda: m("data").SceneConfig(min_contrast=NAN), "min_contrast"),
    Bad("make_scene seed float", lambda: m("data").make_scene(1.5, 0), "seed"),
    Bad("make_scene index -1", lambda: m("data").make_scene(0, -1), "index"),
    Bad("make_scene config dict", lambda: m("data").make_scene(0, 0, {"image_size": 64}), "config"),
    Bad("scenes length float", lambda: m("data").SyntheticScenes(2.5), "length"),
    Bad("scenes offset -1", lambda: m("data").SyntheticScenes(2, offset=-1), "offset"),
    Bad("scenes index float", lambda: m("data").SyntheticScenes(2)[0.5], "index"),
    Edge("scenes negative index", lambda: m("data").SyntheticScenes(3)[-1], lambda r: r is not None),
    Edge("scenes length 0", lambda: len(m("data").SyntheticScenes(0)), lambda r: r == 0),
    Edge("scene deterministic", lambda: torch.equal(m("data").make_scene(3, 5)["image"], m("data").make_scene(3, 5)["image"]), lambda r: r),
    Bad("rle_to_mask counts sum wrong", lambda: m("data").rle_to_mask({"counts": [1, 2], "size": [4, 4]}), "rle"),
    Bad("rle_to_mask negative counts", lambda: m("data").rle_to_mask({"counts": [-1, 17], "size": [4, 4]}), "rle"),
    Bad("mask_to_rle values 2", lambda: m("data").mask_to_rle(np.full((4, 4), 2)), "mask"),
    Bad("mask_to_rle float prob", lambda: m("data").mask_to_rle(np.full((4, 4), 0.3)), "mask"),
    Edge("rle round trip", lambda: m("data").rle_to_mask(m("data").mask_to_rle(_mask())), lambda r: np.array_equal(np.asarray(r).astype(bool), _mask())),
    Edge("rle vs pycocotools", lambda: m("data").mask_to_rle(_mask()), lambda r: _rle_vs_pyco(r)),
    Edge("rle empty mask", lambda: m("data").rle_to_mask(m("data").mask_to_rle(np.zeros((3, 5), bool))), lambda r: np.asarray(r).shape == (3, 5) and not np.asarray(r).any()),
    Bad("tight boxes 2-D", lambda: m("data").masks_to_tight_boxes(torch.ones(4, 4, dtype=torch.bool)), "masks"),
    Edge("tight boxes vs tv", lambda: m("data").masks_to_tight_boxes(_mask_t()), lambda r: close(r, tvo.masks_to_boxes(_mask_t()) + T([0., 0, 1, 1]))
         or close(r, tvo.masks_to_boxes(_mask_t()))),
    Edge("tight boxes zero masks", lambda: m("data").masks_to_tight_boxes(torch.zeros(0, 4, 4, dtype=torch.bool)), lambda r: tuple(r.shape) == (0, 4)),
    Bad("collate not list of tuples", lambda: m("data").detection_collate([torch.rand(3, 4, 4)]), "batch"),
    Bad("stack_images empty", lambda: m("data").stack_images([]), "scenes"),
    Bad("stack_images bad key", lambda: m("data").stack_images([dataset_scene()], key="img"), "key"),
    Bad("to_coco classes empty", lambda: m("data").to_coco([dataset_scene()], classes=()), "classes"),
    Bad("to_coco label 5 of 3", lambda: m("data").to_coco([{**dataset_scene(), "labels": T([5] * len(dataset_scene()["labels"]))}]), "samples"),
    # ---------------- dino / schedules ----------------
    # documented, not errors: a run shorter than its warm-up ends inside it (fit's 50-step warm-up on a
    # 20-step smoke run), and after the cosine the value stays at its end
    Edge("cosine warmup > total", lambda: m("schedules").cosine_schedule(1.0, 0.0, 0, 10, warmup=20),
         lambda r: r == 1 / 20),
    Edge("cosine step > total", lambda: m("schedules").cosine_schedule(1.0, 0.0, 11, 10), lambda r: r == 0.0),
    Bad("cosine NaN start", lambda: m("schedules").cosine_schedule(NAN, 0.0, 0, 10), "start"),
    Bad("cosine step float", lambda: m("schedules").cosine_schedule(1.0, 0.0, 0.5, 10), "step"),
    Bad("ema momentum 1.5", lambda: m("schedules").ema_update(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), 1.5), "momentum"),
    Bad("ema shapes differ", lambda: m("schedules").ema_update(torch.nn.Linear(1, 1), torch.nn.Linear(2, 1), 0.9), "student"),
    Edge("cosine endpoints", lambda: (m("schedules").cosine_schedule(1.0, 0.0, 0, 10), m("schedules").cosine_schedule(1.0, 0.0, 10, 10)),
         lambda r: abs(r[0] - 1) < 1e-12 and abs(r[1]) < 1e-12),
    Bad("DINOLoss out_dim 0", lambda: m("dino").DINOLoss(0), "out_dim"),
    Bad("DINOLoss temp 0", lambda: m("dino").DINOLoss(8, student_temp=0.0), "student_temp"),
    Bad("DINOLoss tensor not list", lambda: m("dino").DINOLoss(8)(torch.rand(2, 8), torch.rand(2, 8)), "student_out"),
    Bad("DINOLoss NaN logits", lambda: m("dino").DINOLoss(8)([torch.full((2, 8), NAN)] * 2, [torch.rand(2, 8)] * 2), "student_out"),
    Bad("DINOLoss batch mismatch", lambda: m("dino").DINOLoss(8)([torch.rand(2, 8)] * 2, [torch.rand(3, 8)] * 2), "teacher_out"),
    Bad("DINOLoss one view", lambda: m("dino").DINOLoss(8)([torch.rand(2, 8)], [torch.rand(2, 8)]), "student_out"),
    Bad("entropy not probs", lambda: m("dino").entropy_stats(T([[2.0, -1.0]])), "probs"),
    Bad("entropy 1-D", lambda: m("dino").entropy_stats(T([0.5, 0.5])), "probs"),
    Bad("koleo 1-D", lambda: m("dino").koleo_loss(torch.rand(4)), "features"),
    Bad("koleo NaN", lambda: m("dino").koleo_loss(torch.full((3, 4), NAN)), "features"),
    Edge("koleo duplicates finite", lambda: m("dino").koleo_loss(torch.ones(3, 4)), lambda r: bool(torch.isfinite(r))),
    Bad("ibot mask float", lambda: m("dino").ibot_patch_loss(torch.rand(1, 4, 8), torch.rand(1, 4, 8), torch.ones(1, 4)), "mask"),
    Bad("ibot teacher not probs", lambda: m("dino").ibot_patch_loss(torch.rand(1, 4, 8), torch.rand(1, 4, 8) * 5, torch.ones(1, 4, dtype=torch.bool)), "teacher_patch_probs"),
    Bad("ibot empty mask", lambda: m("dino").ibot_patch_loss(torch.rand(1, 4, 8), torch.softmax(torch.rand(1, 4, 8), -1), torch.zeros(1, 4, dtype=torch.bool)), "mask"),
    Bad("patch mask batch 0", lambda: m("dino").random_patch_mask(0, 4, 0.5), "batch"),
    Bad("patch mask ratio -0.1", lambda: m("dino").random_patch_mask(2, 4, -0.1), "ratio"),
    Bad("gram NaN", lambda: m("dino").gram_loss(torch.full((1, 4, 8), NAN), torch.rand(1, 4, 8)), "student_patches"),
    Bad("attention_mass 1-D", lambda: m("dino").attention_mass_mask(torch.rand(4), 0.5), "attention"),
    Bad("patch_share patch 3", lambda: m("dino").patch_share(torch.zeros(1, 8, 8, dtype=torch.bool), 3), "patch"),
    Bad("upsample_patches patch 0", lambda: m("dino").upsample_patches(torch.rand(2, 2), 0), "patch"),
    Bad("mass_on_object 3-D", lambda: m("dino").mass_on_object(torch.rand(1, 2, 2), torch.rand(1, 2, 2)), "attention"),
    Bad("mass_on_object share shape", lambda: m("dino").mass_on_object(torch.rand(1, 1, 2, 2), torch.rand(1, 3, 3)), "share"),
    Bad("mask_precision 2-D", lambda: m("dino").mask_precision(torch.ones(2, 2, dtype=torch.bool), torch.rand(1, 2, 2)), "mask"),
    Bad("auroc_per_image 2-D", lambda: m("dino").auroc_per_image(torch.rand(2, 2), torch.rand(1, 2, 2)), "scores"),
    Edge("auroc_per_image no object: NaN", lambda: m("dino").auroc_per_image(torch.rand(1, 1, 2, 2), torch.zeros(1, 2, 2)),
         lambda r: bool(torch.isnan(r).all())),
    Bad("top_k_mask k 0", lambda: m("dino").top_k_mask(torch.rand(2, 2), 0), "k"),
    Bad("rank_mask_jaccard direction", lambda: m("dino").rank_mask_jaccard(torch.rand(1, 1, 1, 1), torch.zeros(1, 8, 8, dtype=torch.bool), 8, "up", 1), "direction"),
    Bad("rank_mask_jaccard_by_k direction", lambda: m("dino").rank_mask_jaccard_by_k(torch.rand(1, 1, 1, 1), torch.zeros(1, 8, 8, dtype=torch.bool), 8, "up"), "direction"),
    Bad("choose_rank_mask k too big", lambda: m("dino").choose_rank_mask(torch.rand(1, 1, 1, 1), torch.zeros(1, 8, 8, dtype=torch.bool), 8, ks=[2]), "ks"),
    Bad("choose_rank_mask no k", lambda: m("dino").choose_rank_mask(torch.rand(1, 1, 1, 1), torch.zeros(1, 8, 8, dtype=torch.bool), 8, ks=[]), "ks"),
    Bad("uniform_jaccard mass 0", lambda: m("dino").uniform_jaccard(torch.zeros(1, 8, 8, dtype=torch.bool), 8, mass=0.0), "mass"),
    Bad("object_colour no object", lambda: m("dino").object_colour(torch.rand(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.bool)), "foreground"),
    Bad("cls_features 3-D", lambda: m("dino").cls_features(None, torch.rand(3, 4, 4)), "images"),
    Bad("colour_probe rows", lambda: m("dino").colour_probe(np.zeros((3, 2)), torch.rand(4, 3), np.zeros((3, 2)), torch.rand(3, 3)), "train_x"),
    Bad("shape_probe rows", lambda: m("dino").shape_probe(np.zeros((4, 2)), torch.rand(4, 3), np.zeros((2, 2)), torch.rand(3, 3)), "test_x"),
    Bad("shape_retrieval rows", lambda: m("dino").shape_retrieval(np.zeros((3, 2)), torch.rand(4, 3)), "x"),
    Bad("shape_retrieval_chance one scene", lambda: m("dino").shape_retrieval_chance(torch.ones(1, 3)), "shapes"),
    Bad("patch_features 3-D", lambda: m("dino").patch_features(None, torch.rand(3, 8, 8), 4), "images"),
    Bad("patch_features patch bool", lambda: m("dino").patch_features(None, torch.rand(1, 3, 8, 8), True), "patch"),
    Bad("segmentation_probe test rows", lambda: m("dino").segmentation_probe(np.zeros((1, 4, 2)), torch.ones(1, 8, 8, dtype=torch.bool), np.zeros((2, 4, 2)), torch.ones(1, 8, 8, dtype=torch.bool), 4), "test_x"),
    Bad("segmentation_probe one class", lambda: m("dino").segmentation_probe(np.zeros((1, 4, 2)), torch.ones(1, 8, 8, dtype=torch.bool), np.zeros((1, 4, 2)), torch.ones(1, 8, 8, dtype=torch.bool), 4), "train_fg"),
    Bad("attention_mass negative", lambda: m("dino").attention_mass_mask(-torch.rand(2, 2), 0.5), "attention"),
    Bad("attention_mass 1.5", lambda: m("dino").attention_mass_mask(torch.rand(2, 2), 1.5), "mass"),
    Bad("shape_targets float", lambda: m("dino").shape_targets(T([1.0]), 3), "labels"),
    Bad("shape_targets label 4 of 3", lambda: m("dino").shape_targets(T([4]), 3), "labels"),
    Bad("multi_crop HWC", lambda: m("dino").multi_crop(torch.rand(2, 64, 64, 3)), "images"),
    Bad("multi_crop global_size 0", lambda: m("dino").multi_crop(image(2, 64), global_size=0), "global_size"),
    Bad("multi_crop scale > 1", lambda: m("dino").multi_crop(image(2, 64), global_scale=(0.4, 1.5)), "global_scale"),
    Bad("multi_crop n_local float", lambda: m("dino").multi_crop(image(2, 64), n_local=2.0), "n_local"),
    Bad("jaccard int 2", lambda: m("dino").jaccard(torch.full((4, 4), 2), torch.ones(4, 4).bool()), "pred"),
    Bad("cls_attention block 99", lambda: m("dino").cls_attention(m("models.vit").TinyViT(depth=1), image(1, 64), block=99), "block"),
    Bad("cls_attention 3-D", lambda: m("dino").cls_attention(m("models.vit").TinyViT(depth=1), image(1, 64)[0]), "images"),
    Bad("dino_model registers -1", lambda: m("dino").dino_model(registers=-1), "registers"),
    Bad("supervised K=0", lambda: m("dino").supervised_model(0), "num_classes"),
    Bad("scene_pool count -1", lambda: m("dino").scene_pool(-1), "count"),
    # ---------------- diffusion / pixel classifier / coordinates ----------------
    Bad("schedule steps float", lambda: m("diffusion").NoiseSchedule(steps=10.5), "steps"),
    Bad("schedule beta_end 1", lambda: m("diffusion").NoiseSchedule(beta_end=1.0), "beta_end"),
    Bad("schedule beta_start 0", lambda: m("diffusion").NoiseSchedule(beta_start=0.0), "beta_start"),
    Bad("q_sample t negative", lambda: m("diffusion").NoiseSchedule().q_sample(torch.rand(1, 3, 4, 4), T([-1])), "t"),
    Bad("q_sample t list", lambda: m("diffusion").NoiseSchedule().q_sample(torch.rand(1, 3, 4, 4), [5]), "t"),
    Bad("q_sample x0 NaN", lambda: m("diffusion").NoiseSchedule().q_sample(torch.full((1, 3, 4, 4), NAN), T([5])), "x0"),
    Bad("to_model_range uint8", lambda: m("diffusion").to_model_range(torch.full((1, 3, 4, 4), 200, dtype=torch.uint8)), "images"),
    Bad("to_model_range 0..255 floats", lambda: m("diffusion").to_model_range(torch.full((1, 3, 4, 4), 200.0)), "images"),
    Bad("embedding float t 2.5", lambda: m("diffusion").timestep_embedding(T([2.5]), 4), "t"),
    Bad("embedding dim 0", lambda: m("diffusion").timestep_embedding(T([1]), 0), "dim"),
    Bad("DenoisingUNet widths empty", lambda: m("diffusion").DenoisingUNet(widths=()), "widths"),
    Bad("UNet denoise odd size", lambda: tiny_unet()(torch.rand(1, 3, 30, 30), T([1])), "x"),
    Bad("diffusion_loss HWC", lambda: m("diffusion").diffusion_loss(tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(1, 32, 32, 3)), "images"),
    Bad("diffusion_loss empty batch", lambda: m("diffusion").diffusion_loss(tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(0, 3, 32, 32)), "images"),
    Bad("diffusion_loss step past schedule", lambda: m("diffusion").diffusion_loss(tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(1, 3, 32, 32), step=1000), "step"),
    Bad("ddim steps > schedule", lambda: m("diffusion").ddim_sample(tiny_unet(), m("diffusion").NoiseSchedule(steps=10), (1, 3, 8, 8), steps=50), "steps"),
    Bad("features empty steps", lambda: m("diffusion").extract_features(tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(1, 3, 32, 32), (), (0,)), "steps"),
    Bad("features image 3-D", lambda: m("diffusion").extract_features(tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(3, 32, 32), (5,), (0,)), "images"),
    Bad("ensemble shape mismatch", lambda: m("pixel_classifier").train_pixel_ensemble(torch.rand(1, 2, 4, 4), torch.zeros(1, 5, 5, dtype=L), 2), "labels"),
    Bad("ensemble negative label", lambda: m("pixel_classifier").train_pixel_ensemble(torch.rand(1, 2, 4, 4), torch.full((1, 4, 4), -1), 2), "labels"),
    Bad("ensemble NaN features", lambda: m("pixel_classifier").train_pixel_ensemble(torch.full((1, 2, 4, 4), NAN), torch.zeros(1, 4, 4, dtype=L), 2), "features"),
    Bad("ensemble epochs 0", lambda: m("pixel_classifier").train_pixel_ensemble(torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=L), 2, epochs=0), "epochs"),
    Bad("ensemble batch_size 0", lambda: m("pixel_classifier").train_pixel_ensemble(torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=L), 2, batch_size=0), "batch_size"),
    Bad("PixelMLP in_dim 0", lambda: m("pixel_classifier").PixelMLP(0, 3), "in_dim"),
    Bad("rgb_xy HWC", lambda: m("pixel_classifier").rgb_xy_features(torch.rand(1, 8, 8, 3)), "images"),
    Bad("coordinates list", lambda: m("coordinates").pixel_coordinates([[1.0]]), "images"),
    Edge("coordinates 1 pixel", lambda: m("coordinates").pixel_coordinates(torch.rand(1, 3, 1, 1)), lambda r: bool(torch.isfinite(r).all())),
    # ---------------- upsample ----------------
    Bad("bed_of_nails factor float", lambda: m("upsample").bed_of_nails(torch.rand(1, 1, 2, 2), 2.0), "factor"),
    Bad("bed_of_nails 3-D", lambda: m("upsample").bed_of_nails(torch.rand(1, 2, 2), 2), "x"),
    Bad("conv size stride 0", lambda: m("upsample").conv_output_size(8, 3, stride=0), "stride"),
    Bad("conv size padding -1", lambda: m("upsample").conv_output_size(8, 3, padding=-1), "padding"),
    Bad("conv size float n", lambda: m("upsample").conv_output_size(8.0, 3), "n"),
    Bad("transposed stride 0", lambda: m("upsample").conv_transpose_output_size(4, 3, stride=0), "stride"),
    Bad("transposed dilation 0", lambda: m("upsample").conv_transpose_output_size(4, 3, dilation=0), "dilation"),
    Bad("transposed negative result", lambda: m("upsample").conv_transpose_output_size(1, 1, padding=5), "padding"),
    Edge("conv size vs torch", lambda: [m("upsample").conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                                        [(7, 3, 2, 1, 1), (8, 3, 3, 0, 2), (5, 5, 1, 2, 1)]],
         lambda r: r == [torch.nn.Conv1d(1, 1, k, s, p, d)(torch.rand(1, 1, n)).shape[-1] for n, k, s, p, d in
                         [(7, 3, 2, 1, 1), (8, 3, 3, 0, 2), (5, 5, 1, 2, 1)]]),
    Edge("transposed size vs torch", lambda: m("upsample").conv_transpose_output_size(5, 4, 3, 1, 2, 2),
         lambda r: r == torch.nn.ConvTranspose1d(1, 1, 4, 3, 1, 2, dilation=2)(torch.rand(1, 1, 5)).shape[-1]),
    Edge("conv1d_matrix vs conv1d", lambda: (m("upsample").conv1d_matrix(T([1., 2, 3]), 6, 2, 1), ),
         lambda r: close(r[0] @ torch.arange(6.), torch.nn.functional.conv1d(torch.arange(6.)[None, None], T([1., 2, 3])[None, None], stride=2, padding=1)[0, 0])),
    Edge("conv2d_matrix vs conv2d", lambda: m("upsample").conv2d_matrix(torch.arange(9.).reshape(3, 3), (4, 5), 1, 1),
         lambda r: close(r @ torch.arange(20.), torch.nn.functional.conv2d(torch.arange(20.).reshape(1, 1, 4, 5), torch.arange(9.).reshape(1, 1, 3, 3), padding=1).flatten())),
    Bad("conv2d_matrix size int", lambda: m("upsample").conv2d_matrix(torch.rand(3, 3), 5), "size"),
    Bad("conv1d_matrix kernel list", lambda: m("upsample").conv1d_matrix([1., 2.], 5), "kernel"),
    # ---------------- checks ----------------
    Bad("checks.number NaN", lambda: m("checks").number("alpha", NAN), "alpha"),
    Bad("checks.number np.float NaN integer", lambda: m("checks").number("k", np.float64(2.0), integer=True), "k"),
    Bad("checks.probability 1.01", lambda: m("checks").probability("p", 1.01), "p"),
    Bad("checks.tensor ndarray", lambda: m("checks").tensor("x", np.zeros(3)), "x"),
    Bad("checks.class_ids float", lambda: m("checks").class_ids("ids", T([1.0]), 0), "ids"),
    Bad("checks.class_ids list of floats", lambda: m("checks").class_ids("ids", [0.5], 0), "ids"),
    Bad("checks.tensor inf finite", lambda: m("checks").tensor("x", T([INF]), finite=True), "x"),
    Edge("checks.number np.int64", lambda: m("checks").number("k", np.int64(3), integer=True), lambda r: r == 3 and type(r) is int),
    # ---------------- cost / timing ----------------
    Bad("model_cost size 0", lambda: m("cost").model_cost(m("models.backbones").SmallBackbone(), size=0), "size"),
    Bad("model_cost batch 0", lambda: m("cost").model_cost(m("models.backbones").SmallBackbone(), size=32, batch=0), "batch"),
    Bad("model_cost not module", lambda: m("cost").model_cost(lambda x: x, size=32), "model"),
    Bad("flops_by_part not module", lambda: m("cost").flops_by_part(lambda x: x), "model"),
    Bad("flops_by_part size 0", lambda: m("cost").flops_by_part(m("models.backbones").SmallBackbone(), size=0), "size"),
    Bad("boundary_f_scores shapes", lambda: m("metrics").boundary_f_scores(torch.zeros(2, 4, 4, dtype=torch.int64),
                                                                          torch.zeros(2, 4, 5, dtype=torch.int64), 2), "shape"),
    Bad("timing warmup -1", lambda: m("timing").seconds_per_call(lambda: None, warmup=-1), "warmup"),
    Bad("timing fn not callable", lambda: m("timing").seconds_per_call(5), "fn"),
    Bad("timing device banana", lambda: m("timing").synchronize("banana"), "device"),
    # ---------------- train / evaluation ----------------
    Bad("warmup_cosine total 0", lambda: m("train").warmup_cosine(0, 0), "total"),
    Bad("warmup_cosine step -1", lambda: m("train").warmup_cosine(-1, 10), "step"),
    Bad("warmup_cosine warmup -1", lambda: m("train").warmup_cosine(0, 10, warmup=-1), "warmup"),
    Bad("fit lr NaN", lambda: m("train").fit(torch.nn.Linear(1, 1), 1, iter([]), lambda mod, b: {}, lr=NAN), "lr"),
    Bad("fit lr negative", lambda: m("train").fit(torch.nn.Linear(1, 1), 1, iter([]), lambda mod, b: {}, lr=-1.0), "lr"),
    Bad("fit steps float", lambda: m("train").fit(torch.nn.Linear(1, 1), 1.5, iter([]), lambda mod, b: {}, lr=1e-3), "steps"),
    Bad("fit batches run out", lambda: m("train").fit(torch.nn.Linear(1, 1), 3, iter([1]), lambda mod, b: {"loss": mod.weight.sum()}, lr=1e-3), "batches"),
    Bad("fit loss NaN", lambda: m("train").fit(torch.nn.Linear(1, 1), 2, iter([1, 2]), lambda mod, b: {"loss": mod.weight.sum() * NAN}, lr=1e-3), "loss"),
    Bad("scene_batches seed float", lambda: next(m("train").scene_batches(0.5, 2)), "seed"),
    Bad("train_detector steps 0", lambda: m("train").train_detector(torch.nn.Linear(1, 1), 0), "steps"),
    Bad("train_segmenter batch 0", lambda: m("train").train_segmenter(torch.nn.Linear(1, 1), 1, batch_size=0), "batch_size"),
    Bad("train_operator data missing", lambda: m("train").train_operator(torch.nn.Linear(1, 1), {}, 1), "data"),
    Bad("train_operator empty list", lambda: m("train").train_operator(torch.nn.Linear(1, 1), [], 1), "data"),
    Bad("predict batch_size 0", lambda: m("evaluation").predict(torch.nn.Linear(1, 1), torch.rand(1, 3, 8, 8), batch_size=0), "batch_size"),
    Bad("predict HWC", lambda: m("evaluation").predict(torch.nn.Linear(1, 1), torch.rand(1, 8, 8, 3)), "images"),
    Edge("predict zero images", lambda: m("evaluation").predict(m("models.yolo").YOLOv1(), torch.rand(0, 3, 128, 128)), lambda r: r == []),
    Bad("segmenter K 0", lambda: m("evaluation").evaluate_segmenter(m("models.unet").UNet(3), [dataset_scene()], 0), "num_classes"),
    Bad("operator shapes", lambda: m("evaluation").evaluate_operator(torch.nn.Linear(1, 1), torch.rand(2, 8, 8), torch.rand(2, 8, 8), torch.rand(3, 8, 8)), "u"),
    Bad("open_vocab combos len", lambda: m("evaluation").open_vocab_targets([m("data").make_scene(0, 0, m("data").SceneConfig(named_colours=True))], []), "prompt_combos"),
    # ---------------- checkpoints / pretrained / text ----------------
    Edge("load wrong hash", lambda: m("checkpoints").load_checkpoint(mk_lin(), "x.pt", bad_manifest_dir(), verbose=False), lambda r: r is None),
    Edge("load no manifest", lambda: m("checkpoints").load_checkpoint(mk_lin(), "x.pt", no_manifest_dir(), verbose=False), lambda r: r is None),
    Edge("load missing file", lambda: m("checkpoints").load_checkpoint(mk_lin(), "nope.pt", tempfile.mkdtemp(), verbose=False), lambda r: r is None),
    Edge("load missing dir", lambda: m("checkpoints").load_checkpoint(mk_lin(), "x.pt", "/tmp/probe2/does/not/exist", verbose=False), lambda r: r is None),
    Edge("load empty file", lambda: load_into_linear(b""), lambda r: r is None),
    Edge("load state_dict NaN", lambda: load_into_linear({"state_dict": {k: v * NAN for k, v in mk_lin().state_dict().items()}, "meta": {}}), lambda r: r is None),
    Edge("load meta not dict", lambda: load_into_linear({"state_dict": mk_lin().state_dict(), "meta": 5}), lambda r: r is None),
    Edge("load state_dict list", lambda: load_into_linear({"state_dict": [1, 2], "meta": {}}), lambda r: r is None),
    Edge("load extra key", lambda: load_into_linear({"state_dict": {**mk_lin().state_dict(), "extra": torch.zeros(1)}, "meta": {}}), lambda r: r is None),
    Edge("save then load", saved_and_loaded, lambda r: r[0] is not None and r[1]),
    Bad("save model not module", lambda: m("checkpoints").save_checkpoint({"w": 1}, "x.pt", {}, tempfile.mkdtemp()), "model"),
    Bad("save name no .pt", lambda: m("checkpoints").save_checkpoint(mk_lin(), "", {}, tempfile.mkdtemp()), "name"),
    Bad("load name traversal", lambda: m("checkpoints").load_checkpoint(mk_lin(), "../x.pt", tempfile.mkdtemp(), verbose=False), "name"),
    Bad("sha256 missing", lambda: m("checkpoints").sha256_of("/tmp/probe2/nope.bin"), "path", (ValueError, TypeError, FileNotFoundError)),
    Bad("cached_weights_path str", lambda: m("pretrained").cached_weights_path("resnet"), "weights"),
    Bad("combo_index float", lambda: m("text").combo_index(T([1.0]), T([1])), "colours"),
    Bad("combo_index len", lambda: m("text").combo_index(T([1, 2]), T([1])), "colours"),
    Bad("combo_index label 4", lambda: m("text").combo_index(T([0]), T([4])), "labels"),
    Bad("prompts str not list", lambda: m("text").encode_prompts(None, "a red circle"), "prompts"),
    Bad("encoder_files_problem str", lambda: m("text").encoder_files_problem(5), "model_dir"),
    Edge("combo_prompts distinct", lambda: m("text").combo_prompts(), lambda r: len(r) == len(set(r)) and len(r) > 0),
    # ---------------- viz ----------------
    Bad("draw_boxes HWC mismatch", lambda: draw(lambda: m("viz").draw_boxes(torch.rand(3, 8, 8), T([[0., 0, 2]]))), "boxes"),
    Bad("draw_boxes labels len", lambda: draw(lambda: m("viz").draw_boxes(torch.rand(3, 8, 8), box(), T([1, 2]))), "labels"),
    Bad("draw_boxes scores len", lambda: draw(lambda: m("viz").draw_boxes(torch.rand(3, 8, 8), box(), T([1]), T([0.5, 0.2]))), "scores"),
    Bad("draw_boxes label beyond names", lambda: draw(lambda: m("viz").draw_boxes(None, box(), T([3]), class_names=("a", "b"))), "labels"),
    Bad("to_numpy_image 4-D", lambda: m("viz").to_numpy_image(torch.rand(2, 3, 4, 4)), "image"),
    Bad("to_numpy_image 5 channels", lambda: m("viz").to_numpy_image(torch.rand(5, 4, 4)), "image"),
    Edge("to_numpy_image CHW->HWC", lambda: m("viz").to_numpy_image(torch.rand(3, 4, 6)), lambda r: r.shape == (4, 6, 3)),
    Bad("class_colour negative", lambda: m("viz").class_colour(-1), "label"),
    Bad("class_colour float", lambda: m("viz").class_colour(1.5), "label"),
    Bad("overlay labels len", lambda: draw(lambda: m("viz").overlay_masks(np.zeros((6, 8, 3)), torch.ones(2, 6, 8).bool(), T([1]))), "labels"),
    Bad("overlay alpha 2", lambda: draw(lambda: m("viz").overlay_masks(np.zeros((6, 8, 3)), torch.ones(1, 6, 8).bool(), alpha=2.0)), "alpha"),
    Bad("overlay float masks", lambda: draw(lambda: m("viz").overlay_masks(np.zeros((6, 8, 3)), torch.rand(1, 6, 8))), "masks"),
    Bad("semantic 3-D", lambda: draw(lambda: m("viz").show_semantic(torch.zeros(1, 4, 4, dtype=L))), "semantic"),
    Bad("grid ncols 0", lambda: draw(lambda: m("viz").image_grid([torch.rand(3, 4, 4)], ncols=0)), "ncols"),
    Bad("grid titles len", lambda: draw(lambda: m("viz").image_grid([torch.rand(3, 4, 4)], titles=["a", "b"])), "titles"),
    Bad("plot_losses window 0", lambda: draw(lambda: m("viz").plot_losses([1.0, 2.0], window=0)), "window"),
    Bad("plot_losses NaN", lambda: draw(lambda: m("viz").plot_losses([1.0, NAN])), "history"),
    Bad("plot_losses empty", lambda: draw(lambda: m("viz").plot_losses([])), "history"),
    # ---------------- simulate ----------------
    Bad("noisy false_alarms -1", lambda: m("simulate").noisy_detections([target()], false_alarms=-1.0), "false_alarms"),
    Bad("noisy num_classes 0", lambda: m("simulate").noisy_detections([target()], num_classes=0), "num_classes"),
    Bad("noisy image_size 0", lambda: m("simulate").noisy_detections([target()], image_size=0), "image_size"),
    Bad("noisy label > K", lambda: m("simulate").noisy_detections([target(labels=T([5]))], num_classes=3), "targets"),
    Bad("noisy targets dict", lambda: m("simulate").noisy_detections(target()), "targets"),
    Edge("noisy empty gt", lambda: m("simulate").noisy_detections([target(empty_boxes(), torch.zeros(0, dtype=L))], false_alarms=0.0),
         lambda r: len(r) == 1 and r[0]["boxes"].shape == (0, 4)),
    Edge("noisy perfect", lambda: m("metrics").mean_average_precision(m("simulate").noisy_detections([target()], loc_noise=0.0, false_alarms=0.0), [target()])["mAP"],
         lambda r: r == 1.0),
    # ---------------- selective search ----------------
    # a [3, H, W] tensor is a documented input (moved to [H, W, 3] inside): proposals inside 16 x 16
    Edge("search CHW tensor", lambda: m("selective_search").selective_search(torch.rand(3, 16, 16)),
         lambda r: len(r) > 0 and float(r.max()) <= 16),
    Bad("search NaN image", lambda: m("selective_search").selective_search(np.full((16, 16, 3), NAN)), "image"),
    Bad("search grey 2-D", lambda: m("selective_search").initial_regions(np.random.rand(16, 16)), "image"),
    Bad("strategy scale 0", lambda: m("selective_search").Strategy(scale=0.0), "scale"),
    Bad("strategy min_size -1", lambda: m("selective_search").Strategy(min_size=-1), "min_size"),
    Bad("strategy sigma NaN", lambda: m("selective_search").Strategy(sigma=NAN), "sigma"),
    Bad("search strategies empty", lambda: m("selective_search").selective_search(np.random.rand(16, 16, 3), strategies=()), "strategies"),
    Bad("search uint8 0..255 vs float", lambda: m("selective_search").selective_search(np.full((16, 16, 3), 300.0)), "image"),
    Edge("search 1 pixel", lambda: m("selective_search").selective_search(np.random.rand(1, 1, 3)), lambda r: r.ndim == 2 and r.shape[1] == 4),
    Edge("search boxes valid", lambda: m("selective_search").selective_search(np.random.RandomState(0).rand(24, 24, 3)),
         lambda r: bool((r[:, 2:] >= r[:, :2]).all() and (r >= 0).all() and (r <= 24).all())),
    # ---------------- pde ----------------
    Bad("cell_centres float", lambda: m("pde").cell_centres(8.0), "n"),
    Bad("solve NaN a", lambda: m("pde").solve(np.full((8, 8), NAN), np.ones((8, 8))), "a"),
    Bad("solve NaN f", lambda: m("pde").solve(np.ones((8, 8)), np.full((8, 8), NAN)), "f"),
    Bad("solve 1-D", lambda: m("pde").solve(np.ones(8), np.ones(8)), "a"),
    Bad("solve non-square", lambda: m("pde").solve(np.ones((8, 6)), np.ones((8, 6))), "a"),
    Bad("assemble zero a", lambda: m("pde").assemble_operator(np.zeros((8, 8))), "a"),
    Bad("random_field n 0", lambda: m("pde").random_field(0, np.random.default_rng(0)), "n"),
    Bad("random_field rng int", lambda: m("pde").random_field(8, 0), "rng"),
    Bad("random_field alpha NaN", lambda: m("pde").random_field(8, np.random.default_rng(0), alpha=NAN), "alpha"),
    Bad("sample_coefficient size 0", lambda: m("pde").sample_coefficient(8, np.random.default_rng(0), size=0), "size"),
    Bad("relative_l2 zero target", lambda: m("pde").relative_l2(torch.rand(1, 4, 4), torch.zeros(1, 4, 4)), "target"),
    Bad("relative_l2 numpy", lambda: m("pde").relative_l2(np.zeros((1, 4, 4)), torch.zeros(1, 4, 4)), "pred"),
    Bad("spectrum non-square", lambda: m("pde").radial_spectrum(np.zeros((8, 6))), "field"),
    Bad("dataset resolutions finer", lambda: m("pde").make_pde_dataset(2, 8, 0, resolutions=(3,), cache_dir=None), "resolutions"),
    Edge("solve sign (div(a grad u)+u=f)", lambda: m("pde").solve(np.ones((8, 8)), np.ones((8, 8))), lambda r: np.asarray(r).shape == (8, 8) and (np.asarray(r) < 0).all()),
    # ---------------- runtime ----------------
    Bad("record NaN", lambda: m("runtime").record("x", NAN, notebook="probe"), "value"),
    Bad("record name slash", lambda: m("runtime").record("a/b", 1.0, notebook="probe"), "name"),
    Bad("record numpy array", lambda: m("runtime").record("x", np.zeros(3), notebook="probe"), "value"),
    Bad("threads float", lambda: m("runtime").set_threads(1.5), "threads"),
    Bad("threads bool", lambda: m("runtime").set_threads(True), "threads"),
    Bad("seed float", lambda: m("runtime").seed_everything(1.5), "seed"),
    Bad("seed huge", lambda: m("runtime").seed_everything(2 ** 70), "seed"),
    Bad("get_device prefer banana", lambda: m("runtime").get_device("banana"), "prefer"),
    Bad("resolve_device banana", lambda: m("runtime").resolve_device(torch.nn.Linear(1, 1), "banana"), "device"),
    Bad("setup empty notebook", lambda: m("runtime").setup("", quiet=True), "notebook"),
    Bad("model_device not module", lambda: m("runtime").model_device("cpu"), "model"),
    Edge("model_device no params", lambda: m("runtime").model_device(torch.nn.ReLU()), lambda r: r.type == "cpu"),
    Edge("device cuda:0 on cpu", lambda: with_env("LECTURE_DEVICE", "cpu", m("runtime").get_device), lambda r: r.type == "cpu"),
    # ---------------- models.rcnn ----------------
    Bad("sample_rois batch 0", lambda: m("models.rcnn").sample_rois(box(), box(), T([1]), batch_size=0), "batch_size"),
    Bad("sample_rois fraction 2", lambda: m("models.rcnn").sample_rois(box(), box(), T([1]), fg_fraction=2.0), "fg_fraction"),
    Bad("sample_rois bg order", lambda: m("models.rcnn").sample_rois(box(), box(), T([1]), bg_iou=(0.5, 0.1)), "bg_iou"),
    Bad("sample_rois float labels", lambda: m("models.rcnn").sample_rois(box(), box(), T([1.0])), "gt_labels"),
    Bad("sample_rois label 0", lambda: m("models.rcnn").sample_rois(box(), box(), T([0])), "gt_labels"),
    Edge("sample_rois no gt", lambda: m("models.rcnn").sample_rois(B5, empty_boxes(), torch.zeros(0, dtype=L)), lambda r: True),
    Bad("RCNNCropNet K=0", lambda: m("models.rcnn").RCNNCropNet(0), "num_classes"),
    Bad("FastRCNNHead scale 0", lambda: m("models.rcnn").FastRCNNHead(8, 3, spatial_scale=0.0), "spatial_scale"),
    Bad("fast loss float labels", lambda: m("models.rcnn").fast_rcnn_loss(torch.zeros(1, 4), torch.zeros(1, 4, 4), T([1.0]), torch.zeros(1, 4)), "labels"),
    Bad("fast loss targets shape", lambda: m("models.rcnn").fast_rcnn_loss(torch.zeros(2, 4), torch.zeros(2, 4, 4), T([1, 0]), torch.zeros(1, 4)), "targets"),
    Bad("fast loss NaN logits", lambda: m("models.rcnn").fast_rcnn_loss(torch.full((1, 4), NAN), torch.zeros(1, 4, 4), T([1]), torch.zeros(1, 4)), "cls_logits"),
    Bad("postprocess NaN thresh", lambda: m("models.rcnn").postprocess_detections(torch.zeros(1, 4), torch.zeros(1, 4, 4), box(), (64, 64), nms_thresh=NAN), "nms_thresh"),
    Bad("postprocess max_dets -1", lambda: m("models.rcnn").postprocess_detections(torch.zeros(1, 4), torch.zeros(1, 4, 4), box(), (64, 64), max_dets=-1), "max_dets"),
    Bad("postprocess score 1.5", lambda: m("models.rcnn").postprocess_detections(torch.zeros(1, 4), torch.zeros(1, 4, 4), box(), (64, 64), score_thresh=1.5), "score_thresh"),
    Edge("postprocess no rois", lambda: m("models.rcnn").postprocess_detections(torch.zeros(0, 4), torch.zeros(0, 4, 4), empty_boxes(), (64, 64)),
         lambda r: r["boxes"].shape == (0, 4)),
    Bad("rpn_targets batch 0", lambda: m("models.rcnn").rpn_targets(B5, box(), batch_size=0), "batch_size"),
    Bad("rpn_proposals top_n 0", lambda: m("models.rcnn").rpn_proposals(torch.zeros(1, 5), torch.zeros(1, 5, 4), B5, (64, 64), pre_nms_top_n=0), "pre_nms_top_n"),
    Bad("rpn_proposals NaN obj", lambda: m("models.rcnn").rpn_proposals(torch.full((1, 5), NAN), torch.zeros(1, 5, 4), B5, (64, 64)), "objectness"),
    Bad("FasterRCNN image_size 100", lambda: m("models.rcnn").FasterRCNN(3, image_size=100), "image_size"),
    Bad("FasterRCNN wrong input size", lambda: m("models.rcnn").FasterRCNN(3).eval()(torch.rand(1, 3, 64, 64)), "images"),
    Bad("FasterRCNN HWC", lambda: m("models.rcnn").FasterRCNN(3).eval()(torch.rand(1, 128, 128, 3)), "images"),
    Bad("FasterRCNN label 0 target", lambda: m("models.rcnn").FasterRCNN(3).train()(torch.rand(1, 3, 128, 128), [target(labels=T([0]))]), "targets"),
    Bad("FasterRCNN label 4 of 3", lambda: m("models.rcnn").FasterRCNN(3).train()(torch.rand(1, 3, 128, 128), [target(labels=T([4]))]), "targets"),
    Bad("FastRCNN K=0", lambda: m("models.rcnn").FastRCNN(0), "num_classes"),
    Edge("FasterRCNN zero images eval", lambda: m("models.rcnn").FasterRCNN(3).eval()(torch.rand(0, 3, 128, 128)), lambda r: len(r) == 0),
    Edge("YOLOv1 zero images", lambda: m("models.yolo").yolo_inference_forward(m("models.yolo").YOLOv1().eval(), torch.rand(0, 3, 128, 128)), lambda r: len(r) == 0),
    Edge("FasterRCNN train no objects", lambda: m("models.rcnn").FasterRCNN(3).train()(torch.rand(1, 3, 128, 128), [target(empty_boxes(), torch.zeros(0, dtype=L))]),
         lambda r: all(torch.isfinite(v).all() for v in r.values())),
    # ---------------- models.yolo ----------------
    Bad("YOLOv1 K=0", lambda: m("models.yolo").YOLOv1(num_classes=0), "num_classes"),
    Bad("YOLOv1 wrong size", lambda: m("models.yolo").YOLOv1().eval()(torch.rand(1, 3, 64, 64)), "images"),
    Bad("YOLOv1 HWC", lambda: m("models.yolo").YOLOv1().eval()(torch.rand(1, 128, 128, 3)), "x"),
    Bad("yolo_targets label 4 of 3", lambda: m("models.yolo").yolo_targets(box(), T([4])), "labels"),
    Bad("yolo_targets float labels", lambda: m("models.yolo").yolo_targets(box(), T([1.0])), "labels"),
    Bad("yolo_targets box outside right", lambda: m("models.yolo").yolo_targets(T([[130., 5, 140, 9]]), T([1])), "boxes"),
    Bad("yolo_targets len mismatch", lambda: m("models.yolo").yolo_targets(torch.cat([box(), box()]), T([1])), "labels"),
    Edge("yolo_targets two in one cell", lambda: m("models.yolo").yolo_targets(torch.cat([box(), box() + 1]), T([1, 2]))[1], lambda r: True),
    Bad("yolo_loss NaN", lambda: m("models.yolo").yolo_loss(torch.full((1, 8, 8, 13), NAN), torch.zeros(1, 8, 8, 8)), "pred"),
    Bad("yolo_loss target channels", lambda: m("models.yolo").yolo_loss(torch.zeros(1, 8, 8, 13), torch.zeros(1, 8, 8, 7)), "target"),
    Bad("yolo_loss grid mismatch", lambda: m("models.yolo").yolo_loss(torch.zeros(1, 8, 8, 13), torch.zeros(1, 4, 4, 8)), "target"),
    Bad("yolo_decode NaN thr", lambda: m("models.yolo").yolo_decode(torch.rand(1, 8, 8, 13), nms_thresh=NAN), "nms_thresh"),
    Bad("yolo_decode channels", lambda: m("models.yolo").yolo_decode(torch.rand(1, 8, 8, 12)), "pred"),
    Bad("yolo_decode max_dets 0", lambda: m("models.yolo").yolo_decode(torch.rand(1, 8, 8, 13), max_dets=-1), "max_dets"),
    Edge("yolo_decode batch 0", lambda: m("models.yolo").yolo_decode(torch.rand(0, 8, 8, 13)), lambda r: r == []),
    Bad("yolo_training targets len", lambda: m("models.yolo").yolo_training_forward(m("models.yolo").YOLOv1(), torch.rand(2, 3, 128, 128), [target()]), "targets"),
    Bad("OpenVocabYOLO text_dim 0", lambda: m("models.yolo").OpenVocabYOLO(text_dim=0), "text_dim"),
    # ---------------- models.segmentation / unet ----------------
    Bad("FCN K=0", lambda: m("models.segmentation").FCN(0), "num_classes"),
    Bad("FCN HWC", lambda: m("models.segmentation").FCN(3)(torch.rand(1, 64, 64, 3)), "x"),
    Bad("EncoderDecoder 3-D", lambda: m("models.segmentation").EncoderDecoder(3)(torch.rand(3, 32, 32)), "x"),
    Bad("Encoder widths empty", lambda: m("models.segmentation").Encoder(widths=()), "widths"),
    Bad("bilinear channels 0", lambda: m("models.segmentation").bilinear_kernel(0, 2), "channels"),
    Edge("bilinear vs formula", lambda: m("models.segmentation").bilinear_kernel(1, 2), lambda r: r.shape[-1] == 4 and abs(float(r.sum()) - 4.0) < 1e-5),
    Bad("FullRes 1 pixel", lambda: m("models.segmentation").FullResolutionNet(3)(torch.rand(1, 3, 1, 1)), "x", (ValueError, TypeError)),
    Bad("UNet K=0", lambda: m("models.unet").UNet(0), "num_classes"),
    Bad("UNet in_channels mismatch", lambda: m("models.unet").UNet(3, in_channels=1)(torch.rand(1, 3, 32, 32)), "x"),
    Bad("UNet widths wrong len", lambda: m("models.unet").UNet(3, widths=(8,)), "widths"),
    Bad("LinkNet input odd", lambda: m("models.unet").LinkNet(3)(torch.rand(1, 3, 50, 50)), "x"),
    Bad("BasicBlock stride 0", lambda: m("models.unet").BasicBlock(3, 4, stride=0), "stride"),
    Bad("double_conv c_in 0", lambda: m("models.unet").double_conv(0, 4), "c_in"),
    Edge("UNet batch 1 train BN", lambda: m("models.unet").UNet(3).train()(torch.rand(1, 3, 32, 32)).shape, lambda r: tuple(r) == (1, 3, 32, 32)),
    # ---------------- models.vit ----------------
    Bad("ViT registers -1", lambda: m("models.vit").TinyViT(registers=-1), "registers"),
    Bad("ViT depth 0", lambda: m("models.vit").TinyViT(depth=0), "depth"),
    Bad("ViT HWC", lambda: m("models.vit").TinyViT()(torch.rand(1, 64, 64, 3)), "images"),
    Bad("ViT 1 channel", lambda: m("models.vit").TinyViT()(torch.rand(1, 1, 64, 64)), "images"),
    Bad("Block mlp_ratio 0", lambda: m("models.vit").Block(8, 2, mlp_ratio=0.0), "mlp_ratio"),
    Bad("DINOHead out_dim 0", lambda: m("models.vit").DINOHead(8, out_dim=0), "out_dim"),
    Bad("to_official empty", lambda: m("models.vit").to_official_dino({}), "state"),
    Edge("official round trip", lambda: m("models.vit").from_official_dino(m("models.vit").to_official_dino(m("models.vit").TinyViT(depth=1).state_dict())).keys()
         == m("models.vit").TinyViT(depth=1).state_dict().keys(), lambda r: r),
    # ---------------- models.neural_operator / backbones / zoo ----------------
    Bad("operator_inputs shapes", lambda: m("models.neural_operator").operator_inputs(torch.rand(2, 8, 8), torch.rand(2, 4, 4)), "f"),
    Bad("operator_inputs numpy", lambda: m("models.neural_operator").operator_inputs(np.zeros((2, 8, 8)), np.zeros((2, 8, 8))), "a"),
    Bad("FNO width 0", lambda: m("models.neural_operator").FNO2d(width=0), "width"),
    Bad("FNO pad NaN", lambda: m("models.neural_operator").FNO2d(pad_fraction=NAN), "pad_fraction"),
    Bad("FNO modes > grid", lambda: m("models.neural_operator").FNO2d(modes=32)(torch.rand(1, 8, 8), torch.rand(1, 8, 8)), "modes"),
    Bad("UNetOperator norm", lambda: m("models.neural_operator").UNetOperator(norm="banana"), "norm"),
    Bad("UNetOperator odd", lambda: m("models.neural_operator").UNetOperator()(torch.rand(1, 30, 30), torch.rand(1, 30, 30)), "x"),
    Bad("backbone widths empty", lambda: m("models.backbones").SmallBackbone(widths=()), "widths"),
    Bad("conv_bn_relu stride 0", lambda: m("models.backbones").conv_bn_relu(3, 4, stride=0), "stride"),
    Bad("backbone HWC", lambda: m("models.backbones").SmallBackbone()(torch.rand(1, 32, 32, 3)), "x"),
    Edge("zoo segmenters build", lambda: {k: type(v(3) if callable(v) else v).__name__ for k, v in m("models.zoo").SEGMENTERS.items()}, lambda r: len(r) > 0),
]

def _seg():
    s = torch.zeros(8, 8, dtype=L)
    s[2:5, 2:6] = 1
    s[5:, 5:] = 2
    return s

def _mask():
    rs = np.random.RandomState(1)
    return rs.rand(5, 7) > 0.5

def _mask_t():
    t = torch.zeros(2, 8, 8, dtype=torch.bool)
    t[0, 1:3, 2:6] = True
    t[1, 5, 7] = True
    return t

def _rle_vs_pyco(r):
    from pycocotools import mask as mu
    mk = _mask()
    ours = m("data").rle_to_mask(r)
    enc = mu.encode(np.asfortranarray(mk.astype(np.uint8)))
    return np.array_equal(mu.decode(enc).astype(bool), np.asarray(ours).astype(bool))

def _pyco_mask_iou():
    from pycocotools import mask as mu
    a = (torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).numpy()
    b = (torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(2)) > 0.5).numpy()
    ea = mu.encode(np.asfortranarray(a.transpose(1, 2, 0).astype(np.uint8)))
    eb = mu.encode(np.asfortranarray(b.transpose(1, 2, 0).astype(np.uint8)))
    return torch.tensor(mu.iou(ea, eb, [0, 0]))

# inputs first written as bad that turned out fair (valid conversions, or torch's own clear message)
DROPPED = ['COCO dets tensor bbox', 'q_sample t list', 'embedding float t 2.5', 'conv1d_matrix kernel list', 'sha256 missing', 'stack_images bad key', 'patch mask batch 0', 'nms int scores', 'rpn_proposals top_n 0', 'dataset resolutions finer', 'cell_centres float', 'record name slash', 'plot_losses NaN', 'yolo_decode channels', 'YOLOv1 HWC', 'FullRes 1 pixel', 'predict HWC', 'DINOLoss batch mismatch', 'UNet denoise odd size', 'LinkNet input odd']
CASES = [c for c in CASES if c.name not in DROPPED]

