"""A controllable "noisy detector": ground truth plus localisation noise, misses and false alarms.

It lets a notebook ask how a metric reacts to one kind of error at a time, without training
anything: more localisation noise hurts AP75 long before AP50; false alarms with low scores
barely move AP; misses cap the recall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .boxes import box_convert, box_iou, check_boxes
from .checks import class_ids, number

__all__ = ["noisy_detections"]


def noisy_detections(targets: Sequence[Mapping], *, loc_noise: float = 0.05, miss_rate: float = 0.0,
                     false_alarms: float = 0.5, wrong_class_rate: float = 0.0, duplicate_rate: float = 0.0,
                     num_classes: int = 3, image_size: int = 128, seed: int = 0) -> list[dict]:
    """Fake detections for each target (a dict with ``boxes`` xyxy and ``labels``).

    * ``loc_noise``: std of the centre shift and of the log-size change, relative to box size;
    * ``miss_rate``: probability that an object gets no detection;
    * ``false_alarms``: mean number of random boxes per image (Poisson);
    * ``wrong_class_rate``: probability that a detection carries a wrong class;
    * ``duplicate_rate``: probability of a second, slightly shifted detection of an object.

    Scores are higher for better-localised boxes, as a real detector's would be on average.
    Returns one dict per image with ``boxes [N, 4]``, ``scores [N]``, ``labels [N]``.
    """
    for name, v in (("loc_noise", loc_noise), ("false_alarms", false_alarms)):
        if not v >= 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    for name, v in (("miss_rate", miss_rate), ("wrong_class_rate", wrong_class_rate),
                    ("duplicate_rate", duplicate_rate)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be a probability in [0, 1], got {v}")
    number("num_classes", num_classes, low=1, integer=True)
    number("image_size", image_size, low=0, low_open=True)
    if not isinstance(targets, Sequence) or not all(isinstance(t, Mapping) for t in targets):
        raise TypeError("targets must be a list of dicts (one per image) with 'boxes' and 'labels'")
    for i, t in enumerate(targets):
        class_ids(f"targets[{i}]['labels']", t["labels"], 1, num_classes)
    g = torch.Generator().manual_seed(seed)
    out = []
    for target in targets:
        gt = check_boxes(torch.as_tensor(target["boxes"]).as_subclass(torch.Tensor).float().reshape(-1, 4),
                         "targets[i]['boxes']")
        labels = torch.as_tensor(target["labels"]).long()
        kept = torch.rand(len(gt), generator=g) >= miss_rate
        gt, labels = gt[kept], labels[kept]
        dup = torch.rand(len(gt), generator=g) < duplicate_rate
        gt = torch.cat([gt, gt[dup]])
        labels = torch.cat([labels, labels[dup]])
        cxcywh = box_convert(gt, "xyxy", "cxcywh")
        sizes = cxcywh[:, 2:]
        shift = torch.randn(len(gt), 2, generator=g) * loc_noise * sizes
        scale = torch.exp(torch.randn(len(gt), 2, generator=g) * loc_noise)
        noisy = box_convert(torch.cat([cxcywh[:, :2] + shift, sizes * scale], 1), "cxcywh", "xyxy")
        quality = box_iou(noisy, gt).diagonal() if len(gt) else torch.zeros(0)
        scores = (0.5 * quality + 0.5 * torch.rand(len(gt), generator=g)).clamp(0, 1)
        wrong = torch.rand(len(gt), generator=g) < wrong_class_rate
        other = (labels - 1 + torch.randint(1, max(num_classes, 2), (len(gt),), generator=g)) % num_classes + 1
        labels = torch.where(wrong & (num_classes > 1), other, labels)
        n_fa = int(torch.poisson(torch.tensor([float(false_alarms)]), generator=g).item())
        xy = torch.rand(n_fa, 2, generator=g) * image_size * 0.8
        wh = (0.08 + torch.rand(n_fa, 2, generator=g) * 0.3) * image_size
        fa = torch.cat([xy, (xy + wh).clamp(max=image_size)], 1)
        out.append({
            "boxes": torch.cat([noisy, fa]),
            "scores": torch.cat([scores, 0.6 * torch.rand(n_fa, generator=g)]),
            "labels": torch.cat([labels, torch.randint(1, num_classes + 1, (n_fa,), generator=g)]),
        })
    return out
