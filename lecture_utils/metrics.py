"""Detection and segmentation metrics: matching, precision/recall, AP, mAP, COCO, mIoU.

Two layers:

* the *didactic* layer (``match_detections``, ``precision_recall_curve``,
  ``average_precision``, ``mean_average_precision``) works on tensors of one data set and
  shows each step of the lecture's definition;
* :func:`coco_evaluate` is a vectorised re-implementation of pycocotools' ``COCOeval``
  for boxes. It takes the same COCO-format inputs and returns the same 12 numbers
  (equal to 1e-9, checked in the tests) without needing pycocotools, and faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .boxes import box_iou, check_boxes

__all__ = [
    "match_detections",
    "object_recall",
    "precision_recall_curve",
    "average_precision",
    "AP_METHODS",
    "mean_average_precision",
    "COCO_STATS",
    "coco_evaluate",
    "pycocotools_evaluate",
    "detections_to_coco",
    "mask_iou",
    "confusion_matrix",
    "pixel_accuracy",
    "per_class_iou",
    "mean_iou",
    "boundary_f_score",
]

AP_METHODS = ("voc07", "voc10", "coco")
COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


# --------------------------------------------------------------------------------------
# Didactic layer
# --------------------------------------------------------------------------------------

def _as_1d(t, n: int, name: str, dtype=None) -> Tensor:
    t = torch.as_tensor(t, dtype=dtype)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with {n} entries (one per box), got shape {tuple(t.shape)}")
    return t


def match_detections(pred_boxes: Tensor, pred_scores: Tensor, pred_labels: Tensor,
                     gt_boxes: Tensor, gt_labels: Tensor, iou_threshold: float = 0.5):
    """Mark each prediction of one image as a true or a false positive.

    Predictions are visited by decreasing score (ties keep their input order). Each one is
    matched to the unmatched ground-truth box *of its own class* with the highest IoU,
    provided IoU >= ``iou_threshold`` (COCO's rule; VOC uses ">", which differs only on
    exact equality). Consequently

    * a second prediction on an already matched object is a false positive (a duplicate);
    * a confident prediction with the wrong class is a false positive for its class, and
      the object stays a false negative (a miss) for its true class.

    Returns ``(is_tp [N] bool, matched_gt [N] int64)``, ``matched_gt = -1`` where unmatched, on
    the CPU: the greedy loop is sequential bookkeeping, so inputs on a GPU are moved first.
    """
    check_boxes(pred_boxes, "pred_boxes")
    check_boxes(gt_boxes, "gt_boxes")
    pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels = (
        torch.as_tensor(t).cpu() for t in (pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels))
    n, g = pred_boxes.shape[0], gt_boxes.shape[0]
    pred_scores = _as_1d(pred_scores, n, "pred_scores")
    pred_labels = _as_1d(pred_labels, n, "pred_labels")
    gt_labels = _as_1d(gt_labels, g, "gt_labels")
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    is_tp = torch.zeros(n, dtype=torch.bool)
    matched = torch.full((n,), -1, dtype=torch.int64)
    if n == 0 or g == 0:
        return is_tp, matched
    iou = box_iou(pred_boxes.double(), gt_boxes.double())
    iou = torch.where(pred_labels[:, None] == gt_labels[None, :], iou, torch.full_like(iou, -1.0))
    taken = torch.zeros(g, dtype=torch.bool)
    for i in torch.argsort(pred_scores, descending=True, stable=True).tolist():
        candidates = torch.where(taken, torch.full_like(iou[i], -1.0), iou[i])
        j = int(torch.argmax(candidates))
        if candidates[j] >= iou_threshold:
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
    flags = []
    for pred, target in zip(predictions, targets, strict=True):
        gt = check_boxes(torch.as_tensor(target["boxes"]).as_subclass(Tensor).reshape(-1, 4).cpu(),
                         "targets[i]['boxes']")
        boxes = pred["boxes"] if isinstance(pred, Mapping) else pred
        boxes = torch.as_tensor(boxes).as_subclass(Tensor).reshape(-1, 4).cpu()
        if score_threshold is not None:
            if not isinstance(pred, Mapping):
                raise ValueError("score_threshold needs predictions with 'scores'")
            boxes = boxes[torch.as_tensor(pred["scores"]).cpu() > score_threshold]
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
    is_tp = torch.as_tensor(is_tp, dtype=torch.bool)
    if is_tp.ndim != 1:
        raise ValueError(f"is_tp must be 1-D, got shape {tuple(is_tp.shape)}")
    scores = _as_1d(scores, is_tp.shape[0], "scores")
    if not isinstance(num_gt, (int, np.integer)) or num_gt < 0:
        raise ValueError(f"num_gt must be a non-negative int, got {num_gt!r}")
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
    if torch.isnan(p).any() or torch.isnan(r).any():
        raise ValueError("precision or recall contains NaN")
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
                           num_classes: int | None = None) -> dict:
    """mAP over a data set: per class, pool all images' detections, rank, then AP.

    ``predictions[i]`` has ``boxes [N, 4]``, ``scores [N]``, ``labels [N]``; ``targets[i]``
    has ``boxes`` and ``labels``. Classes are 1..num_classes (default: the largest label
    seen). A class with no ground truth is left out of the mean (its AP is NaN).
    Returns ``{"mAP": float, "AP_per_class": {label: AP}}``.
    """
    if len(predictions) != len(targets):
        raise ValueError(f"predictions ({len(predictions)}) and targets ({len(targets)}) differ in length")
    per_class: dict[int, list] = {}
    num_gt: dict[int, int] = {}
    for pred, tgt in zip(predictions, targets, strict=True):
        is_tp, _ = match_detections(pred["boxes"], pred["scores"], pred["labels"],
                                    tgt["boxes"], tgt["labels"], iou_threshold)
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


# --------------------------------------------------------------------------------------
# COCO evaluation, vectorised (bit-for-bit the same rules as pycocotools' COCOeval, bbox)
# --------------------------------------------------------------------------------------

_IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
_REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
_MAX_DETS = (1, 10, 100)
_AREA_RNG = ((0, 1e5 ** 2), (0, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 1e5 ** 2))
_AREA_LBL = ("all", "small", "medium", "large")


def _bbox_iou_xywh(d: np.ndarray, g: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes ``d [..., D, 4]`` and ``g [..., G, 4]`` as pycocotools computes it.

    For a crowd ground truth the union is the detection's own area. The operations are
    those of pycocotools' C code, in the same order, so results agree to the last bit.
    """
    dx, dy, dw, dh = (d[..., :, None, i] for i in range(4))
    gx, gy, gw, gh = (g[..., None, :, i] for i in range(4))
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    da, ga = dw * dh, gw * gh
    union = np.where(crowd[..., None, :], da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w > 0) & (h > 0), iou, 0.0)


def _check_coco_inputs(coco_gt, detections):
    if not isinstance(coco_gt, Mapping):
        raise TypeError(f"coco_gt must be a COCO-format dict, got {type(coco_gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in coco_gt:
            raise ValueError(f"coco_gt is missing the key {key!r}")
    if not isinstance(detections, Sequence) or isinstance(detections, (str, bytes)):
        raise TypeError(f"detections must be a list of dicts, got {type(detections).__name__}")


def _gt_arrays(coco_gt, img_index, cat_index):
    anns = [a for a in coco_gt["annotations"]
            if a["image_id"] in img_index and a["category_id"] in cat_index]
    n = len(anns)
    bbox = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
    if n and not np.isfinite(bbox).all():
        raise ValueError("coco_gt: an annotation bbox has NaN or infinite values")
    return {
        "img": np.array([img_index[a["image_id"]] for a in anns], dtype=np.int64),
        "cat": np.array([cat_index[a["category_id"]] for a in anns], dtype=np.int64),
        "bbox": bbox,
        "area": np.array([a["area"] for a in anns], dtype=np.float64),
        "crowd": np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool),
        "id": np.array([a["id"] for a in anns], dtype=np.int64),
    }


def _dt_arrays(detections, img_index, cat_index):
    n = len(detections)
    try:
        img_ids = [d["image_id"] for d in detections]
        cat_ids = [d["category_id"] for d in detections]
        bbox = np.array([d["bbox"] for d in detections], dtype=np.float64).reshape(n, 4)
        score = np.array([d["score"] for d in detections], dtype=np.float64)
    except KeyError as err:
        raise ValueError(f"detections: every detection needs image_id, category_id, bbox, score; missing {err}") from None
    except ValueError as err:
        raise ValueError(f"detections: bbox must be 4 numbers [x, y, w, h] and score a number ({err})") from None
    unknown = set(img_ids) - set(img_index)
    if unknown:
        raise ValueError(f"detections refer to image_id(s) not in coco_gt: {sorted(unknown)[:5]}")
    if n and (not np.isfinite(bbox).all() or not np.isfinite(score).all()):
        raise ValueError("detections: bbox or score contains NaN or infinite values")
    keep = np.array([c in cat_index for c in cat_ids], dtype=bool)  # unknown categories are not evaluated
    return {
        "img": np.array([img_index[i] for i in img_ids], dtype=np.int64)[keep],
        "cat": np.array([cat_index.get(c, -1) for c in cat_ids], dtype=np.int64)[keep],
        "bbox": bbox[keep],
        "area": (bbox[:, 2] * bbox[:, 3])[keep],
        "score": score[keep],
    }


def _match_groups(gt, dt, n_groups, group_gt, group_dt):
    """Greedy COCO matching for every (image, category) group at once.

    Returns, per detection (in ``dt`` order) and per (area range, IoU threshold),
    whether it matched (``dtm``) and whether it is ignored (``dtig``).
    """
    A, T = len(_AREA_RNG), len(_IOU_THRS)
    lo = np.array([a[0] for a in _AREA_RNG])[:, None]
    hi = np.array([a[1] for a in _AREA_RNG])[:, None]
    gt_ign = gt["crowd"][None, :] | (gt["area"][None, :] < lo) | (gt["area"][None, :] > hi)  # [A, NG]
    dt_out = (dt["area"][None, :] < lo) | (dt["area"][None, :] > hi)  # [A, ND]
    thr = np.minimum(_IOU_THRS, 1 - 1e-10)

    n_dt = len(dt["score"])
    dtm = np.zeros((A, T, n_dt), dtype=bool)
    dtig = np.zeros((A, T, n_dt), dtype=bool)

    # position of each box inside its group (dts are already sorted by score within a group)
    g_pos = np.arange(len(group_gt)) - np.searchsorted(group_gt, group_gt, side="left")
    d_pos = np.arange(len(group_dt)) - np.searchsorted(group_dt, group_dt, side="left")
    g_count = np.bincount(group_gt, minlength=n_groups)
    d_count = np.bincount(group_dt, minlength=n_groups)
    # only groups with both detections and ground truth need matching
    groups = np.flatnonzero((g_count > 0) & (d_count > 0))
    if len(groups) == 0:
        return dtm, dtig | dt_out[:, None, :]
    # bucket groups by their sizes so that padding stays small
    groups = groups[np.lexsort((g_count[groups], d_count[groups]))]
    chunk = 2048
    for c0 in range(0, len(groups), chunk):
        gs = groups[c0:c0 + chunk]
        n = len(gs)
        G, D = int(g_count[gs].max()), int(d_count[gs].max())
        row_of = np.full(n_groups, -1, dtype=np.int64)
        row_of[gs] = np.arange(n)
        # gather ground truth and detections of these groups into padded arrays
        g_sel = np.flatnonzero(row_of[group_gt] >= 0)
        d_sel = np.flatnonzero(row_of[group_dt] >= 0)
        gr, gc = row_of[group_gt[g_sel]], g_pos[g_sel]
        dr, dc = row_of[group_dt[d_sel]], d_pos[d_sel]
        gbox = np.zeros((n, G, 4))
        gbox[gr, gc] = gt["bbox"][g_sel]
        gcrowd = np.zeros((n, G), dtype=bool)
        gcrowd[gr, gc] = gt["crowd"][g_sel]
        gvalid = np.zeros((n, G), dtype=bool)
        gvalid[gr, gc] = True
        gign = np.ones((A, n, G), dtype=bool)
        gign[:, gr, gc] = gt_ign[:, g_sel]
        gid_nonzero = np.zeros((n, G), dtype=bool)
        gid_nonzero[gr, gc] = gt["id"][g_sel] != 0
        dbox = np.zeros((n, D, 4))
        dbox[dr, dc] = dt["bbox"][d_sel]
        dvalid = np.zeros((n, D), dtype=bool)
        dvalid[dr, dc] = True
        ious = _bbox_iou_xywh(dbox, gbox, gcrowd)  # [n, D, G]
        ious = np.where(gvalid[:, None, :], ious, -1.0)

        gign_t = np.transpose(gign, (1, 0, 2))[:, :, None, :]  # [n, A, 1, G]
        taken = np.zeros((n, A, T, G), dtype=bool)
        blocks = ~gcrowd[:, None, None, :]  # a matched crowd region can match again
        m_dtm = np.zeros((n, A, T, D), dtype=bool)
        m_dtig = np.zeros((n, A, T, D), dtype=bool)
        rev = np.arange(G - 1, -1, -1)
        for r in range(D):
            active = np.flatnonzero(dvalid[:, r])
            if len(active) == 0:
                continue
            iou_r = ious[active, r][:, None, None, :]  # [a, 1, 1, G]
            elig = (iou_r >= thr[None, None, :, None]) & ~(taken[active] & blocks[active])
            ign = gign_t[active]
            best = None
            for pool in (~ign, ign):  # prefer regular ground truth over ignored ones
                val = np.where(elig & pool, iou_r, -1.0)[..., rev]
                idx = G - 1 - np.argmax(val, axis=-1)  # ties go to the later box, as in COCOeval
                ok = np.take_along_axis(val, (G - 1 - idx)[..., None], -1)[..., 0] > -1
                best = np.where(ok, idx, -1) if best is None else np.where(best >= 0, best, np.where(ok, idx, -1))
            hit = best >= 0
            safe = np.maximum(best, 0)
            a_idx, A_idx, T_idx = np.nonzero(hit)
            sub_taken = taken[active]
            sub_taken[a_idx, A_idx, T_idx, safe[a_idx, A_idx, T_idx]] = True
            taken[active] = sub_taken
            gid_ok = np.take_along_axis(np.broadcast_to(gid_nonzero[active][:, None, None, :], elig.shape),
                                        safe[..., None], -1)[..., 0]
            ign_of = np.take_along_axis(np.broadcast_to(ign, elig.shape), safe[..., None], -1)[..., 0]
            m_dtm[active, :, :, r] = hit & gid_ok
            m_dtig[active, :, :, r] = hit & ign_of
        dtm[:, :, d_sel] = np.transpose(m_dtm[dr, :, :, dc], (1, 2, 0))
        dtig[:, :, d_sel] = np.transpose(m_dtig[dr, :, :, dc], (1, 2, 0))
    # unmatched detections outside the area range do not count
    dtig |= ~dtm & dt_out[:, None, :]
    return dtm, dtig


def _coco_arrays(coco_gt: Mapping, detections: Sequence[Mapping]):
    """Precision ``[T, R, K, A, M]`` and recall ``[T, K, A, M]`` exactly as COCOeval.accumulate."""
    _check_coco_inputs(coco_gt, detections)
    img_ids = sorted({im["id"] for im in coco_gt["images"]})
    cat_ids = sorted({c["id"] for c in coco_gt["categories"]})
    img_index = {i: k for k, i in enumerate(img_ids)}
    cat_index = {c: k for k, c in enumerate(cat_ids)}
    gt = _gt_arrays(coco_gt, img_index, cat_index)
    dt = _dt_arrays(detections, img_index, cat_index)
    n_cats, n_imgs = len(cat_ids), len(img_ids)

    # group = (image, category); inside a group: gt in input order, dt by score (stable)
    group_gt_raw = gt["img"] * n_cats + gt["cat"]
    order = np.argsort(group_gt_raw, kind="mergesort")
    gt = {k: v[order] for k, v in gt.items()}
    group_gt = group_gt_raw[order]
    group_dt_raw = dt["img"] * n_cats + dt["cat"]
    order = np.lexsort((-dt["score"], group_dt_raw))  # lexsort is stable
    dt = {k: v[order] for k, v in dt.items()}
    group_dt = group_dt_raw[order]
    rank = np.arange(len(group_dt)) - np.searchsorted(group_dt, group_dt, side="left")
    keep = rank < _MAX_DETS[-1]
    dt = {k: v[keep] for k, v in dt.items()}
    group_dt, rank = group_dt[keep], rank[keep]

    dtm, dtig = _match_groups(gt, dt, n_imgs * n_cats, group_gt, group_dt)

    T, R, A, M = len(_IOU_THRS), len(_REC_THRS), len(_AREA_RNG), len(_MAX_DETS)
    precision = -np.ones((T, R, n_cats, A, M))
    recall = -np.ones((T, n_cats, A, M))
    lo = np.array([a[0] for a in _AREA_RNG])
    hi = np.array([a[1] for a in _AREA_RNG])
    for k in range(n_cats):
        in_k = np.flatnonzero(dt["cat"] == k)  # already in (image, score-rank) order
        gt_k = gt["cat"] == k
        scores_k = dt["score"][in_k]
        by_score = np.argsort(-scores_k, kind="mergesort")
        for a in range(A):
            ignored = gt["crowd"][gt_k] | (gt["area"][gt_k] < lo[a]) | (gt["area"][gt_k] > hi[a])
            npig = int(np.count_nonzero(~ignored))
            if npig == 0:
                continue
            for m, max_det in enumerate(_MAX_DETS):
                sel = by_score[rank[in_k][by_score] < max_det]
                d_idx = in_k[sel]
                tps = dtm[a][:, d_idx] & ~dtig[a][:, d_idx]
                fps = ~dtm[a][:, d_idx] & ~dtig[a][:, d_idx]
                tp_sum = np.cumsum(tps, axis=1).astype(np.float64)
                fp_sum = np.cumsum(fps, axis=1).astype(np.float64)
                nd = tp_sum.shape[1]
                rc = tp_sum / npig
                pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
                recall[:, k, a, m] = rc[:, -1] if nd else 0
                if nd == 0:
                    precision[:, :, k, a, m] = 0
                    continue
                pr = np.flip(np.maximum.accumulate(np.flip(pr, 1), axis=1), 1)
                for t in range(T):
                    inds = np.searchsorted(rc[t], _REC_THRS, side="left")
                    # COCOeval leaves 0 at recall levels the curve never reaches
                    precision[t, :, k, a, m] = np.where(inds < nd, pr[t, np.minimum(inds, nd - 1)], 0)
    return precision, recall


def _summarize(precision, recall, ap: bool, iou_thr=None, area="all", max_dets=100) -> float:
    a = _AREA_LBL.index(area)
    m = _MAX_DETS.index(max_dets)
    if ap:
        s = precision
        if iou_thr is not None:
            s = s[np.where(iou_thr == _IOU_THRS)[0]]
        s = s[:, :, :, a, m]
    else:
        s = recall
        if iou_thr is not None:
            s = s[np.where(iou_thr == _IOU_THRS)[0]]
        s = s[:, :, a, m]
    valid = s[s > -1]
    return -1.0 if len(valid) == 0 else float(np.mean(valid))


def coco_evaluate(coco_gt: Mapping, detections: Sequence[Mapping]) -> dict[str, float]:
    """COCO box evaluation: the 12 numbers of pycocotools' ``COCOeval.summarize()``.

    ``coco_gt``: a COCO dict with ``images``, ``annotations`` (``image_id``,
    ``category_id``, ``bbox [x, y, w, h]``, ``area``, ``iscrowd``, ``id``) and
    ``categories``. ``detections``: a list of ``{image_id, category_id, bbox, score}``.
    Returns ``{"AP": ..., "AP50": ..., ..., "ARl": ...}``; as in pycocotools, a number
    that is undefined (e.g. no ground truth in that size range) is -1. An empty
    ``detections`` list is valid (AP = 0 where ground truth exists).
    """
    precision, recall = _coco_arrays(coco_gt, detections)
    s = {}
    s["AP"] = _summarize(precision, recall, True)
    s["AP50"] = _summarize(precision, recall, True, iou_thr=0.5)
    s["AP75"] = _summarize(precision, recall, True, iou_thr=0.75)
    s["APs"] = _summarize(precision, recall, True, area="small")
    s["APm"] = _summarize(precision, recall, True, area="medium")
    s["APl"] = _summarize(precision, recall, True, area="large")
    s["AR1"] = _summarize(precision, recall, False, max_dets=1)
    s["AR10"] = _summarize(precision, recall, False, max_dets=10)
    s["AR100"] = _summarize(precision, recall, False, max_dets=100)
    s["ARs"] = _summarize(precision, recall, False, area="small")
    s["ARm"] = _summarize(precision, recall, False, area="medium")
    s["ARl"] = _summarize(precision, recall, False, area="large")
    return s


def pycocotools_evaluate(coco_gt: Mapping, detections: Sequence[Mapping]) -> dict[str, float]:
    """The reference: the same 12 numbers computed by pycocotools itself (a dev dependency).

    Used to check :func:`coco_evaluate`; pycocotools' printing is silenced.
    """
    import contextlib
    import copy
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dict(coco_gt))
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(list(detections))) if detections else COCO()
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict(zip(COCO_STATS, (float(v) for v in ev.stats), strict=True))


def detections_to_coco(predictions: Sequence[Mapping], image_ids: Sequence[int]) -> list[dict]:
    """Per-image tensor predictions (``boxes`` xyxy, ``scores``, ``labels``) -> COCO detection list."""
    if len(predictions) != len(image_ids):
        raise ValueError(f"predictions ({len(predictions)}) and image_ids ({len(image_ids)}) differ in length")
    out = []
    for pred, image_id in zip(predictions, image_ids, strict=True):
        boxes = check_boxes(torch.as_tensor(pred["boxes"]).as_subclass(torch.Tensor).reshape(-1, 4),
                            "predictions[i]['boxes']")
        n = boxes.shape[0]
        scores = _as_1d(torch.as_tensor(pred["scores"]).as_subclass(torch.Tensor), n, "predictions[i]['scores']")
        labels = _as_1d(torch.as_tensor(pred["labels"]).as_subclass(torch.Tensor), n, "predictions[i]['labels']")
        for (x1, y1, x2, y2), score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist(), strict=True):
            out.append({"image_id": int(image_id), "category_id": int(label), "score": float(score),
                        "bbox": [x1, y1, x2 - x1, y2 - y1]})
    return out


# --------------------------------------------------------------------------------------
# Segmentation
# --------------------------------------------------------------------------------------

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
