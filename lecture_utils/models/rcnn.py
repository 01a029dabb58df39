"""The R-CNN family, small enough to train on a laptop: R-CNN, Fast R-CNN, Faster R-CNN.

Each model reuses the previous one's parts, as the papers did:

* ``RCNNCropNet`` classifies warped crops (R-CNN: crop, then CNN, once per proposal);
* ``FastRCNN`` runs the backbone once per image and pools every proposal from the feature map
  with RoI pooling (CNN, then crop);
* ``FasterRCNN`` replaces selective search by a Region Proposal Network on the same features.

Boxes are xyxy in image pixels; labels are 1..K, 0 is the background. Everything stays on the
images' device (anchors are a buffer that moves with the model); detections come back on that
device too, and ``train.predict`` moves them to the CPU. The random sampling of anchors and RoIs
draws from a CPU generator the model owns (``sampling_seed``), so training repeats whatever else
consumed the global generator, and on any device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.ops import roi_align as tv_roi_align
from torchvision.ops import roi_pool as tv_roi_pool

from ..anchors import grid_anchors, label_anchors, sample_balanced
from ..boxes import (
    batched_nms,
    box_iou,
    check_boxes,
    clip_boxes_to_image,
    decode_boxes,
    encode_boxes,
    nms,
)
from ..checks import class_ids, decoding, number
from .backbones import SmallBackbone

__all__ = [
    "BOX_WEIGHTS",
    "sample_rois",
    "RCNNCropNet",
    "FastRCNNHead",
    "fast_rcnn_loss",
    "postprocess_detections",
    "FastRCNN",
    "RPNHead",
    "rpn_targets",
    "rpn_proposals",
    "FasterRCNN",
    "torchvision_faster_rcnn",
]

# As in torchvision's RoI heads: scale the regression targets to a range similar to the logits'.
BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)


def sample_rois(proposals: Tensor, gt_boxes: Tensor, gt_labels: Tensor, *, batch_size: int = 64,
                fg_fraction: float = 0.25, fg_iou: float = 0.5, bg_iou: tuple[float, float] = (0.0, 0.5),
                add_gt: bool = True, generator: torch.Generator | None = None):
    """Training RoIs for a detection head, as in Fast R-CNN.

    A proposal with IoU >= ``fg_iou`` with an object is foreground and takes its class; IoU in
    ``bg_iou`` is background (label 0). At most ``fg_fraction`` of the batch is foreground (R-CNN
    fine-tuning used 32 of 128 = 0.25). The ground-truth boxes are added as proposals, so there
    is always foreground to learn from. Returns ``(rois [M, 4], labels [M], box_targets [M, 4])``.
    """
    check_boxes(proposals, "proposals")
    number("fg_iou", fg_iou, low=0, high=1)
    if len(bg_iou) != 2:
        raise ValueError(f"bg_iou must be (low, high), got {bg_iou!r}")
    number("bg_iou[1]", bg_iou[1], low=number("bg_iou[0]", bg_iou[0], low=0, high=1), high=1)
    number("batch_size", batch_size, low=1, integer=True)
    number("fg_fraction", fg_fraction, low=0, low_open=True, high=1)
    class_ids("gt_labels", gt_labels, 1)  # 0 is the background: an object cannot have it
    gt_boxes, gt_labels = gt_boxes.as_subclass(Tensor).to(proposals), gt_labels.to(proposals.device)
    if len(gt_labels) != len(gt_boxes):
        raise ValueError(f"gt_labels: expected one label per box ({len(gt_boxes)}), got {len(gt_labels)}")
    if add_gt and len(gt_boxes):
        proposals = torch.cat([proposals, gt_boxes])
    device = proposals.device
    if len(gt_boxes) == 0:
        iou_max = torch.zeros(len(proposals), device=device)
        matched = torch.zeros(len(proposals), dtype=torch.int64, device=device)
    else:
        iou_max, matched = box_iou(proposals, gt_boxes).nan_to_num(0).max(1)
    labels = torch.full((len(proposals),), -1, dtype=torch.int64, device=device)
    labels[(iou_max >= bg_iou[0]) & (iou_max < bg_iou[1])] = 0
    if len(gt_boxes):
        fg = iou_max >= fg_iou
        labels[fg] = 1  # marker for sample_balanced
    pos, neg = sample_balanced(labels, batch_size, fg_fraction, generator)
    keep = torch.cat([pos, neg])
    rois = proposals[keep]
    out_labels = torch.zeros(len(keep), dtype=torch.int64, device=device)
    targets = torch.zeros(len(keep), 4, dtype=proposals.dtype, device=device)
    if len(pos):
        out_labels[: len(pos)] = gt_labels[matched[pos]]
        targets[: len(pos)] = encode_boxes(gt_boxes[matched[pos]], proposals[pos], BOX_WEIGHTS)
    return rois, out_labels, targets


class RCNNCropNet(nn.Module):
    """R-CNN's CNN: a warped crop -> a feature vector -> K + 1 class scores.

    ``features(x)`` gives the penultimate vector that R-CNN feeds to its per-class SVMs and
    box regressors.
    """

    def __init__(self, num_classes: int, crop_size: int = 32, hidden: int = 256):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        number("crop_size", crop_size, low=8, integer=True)
        number("hidden", hidden, low=1, integer=True)
        self.backbone = SmallBackbone()
        cells = crop_size // self.backbone.stride
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(self.backbone.out_channels * cells * cells, hidden),
                                nn.ReLU(inplace=True), nn.Dropout(0.2))
        self.classifier = nn.Linear(hidden, num_classes + 1)

    def features(self, crops: Tensor) -> Tensor:
        return self.fc(self.backbone(crops))

    def forward(self, crops: Tensor) -> Tensor:
        return self.classifier(self.features(crops))


#: how a proposal's features are cut from the map: "max" is Fast R-CNN's RoI pooling (corners rounded to
#: cells, max over uneven bins); "align" is Mask R-CNN's RoI Align (exact bins, 2 x 2 bilinear samples each)
POOLS = ("max", "align")


class FastRCNNHead(nn.Module):
    """RoI pooling (or RoI Align) -> two fully connected layers -> class scores and class-specific box offsets.

    ``pool`` changes no parameter, so one trained head can be run either way; it is stored in the checkpoint's
    meta by ``scripts/train_detectors.py``."""

    def __init__(self, in_channels: int, num_classes: int, pool_size: int = 4, hidden: int = 256,
                 spatial_scale: float = 1 / 8, pool: str = "max"):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.pool = pool
        number("in_channels", in_channels, low=1, integer=True)
        number("num_classes", num_classes, low=1, integer=True)
        number("pool_size", pool_size, low=1, integer=True)
        number("hidden", hidden, low=1, integer=True)
        number("spatial_scale", spatial_scale, low=0, low_open=True)
        self.pool_size, self.spatial_scale, self.num_classes = pool_size, spatial_scale, num_classes
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * pool_size * pool_size, hidden),
                                nn.ReLU(inplace=True), nn.Linear(hidden, hidden), nn.ReLU(inplace=True))
        self.cls = nn.Linear(hidden, num_classes + 1)
        self.box = nn.Linear(hidden, 4 * (num_classes + 1))

    def forward(self, features: Tensor, rois: list[Tensor]) -> tuple[Tensor, Tensor]:
        if len(rois) != features.shape[0]:  # torchvision would read past the batch without a word
            raise ValueError(f"rois: expected one tensor per image ({features.shape[0]}), got {len(rois)}")
        rois = [r.to(features) for r in rois]
        if self.pool == "align":  # aligned=True: a pixel's centre is at +0.5, as Detectron2 and torchvision's models
            pooled = tv_roi_align(features, rois, self.pool_size, self.spatial_scale, sampling_ratio=2, aligned=True)
        else:  # torchvision's kernel gives exactly lecture_utils.roi.roi_pool's output, only faster
            pooled = tv_roi_pool(features, rois, self.pool_size, self.spatial_scale)
        h = self.fc(pooled)
        return self.cls(h), self.box(h).reshape(-1, self.num_classes + 1, 4)


def fast_rcnn_loss(cls_logits: Tensor, box_deltas: Tensor, labels: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """The multi-task loss: cross-entropy over K + 1 classes, plus smooth L1 on the offsets
    predicted *for the true class*, for foreground RoIs only (averaged over all RoIs).

    ``cls_logits [R, K + 1]``, ``box_deltas [R, K + 1, 4]``, ``labels [R]`` (0 = background) and
    ``targets [R, 4]``. No RoI at all is an error: the mean over zero RoIs is NaN."""
    if cls_logits.ndim != 2 or box_deltas.shape != (*cls_logits.shape, 4):
        raise ValueError(f"cls_logits must be [R, K + 1] and box_deltas [R, K + 1, 4], got "
                         f"{tuple(cls_logits.shape)} and {tuple(box_deltas.shape)}")
    if labels.shape != cls_logits.shape[:1] or targets.shape != (len(cls_logits), 4):
        raise ValueError(f"labels must be [R] and targets [R, 4] for R = {len(cls_logits)}, got "
                         f"{tuple(labels.shape)} and {tuple(targets.shape)}")
    if len(cls_logits) == 0:
        raise ValueError("cls_logits has no RoI: sample at least one RoI per batch")
    if not torch.isfinite(cls_logits).all():
        raise ValueError("cls_logits contains NaN or infinite values (the training diverged)")
    class_ids("labels", labels, 0, cls_logits.shape[1] - 1)
    cls_loss = F.cross_entropy(cls_logits, labels)
    fg = torch.nonzero(labels > 0).flatten()
    if len(fg) == 0:
        return cls_loss, box_deltas.sum() * 0
    pred = box_deltas[fg, labels[fg]]
    box_loss = F.smooth_l1_loss(pred, targets[fg], beta=1 / 9, reduction="sum") / labels.numel()
    return cls_loss, box_loss


@torch.no_grad()
def postprocess_detections(cls_logits: Tensor, box_deltas: Tensor, rois: Tensor, image_size: tuple[int, int],
                           score_thresh: float = 0.05, nms_thresh: float = 0.5, max_dets: int = 100) -> dict:
    """Scores by softmax; one box per (RoI, class) decoded from the class's own offsets; per-class NMS."""
    check_boxes(rois, "rois")
    if cls_logits.ndim != 2 or box_deltas.shape != (*cls_logits.shape, 4) or len(rois) != len(cls_logits):
        raise ValueError(f"rois [R, 4], cls_logits [R, K + 1] and box_deltas [R, K + 1, 4] must agree on R, got "
                         f"{tuple(rois.shape)}, {tuple(cls_logits.shape)}, {tuple(box_deltas.shape)}")
    decoding(score_thresh, nms_thresh, max_dets)
    if not torch.isfinite(cls_logits).all():
        raise ValueError("cls_logits contains NaN or infinite values")
    num_classes = cls_logits.shape[1] - 1
    scores = F.softmax(cls_logits, -1)[:, 1:]
    boxes = decode_boxes(box_deltas[:, 1:].reshape(-1, 4),
                         rois[:, None, :].expand(-1, num_classes, -1).reshape(-1, 4), BOX_WEIGHTS)
    boxes = clip_boxes_to_image(boxes, image_size)
    labels = torch.arange(1, num_classes + 1, device=cls_logits.device).repeat(len(rois))
    scores = scores.reshape(-1)
    keep = (scores > score_thresh) & ((boxes[:, 2] - boxes[:, 0]) > 1) & ((boxes[:, 3] - boxes[:, 1]) > 1)
    boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
    keep = batched_nms(boxes, scores, labels, nms_thresh)[:max_dets]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]}


class FastRCNN(nn.Module):
    """Backbone once per image, then RoI pooling of every proposal from the shared feature map."""

    def __init__(self, num_classes: int, pool_size: int = 4, sampling_seed: int = 0, pool: str = "max",
                 nms_thresh: float = 0.5):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        self.nms_thresh = number("nms_thresh", nms_thresh, low=0, high=1)  # 1.0: no suppression at all
        self.sampling = torch.Generator().manual_seed(sampling_seed)  # RoI sampling, on the CPU
        self.backbone = SmallBackbone()
        self.head = FastRCNNHead(self.backbone.out_channels, num_classes, pool_size,
                                 spatial_scale=1 / self.backbone.stride, pool=pool)

    def forward(self, images: Tensor, proposals: list[Tensor], targets: list[dict] | None = None,
                generator: torch.Generator | None = None):
        _check_batch(images, proposals, targets)
        if self.training and targets is None:
            raise ValueError("targets are required in training mode")
        features = self.backbone(images)
        if self.training:
            generator = generator or self.sampling
            rois, labels, box_t = zip(*[sample_rois(p.to(images.device), t["boxes"].as_subclass(Tensor),
                                                    t["labels"], generator=generator)
                                        for p, t in zip(proposals, targets, strict=True)], strict=True)
            logits, deltas = self.head(features, list(rois))
            cls_loss, box_loss = fast_rcnn_loss(logits, deltas, torch.cat(labels).to(logits.device),
                                                torch.cat(box_t).to(logits.device))
            return {"loss_classifier": cls_loss, "loss_box_reg": box_loss}
        proposals = [p.to(images.device) for p in proposals]
        logits, deltas = self.head(features, proposals)
        out, start = [], 0
        for p in proposals:
            n = len(p)
            out.append(postprocess_detections(logits[start:start + n], deltas[start:start + n],
                                              p, tuple(images.shape[-2:]), nms_thresh=self.nms_thresh))
            start += n
        return out


def _check_batch(images: Tensor, proposals: list, targets: list | None = None) -> None:
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor [N, 3, H, W], got {getattr(images, 'shape', type(images))}")
    if not isinstance(proposals, (list, tuple)):
        raise TypeError(f"proposals must be a list of Tensor[L, 4], one per image, got {type(proposals).__name__}")
    if len(proposals) != len(images):
        raise ValueError(f"proposals: expected one list per image ({len(images)}), got {len(proposals)}")
    if targets is not None and len(targets) != len(images):
        raise ValueError(f"targets: expected one dict per image ({len(images)}), got {len(targets)}")


class RPNHead(nn.Module):
    """3x3 conv, then per anchor: one objectness logit and four box offsets."""

    def __init__(self, in_channels: int, num_anchors: int):
        super().__init__()
        number("in_channels", in_channels, low=1, integer=True)
        number("num_anchors", num_anchors, low=1, integer=True)
        self.conv = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self.objectness = nn.Conv2d(in_channels, num_anchors, 1)
        self.deltas = nn.Conv2d(in_channels, 4 * num_anchors, 1)

    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``objectness [N, H*W*A]`` and ``deltas [N, H*W*A, 4]`` in ``grid_anchors`` order."""
        h = F.relu(self.conv(features))
        n, _, fh, fw = h.shape
        obj = self.objectness(h).permute(0, 2, 3, 1).reshape(n, -1)
        deltas = self.deltas(h).reshape(n, -1, 4, fh, fw).permute(0, 3, 4, 1, 2).reshape(n, -1, 4)
        return obj, deltas


def rpn_targets(anchors: Tensor, gt_boxes: Tensor, batch_size: int = 128,
                generator: torch.Generator | None = None):
    """Sampled anchors with objectness labels and regression targets for one image.

    Returns ``(index [M], objectness [M] float, positive mask [M], box_targets [M, 4])``.
    """
    labels, matched = label_anchors(anchors, gt_boxes)
    pos, neg = sample_balanced(labels, batch_size, 0.5, generator)
    idx = torch.cat([pos, neg])
    is_pos = torch.zeros(len(idx), dtype=torch.bool, device=anchors.device)
    is_pos[: len(pos)] = True
    targets = torch.zeros(len(idx), 4, dtype=anchors.dtype, device=anchors.device)
    if len(pos):
        targets[: len(pos)] = encode_boxes(gt_boxes[matched[pos]], anchors[pos])
    return idx, is_pos.float(), is_pos, targets


@torch.no_grad()
def rpn_proposals(objectness: Tensor, deltas: Tensor, anchors: Tensor, image_size: tuple[int, int],
                  pre_nms_top_n: int = 600, post_nms_top_n: int = 100, nms_thresh: float = 0.7,
                  min_size: float = 2.0) -> list[Tensor]:
    """Decode anchors by the predicted offsets, keep the top-scoring ones, clip, NMS. Per image."""
    check_boxes(anchors, "anchors")
    if objectness.ndim != 2 or objectness.shape[1] != len(anchors) or deltas.shape != (*objectness.shape, 4):
        raise ValueError(f"objectness must be [N, A] and deltas [N, A, 4] for the A = {len(anchors)} anchors, got "
                         f"{tuple(objectness.shape)} and {tuple(deltas.shape)}")
    if not torch.isfinite(objectness).all():
        raise ValueError("objectness contains NaN or infinite values")
    number("nms_thresh", nms_thresh, low=0, high=1)
    for name, value in (("pre_nms_top_n", pre_nms_top_n), ("post_nms_top_n", post_nms_top_n)):
        number(name, value, low=1, integer=True)
    out = []
    for obj, d in zip(objectness, deltas, strict=True):
        top = torch.topk(obj, min(pre_nms_top_n, len(obj))).indices
        boxes = clip_boxes_to_image(decode_boxes(d[top].float(), anchors[top]), image_size)
        scores = obj[top].float()
        ok = ((boxes[:, 2] - boxes[:, 0]) >= min_size) & ((boxes[:, 3] - boxes[:, 1]) >= min_size)
        boxes, scores = boxes[ok], scores[ok]
        keep = nms(boxes, scores, nms_thresh)[:post_nms_top_n]
        out.append(boxes[keep])
    return out


class FasterRCNN(nn.Module):
    """Faster R-CNN written in the course: backbone -> RPN proposals -> Fast R-CNN head.

    Trained by *approximate joint training*: the RPN loss and the head loss are summed and
    minimised together, with the proposals treated as constants (no gradient through the box
    coordinates) — what most implementations do instead of the paper's 4-step alternation.
    ``forward(images, targets)`` returns a dict of losses in training mode and a list of
    ``{boxes, scores, labels}`` in evaluation mode, like torchvision's detectors.
    """

    def __init__(self, num_classes: int, image_size: int = 128, anchor_scales=(16, 32, 64),
                 anchor_ratios=(0.5, 1.0, 2.0), pool_size: int = 4, sampling_seed: int = 0, pool: str = "max"):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        if number("image_size", image_size, low=8, integer=True) % 8:  # the backbone's stride
            raise ValueError(f"image_size must be a multiple of 8 (the backbone's stride), got {image_size}")
        self.sampling = torch.Generator().manual_seed(sampling_seed)  # anchor and RoI sampling, on the CPU
        self.backbone = SmallBackbone()
        stride = self.backbone.stride
        self.image_size = image_size
        self.register_buffer("anchors", grid_anchors((image_size // stride, image_size // stride), stride,
                                                     anchor_scales, anchor_ratios), persistent=False)
        self.rpn = RPNHead(self.backbone.out_channels, len(anchor_scales) * len(anchor_ratios))
        self.head = FastRCNNHead(self.backbone.out_channels, num_classes, pool_size, spatial_scale=1 / stride,
                                 pool=pool)
        self.post_nms_top_n = {"train": 300, "eval": 100}

    def proposals(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor, list[Tensor]]:
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            raise ValueError(f"images must be {self.image_size}x{self.image_size}, got {tuple(images.shape[-2:])}")
        features = self.backbone(images)
        objectness, deltas = self.rpn(features)
        top_n = self.post_nms_top_n["train" if self.training else "eval"]
        props = rpn_proposals(objectness.detach(), deltas.detach(), self.anchors, tuple(images.shape[-2:]),
                              post_nms_top_n=top_n)
        return features, objectness, deltas, props

    def forward(self, images, targets: list[dict] | None = None, generator: torch.Generator | None = None):
        images = torch.stack(list(images)) if isinstance(images, (list, tuple)) else images
        if not self.training and len(images) == 0:  # no image, no detections (as YOLOv1)
            return []
        features, objectness, deltas, props = self.proposals(images)
        if not self.training:
            logits, box_deltas = self.head(features, props)
            out, start = [], 0
            for p in props:
                n = len(p)
                out.append(postprocess_detections(logits[start:start + n], box_deltas[start:start + n],
                                                  p, tuple(images.shape[-2:])))
                start += n
            return out
        if targets is None:
            raise ValueError("targets are required in training mode")
        _check_batch(images, props, targets)
        for i, t in enumerate(targets):
            class_ids(f"targets[{i}]['labels']", t["labels"], 1, self.head.num_classes)
        generator = generator or self.sampling
        obj_losses, reg_losses, n_sampled = [], [], 0
        for i, t in enumerate(targets):
            gt = t["boxes"].as_subclass(Tensor).to(images.device)
            idx, obj_t, pos, box_t = rpn_targets(self.anchors, gt, generator=generator)
            obj_losses.append(F.binary_cross_entropy_with_logits(objectness[i, idx], obj_t, reduction="sum"))
            reg_losses.append(F.smooth_l1_loss(deltas[i, idx][pos], box_t[pos], beta=1 / 9, reduction="sum"))
            n_sampled += len(idx)
        rois, labels, box_targets = zip(*[
            sample_rois(p, t["boxes"].as_subclass(Tensor).to(images.device), t["labels"], generator=generator)
            for p, t in zip(props, targets, strict=True)], strict=True)
        logits, box_deltas = self.head(features, list(rois))
        cls_loss, box_loss = fast_rcnn_loss(logits, box_deltas, torch.cat(labels).to(images.device),
                                            torch.cat(box_targets).to(images.device))
        return {"loss_objectness": torch.stack(obj_losses).sum() / max(n_sampled, 1),
                "loss_rpn_box_reg": torch.stack(reg_losses).sum() / max(n_sampled, 1),
                "loss_classifier": cls_loss, "loss_box_reg": box_loss}


def torchvision_faster_rcnn(num_classes: int, image_size: int = 128):
    """torchvision's ``FasterRCNN`` on the course backbone, from scratch, sized for small images.

    ``num_classes`` counts the objects' classes; torchvision's count includes the background.
    """
    number("num_classes", num_classes, low=1, integer=True)
    from torchvision.models.detection import FasterRCNN as TVFasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    backbone = SmallBackbone()
    pool = 4
    return TVFasterRCNN(
        backbone, num_classes=None, min_size=image_size, max_size=image_size,
        image_mean=[0.0, 0.0, 0.0], image_std=[1.0, 1.0, 1.0],  # SmallBackbone normalises itself
        rpn_anchor_generator=AnchorGenerator(sizes=((16, 32, 64),), aspect_ratios=((0.5, 1.0, 2.0),)),
        box_roi_pool=MultiScaleRoIAlign(featmap_names=["0"], output_size=pool, sampling_ratio=2),
        box_head=TwoMLPHead(backbone.out_channels * pool * pool, 256),
        box_predictor=FastRCNNPredictor(256, num_classes + 1),
        rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300,
        rpn_pre_nms_top_n_test=600, rpn_post_nms_top_n_test=100,
        rpn_batch_size_per_image=128, box_batch_size_per_image=64, box_detections_per_img=100,
    )
