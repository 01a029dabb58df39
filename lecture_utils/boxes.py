"""Box geometry: formats, area, IoU, GIoU, regression targets and NMS.

Conventions follow ``torchvision.ops`` so that each function is a drop-in replacement:
boxes are ``Tensor[..., N, 4]`` in ``(x1, y1, x2, y2)`` ("xyxy") unless ``fmt`` says
otherwise, with ``x1 <= x2`` and ``y1 <= y2``. Unlike torchvision, the inputs are checked:
a wrong shape, ``x2 < x1`` or a NaN raises a ``ValueError`` naming the argument.

Where the two differ on the same input: integer boxes narrower than int32 (uint8, int16) are
widened *before* subtracting here, so a uint8 IoU of disjoint boxes is 0 (torchvision's wraps
around to a negative number); NMS thresholds must lie in [0, 1] and scores may not be boolean or
NaN (torchvision takes them). Two identical zero-area boxes give IoU NaN in both.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .checks import number

__all__ = [
    "FORMATS",
    "check_boxes",
    "box_convert",
    "box_area",
    "clip_boxes_to_image",
    "box_iou",
    "generalized_box_iou",
    "encode_boxes",
    "decode_boxes",
    "nms",
    "batched_nms",
]

FORMATS = ("xyxy", "xywh", "cxcywh")
# Like torchvision's BoxCoder: exp() of a larger log-scale would overflow float32 in decode.
MAX_LOG_SCALE = math.log(1000.0 / 16)


def check_boxes(boxes: Tensor, name: str = "boxes", fmt: str = "xyxy") -> Tensor:
    """Validate ``boxes`` (``Tensor[..., N, 4]``, finite, non-negative sizes) and return it."""
    if not isinstance(boxes, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(boxes).__name__}")
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if boxes.ndim < 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape [..., N, 4], got {tuple(boxes.shape)}")
    if boxes.dtype == torch.bool or boxes.is_complex():
        raise TypeError(f"{name} must be a real-valued tensor, got dtype {boxes.dtype}")
    if boxes.numel() == 0:
        return boxes
    if boxes.is_floating_point() and not torch.isfinite(boxes).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    wide = _upcast(boxes)  # uint8 x2 - x1 would wrap around and hide a negative size
    if fmt == "xyxy":
        sizes = wide[..., 2:] - wide[..., :2]
        what = "x2 < x1 or y2 < y1"
    else:
        sizes = wide[..., 2:]
        what = "negative width or height"
    if (sizes < 0).any():
        bad = torch.nonzero((sizes < 0).any(-1))[0].tolist()
        raise ValueError(f"{name} has {what} at index {bad}: {boxes[tuple(bad)].tolist()}")
    return boxes


def _upcast(t: Tensor) -> Tensor:
    # small int boxes would wrap around in differences and products (uint8 255 - 0 - 1 ...) and
    # float16 loses precision: compute in int64 / float32 or wider. torchvision upcasts only after
    # subtracting, so its uint8 IoU of two disjoint boxes is negative; ours is 0.
    if t.is_floating_point():
        return t if t.dtype in (torch.float32, torch.float64) else t.float()
    return t.long()


def box_convert(boxes: Tensor, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert ``Tensor[..., 4]`` boxes between "xyxy", "xywh" and "cxcywh"."""
    for name, fmt in (("in_fmt", in_fmt), ("out_fmt", out_fmt)):
        if fmt not in FORMATS:
            raise ValueError(f"{name} must be one of {FORMATS}, got {fmt!r}")
    check_boxes(boxes, "boxes", in_fmt)
    if in_fmt == out_fmt:
        return boxes.clone()
    a, b, c, d = boxes.unbind(-1)
    if in_fmt == "xywh":
        xyxy = (a, b, a + c, b + d)
    elif in_fmt == "cxcywh":
        xyxy = (a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d)
    else:
        xyxy = (a, b, c, d)
    x1, y1, x2, y2 = xyxy
    if out_fmt == "xyxy":
        out = (x1, y1, x2, y2)
    elif out_fmt == "xywh":
        out = (x1, y1, x2 - x1, y2 - y1)
    else:
        out = ((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1)
    return torch.stack(out, dim=-1)


def box_area(boxes: Tensor, fmt: str = "xyxy") -> Tensor:
    """Areas ``Tensor[..., N]`` of boxes ``Tensor[..., N, 4]``."""
    check_boxes(boxes, "boxes", fmt)
    boxes = _upcast(boxes)
    if fmt == "xyxy":
        return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return boxes[..., 2] * boxes[..., 3]


def clip_boxes_to_image(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """Clip ``xyxy`` boxes to an image of ``size = (height, width)``."""
    check_boxes(boxes, "boxes")
    if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2:
        raise ValueError(f"size must be (height, width), got {size!r}")
    height, width = (number(f"size[{i}]", v, low=0, low_open=True) for i, v in enumerate(size))
    x = boxes[..., 0::2].clamp(min=0, max=width)
    y = boxes[..., 1::2].clamp(min=0, max=height)
    return torch.stack((x, y), dim=-1).reshape(boxes.shape)


def _inter_union(boxes1: Tensor, boxes2: Tensor) -> tuple[Tensor, Tensor]:
    boxes1, boxes2 = _upcast(boxes1), _upcast(boxes2)
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.max(boxes1[..., :, None, :2], boxes2[..., None, :, :2])
    rb = torch.min(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[..., :, None] + area2[..., None, :] - inter
    return inter, union


def _to_xyxy(boxes1, boxes2, fmt):
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    check_boxes(boxes1, "boxes1", fmt)
    check_boxes(boxes2, "boxes2", fmt)
    if fmt != "xyxy":
        boxes1, boxes2 = box_convert(boxes1, fmt, "xyxy"), box_convert(boxes2, fmt, "xyxy")
    return boxes1, boxes2


def box_iou(boxes1: Tensor, boxes2: Tensor, fmt: str = "xyxy") -> Tensor:
    """Pairwise IoU ``Tensor[..., N, M]`` = |A ∩ B| / |A ∪ B| of ``[..., N, 4]`` and ``[..., M, 4]``.

    As in torchvision, two identical zero-area boxes give 0 / 0 = NaN.
    """
    boxes1, boxes2 = _to_xyxy(boxes1, boxes2, fmt)
    inter, union = _inter_union(boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """Pairwise GIoU = IoU - |C \\ (A ∪ B)| / |C|, C the smallest box enclosing A and B."""
    boxes1, boxes2 = (_upcast(b) for b in _to_xyxy(boxes1, boxes2, "xyxy"))
    inter, union = _inter_union(boxes1, boxes2)
    iou = inter / union
    lt = torch.min(boxes1[..., :, None, :2], boxes2[..., None, :, :2])
    rb = torch.max(boxes1[..., :, None, 2:], boxes2[..., None, :, 2:])
    wh = _upcast(rb - lt).clamp(min=0)
    enclosing = wh[..., 0] * wh[..., 1]
    return iou - (enclosing - union) / enclosing


def _check_weights(weights):
    if len(weights) != 4 or any((not math.isfinite(w)) or w <= 0 for w in weights):
        raise ValueError(f"weights must be 4 positive finite numbers, got {weights}")


def encode_boxes(targets: Tensor, proposals: Tensor,
                 weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """R-CNN regression targets of ``targets`` relative to ``proposals`` (both ``[N, 4]`` xyxy).

    With centres ``(x, y)``, sizes ``(w, h)`` of a target and hatted ones of its proposal::

        t = (wx (x - x̂) / ŵ,  wy (y - ŷ) / ĥ,  ww log(w / ŵ),  wh log(h / ĥ))

    Proposals must have positive width and height.
    """
    _check_weights(weights)
    check_boxes(targets, "targets")
    check_boxes(proposals, "proposals")
    if targets.shape != proposals.shape:
        raise ValueError(f"targets {tuple(targets.shape)} and proposals {tuple(proposals.shape)} differ in shape")
    p = box_convert(proposals, "xyxy", "cxcywh")
    g = box_convert(targets, "xyxy", "cxcywh")
    if (p[..., 2:] <= 0).any():
        raise ValueError("proposals must have positive width and height")
    if (g[..., 2:] <= 0).any():
        raise ValueError("targets must have positive width and height (log of the size ratio)")
    wx, wy, ww, wh = weights
    return torch.stack([
        wx * (g[..., 0] - p[..., 0]) / p[..., 2],
        wy * (g[..., 1] - p[..., 1]) / p[..., 3],
        ww * torch.log(g[..., 2] / p[..., 2]),
        wh * torch.log(g[..., 3] / p[..., 3]),
    ], dim=-1)


def decode_boxes(deltas: Tensor, proposals: Tensor,
                 weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Inverse of :func:`encode_boxes`: apply regression ``deltas [N, 4]`` to ``proposals [N, 4]``.

    Log-scales are clamped at log(1000/16), as in torchvision, so exp() cannot overflow.
    """
    _check_weights(weights)
    check_boxes(proposals, "proposals")
    if not isinstance(deltas, Tensor) or deltas.shape != proposals.shape:
        raise ValueError(f"deltas must be a tensor shaped like proposals {tuple(proposals.shape)}")
    if not torch.isfinite(deltas).all():
        raise ValueError("deltas contains NaN or infinite values")
    p = box_convert(proposals, "xyxy", "cxcywh")
    wx, wy, ww, wh = weights
    cx = deltas[..., 0] / wx * p[..., 2] + p[..., 0]
    cy = deltas[..., 1] / wy * p[..., 3] + p[..., 1]
    w = torch.exp((deltas[..., 2] / ww).clamp(max=MAX_LOG_SCALE)) * p[..., 2]
    h = torch.exp((deltas[..., 3] / wh).clamp(max=MAX_LOG_SCALE)) * p[..., 3]
    return box_convert(torch.stack([cx, cy, w, h], dim=-1), "cxcywh", "xyxy")


def _check_scores(scores: Tensor, n: int, name: str = "scores") -> None:
    if not isinstance(scores, Tensor) or scores.ndim != 1 or scores.shape[0] != n:
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"{name} must be a 1-D tensor with one entry per box ({n}), got {shape}")
    if scores.dtype == torch.bool:
        raise TypeError(f"{name} must be numbers, got dtype {scores.dtype}")
    if scores.is_floating_point() and torch.isnan(scores).any():
        raise ValueError(f"{name} contains NaN")


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression, as ``torchvision.ops.nms``.

    Walk the boxes from the highest score down; keep a box unless it overlaps an already
    kept one with IoU > ``iou_threshold``. Returns the kept indices (int64), by decreasing score.
    """
    check_boxes(boxes, "boxes")
    if boxes.ndim != 2:
        raise ValueError(f"boxes must have shape [N, 4], got {tuple(boxes.shape)}")
    _check_scores(scores, boxes.shape[0])
    number("iou_threshold", iou_threshold, low=0, high=1)  # an IoU lies in [0, 1]; torchvision takes any
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    # the greedy walk is sequential: on a GPU every `if` would wait for the device, so the IoU
    # matrix is computed where the boxes are and walked on the CPU
    over = (box_iou(boxes[order], boxes[order]) > iou_threshold).cpu()  # NaN (zero-area twins) is False
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= over[i]
    return order[torch.tensor(keep, dtype=torch.int64).to(boxes.device)]


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS done independently per category ``idxs``, as ``torchvision.ops.batched_nms``.

    Boxes of different categories never suppress each other: each category's boxes are
    shifted by an offset larger than any coordinate, so they can no longer overlap.
    """
    check_boxes(boxes, "boxes")
    if boxes.ndim != 2:
        raise ValueError(f"boxes must have shape [N, 4], got {tuple(boxes.shape)}")
    _check_scores(scores, boxes.shape[0])
    _check_scores(idxs, boxes.shape[0], "idxs")
    if idxs.is_floating_point() or idxs.dtype == torch.bool:
        raise TypeError(f"idxs must hold integer category ids, got dtype {idxs.dtype}")
    number("iou_threshold", iou_threshold, low=0, high=1)
    if boxes.shape[0] == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    offset = boxes.max() - boxes.min() + 1
    shifted = boxes - boxes.min() + (idxs.to(boxes) * offset)[:, None]
    return nms(shifted, scores, iou_threshold)
