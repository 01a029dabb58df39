"""COCO box evaluation: a vectorised re-implementation of pycocotools' ``COCOeval`` (bbox).

:func:`coco_evaluate` takes the same COCO-format inputs as pycocotools and returns the same 12
numbers (equal to 1e-9, checked in the tests), without needing pycocotools and faster on the
course's thousand-image benchmark. Unlike pycocotools, it refuses malformed input instead of
dropping it: see :func:`coco_evaluate` for where the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from ..boxes import check_boxes
from ..checks import number
from .detection import _REC_THRS, _as_1d

__all__ = ["COCO_STATS", "coco_evaluate", "pycocotools_evaluate", "pycocotools_matches", "detections_to_coco"]

COCO_STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")

_IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
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
    anns = coco_gt["annotations"]
    for k, a in enumerate(anns):
        missing = [key for key in ("id", "image_id", "category_id", "bbox", "area") if key not in a]
        if missing:
            raise ValueError(f"coco_gt['annotations'][{k}] is missing {missing}")
        # pycocotools drops these without a word, which silently shrinks the ground truth
        if a["image_id"] not in img_index:
            raise ValueError(f"coco_gt['annotations'][{k}] has image_id {a['image_id']!r}, not in coco_gt['images']")
        if a["category_id"] not in cat_index:
            raise ValueError(f"coco_gt['annotations'][{k}] has category_id {a['category_id']!r}, "
                             "not in coco_gt['categories']")
    ids = [a["id"] for a in anns]
    if len(set(ids)) != len(ids):
        # pycocotools indexes annotations by id, so a duplicate silently replaces another one
        raise ValueError("coco_gt['annotations'] has duplicate ids")
    n = len(anns)
    try:
        bbox = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(n, 4)
        area = np.array([a["area"] for a in anns], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"coco_gt: every annotation needs bbox [x, y, w, h] and a numeric area ({err})") from None
    if n and not (np.isfinite(bbox).all() and np.isfinite(area).all()):
        raise ValueError("coco_gt: an annotation bbox or area has NaN or infinite values")
    if n and (bbox[:, 2:] < 0).any():
        raise ValueError("coco_gt: an annotation bbox has a negative width or height")
    if n and (area < 0).any():  # pycocotools would leave it outside every area range
        raise ValueError("coco_gt: an annotation has a negative area")
    crowd = [a.get("iscrowd", 0) for a in anns]
    if any(c not in (0, 1) or isinstance(c, float) for c in crowd):
        raise ValueError(f"coco_gt: iscrowd must be 0 or 1, got {sorted({repr(c) for c in crowd})}")
    return {
        "img": np.array([img_index[a["image_id"]] for a in anns], dtype=np.int64),
        "cat": np.array([cat_index[a["category_id"]] for a in anns], dtype=np.int64),
        "bbox": bbox,
        "area": area,
        "crowd": np.array([bool(c) for c in crowd], dtype=bool),
        "id": np.array(ids, dtype=np.int64),
    }


def _dt_arrays(detections, img_index, cat_index):
    n = len(detections)
    try:
        img_ids = [d["image_id"] for d in detections]
        cat_ids = [d["category_id"] for d in detections]
        bbox = np.array([d["bbox"] for d in detections], dtype=np.float64).reshape(n, 4)
        if any(isinstance(d["score"], (str, bytes, bool)) for d in detections):  # numpy would parse "0.9"
            raise TypeError("detections: every score must be a number")
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
    if n and (bbox[:, 2:] < 0).any():
        # pycocotools would give it a negative area, below every area range, and ignore it
        raise ValueError(f"detections[{int(np.flatnonzero((bbox[:, 2:] < 0).any(1))[0])}]: bbox has a "
                         "negative width or height")
    unknown = sorted({c for c in cat_ids if c not in cat_index}, key=repr)
    if unknown:  # pycocotools ignores them: a label off by one would silently leave a class unscored
        raise ValueError(f"detections have category_id(s) {unknown[:5]} that coco_gt['categories'] does not declare")
    return {
        "img": np.array([img_index[i] for i in img_ids], dtype=np.int64),
        "cat": np.array([cat_index[c] for c in cat_ids], dtype=np.int64),
        "bbox": bbox,
        "area": bbox[:, 2] * bbox[:, 3],
        "score": score,
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

    Where pycocotools quietly accepts bad input, this raises a ``ValueError``: an annotation
    without ``id``, ``bbox`` or ``area`` (pycocotools: ``KeyError``), duplicate annotation ids (it
    looks annotations up by id: one is counted twice, the other never), an annotation whose image or category is not declared (it drops it), a
    detection of negative width or height (it is ignored there, which raises AP), NaN anywhere.
    A detection of a category the ground truth does not declare is refused as well (pycocotools
    leaves it out of the evaluation), and so are an annotation with a negative area or an
    ``iscrowd`` other than 0/1, and a score that is not a number.
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


def pycocotools_matches(coco_gt: Mapping, detections: Sequence[Mapping], iou_threshold: float = 0.5) -> dict:
    """The reference for matching: pycocotools' own verdict on every detection (a dev dependency).

    Returns ``{detection index: matched ground-truth annotation id, or 0 for a false positive}`` at
    ``iou_threshold`` (one of COCO's ten thresholds), read from ``COCOeval.evalImgs[...]["dtMatches"]``
    for the "all" area range. Detections beyond the 100 best of an (image, class) are not judged by
    COCO and are left out.
    """
    import contextlib
    import copy
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    number("iou_threshold", iou_threshold, low=0.5, high=0.95)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(dict(coco_gt))
        gt.createIndex()
        dets = copy.deepcopy(list(detections))
        for k, d in enumerate(dets):
            d["id"] = k + 1  # loadRes numbers them so too; set here so the answer can refer to them
        if not dets:
            return {}
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
    t = int(np.argmin(np.abs(ev.params.iouThrs - iou_threshold)))
    if abs(ev.params.iouThrs[t] - iou_threshold) > 1e-9:
        raise ValueError(f"iou_threshold must be one of COCO's thresholds 0.5, 0.55, ..., 0.95, got {iou_threshold}")
    out = {}
    for e in ev.evalImgs:
        if e is None or e["aRng"] != ev.params.areaRng[0]:
            continue
        for det_id, gt_id in zip(e["dtIds"], e["dtMatches"][t], strict=True):
            out[det_id - 1] = int(gt_id)
    return out


def detections_to_coco(predictions: Sequence[Mapping], image_ids: Sequence[int]) -> list[dict]:
    """Per-image tensor predictions (``boxes`` xyxy, ``scores``, ``labels``) -> COCO detection list."""
    if len(predictions) != len(image_ids):
        raise ValueError(f"predictions ({len(predictions)}) and image_ids ({len(image_ids)}) differ in length")
    out = []
    for image_id in image_ids:
        if isinstance(image_id, bool) or not isinstance(image_id, (int, np.integer)):
            raise TypeError(f"image_ids must be ints, got {image_id!r}")
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
