"""Bad and edge inputs for the public API, as a hostile-but-fair user would try them.

Two kinds of case, shared by ``tests/test_bad_inputs.py`` (every case must hold) and
``scripts/probe_api.py`` (counts how each case fares, on this checkout or an older one):

* :class:`Bad` - a wrong input: the call must raise ``ValueError`` or ``TypeError`` (or the
  listed error) whose message names the argument ``arg``. Anything else is *unclear* (another
  error, or a message that does not say what was wrong) or *silent* (a value came back).
* :class:`Edge` - a valid edge input (empty predictions, empty ground truth, ...): the call must
  return, and ``check(result)`` must hold (the defined result).

Run as a script, it counts how every case fares on this checkout or another one (e.g. an old
commit checked out with ``git worktree add``)::

    python tests/api_probe.py [--repo ../old-checkout] [--list]

Bad inputs come out ``clear``, ``unclear`` (another error, or a message that does not say what
was wrong) or ``silent`` (a value came back: possibly wrong); edge inputs ``ok``, ``wrong`` or
``error``; a case whose function that checkout lacks counts as ``missing``.

Every call imports what it needs when it runs, so a checkout that lacks a function only loses
that case.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

T = torch.tensor
NAN = float("nan")


@dataclass(frozen=True)
class Bad:
    name: str
    call: Callable[[], object]
    arg: str
    errors: tuple[type[BaseException], ...] = (ValueError, TypeError)


@dataclass(frozen=True)
class Edge:
    name: str
    call: Callable[[], object]
    check: Callable[[object], bool]


def names_argument(message: str, arg: str) -> bool:
    """Does ``message`` name ``arg`` as a word (``boxes`` in "boxes[0] has ...", not in "boxes1")?"""
    return re.search(rf"(?<![\w]){re.escape(arg)}(?!\w)", message) is not None


def outcome(case) -> str:
    """How a case fares: ``clear``/``unclear``/``silent`` (Bad) or ``ok``/``wrong``/``error`` (Edge)."""
    edge = hasattr(case, "check")  # duck-typed: run as a script, this module is also imported as api_probe
    try:
        result = case.call()
    except Exception as err:  # noqa: BLE001 - classifying every failure is the point
        if edge:
            return "error"
        clear = isinstance(err, case.errors) and names_argument(str(err), case.arg)
        return "clear" if clear else "unclear"
    if not edge:
        return "silent"
    try:
        return "ok" if case.check(result) else "wrong"
    except Exception:  # noqa: BLE001
        return "wrong"


def m(module: str):
    return importlib.import_module(f"lecture_utils.{module}")


# --- small inputs reused below ----------------------------------------------------------------

def box():
    return T([[0.0, 0.0, 10.0, 10.0]])


def empty_boxes():
    return torch.zeros((0, 4))


def image(n=1, size=16):
    return torch.rand(n, 3, size, size)


def pred(boxes=None, scores=None, labels=None):
    return {"boxes": box() if boxes is None else boxes, "scores": T([0.9]) if scores is None else scores,
            "labels": T([1]) if labels is None else labels}


def target(boxes=None, labels=None):
    return {"boxes": box() if boxes is None else boxes, "labels": T([1]) if labels is None else labels}


def coco_gt(**changes):
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100.0, "iscrowd": 0}
    ann.update(changes)
    ann = {k: v for k, v in ann.items() if v is not None}
    return {"images": [{"id": 1, "width": 32, "height": 32}], "annotations": [ann],
            "categories": [{"id": 1, "name": "circle"}]}


def det(**changes):
    d = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}
    d.update(changes)
    return {k: v for k, v in d.items() if v is not None}


def with_env(name, value, fn):
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        return fn()
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def tiny_unet():
    torch.manual_seed(0)
    return m("diffusion").DenoisingUNet()


def checkpoint_dir_with(payload):
    """A checkpoint folder holding ``payload`` as x.pt, correctly listed in its manifest."""
    import tempfile
    from pathlib import Path

    directory = Path(tempfile.mkdtemp())
    if isinstance(payload, bytes):
        (directory / "x.pt").write_bytes(payload)
    else:
        torch.save(payload, directory / "x.pt")
    digest = m("checkpoints").sha256_of(directory / "x.pt")
    (directory / "SHA256SUMS").write_text(f"{digest}  x.pt\n")
    return directory


def load_into_linear(payload):
    return m("checkpoints").load_checkpoint(torch.nn.Linear(2, 2), "x.pt", checkpoint_dir_with(payload),
                                            verbose=False)


def saved_bytes():
    import io

    buffer = io.BytesIO()
    torch.save({"state_dict": torch.nn.Linear(2, 2).state_dict(), "meta": {}}, buffer)
    return buffer.getvalue()


def draw(fn):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        return fn()
    finally:
        plt.close("all")


def semantic_colours_of_ignored():
    """The colour show_semantic paints an ignored (-1) pixel, and the last class's colour."""
    def run():
        ax = m("viz").show_semantic(T([[-1, 3]]), legend=False)
        picture = ax.get_images()[0].get_array()
        return np.asarray(picture[0, 0]).tolist(), np.asarray(picture[0, 1]).tolist()
    return draw(run)


# --- the cases ---------------------------------------------------------------------------------

CASES = [
    # boxes
    Bad("check_boxes list", lambda: m("boxes").check_boxes([[0, 0, 1, 1]]), "boxes"),
    Bad("check_boxes 3 coords", lambda: m("boxes").check_boxes(T([[1.0, 2, 3]])), "boxes"),
    Bad("box_area uint8 x2<x1", lambda: m("boxes").box_area(T([[10, 0, 5, 5]], dtype=torch.uint8)), "boxes"),
    Bad("box_iou NaN", lambda: m("boxes").box_iou(T([[0, 0, NAN, 1]]), box()), "boxes1"),
    Bad("box_iou list", lambda: m("boxes").box_iou(box(), [[0, 0, 1, 1]]), "boxes2"),
    Bad("box_convert format", lambda: m("boxes").box_convert(box(), "xyxy", "yxyx"), "out_fmt"),
    Bad("clip NaN size", lambda: m("boxes").clip_boxes_to_image(box(), (NAN, 10)), "size"),
    Bad("clip int size", lambda: m("boxes").clip_boxes_to_image(box(), 10), "size"),
    Bad("encode shapes", lambda: m("boxes").encode_boxes(box(), torch.cat([box(), box()])), "targets"),
    Bad("encode NaN weight", lambda: m("boxes").encode_boxes(box(), box(), (1, 1, 1, NAN)), "weights"),
    Bad("decode NaN deltas", lambda: m("boxes").decode_boxes(T([[NAN] * 4]), box()), "deltas"),
    Bad("nms list", lambda: m("boxes").nms([[0.0, 0, 1, 1]], T([1.0]), 0.5), "boxes"),
    Bad("nms NaN score", lambda: m("boxes").nms(box(), T([NAN]), 0.5), "scores"),
    Bad("nms NaN threshold", lambda: m("boxes").nms(box(), T([1.0]), NAN), "iou_threshold"),
    Bad("batched_nms float idxs", lambda: m("boxes").batched_nms(box(), T([1.0]), T([0.5]), 0.5), "idxs"),
    Edge("box_iou uint8 disjoint", lambda: m("boxes").box_iou(T([[0, 0, 2, 2]], dtype=torch.uint8),
                                                              T([[5, 5, 9, 9]], dtype=torch.uint8)),
         lambda r: float(r) == 0.0),
    Edge("box_iou empty", lambda: m("boxes").box_iou(empty_boxes(), box()), lambda r: r.shape == (0, 1)),
    Edge("nms empty", lambda: m("boxes").nms(empty_boxes(), torch.zeros(0), 0.5), lambda r: r.numel() == 0),
    Edge("batched_nms empty", lambda: m("boxes").batched_nms(empty_boxes(), torch.zeros(0),
                                                             torch.zeros(0, dtype=torch.int64), 0.5),
         lambda r: r.numel() == 0),
    # anchors
    Bad("base_anchors NaN scale", lambda: m("anchors").base_anchors(scales=(16, NAN)), "scales"),
    Bad("base_anchors no ratios", lambda: m("anchors").base_anchors(ratios=()), "ratios"),
    Bad("grid_anchors zero size", lambda: m("anchors").grid_anchors((0, 4), 8), "feature_size"),
    Bad("grid_anchors int size", lambda: m("anchors").grid_anchors(4, 8), "feature_size"),
    Bad("grid_anchors stride 0", lambda: m("anchors").grid_anchors((4, 4), 0), "stride"),
    Bad("label_anchors pos<neg", lambda: m("anchors").label_anchors(box(), box(), pos_iou=0.2, neg_iou=0.3),
        "pos_iou"),
    Bad("label_anchors NaN", lambda: m("anchors").label_anchors(box(), box(), neg_iou=NAN), "neg_iou"),
    Bad("sample_balanced 2-D", lambda: m("anchors").sample_balanced(T([[1, 0], [0, 1]])), "labels"),
    Bad("sample_balanced batch 0", lambda: m("anchors").sample_balanced(T([1, 0]), batch_size=0), "batch_size"),
    Bad("sample_balanced NaN", lambda: m("anchors").sample_balanced(T([1, 0]), positive_fraction=NAN),
        "positive_fraction"),
    Edge("label_anchors no objects", lambda: m("anchors").label_anchors(box(), empty_boxes())[0],
         lambda r: r.tolist() == [0]),
    # roi
    Bad("to_roi_format string", lambda: m("roi").to_roi_format("boxes"), "boxes"),
    Bad("roi_pool batch index", lambda: m("roi").roi_pool(image(), T([[5.0, 0, 0, 4, 4]]), 2), "boxes"),
    Bad("crop batch index", lambda: m("roi").crop_and_warp(image(), T([[5.0, 0, 0, 4, 4]]), 4), "boxes"),
    Bad("crop negative batch", lambda: m("roi").crop_and_warp(image(), T([[-1.0, 0, 0, 4, 4]]), 4), "boxes"),
    Bad("crop size 0", lambda: m("roi").crop_and_warp(image(), [box()], size=0), "size"),
    Bad("crop context", lambda: m("roi").crop_and_warp(image(), [box()], context=-0.6), "context"),
    Bad("crop NaN context", lambda: m("roi").crop_and_warp(image(), [box()], context=NAN), "context"),
    Bad("crop 3-D images", lambda: m("roi").crop_and_warp(image()[0], [box()]), "images"),
    Bad("roi_pool size 0", lambda: m("roi").roi_pool(image(), [box()], 0), "output_size"),
    Bad("roi_pool NaN scale", lambda: m("roi").roi_pool(image(), [box()], 2, spatial_scale=NAN), "spatial_scale"),
    Edge("crop no boxes", lambda: m("roi").crop_and_warp(image(), [empty_boxes()], 4),
         lambda r: tuple(r.shape) == (0, 3, 4, 4)),
    # metrics: the didactic layer
    Bad("match NaN score", lambda: m("metrics").match_detections(box(), T([NAN]), T([1]), box(), T([1])),
        "pred_scores"),
    Bad("match threshold", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), box(), T([1]), 1.5),
        "iou_threshold"),
    Bad("match batched boxes", lambda: m("metrics").match_detections(box()[None], T([0.9]), T([1]), box(), T([1])),
        "pred_boxes"),
    Bad("match float labels", lambda: m("metrics").match_detections(box(), T([0.9]), T([1.5]), box(), T([1])),
        "pred_labels"),
    Bad("PR more TP than GT", lambda: m("metrics").precision_recall_curve(T([True] * 3), T([0.9, 0.8, 0.7]), 1),
        "num_gt"),
    Bad("PR NaN score", lambda: m("metrics").precision_recall_curve(T([True]), T([NAN]), 1), "scores"),
    Bad("PR negative GT", lambda: m("metrics").precision_recall_curve(T([True]), T([0.5]), -1), "num_gt"),
    Bad("PR float GT", lambda: m("metrics").precision_recall_curve(T([True]), T([0.5]), 1.5), "num_gt"),
    Bad("AP method", lambda: m("metrics").average_precision(T([1.0]), T([1.0]), "voc12"), "method"),
    Bad("AP lengths", lambda: m("metrics").average_precision(T([1.0, 0.5]), T([1.0]), "voc10"), "precision"),
    Bad("AP decreasing recall", lambda: m("metrics").average_precision(T([1.0, 1.0]), T([1.0, 0.5])), "recall"),
    Bad("mAP label 0", lambda: m("metrics").mean_average_precision([pred(labels=T([0]))], [target()]), "labels"),
    Bad("mAP label > K", lambda: m("metrics").mean_average_precision([pred(labels=T([4]))], [target()],
                                                                     num_classes=3), "labels"),
    Bad("mAP K=0", lambda: m("metrics").mean_average_precision([pred()], [target()], num_classes=0), "num_classes"),
    Bad("mAP NaN false alarm", lambda: m("metrics").mean_average_precision(
        [pred(boxes=torch.cat([box(), box() + 50]), scores=T([0.9, NAN]), labels=T([1, 1]))], [target()]), "scores"),
    Bad("mAP lengths", lambda: m("metrics").mean_average_precision([pred(), pred()], [target()]), "predictions"),
    Bad("recall top_n<0", lambda: m("metrics").object_recall([box()], [target()], top_n=-1), "top_n"),
    Bad("recall threshold 50", lambda: m("metrics").object_recall([box()], [target()], iou_threshold=50),
        "iou_threshold"),
    Bad("recall bad boxes", lambda: m("metrics").object_recall([T([[5.0, 5, 0, 0]])], [target()]), "predictions"),
    Edge("match no predictions", lambda: m("metrics").match_detections(empty_boxes(), torch.zeros(0),
                                                                       torch.zeros(0, dtype=torch.int64), box(), T([1])),
         lambda r: r[0].numel() == 0),
    Edge("mAP no predictions", lambda: m("metrics").mean_average_precision(
        [pred(empty_boxes(), torch.zeros(0), torch.zeros(0, dtype=torch.int64))], [target()])["mAP"],
        lambda r: r == 0.0),
    Edge("mAP no ground truth", lambda: m("metrics").mean_average_precision(
        [pred()], [target(empty_boxes(), torch.zeros(0, dtype=torch.int64))])["mAP"], lambda r: math.isnan(r)),
    Edge("AP of nothing", lambda: m("metrics").average_precision(torch.zeros(0), torch.zeros(0)), lambda r: r == 0.0),
    Edge("recall no predictions", lambda: m("metrics").object_recall([empty_boxes()], [target()]),
         lambda r: r.tolist() == [False]),
    # metrics: COCO
    Bad("COCO negative width", lambda: m("metrics").coco_evaluate(coco_gt(), [det(bbox=[0, 0, -10, 10])]),
        "detections"),
    Bad("COCO no area", lambda: m("metrics").coco_evaluate(coco_gt(area=None), []), "area"),
    Bad("COCO no bbox", lambda: m("metrics").coco_evaluate(coco_gt(bbox=None), []), "bbox"),
    Bad("COCO no id", lambda: m("metrics").coco_evaluate(coco_gt(id=None), []), "id"),
    Bad("COCO duplicate ids", lambda: m("metrics").coco_evaluate(
        {**coco_gt(), "annotations": coco_gt()["annotations"] * 2}, []), "ids"),
    Bad("COCO unknown category", lambda: m("metrics").coco_evaluate(coco_gt(category_id=7), []), "category_id"),
    Bad("COCO string image id", lambda: m("metrics").coco_evaluate(coco_gt(image_id="1"), []), "image_id"),
    Bad("COCO gt list", lambda: m("metrics").coco_evaluate([], []), "coco_gt"),
    Bad("COCO detections str", lambda: m("metrics").coco_evaluate(coco_gt(), "dets"), "detections"),
    Bad("COCO no score", lambda: m("metrics").coco_evaluate(coco_gt(), [det(score=None)]), "detections"),
    Bad("COCO NaN score", lambda: m("metrics").coco_evaluate(coco_gt(), [det(score=NAN)]), "detections"),
    Bad("COCO unknown image", lambda: m("metrics").coco_evaluate(coco_gt(), [det(image_id=9)]), "image_id"),
    Bad("to COCO lengths", lambda: m("metrics").detections_to_coco([pred()], [1, 2]), "predictions"),
    Edge("COCO no detections", lambda: m("metrics").coco_evaluate(coco_gt(), [])["AP"], lambda r: r == 0.0),
    Edge("COCO no ground truth", lambda: m("metrics").coco_evaluate({**coco_gt(), "annotations": []}, [det()])["AP"],
         lambda r: r == -1.0),
    # metrics: segmentation
    Bad("mask_iou probabilities", lambda: m("metrics").mask_iou(torch.full((1, 4, 4), 0.99), torch.full((1, 4, 4), 0.01)),
        "masks1"),
    Bad("mask_iou values 2", lambda: m("metrics").mask_iou(torch.full((1, 4, 4), 2), torch.ones(1, 4, 4)), "masks1"),
    Bad("mask_iou sizes", lambda: m("metrics").mask_iou(torch.ones(1, 4, 4).bool(), torch.ones(1, 5, 5).bool()),
        "masks1"),
    Bad("mask_iou 2-D", lambda: m("metrics").mask_iou(torch.ones(4, 4).bool(), torch.ones(1, 4, 4).bool()), "masks1"),
    Bad("confusion K=0", lambda: m("metrics").confusion_matrix(T([0]), T([0]), 0), "num_classes"),
    Bad("confusion float", lambda: m("metrics").confusion_matrix(T([0.5]), T([0]), 2), "pred"),
    Bad("confusion id 5", lambda: m("metrics").confusion_matrix(T([5]), T([0]), 3), "pred"),
    Bad("confusion shapes", lambda: m("metrics").confusion_matrix(T([0, 1]), T([0]), 3), "pred"),
    Bad("pixel_accuracy 1-D", lambda: m("metrics").pixel_accuracy(T([1, 2, 3])), "conf"),
    Bad("per_class_iou non-square", lambda: m("metrics").per_class_iou(T([[1, 2, 3]])), "conf"),
    Bad("mean_iou negative", lambda: m("metrics").mean_iou(T([[-1, 0], [0, 1]])), "conf"),
    Bad("boundary K=0", lambda: m("metrics").boundary_f_score(T([[0]]), T([[0]]), 0), "num_classes"),
    Bad("boundary 4-D", lambda: m("metrics").boundary_f_score(torch.zeros(1, 1, 4, 4, dtype=torch.int64),
                                                              torch.zeros(1, 1, 4, 4, dtype=torch.int64), 2), "pred"),
    Bad("boundary tolerance", lambda: m("metrics").boundary_f_score(T([[0]]), T([[0]]), 2, tolerance=-1), "tolerance"),
    Bad("bootstrap level", lambda: m("metrics").paired_bootstrap_gap(*[m("metrics").scene_scores(
        torch.zeros(3, 4, 4, dtype=torch.int64), torch.zeros(3, 4, 4, dtype=torch.int64), 2)] * 2, level=1.5), "level"),
    Bad("bootstrap predictions", lambda: m("metrics").paired_bootstrap_gap(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4)), "scores_a"),
    Bad("draw bootstrap shapes", lambda: m("metrics").paired_draw_bootstrap(torch.zeros(3, 5, 2, 2), torch.zeros(3, 4, 2, 2)),
        "conf_b"),
    Bad("draw bootstrap 3-D", lambda: m("metrics").paired_draw_bootstrap(torch.zeros(5, 2, 2), torch.zeros(5, 2, 2)), "conf_a"),
    Bad("ddpm_step shapes", lambda: m("diffusion").ddpm_step(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 2), 0.5, 0.6,
                                                         torch.zeros(1, 3, 4, 4)), "eps"),
    Bad("ddpm_step wrong direction", lambda: m("diffusion").ddpm_step(*[torch.zeros(1, 3, 4, 4)] * 2, 0.6, 0.5,
                                                                  torch.zeros(1, 3, 4, 4)), "abar_prev"),
    Bad("ddpm_sample 0 steps", lambda: m("diffusion").ddpm_sample(m("diffusion").DenoisingUNet(widths=(8, 16)),
                                                              m("diffusion").NoiseSchedule(10), (1, 3, 8, 8), steps=0), "steps"),
    Bad("scene_tensors count 0", lambda: m("few_labels").scene_tensors(0, 0), "count"),
    Bad("scene_confusions shapes", lambda: m("few_labels").scene_confusions(torch.zeros(2, 4, 4, dtype=torch.int64),
                                                                        torch.zeros(2, 4, 3, dtype=torch.int64), 2), "labels"),
    Bad("labelled_draw purpose", lambda: m("few_labels").labelled_draw(40, 5, 0, "train"), "purpose"),
    Bad("labelled_draw n > pool", lambda: m("few_labels").labelled_draw(4, 5, 0), "n"),
    Bad("flip_rotate labels", lambda: m("few_labels").flip_rotate(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 3),
                                                              torch.Generator()), "labels"),
    Bad("scratch unet 0 steps", lambda: m("few_labels").train_scratch_unet(torch.zeros(1, 3, 8, 8),
                                                                       torch.zeros(1, 8, 8, dtype=torch.int64), 2, steps=0), "steps"),
    Bad("block_step_scores no steps", lambda: m("few_labels").block_step_scores(
        m("diffusion").DenoisingUNet(widths=(8, 16)), m("diffusion").NoiseSchedule(10), torch.zeros(1, 3, 8, 8),
        torch.zeros(1, 8, 8, dtype=torch.int64), torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8, dtype=torch.int64), (), 2), "steps"),
    Bad("choose_features shape", lambda: m("few_labels").choose_features(np.zeros((4, 3)), (10, 50)), "scores"),
    Bad("save_result not tensors", lambda: m("checkpoints").save_result("x.pt", {"a": [1, 2]}), "tensors"),
    Bad("load_result path", lambda: m("checkpoints").load_result("../x.pt"), "name"),
    Bad("scene_scores float ids", lambda: m("metrics").scene_scores(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4, dtype=torch.int64), 2),
        "pred"),
    Edge("mask_iou no predictions", lambda: m("metrics").mask_iou(torch.zeros(0, 4, 4, dtype=torch.bool),
                                                                  torch.ones(2, 4, 4, dtype=torch.bool)),
         lambda r: tuple(r.shape) == (0, 2)),
    Edge("mask_iou two empty", lambda: m("metrics").mask_iou(torch.zeros(1, 4, 4, dtype=torch.bool),
                                                             torch.zeros(1, 4, 4, dtype=torch.bool)),
         lambda r: float(r) == 0.0),
    Edge("jaccard two empty", lambda: m("dino").jaccard(torch.zeros(4, 4, dtype=torch.bool),
                                                        torch.zeros(4, 4, dtype=torch.bool)),
         lambda r: float(r) == 0.0),  # the same convention as mask_iou
    Edge("pixel_accuracy no pixels", lambda: m("metrics").pixel_accuracy(torch.zeros(3, 3, dtype=torch.int64)),
         lambda r: math.isnan(r)),
    # data
    Bad("config NaN noise", lambda: m("data").SceneConfig(noise_std=NAN), "noise_std"),
    Bad("config NaN texture", lambda: m("data").SceneConfig(texture_strength=NAN), "texture_strength"),
    Bad("config size range", lambda: m("data").SceneConfig(size_range=(0.5, 0.2)), "size_range"),
    Bad("config image 8", lambda: m("data").SceneConfig(image_size=8), "image_size"),
    Bad("config min > max", lambda: m("data").SceneConfig(min_objects=3, max_objects=2), "min_objects"),
    Bad("config background", lambda: m("data").SceneConfig(background="plain"), "background"),
    Bad("config class", lambda: m("data").SceneConfig(classes=("hexagon",)), "classes"),
    Bad("make_scene seed -1", lambda: m("data").make_scene(-1, 0), "seed"),
    Bad("make_scene crowded", lambda: m("data").make_scene(0, 0, m("data").SceneConfig(
        min_objects=12, max_objects=12, size_range=(0.5, 0.6))), "min_objects"),
    Bad("scenes length -1", lambda: m("data").SyntheticScenes(-1), "length"),
    Bad("scenes index 5 of 3", lambda: m("data").SyntheticScenes(3)[5], "index", (IndexError,)),
    Bad("to_coco no image", lambda: m("data").to_coco([{"boxes": box(), "labels": T([1])}]), "samples"),
    Bad("mask_to_rle 1-D", lambda: m("data").mask_to_rle(np.zeros(3)), "mask"),
    Bad("rle_to_mask no size", lambda: m("data").rle_to_mask({"counts": [1]}), "rle"),
    Bad("tight boxes float", lambda: m("data").masks_to_tight_boxes(torch.ones(1, 4, 4)), "masks"),
    Bad("tight boxes empty mask", lambda: m("data").masks_to_tight_boxes(torch.zeros(1, 4, 4, dtype=torch.bool)),
        "masks"),
    Bad("collate empty", lambda: m("data").detection_collate([]), "batch"),
    Edge("to_coco nothing", lambda: m("data").to_coco([]), lambda r: r["images"] == [] and r["annotations"] == []),
    # DINO
    Bad("DINOLoss NaN temp", lambda: m("dino").DINOLoss(8, student_temp=NAN), "student_temp"),
    Bad("DINOLoss NaN teacher temp", lambda: m("dino").DINOLoss(8, teacher_temp=NAN), "teacher_temp"),
    Bad("DINOLoss momentum 2", lambda: m("dino").DINOLoss(8, center_momentum=2.0), "center_momentum"),
    Bad("DINOLoss NaN momentum", lambda: m("dino").DINOLoss(8, center_momentum=NAN), "center_momentum"),
    Bad("DINOLoss empty batch", lambda: m("dino").DINOLoss(8)([torch.zeros(0, 8)] * 2, [torch.zeros(0, 8)] * 2),
        "student_out"),
    Bad("DINOLoss wrong K", lambda: m("dino").DINOLoss(8)([torch.zeros(2, 5)] * 2, [torch.zeros(2, 5)] * 2),
        "student_out"),
    Bad("shape_targets label 0", lambda: m("dino").shape_targets(T([0, 1]), 3), "labels"),
    Bad("shape_targets K=0", lambda: m("dino").shape_targets(T([1]), 0), "num_classes"),
    Bad("multi_crop n_local", lambda: m("dino").multi_crop(image(2, 64), n_local=-1), "n_local"),
    Bad("multi_crop scale order", lambda: m("dino").multi_crop(image(2, 64), local_scale=(0.5, 0.1)), "local_scale"),
    Bad("multi_crop NaN jitter", lambda: m("dino").multi_crop(image(2, 64), jitter=NAN), "jitter"),
    Bad("multi_crop 3-D", lambda: m("dino").multi_crop(image(1, 64)[0]), "images"),
    Bad("mass NaN", lambda: m("dino").attention_mass_mask(torch.rand(2, 2), NAN), "mass"),
    Bad("mass 0", lambda: m("dino").attention_mass_mask(torch.rand(2, 2), 0.0), "mass"),
    Bad("jaccard float masks", lambda: m("dino").jaccard(torch.rand(4, 4), torch.rand(4, 4)), "pred"),
    Bad("jaccard shapes", lambda: m("dino").jaccard(torch.ones(4, 4).bool(), torch.ones(5, 5).bool()), "pred"),
    Bad("koleo one sample", lambda: m("dino").koleo_loss(torch.rand(1, 4)), "features"),
    Bad("patch mask ratio 1", lambda: m("dino").random_patch_mask(2, 4, 1.0), "ratio"),
    Bad("patch mask NaN", lambda: m("dino").random_patch_mask(2, 4, NAN), "ratio"),
    Bad("ibot shapes", lambda: m("dino").ibot_patch_loss(torch.rand(1, 4, 8), torch.rand(1, 3, 8),
                                                         torch.ones(1, 4, dtype=torch.bool)), "student_patch_logits"),
    Bad("gram shapes", lambda: m("dino").gram_loss(torch.rand(1, 4, 8), torch.rand(1, 3, 8)), "student_patches"),
    Bad("cosine total 0", lambda: m("dino").cosine_schedule(1.0, 0.0, 5, 0), "total"),
    Bad("cosine step -1", lambda: m("dino").cosine_schedule(1.0, 0.0, -1, 10), "step"),
    Bad("EMA NaN", lambda: m("dino").ema_update(torch.nn.Linear(1, 1), torch.nn.Linear(1, 1), NAN), "momentum"),
    # diffusion and pixel classifier
    Bad("schedule 1 step", lambda: m("diffusion").NoiseSchedule(steps=1), "steps"),
    Bad("schedule NaN beta", lambda: m("diffusion").NoiseSchedule(beta_start=NAN), "beta_start"),
    Bad("schedule beta order", lambda: m("diffusion").NoiseSchedule(beta_start=0.03, beta_end=0.02), "beta_end"),
    Bad("q_sample noise shape", lambda: m("diffusion").NoiseSchedule().q_sample(
        torch.rand(2, 3, 4, 4), T([1, 2]), torch.rand(1, 3, 4, 4)), "noise"),
    Bad("q_sample step 1000", lambda: m("diffusion").NoiseSchedule().q_sample(torch.rand(1, 3, 4, 4), T([1000])), "t"),
    Bad("q_sample float step", lambda: m("diffusion").NoiseSchedule().q_sample(torch.rand(1, 3, 4, 4), T([1.5])), "t"),
    Bad("q_sample steps per image", lambda: m("diffusion").NoiseSchedule().q_sample(torch.rand(2, 3, 4, 4), T([1])),
        "t"),
    Bad("embedding odd dim", lambda: m("diffusion").timestep_embedding(T([1]), 3), "dim"),
    Bad("embedding 2-D t", lambda: m("diffusion").timestep_embedding(T([[1]]), 4), "t"),
    Bad("DDIM steps 0", lambda: m("diffusion").ddim_sample(tiny_unet(), m("diffusion").NoiseSchedule(), (1, 3, 8, 8),
                                                           steps=0), "steps"),
    Bad("DDIM shape", lambda: m("diffusion").ddim_sample(tiny_unet(), m("diffusion").NoiseSchedule(), (3, 8, 8),
                                                         steps=1), "shape"),
    Bad("features step 5000", lambda: m("diffusion").extract_features(
        tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(1, 3, 32, 32), (5000,), (0,)), "steps"),
    Bad("features block 99", lambda: m("diffusion").extract_features(
        tiny_unet(), m("diffusion").NoiseSchedule(), torch.rand(1, 3, 32, 32), (5,), (99,)), "blocks"),
    Bad("ensemble K=1", lambda: m("pixel_classifier").train_pixel_ensemble(
        torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64), 1), "num_classes"),
    Bad("ensemble float labels", lambda: m("pixel_classifier").train_pixel_ensemble(
        torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4), 2), "labels"),
    Bad("ensemble 0 members", lambda: m("pixel_classifier").train_pixel_ensemble(
        torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64), 2, members=0), "members"),
    Bad("ensemble NaN lr", lambda: m("pixel_classifier").train_pixel_ensemble(
        torch.rand(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64), 2, lr=NAN), "lr"),
    Bad("ensemble label 3 of 2", lambda: m("pixel_classifier").train_pixel_ensemble(
        torch.rand(1, 2, 4, 4), torch.full((1, 4, 4), 3), 2), "labels"),
    Bad("rgb_xy 4 channels", lambda: m("pixel_classifier").rgb_xy_features(torch.rand(1, 4, 8, 8)), "images"),
    Bad("coordinates 2-D", lambda: m("pixel_classifier").pixel_coordinates(torch.rand(8, 8)), "images"),
    # transposed convolution arithmetic
    Bad("bed_of_nails factor 0", lambda: m("upsample").bed_of_nails(torch.rand(1, 1, 2, 2), 0), "factor"),
    Bad("conv size kernel > n", lambda: m("upsample").conv_output_size(2, 5), "kernel"),
    Bad("conv size bool", lambda: m("upsample").conv_output_size(True, 1), "n"),
    Bad("transposed padding", lambda: m("upsample").conv_transpose_output_size(4, 3, 2, output_padding=2),
        "output_padding"),
    Bad("conv1d_matrix 2-D kernel", lambda: m("upsample").conv1d_matrix(torch.rand(3, 3), 5), "kernel"),
    # YOLO and R-CNN
    Bad("yolo centre left", lambda: m("models.yolo").yolo_targets(T([[-10.0, 5, 4, 9]]), T([1])), "boxes"),
    Bad("yolo label 0", lambda: m("models.yolo").yolo_targets(box(), T([0])), "labels"),
    Bad("yolo grid 0", lambda: m("models.yolo").yolo_targets(box(), T([1]), grid=0), "grid"),
    Bad("yolo loss empty", lambda: m("models.yolo").yolo_loss(torch.zeros(0, 8, 8, 13), torch.zeros(0, 8, 8, 8)), "pred"),
    Bad("yolo loss channels", lambda: m("models.yolo").yolo_loss(torch.zeros(1, 8, 8, 12), torch.zeros(1, 8, 8, 8)),
        "pred"),
    Bad("yolo_boxes 1-D", lambda: m("models.yolo").yolo_boxes(torch.rand(4)), "cell_boxes"),
    Bad("yolo_decode 3-D", lambda: m("models.yolo").yolo_decode(torch.rand(8, 8, 13)), "pred"),
    Bad("fast loss no RoI", lambda: m("models.rcnn").fast_rcnn_loss(torch.zeros(0, 4), torch.zeros(0, 4, 4),
                                                                    torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4)),
        "cls_logits"),
    Bad("fast loss label 7", lambda: m("models.rcnn").fast_rcnn_loss(torch.zeros(1, 4), torch.zeros(1, 4, 4), T([7]),
                                                                     torch.zeros(1, 4)), "labels"),
    Bad("sample_rois labels", lambda: m("models.rcnn").sample_rois(box(), box(), T([1, 2])), "gt_labels"),
    Bad("sample_rois fg_iou", lambda: m("models.rcnn").sample_rois(box(), box(), T([1]), fg_iou=NAN), "fg_iou"),
    Bad("fast more lists", lambda: m("models.rcnn").FastRCNN(3).eval()(image(1, 64), [box(), box()]), "proposals"),
    Bad("fast no targets", lambda: m("models.rcnn").FastRCNN(3)(image(1, 64), [box()]), "targets"),
    Bad("postprocess shapes", lambda: m("models.rcnn").postprocess_detections(
        torch.zeros(2, 4), torch.zeros(2, 4, 4), box(), (64, 64)), "rois"),
    Bad("rpn_proposals shapes", lambda: m("models.rcnn").rpn_proposals(
        torch.zeros(1, 5), torch.zeros(1, 4, 4), torch.cat([box()] * 5), (64, 64)), "deltas"),
    Edge("yolo no objects", lambda: m("models.yolo").yolo_targets(empty_boxes(), torch.zeros(0, dtype=torch.int64)),
         lambda r: float(r[0].abs().sum()) == 0.0 and r[1] == 0),
    # segmentation models, ViT, operators
    Bad("FCN input 100", lambda: m("models.segmentation").FCN(3)(torch.rand(1, 3, 100, 100)), "x"),
    Bad("FCN variant", lambda: m("models.segmentation").FCN(3, variant="4s"), "variant"),
    Bad("encoder-decoder 30", lambda: m("models.segmentation").EncoderDecoder(3)(torch.rand(1, 3, 30, 30)), "x"),
    Bad("full-res 1 channel", lambda: m("models.segmentation").FullResolutionNet(3)(torch.rand(1, 1, 16, 16)), "x"),
    Bad("bilinear factor 0", lambda: m("models.segmentation").bilinear_kernel(3, 0), "factor"),
    Bad("U-Net input 30", lambda: m("models.unet").UNet(3)(torch.rand(1, 3, 30, 30)), "x"),
    Bad("U-Net norm", lambda: m("models.unet").double_conv(3, 4, norm="layer"), "norm"),
    Bad("LinkNet stem 3", lambda: m("models.unet").LinkNet(3, stem_stride=3), "stem_stride"),
    Bad("ViT patch 7", lambda: m("models.vit").TinyViT(img_size=64, patch_size=7), "patch_size"),
    Bad("ViT input 60", lambda: m("models.vit").TinyViT()(torch.rand(1, 3, 60, 60)), "images"),
    Bad("ViT heads", lambda: m("models.vit").Attention(10, 3), "heads"),
    Bad("official DINO empty", lambda: m("models.vit").from_official_dino({}), "state"),
    Bad("operator inputs 2-D", lambda: m("models.neural_operator").operator_inputs(torch.rand(8, 8),
                                                                                   torch.rand(8, 8)), "a"),
    Bad("spectral modes 0", lambda: m("models.neural_operator").SpectralConv2d(3, 5, 0), "modes"),
    Bad("UNO modes count", lambda: m("models.neural_operator").UNO2d(modes=(8, 4)), "modes"),
    Bad("UNO width 0", lambda: m("models.neural_operator").UNO2d(width=0), "width"),
    Bad("operator block grid", lambda: m("models.neural_operator").OperatorBlock(2, 2, 8)(torch.rand(1, 2, 16, 16), (4, 4)), "output"),
    Bad("FNO modes 0", lambda: m("models.neural_operator").FNO2d(modes=0), "modes"),
    # PDE, selective search, simulated detector
    Bad("cell_centres 1", lambda: m("pde").cell_centres(1), "n"),
    Bad("solve negative a", lambda: m("pde").solve(-np.ones((8, 8)), np.ones((8, 8))), "a"),
    Bad("solve shapes", lambda: m("pde").solve(np.ones((8, 8)) * 3, np.ones((4, 4))), "f"),
    Bad("dataset num 0", lambda: m("pde").make_pde_dataset(0, 8, 0), "num"),
    Bad("relative_l2 shapes", lambda: m("pde").relative_l2(torch.rand(2, 4, 4), torch.rand(3, 4, 4)), "pred"),
    Bad("spectrum 1-D", lambda: m("pde").radial_spectrum(np.zeros(8)), "field"),
    Bad("search max -1", lambda: m("selective_search").selective_search(np.random.rand(16, 16, 3), max_proposals=-1),
        "max_proposals"),
    Bad("grouping similarity", lambda: m("selective_search").hierarchical_grouping(
        m("selective_search").initial_regions(np.random.rand(16, 16, 3)), "xyz"), "similarities"),
    Bad("strategy colour space", lambda: m("selective_search").Strategy(colour_space="cmyk"), "colour_space"),
    Bad("noisy NaN noise", lambda: m("simulate").noisy_detections([target()], loc_noise=NAN), "loc_noise"),
    Bad("noisy miss rate 2", lambda: m("simulate").noisy_detections([target()], miss_rate=2.0), "miss_rate"),
    # runtime, checkpoints, training
    Bad("device banana", lambda: with_env("LECTURE_DEVICE", "banana", m("runtime").get_device), "LECTURE_DEVICE"),
    Bad("device CPU", lambda: with_env("LECTURE_DEVICE", "CPU", m("runtime").get_device), "LECTURE_DEVICE"),
    Bad("device meta", lambda: with_env("LECTURE_DEVICE", "meta", m("runtime").get_device), "LECTURE_DEVICE"),
    Bad("device cpu:1", lambda: with_env("LECTURE_DEVICE", "cpu:1", m("runtime").get_device), "LECTURE_DEVICE"),
    Bad("record outside", lambda: m("runtime").record("x", 1.0, notebook="../../x"), "notebook"),
    Bad("record empty name", lambda: m("runtime").record("", 1.0, notebook="probe"), "name"),
    Bad("record tensor", lambda: m("runtime").record("x", torch.rand(3), notebook="probe"), "value"),
    Bad("threads 0", lambda: m("runtime").set_threads(0), "threads"),
    Bad("seed -1", lambda: m("runtime").seed_everything(-1), "seed"),
    Bad("save name path", lambda: m("checkpoints").save_checkpoint(torch.nn.Linear(1, 1), "../x.pt", {}), "name"),
    Bad("save numpy meta", lambda: m("checkpoints").save_checkpoint(
        torch.nn.Linear(1, 1), "x.pt", {"loss": np.float32(1)}, checkpoint_dir_with(b"")), "meta"),
    Edge("load bare tensor", lambda: load_into_linear(torch.zeros(3)), lambda r: r is None),
    Edge("load plain state_dict", lambda: load_into_linear(torch.nn.Linear(2, 2).state_dict()), lambda r: r is None),
    Edge("load truncated", lambda: load_into_linear(saved_bytes()[:200]), lambda r: r is None),
    Edge("load other model", lambda: load_into_linear({"state_dict": torch.nn.Linear(3, 2).state_dict(), "meta": {}}),
         lambda r: r is None),
    Bad("evaluate no scenes", lambda: m("train").evaluate_detector(torch.nn.Linear(1, 1), []), "scenes"),
    Bad("segment no scenes", lambda: m("train").evaluate_segmenter(torch.nn.Linear(1, 1), [], 4), "scenes"),
    Bad("open-vocab no colours", lambda: m("train").open_vocab_targets([m("data").make_scene(0, 0)], [0]), "scenes"),
    Bad("batches size 0", lambda: next(m("train").scene_batches(0, 0)), "batch_size"),
    Bad("fit 0 steps", lambda: m("train").fit(torch.nn.Linear(1, 1), 0, iter([]), lambda mod, b: {}, lr=1e-3),
        "steps"),
    Bad("predict 3-D", lambda: m("train").predict(torch.nn.Linear(1, 1), torch.rand(3, 8, 8)), "images"),
    Bad("combo colour -1", lambda: m("text").combo_index(T([-1]), T([1])), "colours"),
    Bad("combo label 0", lambda: m("text").combo_index(T([0]), T([0])), "labels"),
    Bad("prompts empty", lambda: m("text").encode_prompts(None, []), "prompts"),
    Bad("place label 0", lambda: m("data").place_objects([(0, 10, 10, 8)]), "label"),
    Bad("place centre outside", lambda: m("data").place_objects([(1, 200, 10, 8)]), "objects"),
    Bad("place NaN diameter", lambda: m("data").place_objects([(1, 10, 10, float("nan"))]), "objects"),
    Bad("place nothing", lambda: m("data").place_objects([]), "objects"),
    Bad("place hidden", lambda: m("data").place_objects([(1, 64, 64, 10), (2, 64, 64, 60)]), "objects"),
    Bad("place config", lambda: m("data").place_objects([(1, 10, 10, 8)], config="big"), "config"),
    Bad("control kind", lambda: m("text").control_embeddings("minilm", [("red", "circle")]), "kind"),
    Bad("control pair", lambda: m("text").control_embeddings("random", [("red", "star")]), "pairs"),
    Bad("control no pairs", lambda: m("text").control_embeddings("onehot", []), "pairs"),
    Bad("match rule", lambda: m("metrics").match_detections(box(), T([0.9]), T([1]), box(), T([1]), rule="pascal"),
        "rule"),
    Bad("mAP rule", lambda: m("metrics").mean_average_precision([pred()], [target()], rule="pascal"), "rule"),
    Bad("pycocotools matches threshold", lambda: m("metrics").pycocotools_matches(coco_gt(), [det()], 0.52),
        "iou_threshold"),
    Bad("pycocotools matches threshold 0.3", lambda: m("metrics").pycocotools_matches(coco_gt(), [det()], 0.3),
        "iou_threshold"),
    Bad("fast head pool", lambda: m("models.rcnn").FastRCNNHead(8, 3, pool="avg"), "pool"),
    Bad("fast nms_thresh", lambda: m("models.rcnn").FastRCNN(3, nms_thresh=1.5), "nms_thresh"),
    Bad("timing repeats 0", lambda: m("timing").seconds_per_call(lambda: None, repeats=0), "repeats"),
    # plots
    Bad("draw label 0", lambda: draw(lambda: m("viz").draw_boxes(None, box(), T([0]), class_names=("a", "b"))),
        "labels"),
    Bad("overlay transposed", lambda: draw(lambda: m("viz").overlay_masks(np.zeros((8, 6, 3)),
                                                                         torch.ones(1, 6, 8).bool())), "masks"),
    Bad("semantic float", lambda: draw(lambda: m("viz").show_semantic(torch.rand(4, 4))), "semantic"),
    Bad("grid empty", lambda: draw(lambda: m("viz").image_grid([])), "images"),
    Edge("semantic ignored pixels", semantic_colours_of_ignored, lambda r: r[0] != r[1]),
    Bad("source of a number", lambda: m("viz").show_source(3), "obj"),
    Bad("figure not callable", lambda: m("viz").interactive_figure("plot"), "draw"),
    # functions the two tables did not reach at first (tests/test_bad_inputs.py keeps the list complete)
    Bad("widths zero", lambda: m("checks").widths("widths", (0,)), "widths"),
    Bad("decoding NaN", lambda: m("checks").decoding(NAN, 0.5, 10), "score_thresh"),
    Bad("device name", lambda: m("runtime").as_device("gpu0"), "device"),
    Bad("timed device", lambda: m("timing").timed("banana").__enter__(), "device"),
    Bad("forked seed", lambda: m("train").forked_rng(torch.device("cpu"), -1).__enter__(), "seed"),
    Bad("step 3-D images", lambda: m("dino").self_distillation_step(
        m("dino").dino_model(), m("dino").dino_model(), torch.rand(3, 64, 64), None, momentum=0.99), "images"),
    Bad("step momentum", lambda: m("dino").self_distillation_step(
        m("dino").dino_model(), m("dino").dino_model(), torch.rand(2, 3, 64, 64), None, momentum=1.5), "momentum"),
    Bad("open-vocab no scenes", lambda: m("evaluation").evaluate_open_vocab(torch.nn.Linear(1, 1), [], torch.zeros(1, 4),
                                                                            [0]), "scenes"),
    Bad("RPN head channels", lambda: m("models.rcnn").RPNHead(0, 9), "in_channels"),
    Bad("torchvision R-CNN K=0", lambda: m("models.rcnn").torchvision_faster_rcnn(0), "num_classes"),
    Bad("LinkNet block m=0", lambda: m("models.unet").LinkNetDecoderBlock(0, 4), "m"),
    Bad("forcing n=1", lambda: m("pde").sample_forcing(1, np.random.default_rng(0)), "n"),
    Bad("disagreement channels", lambda: m("pixel_classifier").PixelEnsemble(
        [m("pixel_classifier").PixelMLP(2, 2)], torch.zeros(2), torch.ones(2)).disagreement(torch.rand(1, 3, 4, 4)), "features"),
    Bad("ensemble no members", lambda: m("pixel_classifier").PixelEnsemble([], torch.zeros(2), torch.ones(2)), "members"),
    Bad("real set missing", lambda: m("real").load_real_coco("/nonexistent/annotations.json"), "path",
        (FileNotFoundError,)),
    Bad("real image name", lambda: m("real").load_real_image("astronaut.png"), "file_name"),
    Bad("real set path", lambda: m("real").load_real_set("/nonexistent/annotations.json"), "path", (FileNotFoundError,)),
    Edge("metrics of an empty folder", lambda: m("runtime").load_metrics(Path(tempfile.mkdtemp())), lambda r: dict(r) == {}),
]


HERE = Path(__file__).resolve().parent.parent  # the checkout this table belongs to


def _isolated(case) -> str:
    """:func:`outcome` in a forked child, so that an input that crashes the interpreter (an old
    checkout's roi_align on NaN boxes did) is counted as ``crash`` instead of ending the count."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: classify, report, leave without running the parent's clean-up
        os.close(read)
        try:
            verdict = outcome(case)
        except ImportError:
            verdict = "missing"
        os.write(write, verdict.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        verdict = pipe.read()
    _, status = os.waitpid(pid, 0)
    return verdict if os.WIFEXITED(status) and verdict else "crash"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout whose lecture_utils is probed")
    parser.add_argument("--list", action="store_true", help="name every case that is not clear/ok")
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("LECTURE_METRICS_DIR", tempfile.mkdtemp())  # record() cases write nowhere real

    import torch as _torch

    import lecture_utils

    _torch.set_num_threads(1)  # forked children must not inherit a busy thread pool

    from api_probe_more import CASES as more  # the second, independent probe's cases

    cases = CASES + more
    print(f"probing {Path(lecture_utils.__file__).parent}")
    counts: dict[str, collections.Counter] = {"bad": collections.Counter(), "edge": collections.Counter()}
    failures = []
    for case in cases:
        kind = "edge" if hasattr(case, "check") else "bad"
        try:
            result = _isolated(case)
        except ImportError:
            result = "missing"
        if result in ("unclear", "error"):  # a function the checkout lacks is missing, not unclear
            try:
                case.call()
            except ImportError:
                result = "missing"
            except AttributeError as err:
                if "module 'lecture_utils" in str(err):
                    result = "missing"
            except Exception:  # noqa: BLE001
                pass
        counts[kind][result] += 1
        if result not in ("clear", "ok"):
            failures.append((result, case.name))
    print(f"{len(cases)} cases")
    print("bad inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["bad"].items())))
    print("edge inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["edge"].items())))
    if args.list:
        for result, name in sorted(failures):
            print(f"  {result:8s} {name}")


if __name__ == "__main__":
    main()
