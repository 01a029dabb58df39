"""Segmentation metrics: mask IoU, the confusion matrix and what it gives (pixel accuracy,
per-class IoU, mIoU), and the boundary F-score."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["mask_iou", "confusion_matrix", "pixel_accuracy", "per_class_iou", "mean_iou", "boundary_f_score"]


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise IoU ``[N, M]`` of boolean masks ``[N, H, W]`` and ``[M, H, W]`` (0 if both empty), on the CPU."""
    for name, m in (("masks1", masks1), ("masks2", masks2)):
        if not isinstance(m, Tensor) or m.ndim != 3:
            raise ValueError(f"{name} must be a tensor of shape [N, H, W]")
    if masks1.shape[1:] != masks2.shape[1:]:
        raise ValueError(f"masks1 {tuple(masks1.shape[1:])} and masks2 {tuple(masks2.shape[1:])} differ in size")
    a = masks1.reshape(masks1.shape[0], -1).cpu().bool().double()
    b = masks2.reshape(masks2.shape[0], -1).cpu().bool().double()
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None) -> Tensor:
    """``C[i, j]`` = number of pixels of true class i predicted as class j (int64 ``[K, K]``)."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.is_floating_point() or target.is_floating_point():
        raise TypeError("pred and target must hold integer class ids (take argmax of the logits first)")
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, t in (("pred", pred), ("target", target)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{name} has class ids outside [0, {num_classes})")
    return torch.bincount(target * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def pixel_accuracy(conf: Tensor) -> float:
    """Fraction of correctly labelled pixels, from a confusion matrix."""
    total = conf.sum()
    return float(conf.diag().sum() / total) if total > 0 else float("nan")


def per_class_iou(conf: Tensor) -> Tensor:
    """IoU of each class = TP / (TP + FP + FN); NaN for a class absent from both maps (on the CPU)."""
    conf = torch.as_tensor(conf).cpu()
    tp = conf.diag().double()
    union = conf.sum(0).double() + conf.sum(1).double() - tp
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


def mean_iou(conf: Tensor) -> float:
    """Mean of the per-class IoUs over classes present in the prediction or the target."""
    iou = per_class_iou(conf)
    valid = ~torch.isnan(iou)
    return float(iou[valid].mean()) if valid.any() else float("nan")


def _boundary(mask: Tensor) -> Tensor:
    """Pixels of a boolean mask ``[H, W]`` that touch a pixel outside it (4-neighbourhood)."""
    m = mask.bool()
    padded = F.pad(m[None, None].float(), (1, 1, 1, 1), mode="replicate")[0, 0].bool()
    inner = (padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    return m & ~inner


def _dilate(mask: Tensor, radius: int) -> Tensor:
    if radius == 0:
        return mask.bool()
    k = 2 * radius + 1
    return F.max_pool2d(mask[None, None].float(), k, stride=1, padding=radius)[0, 0].bool()


def boundary_f_score(pred: Tensor, target: Tensor, num_classes: int, tolerance: int = 2,
                     ignore_background: bool = True) -> float:
    """Boundary F-score of a semantic map: how well predicted *edges* follow the true ones.

    For each class, boundary pixels of the predicted and the true region are compared: precision
    is the share of predicted boundary pixels within ``tolerance`` pixels (a square window) of a
    true boundary pixel, recall the reverse, F their harmonic mean (Csurka et al., 2013). The
    score is the mean over classes present in the target or the prediction; a class whose two
    boundaries are both empty is skipped. ``pred`` and ``target`` are ``[H, W]`` or ``[N, H, W]``.
    """
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.is_floating_point() or target.is_floating_point():
        raise TypeError("pred and target must hold integer class ids")
    if not isinstance(tolerance, int) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative int, got {tolerance!r}")
    if pred.ndim == 2:
        pred, target = pred[None], target[None]
    scores = []
    for p_map, t_map in zip(pred, target, strict=True):
        for c in range(1 if ignore_background else 0, num_classes):
            pb, tb = _boundary(p_map == c), _boundary(t_map == c)
            if not pb.any() and not tb.any():
                continue
            precision = (pb & _dilate(tb, tolerance)).sum() / pb.sum() if pb.any() else torch.tensor(0.0)
            recall = (tb & _dilate(pb, tolerance)).sum() / tb.sum() if tb.any() else torch.tensor(0.0)
            f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else torch.tensor(0.0)
            scores.append(float(f))
    return float(np.mean(scores)) if scores else float("nan")
