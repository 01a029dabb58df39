"""Anchors of the Region Proposal Network (Faster R-CNN) and how they are labelled.

Anchors are reference boxes of several scales and aspect ratios centred on every cell of a
feature map. During training each anchor becomes a positive (object), a negative (background)
or is ignored, by its IoU with the ground truth; the RPN learns objectness for positives and
negatives and box offsets (``boxes.encode_boxes``) for positives.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .boxes import box_iou, check_boxes
from .checks import number, tensor

__all__ = ["base_anchors", "grid_anchors", "label_anchors", "sample_balanced"]


def base_anchors(scales=(16, 32, 64), ratios=(0.5, 1.0, 2.0)) -> Tensor:
    """``Tensor[A, 4]`` anchors centred at (0, 0): one per (ratio, scale), ``ratio = h / w``.

    An anchor of scale ``s`` has area ``s**2`` whatever its ratio.
    """
    for name, values in (("scales", scales), ("ratios", ratios)):
        if not isinstance(values, (tuple, list)) or not values:
            raise ValueError(f"{name} must be a non-empty tuple of positive numbers, got {values!r}")
        for i, v in enumerate(values):
            number(f"{name}[{i}]", v, low=0, low_open=True)  # NaN passes `min(values) <= 0`
    out = []
    for r in ratios:
        for s in scales:
            w, h = s / math.sqrt(r), s * math.sqrt(r)
            out.append([-w / 2, -h / 2, w / 2, h / 2])
    return torch.tensor(out, dtype=torch.float32)


def grid_anchors(feature_size: tuple[int, int], stride: int, scales=(16, 32, 64),
                 ratios=(0.5, 1.0, 2.0)) -> Tensor:
    """All anchors of a feature map: ``Tensor[H * W * A, 4]`` (xyxy, image coordinates).

    Anchors are centred on cell centres ``((j + 0.5) * stride, (i + 0.5) * stride)`` and ordered
    cell by cell (row-major), the ``A`` anchors of a cell together — the order in which an
    RPN head's ``[A, H, W]`` outputs are flattened after ``permute(1, 2, 0)``.
    """
    if not isinstance(feature_size, (tuple, list, torch.Size)) or len(feature_size) != 2:
        raise ValueError(f"feature_size must be (height, width), got {feature_size!r}")
    h, w = (number(f"feature_size[{i}]", v, low=1, integer=True) for i, v in enumerate(feature_size))
    number("stride", stride, low=0, low_open=True)
    base = base_anchors(scales, ratios)
    ys, xs = torch.meshgrid((torch.arange(h) + 0.5) * stride, (torch.arange(w) + 0.5) * stride, indexing="ij")
    centres = torch.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4)
    return (centres + base[None]).reshape(-1, 4)


def label_anchors(anchors: Tensor, gt_boxes: Tensor, pos_iou: float = 0.7, neg_iou: float = 0.3):
    """Faster R-CNN's rule: ``1`` positive, ``0`` negative, ``-1`` ignored; and the matched object.

    * IoU >= ``pos_iou`` with some object: positive;
    * for every object, the anchor(s) with its highest IoU are positive too (so that no object
      is left without an anchor, however small it is);
    * max IoU < ``neg_iou``: negative; anything else is ignored in the loss.

    Returns ``(labels [N] int64, matched [N] int64)``; ``matched`` is the index of the object
    with the highest IoU (meaningful for positives).
    """
    check_boxes(anchors, "anchors")
    check_boxes(gt_boxes, "gt_boxes")
    number("neg_iou", neg_iou, low=0, high=1)
    number("pos_iou", pos_iou, low=neg_iou, high=1)
    n = anchors.shape[0]
    labels = torch.full((n,), -1, dtype=torch.int64, device=anchors.device)
    if gt_boxes.shape[0] == 0 or n == 0:
        labels[:] = 0
        return labels, torch.zeros(n, dtype=torch.int64, device=anchors.device)
    iou = box_iou(anchors, gt_boxes).nan_to_num(0.0)  # [N, G]
    best_iou, matched = iou.max(1)
    labels[best_iou < neg_iou] = 0
    labels[best_iou >= pos_iou] = 1
    best_for_gt = iou.max(0).values  # [G]
    anchor_idx, gt_idx = torch.nonzero((iou == best_for_gt[None]) & (best_for_gt[None] > 0), as_tuple=True)
    labels[anchor_idx] = 1
    matched[anchor_idx] = gt_idx  # a low-quality match keeps the object it is best for
    return labels, matched


def sample_balanced(labels: Tensor, batch_size: int = 256, positive_fraction: float = 0.5,
                    generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Pick at most ``batch_size`` labelled items, at most ``positive_fraction`` of them positive.

    Returns ``(positive_idx, negative_idx)`` on ``labels``' device. Negatives fill up the batch
    when positives are few. The permutations are drawn on the CPU from ``generator`` (a CPU
    generator, which cannot sample on a GPU) and moved; ``generator=None`` draws from torch's
    global generator, as torchvision's sampler does (the course's models pass their own).
    """
    number("batch_size", batch_size, low=1, integer=True)
    number("positive_fraction", positive_fraction, low=0, low_open=True, high=1)
    # 2-D labels would give 2-D nonzero() rows, flattened into meaningless indices
    tensor("labels", labels, ndim=1, floating=False)
    if labels.numel() and ((labels < -1) | (labels > 1)).any():
        raise ValueError("labels must be 1 (positive), 0 (negative) or -1 (ignored)")
    pos = torch.nonzero(labels >= 1).flatten()
    neg = torch.nonzero(labels == 0).flatten()
    n_pos = min(len(pos), int(batch_size * positive_fraction))
    n_neg = min(len(neg), batch_size - n_pos)
    pos = pos[torch.randperm(len(pos), generator=generator)[:n_pos].to(labels.device)]
    neg = neg[torch.randperm(len(neg), generator=generator)[:n_neg].to(labels.device)]
    return pos, neg
