"""Evaluation shared by the notebooks and the training scripts: detectors (COCO metrics), the
open-vocabulary detector (AP per prompt), segmenters (mIoU, boundary F) and PDE operators.

Every function follows the device rule of :mod:`lecture_utils.runtime`: ``device=None`` (the
default) runs on the model's current device; data moves there batch by batch, predictions come
back on the CPU, and the measured seconds wait for the device (:mod:`lecture_utils.timing`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .checks import number
from .data import stack_images, to_coco
from .metrics import (
    coco_evaluate,
    confusion_matrix,
    detections_to_coco,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    scene_scores,
)
from .models.yolo import yolo_decode
from .pde import relative_l2
from .runtime import resolve_device
from .text import combo_index
from .timing import timed

__all__ = ["predict", "evaluate_detector", "open_vocab_targets", "evaluate_open_vocab", "evaluate_segmenter",
           "evaluate_operator"]

Device = torch.device | str | None


@torch.no_grad()
def evaluate_operator(model: torch.nn.Module, a: Tensor, f: Tensor, u: Tensor, *,
                      device: Device = None, batch_size: int = 50) -> dict:
    """Per-sample relative L2 errors, predictions (CPU) and seconds per sample of ``model`` on a test set."""
    if len(a) == 0 or not len(a) == len(f) == len(u):
        raise ValueError(f"a, f and u must be non-empty and of one length, got {len(a)}, {len(f)}, {len(u)}")
    device = resolve_device(model, device)
    model.eval()
    with timed(device) as clock:
        pred = torch.cat([model(a[i:i + batch_size].to(device), f[i:i + batch_size].to(device)).cpu()
                          for i in range(0, len(a), batch_size)])
    seconds = clock["seconds"] / len(a)
    errors = relative_l2(pred, u)
    return {"relative_l2": errors.mean().item(), "errors": errors, "predictions": pred, "seconds_per_sample": seconds}


@torch.no_grad()
def predict(model: torch.nn.Module, images: Tensor, device: Device = None,
            batch_size: int = 16, forward: Callable | None = None) -> list[dict]:
    """Detections for a stack of images, in evaluation mode, on the model's device (or ``device``);
    returned on the CPU."""
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor [N, 3, H, W], got {getattr(images, 'shape', type(images))}")
    number("batch_size", batch_size, low=1, integer=True)
    device = resolve_device(model, device)
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        chunk = images[i:i + batch_size].to(device)
        preds = forward(model, chunk, i) if forward else model(chunk)
        out.extend({k: v.detach().cpu() for k, v in p.items()} for p in preds)
    return out


def evaluate_detector(model: torch.nn.Module, scenes: list[dict], device: Device = None,
                      forward: Callable | None = None) -> dict:
    """COCO metrics of ``model`` on ``scenes`` plus the measured seconds per image.

    Returns ``{"stats": {AP, AP50, ...}, "predictions": [...], "seconds_per_image": float}``.
    """
    images = stack_images(scenes)
    device = resolve_device(model, device)
    with timed(device) as clock:
        preds = predict(model, images, device, forward=forward)
    seconds = clock["seconds"] / len(scenes)
    stats = coco_evaluate(to_coco(scenes, with_masks=False),
                          detections_to_coco(preds, [s["image_id"] for s in scenes]))
    return {"stats": stats, "predictions": preds, "seconds_per_image": seconds}


def open_vocab_targets(scenes: list[dict], prompt_combos: list[int]) -> list[dict]:
    """Re-label scenes for a vocabulary of prompts: an object's label is the 1-based index of the
    prompt naming its (colour, shape) pair; objects no prompt names are dropped."""
    if not prompt_combos:
        raise ValueError("prompt_combos must name at least one (colour, shape) pair")
    lookup = {c: i + 1 for i, c in enumerate(prompt_combos)}
    out = []
    for i, s in enumerate(scenes):
        if "colours" not in s:
            raise ValueError(f"scenes[{i}] has no 'colours': make open-vocabulary scenes with "
                             "SceneConfig(named_colours=True)")
        combos = combo_index(s["colours"], s["labels"]).tolist()
        keep = torch.tensor([c in lookup for c in combos], dtype=torch.bool)
        out.append({"boxes": s["boxes"].as_subclass(Tensor)[keep],
                    "labels": torch.tensor([lookup[c] for c in combos if c in lookup], dtype=torch.int64),
                    "image_id": s["image_id"]})
    return out


def evaluate_open_vocab(model: torch.nn.Module, scenes: list[dict], text_embeddings: Tensor,
                        prompt_combos: list[int], device: Device = None) -> dict:
    """AP of an open-vocabulary detector for each prompt of a vocabulary.

    ``prompt_combos[v]`` is the (colour, shape) pair that prompt ``v`` names. Every prompt is a
    category; the ground truth of a category is the objects with that pair. Returns
    ``{"AP50": {v: AP50}, "AP": {v: AP}, "predictions": [...]}``.
    """
    images = stack_images(scenes)
    device = resolve_device(model, device)
    text_embeddings = text_embeddings.to(device)
    preds = predict(model, images, device, forward=lambda m, x, start: yolo_decode(m(x, text_embeddings)))
    targets = open_vocab_targets(scenes, prompt_combos)
    ids = [s["image_id"] for s in scenes]
    ap50, ap = {}, {}
    for v in range(1, len(prompt_combos) + 1):
        gt = to_coco([(s["image"], t) for s, t in zip(scenes, targets, strict=True)], classes=("x",) * len(prompt_combos),
                     with_masks=False)
        gt["categories"] = [{"id": v, "name": str(v)}]
        gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] == v]
        dets = [d for d in detections_to_coco(preds, ids) if d["category_id"] == v]
        stats = coco_evaluate(gt, dets)
        ap50[v - 1], ap[v - 1] = stats["AP50"], stats["AP"]
    return {"AP50": ap50, "AP": ap, "predictions": preds}


@torch.no_grad()
def evaluate_segmenter(model: torch.nn.Module, scenes: list[dict], num_classes: int,
                       device: Device = None, batch_size: int = 16) -> dict:
    """Pixel accuracy, mIoU, per-class IoU and boundary F-score of ``model`` on ``scenes``."""
    images, target = stack_images(scenes), stack_images(scenes, "semantic")
    device = resolve_device(model, device)
    model.eval()
    with timed(device) as clock:
        pred = torch.cat([model(images[i:i + batch_size].to(device)).argmax(1).cpu()
                          for i in range(0, len(images), batch_size)])
    seconds = clock["seconds"] / len(scenes)
    conf = confusion_matrix(pred, target, num_classes)
    per_scene = scene_scores(pred, target, num_classes)  # boundary F once, for the number and for intervals
    boundary_f = float(per_scene["boundary_F_sum"].sum() / per_scene["boundary_F_count"].sum()) \
        if per_scene["boundary_F_count"].sum() else float("nan")
    return {"pixel_accuracy": pixel_accuracy(conf), "mIoU": mean_iou(conf), "per_class_IoU": per_class_iou(conf),
            "boundary_F": boundary_f, "predictions": pred, "scene_scores": per_scene,
            "seconds_per_image": seconds}
