"""YOLO v1 (Redmon et al., 2016) for the course's scenes: one network, one look, S x S x (5B + C).

The image is cut into an ``S x S`` grid. The cell that contains an object's *centre* is
responsible for it. Each cell predicts ``B`` boxes — centre offsets inside the cell ``(x, y)``,
square roots of the size relative to the image ``(sqrt w, sqrt h)``, and a confidence — and one
set of ``C`` class probabilities shared by its boxes. The paper's 448x448 input, S = 7, B = 2,
C = 20 gives 7 x 7 x 30; our 128x128 scenes with S = 8, B = 2, C = 3 give 8 x 8 x 13.

Activations are a choice of this course: sigmoids keep ``x, y, sqrt w, sqrt h`` and the
confidence in [0, 1] and a softmax makes the class scores probabilities; the loss is the paper's
sum of squared errors on those values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..boxes import batched_nms, box_iou, check_boxes
from ..checks import class_ids, decoding, number
from .backbones import SmallBackbone, conv_bn_relu

__all__ = ["YOLOv1", "OpenVocabYOLO", "yolo_targets", "yolo_loss", "yolo_boxes", "yolo_decode",
           "yolo_training_forward", "yolo_inference_forward"]


class YOLOv1(nn.Module):
    """Backbone (stride 8) -> one more stride-2 stage -> 1x1 conv to ``5B + C`` channels per cell.

    ``forward`` returns activated predictions ``[N, S, S, 5B + C]``: for each of the B boxes
    ``(x, y, sqrt w, sqrt h, confidence)``, then ``C`` class probabilities.
    """

    def __init__(self, num_classes: int = 3, grid: int = 8, boxes_per_cell: int = 2, image_size: int = 128):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        number("boxes_per_cell", boxes_per_cell, low=1, integer=True)
        number("grid", grid, low=1, integer=True)
        if image_size % grid or image_size // grid != 16:
            raise ValueError(f"this network has stride 16: image_size / grid must be 16, got {image_size} / {grid}")
        self.S, self.B, self.C, self.image_size = grid, boxes_per_cell, num_classes, image_size
        self.backbone = SmallBackbone()
        c = self.backbone.out_channels
        self.neck = nn.Sequential(conv_bn_relu(c, 2 * c, stride=2), conv_bn_relu(2 * c, 2 * c))
        self.head = nn.Conv2d(2 * c, 5 * boxes_per_cell + num_classes, 1)

    def forward(self, images: Tensor) -> Tensor:
        if not isinstance(images, Tensor) or images.ndim != 4 or tuple(images.shape[1:]) != (3, self.image_size,
                                                                                              self.image_size):
            # another size would silently give another grid than the targets were encoded for
            raise ValueError(f"images must be [N, 3, {self.image_size}, {self.image_size}], got "
                             f"{getattr(images, 'shape', type(images))}")
        raw = self.head(self.neck(self.backbone(images))).permute(0, 2, 3, 1)  # [N, S, S, 5B + C]
        boxes = torch.sigmoid(raw[..., : 5 * self.B])
        classes = torch.softmax(raw[..., 5 * self.B:], dim=-1)
        return torch.cat([boxes, classes], dim=-1)


def yolo_targets(boxes: Tensor, labels: Tensor, grid: int = 8, num_classes: int = 3,
                 image_size: int = 128) -> tuple[Tensor, int]:
    """Encode one image's objects as ``[S, S, 5 + C]``: ``(has object, x, y, sqrt w, sqrt h, one-hot)``.

    ``x, y`` are the centre's offsets inside its cell (0..1); ``sqrt w, sqrt h`` are square roots of
    the size relative to the image. A cell holds at most one object — v1's known limit: when
    several centres fall in one cell the largest object is kept. Returns ``(target, dropped)``.
    """
    check_boxes(boxes, "boxes")
    if boxes.ndim != 2:
        raise ValueError(f"boxes must be [N, 4] (one image), got {tuple(boxes.shape)}")
    grid = number("grid", grid, low=1, integer=True)
    num_classes = number("num_classes", num_classes, low=1, integer=True)
    image_size = number("image_size", image_size, low=0, low_open=True)
    if len(labels) != len(boxes):
        raise ValueError(f"labels has {len(labels)} entries for {len(boxes)} boxes")
    class_ids("labels", labels, 1, num_classes)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    if len(boxes) and ((centres < 0) | (centres >= image_size)).any():
        # a centre left of the image would land in cell -1, i.e. the last column
        raise ValueError(f"boxes has a centre outside the {image_size}-pixel image: no cell is responsible")
    target = torch.zeros(grid, grid, 5 + num_classes)
    cell = image_size / grid
    dropped = 0
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for k in torch.argsort(areas, descending=True).tolist():
        x1, y1, x2, y2 = boxes[k].tolist()
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        j, i = min(int(cx // cell), grid - 1), min(int(cy // cell), grid - 1)
        if target[i, j, 0] == 1:
            dropped += 1
            continue
        target[i, j, :5] = torch.tensor([1.0, cx / cell - j, cy / cell - i,
                                         ((x2 - x1) / image_size) ** 0.5, ((y2 - y1) / image_size) ** 0.5])
        target[i, j, 5 + int(labels[k]) - 1] = 1.0
    return target, dropped


def yolo_boxes(cell_boxes: Tensor, image_size: int = 128) -> Tensor:
    """``[..., S, S, 4]`` of ``(x, y, sqrt w, sqrt h)`` in cell/relative units -> xyxy pixels."""
    if cell_boxes.ndim < 3 or cell_boxes.shape[-1] != 4 or cell_boxes.shape[-2] != cell_boxes.shape[-3]:
        raise ValueError(f"cell_boxes must be [..., S, S, 4], got {tuple(cell_boxes.shape)}")
    S = cell_boxes.shape[-2]
    cell = image_size / S
    i = torch.arange(S, dtype=cell_boxes.dtype, device=cell_boxes.device).view(S, 1)
    j = torch.arange(S, dtype=cell_boxes.dtype, device=cell_boxes.device).view(1, S)
    cx = (j + cell_boxes[..., 0]) * cell
    cy = (i + cell_boxes[..., 1]) * cell
    w = cell_boxes[..., 2] ** 2 * image_size
    h = cell_boxes[..., 3] ** 2 * image_size
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


def yolo_loss(pred: Tensor, target: Tensor, boxes_per_cell: int = 2, lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5, image_size: int = 128) -> dict[str, Tensor]:
    """The YOLO v1 loss, summed over cells and averaged over the batch.

    In a cell with an object, the *responsible* predictor is the one of the B whose box has the
    highest IoU with the object; it gets the coordinate loss (weighted by ``lambda_coord``, on
    ``sqrt w, sqrt h`` so that an error in a small box costs more) and a confidence target equal
    to that IoU. All other predictors are pushed to confidence 0 with weight ``lambda_noobj``.
    Class probabilities are fitted in cells with an object.
    """
    if pred.ndim != 4 or pred.shape[:-1] != target.shape[:-1]:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must be [N, S, S, ...] "
                         "on one grid")
    B = number("boxes_per_cell", boxes_per_cell, low=1, integer=True)
    if pred.shape[-1] != 5 * B + target.shape[-1] - 5:
        raise ValueError(f"pred has {pred.shape[-1]} channels per cell, but {B} boxes and the target's "
                         f"{target.shape[-1] - 5} classes need 5B + C = {5 * B + target.shape[-1] - 5}")
    if pred.shape[0] == 0:  # the batch mean of nothing is NaN
        raise ValueError("pred is an empty batch")
    if not torch.isfinite(pred).all():
        raise ValueError("pred contains NaN or infinite values (the training diverged)")
    n = pred.shape[0]
    obj = target[..., 0] > 0  # [N, S, S]
    pb = pred[..., : 5 * B].reshape(*pred.shape[:-1], B, 5)  # [N, S, S, B, 5]
    tb = target[..., 1:5]
    with torch.no_grad():
        p_xyxy = yolo_boxes(pb[..., :4].movedim(-2, 0), image_size).movedim(0, -2)  # [N, S, S, B, 4]
        t_xyxy = yolo_boxes(tb, image_size)  # [N, S, S, 4]
        flat_p, flat_t = p_xyxy.reshape(-1, B, 4), t_xyxy.reshape(-1, 4)
        ious = torch.stack([box_iou(flat_p[:, b], flat_t).diagonal() for b in range(B)], -1)
        ious = ious.nan_to_num(0.0).reshape(*obj.shape, B)
        responsible = torch.zeros_like(ious, dtype=torch.bool)
        responsible.scatter_(-1, ious.argmax(-1, keepdim=True), True)
        responsible &= obj[..., None]
    resp = responsible
    coord = ((pb[..., 0:2] - tb[..., None, 0:2]) ** 2).sum(-1)
    size = ((pb[..., 2:4] - tb[..., None, 2:4]) ** 2).sum(-1)
    conf = pb[..., 4]
    loss_xy = lambda_coord * coord[resp].sum() / n
    loss_wh = lambda_coord * size[resp].sum() / n
    loss_obj = ((conf - ious)[resp] ** 2).sum() / n
    loss_noobj = lambda_noobj * (conf[~resp] ** 2).sum() / n
    loss_cls = ((pred[..., 5 * B:] - target[..., 5:]) ** 2).sum(-1)[obj].sum() / n
    return {"loss_xy": loss_xy, "loss_wh": loss_wh, "loss_obj": loss_obj,
            "loss_noobj": loss_noobj, "loss_cls": loss_cls}


@torch.no_grad()
def yolo_decode(pred: Tensor, boxes_per_cell: int = 2, image_size: int = 128, score_thresh: float = 0.05,
                nms_thresh: float = 0.5, max_dets: int = 100) -> list[dict]:
    """Detections: class-specific score = confidence x P(class | object), then per-class NMS."""
    B = number("boxes_per_cell", boxes_per_cell, low=1, integer=True)
    if pred.ndim != 4 or pred.shape[1] != pred.shape[2] or pred.shape[-1] <= 5 * B:
        raise ValueError(f"pred must be [N, S, S, 5B + C] with B = {B} and C >= 1, got {tuple(pred.shape)}")
    decoding(score_thresh, nms_thresh, max_dets)
    out = []
    for p in pred:
        S = p.shape[0]
        pb = p[..., : 5 * B].reshape(S, S, B, 5)
        boxes = yolo_boxes(pb[..., :4].movedim(-2, 0), image_size).movedim(0, -2).reshape(-1, 4)
        boxes = boxes.clamp(0, image_size)
        probs = p[..., 5 * B:]  # [S, S, C]
        scores = (pb[..., 4:5] * probs[:, :, None, :]).reshape(-1, probs.shape[-1])  # [S*S*B, C]
        C = scores.shape[1]
        boxes = boxes[:, None, :].expand(-1, C, -1).reshape(-1, 4)
        labels = torch.arange(1, C + 1, device=p.device).repeat(S * S * B)
        scores = scores.reshape(-1)
        keep = (scores > score_thresh) & ((boxes[:, 2:] - boxes[:, :2]) > 1).all(1)
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        keep = batched_nms(boxes, scores, labels, nms_thresh)[:max_dets]
        out.append({"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]})
    return out


class OpenVocabYOLO(nn.Module):
    """YOLO with an open vocabulary, in the spirit of YOLO-World (Cheng et al., 2024).

    The class head is replaced by a *region embedding* per cell in the text encoder's space.
    The class scores for a vocabulary of prompts are the softmax over prompts of the scaled
    cosine similarity between the region embedding and each prompt's text embedding. The
    prompts are encoded once ("prompt-then-detect"); their embeddings act as the weights of
    the classifier, so the vocabulary can change at inference time without retraining.
    ``forward(images, text_embeddings [V, D])`` returns ``[N, S, S, 5B + V]`` like ``YOLOv1``.
    """

    def __init__(self, text_dim: int = 384, grid: int = 8, boxes_per_cell: int = 2, image_size: int = 128):
        super().__init__()
        number("text_dim", text_dim, low=1, integer=True)
        number("boxes_per_cell", boxes_per_cell, low=1, integer=True)
        number("grid", grid, low=1, integer=True)
        if image_size // grid != 16 or image_size % grid:
            raise ValueError(f"this network has stride 16: image_size / grid must be 16, got {image_size} / {grid}")
        self.S, self.B, self.image_size = grid, boxes_per_cell, image_size
        self.backbone = SmallBackbone()
        c = self.backbone.out_channels
        self.neck = nn.Sequential(conv_bn_relu(c, 2 * c, stride=2), conv_bn_relu(2 * c, 2 * c))
        self.box_head = nn.Conv2d(2 * c, 5 * boxes_per_cell, 1)
        self.embed = nn.Conv2d(2 * c, text_dim, 1)
        self.logit_scale = nn.Parameter(torch.tensor(2.3))  # exp(2.3) ~ 10, learned

    def region_embeddings(self, images: Tensor) -> tuple[Tensor, Tensor]:
        h = self.neck(self.backbone(images))
        boxes = torch.sigmoid(self.box_head(h)).permute(0, 2, 3, 1)
        emb = torch.nn.functional.normalize(self.embed(h), dim=1).permute(0, 2, 3, 1)
        return boxes, emb

    def forward(self, images: Tensor, text_embeddings: Tensor) -> Tensor:
        if text_embeddings.ndim != 2 or text_embeddings.shape[1] != self.embed.out_channels:
            raise ValueError(f"text_embeddings must be [V, {self.embed.out_channels}], got {tuple(text_embeddings.shape)}")
        boxes, emb = self.region_embeddings(images)
        text = torch.nn.functional.normalize(text_embeddings.to(emb), dim=1)
        logits = self.logit_scale.exp() * emb @ text.T  # [N, S, S, V]
        return torch.cat([boxes, torch.softmax(logits, dim=-1)], dim=-1)

    def init_from_yolo(self, yolo: YOLOv1) -> None:
        """Start from a trained closed-set YOLO: same backbone, neck and box outputs."""
        self.backbone.load_state_dict(yolo.backbone.state_dict())
        self.neck.load_state_dict(yolo.neck.state_dict())
        with torch.no_grad():
            self.box_head.weight.copy_(yolo.head.weight[: 5 * self.B])
            self.box_head.bias.copy_(yolo.head.bias[: 5 * self.B])


def yolo_training_forward(model: YOLOv1, images: Tensor, targets: list[dict]) -> dict[str, Tensor]:
    """The YOLO losses for a batch of scenes: a ``forward`` for ``lecture_utils.train.train_detector``."""
    if len(targets) != len(images):
        raise ValueError(f"targets has {len(targets)} entries for {len(images)} images")
    encoded = torch.stack([yolo_targets(t["boxes"].cpu(), t["labels"].cpu(), model.S, model.C,
                                        model.image_size)[0] for t in targets])
    return yolo_loss(model(images), encoded.to(images.device), model.B, image_size=model.image_size)


def yolo_inference_forward(model: YOLOv1, images: Tensor, start: int = 0) -> list[dict]:
    """Decoded detections: a ``forward`` for ``lecture_utils.train.predict`` and ``evaluate_detector``."""
    return yolo_decode(model(images), model.B, model.image_size)
