"""The didactic detection metrics: matching, precision/recall, AP and mAP, step by step.

These functions work on the tensors of one data set and show each step of the lecture's
definition; :mod:`lecture_utils.metrics.coco` computes the benchmark's 12 numbers from COCO dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ..boxes import box_iou, check_boxes
from ..checks import class_ids, number

__all__ = ["AP_METHODS", "MATCH_RULES", "match_detections", "object_recall", "precision_recall_curve", "average_precision",
           "mean_average_precision"]

AP_METHODS = ("voc07", "voc10", "coco")
#: COCO's 101 recall levels, built with numpy's linspace exactly as pycocotools builds them
_REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def _as_1d(t, n: int, name: str, dtype=None) -> Tensor:
    t = torch.as_tensor(t, dtype=dtype)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with {n} entries (one per box), got shape {tuple(t.shape)}")
    # a NaN score compares False with everything, so sorting would rank it anywhere (first, today)
    if t.is_floating_point() and torch.isnan(t).any():
        raise ValueError(f"{name} contains NaN")
    return t


def _as_labels(t, n: int, name: str) -> Tensor:
    t = _as_1d(t, n, name)
    if t.is_floating_point() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class ids, got dtype {t.dtype}")
    return t


def _check_entries(item, keys: tuple[str, ...], name: str) -> None:
    """One image's predictions or targets: a dict with ``keys``, boxes ``[N, 4]`` and 1-D rest of length N."""
    if not isinstance(item, Mapping) or any(k not in item for k in keys):
        missing = [k for k in keys if not isinstance(item, Mapping) or k not in item]
        raise ValueError(f"{name} must be a dict with {list(keys)}; missing {missing}")
    boxes = _boxes_2d(torch.as_tensor(item["boxes"]).as_subclass(Tensor), f"{name}['boxes']")
    for k in keys[1:]:
        _as_1d(torch.as_tensor(item[k]), len(boxes), f"{name}['{k}']")


def _boxes_2d(boxes, name: str) -> Tensor:
    boxes = check_boxes(boxes, name)
    if boxes.ndim != 2:
        raise ValueError(f"{name} must have shape [N, 4] (one image), got {tuple(boxes.shape)}")
    return boxes


#: the two matching rules of match_detections
MATCH_RULES = ("coco", "voc")


def match_detections(pred_boxes: Tensor, pred_scores: Tensor, pred_labels: Tensor,
                     gt_boxes: Tensor, gt_labels: Tensor, iou_threshold: float = 0.5, rule: str = "coco"):
    """Mark each prediction of one image as a true or a false positive.

    Predictions are visited by decreasing score (ties keep their input order) and compared with the
    ground-truth boxes *of their own class*. The two benchmarks differ in which box a prediction may take:

    * ``rule="coco"`` (pycocotools' ``evaluateImg``): the *unmatched* ground-truth box with the highest
      IoU, provided IoU >= ``iou_threshold``;
    * ``rule="voc"`` (the PASCAL VOC devkit's ``VOCevaldet.m``): the ground-truth box with the highest IoU
      *whether or not it is already matched*, provided IoU >= ``iou_threshold`` (the MATLAB devkit's
      ``ovmax>=VOCopts.minoverlap``; the Python ports, e.g. py-faster-rcnn's ``voc_eval.py``, test ``>``).
      If that box is taken, the prediction is a false positive ("multiple detection") even when another
      free box overlaps it enough. (VOC's "difficult" objects, which are neither, do not occur here, and the
      devkit's pixel-inclusive widths, ``x2 - x1 + 1``, are not used: boxes here are continuous.)

    The verdicts differ beyond ties: a prediction overlapping a taken box at 0.8 and a free one at 0.6 is a
    false positive under VOC and a true positive under COCO. Under both rules

    * a second prediction on an already matched object is a false positive (a duplicate);
    * a confident prediction with the wrong class is a false positive for its class, and
      the object stays a false negative (a miss) for its true class.

    Returns ``(is_tp [N] bool, matched_gt [N] int64)``, ``matched_gt = -1`` where unmatched, on
    the CPU: the greedy loop is sequential bookkeeping, so inputs on a GPU are moved first.
    """
    if rule not in MATCH_RULES:
        raise ValueError(f"rule must be one of {MATCH_RULES}, got {rule!r}")
    _boxes_2d(pred_boxes, "pred_boxes")
    _boxes_2d(gt_boxes, "gt_boxes")
    pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels = (
        torch.as_tensor(t).cpu() for t in (pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels))
    n, g = pred_boxes.shape[0], gt_boxes.shape[0]
    pred_scores = _as_1d(pred_scores, n, "pred_scores")
    pred_labels = _as_labels(pred_labels, n, "pred_labels")
    gt_labels = _as_labels(gt_labels, g, "gt_labels")
    number("iou_threshold", iou_threshold, low=0, high=1)
    is_tp = torch.zeros(n, dtype=torch.bool)
    matched = torch.full((n,), -1, dtype=torch.int64)
    if n == 0 or g == 0:
        return is_tp, matched
    iou = box_iou(pred_boxes.double(), gt_boxes.double())
    iou = torch.where(pred_labels[:, None] == gt_labels[None, :], iou, torch.full_like(iou, -1.0))
    taken = torch.zeros(g, dtype=torch.bool)
    for i in torch.argsort(pred_scores, descending=True, stable=True).tolist():
        # COCO hides the taken boxes before choosing; VOC chooses among all and then asks if it is taken
        candidates = torch.where(taken, torch.full_like(iou[i], -1.0), iou[i]) if rule == "coco" else iou[i]
        j = int(torch.argmax(candidates))  # the first of equal maxima, as both reference loops
        if candidates[j] >= iou_threshold and not taken[j]:
            is_tp[i], matched[i], taken[j] = True, j, True
    return is_tp, matched


def object_recall(predictions: Sequence, targets: Sequence[Mapping], iou_threshold: float = 0.5,
                  top_n: int | None = None, score_threshold: float | None = None) -> Tensor:
    """Per ground-truth object: is some predicted box (class-agnostic) at IoU >= ``iou_threshold``?

    ``predictions[i]`` is a ``Tensor[N, 4]`` of boxes ranked best first (proposals) or a dict with
    ``boxes`` and ``scores``; ``top_n`` keeps the first N boxes, ``score_threshold`` the confident
    ones. Returns a bool tensor over all objects of all images (on the CPU); its mean is the recall.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"predictions ({len(predictions)}) and targets ({len(targets)}) differ in length")
    number("iou_threshold", iou_threshold, low=0, high=1)
    if top_n is not None:
        number("top_n", top_n, low=0, integer=True)  # boxes[:-1] would silently drop the last box
    if score_threshold is not None:
        number("score_threshold", score_threshold)
    flags = []
    for i, (pred, target) in enumerate(zip(predictions, targets, strict=True)):
        if not isinstance(target, Mapping) or "boxes" not in target:
            raise ValueError(f"targets[{i}] must be a dict with 'boxes'")
        gt = _boxes_2d(torch.as_tensor(target["boxes"]).as_subclass(Tensor).cpu(), f"targets[{i}]['boxes']")
        boxes = pred["boxes"] if isinstance(pred, Mapping) else pred
        boxes = _boxes_2d(torch.as_tensor(boxes).as_subclass(Tensor).cpu(), f"predictions[{i}] boxes")
        if score_threshold is not None:
            if not isinstance(pred, Mapping):
                raise ValueError("score_threshold needs predictions with 'scores'")
            boxes = boxes[_as_1d(torch.as_tensor(pred["scores"]).cpu(), len(boxes),
                                 f"predictions[{i}]['scores']") > score_threshold]
        if top_n is not None:
            boxes = boxes[:top_n]
        if len(boxes) == 0 or len(gt) == 0:
            flags.append(torch.zeros(len(gt), dtype=torch.bool))
        else:
            flags.append(box_iou(gt.double(), boxes.double()).nan_to_num(0).max(1).values >= iou_threshold)
    return torch.cat(flags) if flags else torch.zeros(0, dtype=torch.bool)


def precision_recall_curve(is_tp: Tensor, scores: Tensor, num_gt: int):
    """Precision and recall after each detection, detections ranked by decreasing score.

    ``precision[k] = TP_k / (k + 1)`` and ``recall[k] = TP_k / num_gt`` for the top ``k + 1``.
    Returns float64 tensors ``(precision, recall)`` of length N.
    """
    is_tp = torch.as_tensor(is_tp)
    if is_tp.is_floating_point():  # 0.5 would silently count as a true positive
        raise TypeError(f"is_tp must be boolean flags, got dtype {is_tp.dtype}")
    if is_tp.dtype != torch.bool:
        if is_tp.numel() and not ((is_tp == 0) | (is_tp == 1)).all():
            raise ValueError("is_tp must hold True/False (or 0/1)")
        is_tp = is_tp.bool()
    if is_tp.ndim != 1:
        raise ValueError(f"is_tp must be 1-D, got shape {tuple(is_tp.shape)}")
    scores = _as_1d(scores, is_tp.shape[0], "scores")
    num_gt = number("num_gt", num_gt, low=0, integer=True)
    if int(is_tp.sum()) > num_gt:  # each true positive is a distinct object: recall would pass 1
        raise ValueError(f"is_tp has {int(is_tp.sum())} true positives but num_gt is only {num_gt}")
    order = torch.argsort(scores, descending=True, stable=True)
    tp = torch.cumsum(is_tp[order].double(), 0)
    fp = torch.cumsum((~is_tp[order]).double(), 0)
    precision = tp / (tp + fp)
    recall = tp / num_gt if num_gt > 0 else torch.zeros_like(tp)
    return precision, recall


def average_precision(precision: Tensor, recall: Tensor, method: str = "voc10") -> float:
    """Area under a precision-recall curve, interpolated as a benchmark defines it.

    * ``"voc07"``: 11-point: mean over r in {0, 0.1, ..., 1} of max precision at recall >= r;
    * ``"voc10"``: all-point: exact area under the monotone (right-maximum) envelope;
    * ``"coco"``: 101-point: the envelope sampled at r in {0, 0.01, ..., 1} and averaged.
    """
    if method not in AP_METHODS:
        raise ValueError(f"method must be one of {AP_METHODS}, got {method!r}")
    p = torch.as_tensor(precision, dtype=torch.float64)
    r = torch.as_tensor(recall, dtype=torch.float64)
    if p.ndim != 1 or p.shape != r.shape:
        raise ValueError(f"precision and recall must be 1-D of equal length, got {tuple(p.shape)}, {tuple(r.shape)}")
    if p.numel() == 0:
        return 0.0
    for name, values in (("precision", p), ("recall", r)):
        if not torch.isfinite(values).all() or (values < 0).any() or (values > 1).any():
            raise ValueError(f"{name} must lie in [0, 1] (no NaN), got values in [{float(values.min())}, "
                             f"{float(values.max())}]")
    if (r[1:] < r[:-1]).any():
        raise ValueError("recall must be non-decreasing (detections ranked by score)")
    envelope = torch.flip(torch.cummax(torch.flip(p, [0]), 0).values, [0])
    if method == "voc07":
        total = 0.0
        for t in np.arange(0.0, 1.1, 0.1):  # the thresholds exactly as the VOC devkit builds them
            reached = r >= float(t)
            total += float(p[reached].max()) if reached.any() else 0.0
        return total / 11
    if method == "voc10":
        r_ext = torch.cat([torch.zeros(1, dtype=torch.float64), r])
        return float(((r_ext[1:] - r_ext[:-1]) * envelope).sum())
    # numpy's linspace, as in pycocotools: torch.linspace differs in the last bit at some points,
    # and a recall of exactly 0.29 then lands on the other side of a threshold
    thresholds = torch.from_numpy(_REC_THRS)
    idx = torch.searchsorted(r, thresholds, right=False)
    sampled = torch.where(idx < len(r), envelope[idx.clamp(max=len(r) - 1)], torch.zeros(()).double())
    return float(sampled.mean())


def mean_average_precision(predictions: Sequence[Mapping], targets: Sequence[Mapping],
                           iou_threshold: float = 0.5, method: str = "voc10",
                           num_classes: int | None = None, rule: str = "coco") -> dict:
    """mAP over a data set: per class, pool all images' detections, rank, then AP.

    ``rule`` is :func:`match_detections`' matching rule ("coco" or "voc").

    ``predictions[i]`` has ``boxes [N, 4]``, ``scores [N]``, ``labels [N]``; ``targets[i]``
    has ``boxes`` and ``labels``. Classes are 1..num_classes (default: the largest label
    seen). A class with no ground truth is left out of the mean (its AP is NaN). A label outside
    1..num_classes (0 is the background) is an error, not a prediction silently dropped.
    Returns ``{"mAP": float, "AP_per_class": {label: AP}}``.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"predictions ({len(predictions)}) and targets ({len(targets)}) differ in length")
    if method not in AP_METHODS:
        raise ValueError(f"method must be one of {AP_METHODS}, got {method!r}")
    if num_classes is not None:
        number("num_classes", num_classes, low=1, integer=True)
    per_class: dict[int, list] = {}
    num_gt: dict[int, int] = {}
    number("iou_threshold", iou_threshold, low=0, high=1)
    for i, (pred, tgt) in enumerate(zip(predictions, targets, strict=True)):
        _check_entries(pred, ("boxes", "scores", "labels"), f"predictions[{i}]")
        _check_entries(tgt, ("boxes", "labels"), f"targets[{i}]")
        for where, labels in ((f"predictions[{i}]['labels']", pred["labels"]),
                              (f"targets[{i}]['labels']", tgt["labels"])):
            class_ids(where, labels, 1, num_classes)
        is_tp, _ = match_detections(pred["boxes"], pred["scores"], pred["labels"],
                                    tgt["boxes"], tgt["labels"], iou_threshold, rule)
        for label, tp, score in zip(torch.as_tensor(pred["labels"]).tolist(), is_tp.tolist(),
                                    torch.as_tensor(pred["scores"]).tolist(), strict=True):
            per_class.setdefault(int(label), []).append((tp, score))
        for label in torch.as_tensor(tgt["labels"]).tolist():
            num_gt[int(label)] = num_gt.get(int(label), 0) + 1
    labels_seen = set(per_class) | set(num_gt)
    k = num_classes if num_classes is not None else max(labels_seen, default=0)
    ap = {}
    for c in range(1, k + 1):
        if num_gt.get(c, 0) == 0:
            ap[c] = float("nan")
            continue
        flags = per_class.get(c, [])
        tps = torch.tensor([f for f, _ in flags], dtype=torch.bool)
        scores = torch.tensor([s for _, s in flags], dtype=torch.float64)
        precision, recall = precision_recall_curve(tps, scores, num_gt[c])
        ap[c] = average_precision(precision, recall, method)
    valid = [v for v in ap.values() if not np.isnan(v)]
    return {"mAP": float(np.mean(valid)) if valid else float("nan"), "AP_per_class": ap}
