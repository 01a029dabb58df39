"""Segmentation metrics: mask IoU, the confusion matrix and what it gives (pixel accuracy,
per-class IoU, mIoU), the boundary F-score, and paired bootstrap intervals of a difference between
two models on the same scenes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import number, tensor

__all__ = ["mask_iou", "paired_mask_iou", "confusion_matrix", "pixel_accuracy", "per_class_iou", "mean_iou", "boundary_f_score",
           "boundary_f_scores", "scene_scores", "paired_bootstrap_gap", "paired_draw_bootstrap"]


def _check_masks(name: str, masks: Tensor, ndim: int | None = 3) -> Tensor:
    tensor(name, masks, ndim=ndim)
    if masks.dtype != torch.bool:
        if masks.is_floating_point() or masks.is_complex():
            # a probability map is not a mask: 0.01 would count as foreground
            raise TypeError(f"{name} must be boolean masks (threshold probabilities first), got {masks.dtype}")
        if masks.numel() and not ((masks == 0) | (masks == 1)).all():
            raise ValueError(f"{name} must hold 0/1 values (or be boolean)")
    return masks


def mask_iou(masks1: Tensor, masks2: Tensor) -> Tensor:
    """Pairwise IoU ``[N, M]`` of boolean masks ``[N, H, W]`` and ``[M, H, W]``, on the CPU.

    Two empty masks give 0, as in pycocotools (``maskUtils.iou``) and scikit-learn's
    ``jaccard_score`` (zero_division=0): an empty pair has no overlap to reward. ``N = 0`` or
    ``M = 0`` gives an empty ``[N, M]`` matrix.
    """
    _check_masks("masks1", masks1)
    _check_masks("masks2", masks2)
    if masks1.shape[1:] != masks2.shape[1:]:
        raise ValueError(f"masks1 {tuple(masks1.shape[1:])} and masks2 {tuple(masks2.shape[1:])} differ in size")
    a = masks1.flatten(1).cpu().bool().double()  # flatten, not reshape(N, -1): N may be 0
    b = masks2.flatten(1).cpu().bool().double()
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1), torch.zeros_like(inter))


def paired_mask_iou(pred: Tensor, target: Tensor) -> Tensor:
    """IoU of each mask with its partner: boolean ``[..., H, W]`` pairs -> ``[...]`` (0 if both empty,
    the convention of :func:`mask_iou`). Notebook 07 calls it ``jaccard``."""
    _check_masks("pred", pred, ndim=None)
    _check_masks("target", target, ndim=None)
    if pred.shape != target.shape or pred.ndim < 2:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must be masks of one shape "
                         "[..., H, W]")
    inter = (pred.bool() & target.bool()).flatten(-2).sum(-1).float()
    union = (pred.bool() | target.bool()).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(union))


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int, ignore_index: int | None = None) -> Tensor:
    """``C[i, j]`` = number of pixels of true class i predicted as class j (int64 ``[K, K]``)."""
    number("num_classes", num_classes, low=1, integer=True)
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    for name, t in (("pred", pred), ("target", target)):
        if t.is_floating_point() or t.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class ids (take argmax of the logits first), got {t.dtype}")
    if ignore_index is not None:
        number("ignore_index", ignore_index, integer=True)
    pred, target = pred.reshape(-1).long(), target.reshape(-1).long()
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, t in (("pred", pred), ("target", target)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{name} has class ids outside [0, {num_classes})")
    return torch.bincount(target * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _check_conf(conf: Tensor) -> Tensor:
    conf = tensor("conf", conf, ndim=2)
    if conf.shape[0] != conf.shape[1] or conf.shape[0] == 0:
        raise ValueError(f"conf must be a square [K, K] confusion matrix, got {tuple(conf.shape)}")
    if conf.is_floating_point() and not torch.isfinite(conf).all():
        raise ValueError("conf contains NaN or infinite counts")
    if (conf < 0).any():
        raise ValueError("conf has negative counts")
    return conf.cpu()


def pixel_accuracy(conf: Tensor) -> float:
    """Fraction of correctly labelled pixels, from a confusion matrix (NaN if it counts no pixel)."""
    conf = _check_conf(conf)
    total = conf.sum()
    return float(conf.diag().sum() / total) if total > 0 else float("nan")


def per_class_iou(conf: Tensor) -> Tensor:
    """IoU of each class = TP / (TP + FP + FN); NaN for a class absent from both maps (on the CPU)."""
    conf = _check_conf(conf)
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


def boundary_f_scores(pred: Tensor, target: Tensor, num_classes: int, tolerance: int = 2,
                      ignore_background: bool = True) -> list[np.ndarray]:
    """The boundary F of every (image, class) pair that :func:`boundary_f_score` averages, one array
    per image (an image whose classes all have empty boundaries gives an empty array)."""
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if pred.is_floating_point() or target.is_floating_point():
        raise TypeError("pred and target must hold integer class ids")
    if pred.ndim not in (2, 3):
        raise ValueError(f"pred and target must be [H, W] or [N, H, W], got {tuple(pred.shape)}")
    number("num_classes", num_classes, low=1, integer=True)
    number("tolerance", tolerance, low=0, integer=True)
    for name, t in (("pred", pred), ("target", target)):  # an id >= K would be silently skipped
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_classes):
            raise ValueError(f"{name} has class ids outside [0, {num_classes})")
    if pred.ndim == 2:
        pred, target = pred[None], target[None]
    per_image = []
    for p_map, t_map in zip(pred, target, strict=True):
        scores = []
        for c in range(1 if ignore_background else 0, num_classes):
            pb, tb = _boundary(p_map == c), _boundary(t_map == c)
            if not pb.any() and not tb.any():
                continue
            precision = (pb & _dilate(tb, tolerance)).sum() / pb.sum() if pb.any() else torch.tensor(0.0)
            recall = (tb & _dilate(pb, tolerance)).sum() / tb.sum() if tb.any() else torch.tensor(0.0)
            f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else torch.tensor(0.0)
            scores.append(float(f))
        per_image.append(np.asarray(scores, dtype=np.float64))
    return per_image


def boundary_f_score(pred: Tensor, target: Tensor, num_classes: int, tolerance: int = 2,
                     ignore_background: bool = True) -> float:
    """Boundary F-score of a semantic map: how well predicted *edges* follow the true ones.

    For each class, boundary pixels of the predicted and the true region are compared: precision
    is the share of predicted boundary pixels within ``tolerance`` pixels (a square window) of a
    true boundary pixel, recall the reverse, F their harmonic mean (Csurka et al., 2013). The
    score is the mean over classes present in the target or the prediction; a class whose two
    boundaries are both empty is skipped. ``pred`` and ``target`` are ``[H, W]`` or ``[N, H, W]``.
    """
    scores = np.concatenate(boundary_f_scores(pred, target, num_classes, tolerance, ignore_background))
    return float(scores.mean()) if scores.size else float("nan")


def scene_scores(pred: Tensor, target: Tensor, num_classes: int, tolerance: int = 2) -> dict:
    """What every whole-set metric is built from, per scene: ``confusion`` ``[N, K, K]`` (float64) and the
    sum and count of the scene's boundary F values (``boundary_F_sum``, ``boundary_F_count``, ``[N]``; at
    ``tolerance`` pixels). Summed over any subset of scenes they give that subset's mIoU and boundary F exactly."""
    pred, target = torch.as_tensor(pred), torch.as_tensor(target)
    if target.ndim != 3 or tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must both be [N, H, W]")
    conf = torch.stack([confusion_matrix(p, t, num_classes) for p, t in zip(pred, target, strict=True)]).double()
    f = boundary_f_scores(pred, target, num_classes, tolerance)
    return {"confusion": conf.numpy(), "boundary_F_sum": np.array([x.sum() for x in f]),
            "boundary_F_count": np.array([x.size for x in f], dtype=np.float64)}


def _miou_np(conf: np.ndarray) -> np.ndarray:
    """[..., K, K] -> [...]: the mean IoU over classes present in either map (as :func:`mean_iou`)."""
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    union = conf.sum(-1) + conf.sum(-2) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return np.nanmean(iou, axis=-1)


def paired_bootstrap_gap(scores_a: dict, scores_b: dict, *, n_boot: int = 2000, level: float = 0.95,
                         seed: int = 0) -> dict:
    """mIoU and boundary F of model A minus model B on the same scenes, with a paired bootstrap interval.

    ``scores_a``, ``scores_b``: :func:`scene_scores` of the two models on the same N scenes
    (``evaluate_segmenter`` returns them as ``"scene_scores"``). Scenes are resampled with replacement
    (the same draw for both models, so what the scenes share cancels); each draw recomputes both metrics
    exactly as the whole-set numbers are computed (mIoU from the summed confusion matrix, boundary F as
    the mean over the drawn scenes' (scene, class) pairs). Returns ``{"mIoU": (gap, low, high),
    "boundary_F": (gap, low, high)}``: the gap on all scenes and the central ``level`` interval of the draws.
    """
    keys = ("confusion", "boundary_F_sum", "boundary_F_count")
    for name, sc in (("scores_a", scores_a), ("scores_b", scores_b)):
        if not isinstance(sc, dict) or any(k not in sc for k in keys):
            raise TypeError(f"{name} must be the dict of scene_scores(pred, target, num_classes)")
    n = len(scores_a["confusion"])
    if n < 2 or len(scores_b["confusion"]) != n or scores_a["confusion"].shape != scores_b["confusion"].shape:
        raise ValueError(f"scores_a and scores_b must cover the same N >= 2 scenes, got {n} and {len(scores_b['confusion'])}")
    number("n_boot", n_boot, low=100, integer=True)
    number("level", level, low=0.5, high=0.999)
    number("seed", seed, low=0, integer=True)
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))

    def metrics(sc, idx=None):
        conf, fs, fc = (sc[k] if idx is None else sc[k][idx] for k in keys)
        axis = 0 if idx is None else 1
        return _miou_np(conf.sum(axis)), fs.sum(axis) / np.maximum(fc.sum(axis), 1)

    whole_a, whole_b = metrics(scores_a), metrics(scores_b)
    boot_a, boot_b = metrics(scores_a, draws), metrics(scores_b, draws)
    tail = 100 * (1 - level) / 2
    out = {}
    for i, metric in enumerate(("mIoU", "boundary_F")):
        low, high = np.percentile(boot_a[i] - boot_b[i], [tail, 100 - tail])
        out[metric] = (float(whole_a[i] - whole_b[i]), float(low), float(high))
    return out


def paired_draw_bootstrap(conf_a, conf_b, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple:
    """mIoU of method A minus method B when both were trained on the same D random labelled sets
    ("draws") and scored on the same S test scenes, with a two-level paired bootstrap interval.

    ``conf_a``, ``conf_b``: per-draw, per-scene confusion matrices ``[D, S, K, K]``. The gap is the mean
    over draws of (mIoU_A(draw) - mIoU_B(draw)), each mIoU from the draw's confusion summed over the scenes.
    Each bootstrap replicate resamples the draws *and* the scenes with replacement, the same replicate for
    both methods: the interval covers both sources of luck, which labelled scenes one got and which test
    scenes one scored on. Returns ``(gap, low, high)``: the gap on all draws and scenes and the central
    ``level`` interval of the replicates.
    """
    a, b = (np.asarray(c.numpy() if isinstance(c, Tensor) else c, dtype=np.float64) for c in (conf_a, conf_b))
    for name, c in (("conf_a", a), ("conf_b", b)):
        if c.ndim != 4 or c.shape[-1] != c.shape[-2] or not np.isfinite(c).all() or (c < 0).any():
            raise ValueError(f"{name} must be non-negative confusion matrices [D, S, K, K], got shape {c.shape}")
    if a.shape != b.shape or a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"conf_a and conf_b must cover the same D >= 2 draws and S >= 2 scenes, "
                         f"got {a.shape} and {b.shape}")
    number("n_boot", n_boot, low=100, integer=True)
    number("level", level, low=0.5, high=0.999)
    number("seed", seed, low=0, integer=True)
    d, s = a.shape[:2]
    rng = np.random.default_rng(seed)
    # a replicate's scene resample is a weight per scene (how often it was drawn); a draw resample, indices
    scene_weights = np.stack([np.bincount(rng.integers(0, s, s), minlength=s) for _ in range(n_boot)]).astype(np.float64)
    draw_idx = rng.integers(0, d, size=(n_boot, d))
    gaps = _miou_np(np.einsum("rs,dskl->rdkl", scene_weights, a)) - _miou_np(np.einsum("rs,dskl->rdkl", scene_weights, b))
    boot = np.take_along_axis(gaps, draw_idx, axis=1).mean(1)
    gap = float((_miou_np(a.sum(1)) - _miou_np(b.sum(1))).mean())
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(boot, [tail, 100 - tail])
    return gap, float(low), float(high)
