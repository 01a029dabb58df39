"""Random COCO-format data sets that stress every rule of COCOeval (shared by tests and benchmark)."""

from __future__ import annotations

import numpy as np


def random_coco_case(seed: int, n_images: int = 20, n_cats: int = 4, max_gt: int = 6,
                     max_dets: int = 30, min_dets: int = 0, crowd_rate: float = 0.1, tie_rate: float = 0.3,
                     image_size: float = 400.0, empty_image_rate: float = 0.15):
    """Ground truth and detections with ties, duplicates, crowds, all area ranges, empty images,
    categories without ground truth, and detections beyond maxDets."""
    rng = np.random.default_rng(seed)
    images = [{"id": int(i * 3 + 1), "width": int(image_size), "height": int(image_size)}
              for i in range(n_images)]
    cats = [{"id": int(c * 2 + 1), "name": f"c{c}"} for c in range(n_cats)]
    cat_ids = [c["id"] for c in cats]
    gt_cat_ids = cat_ids[:-1] if n_cats > 1 else cat_ids  # last category has no ground truth
    anns, dets = [], []
    ann_id = 1
    for im in images:
        n_gt = 0 if rng.random() < empty_image_rate else int(rng.integers(1, max_gt + 1))
        boxes = []
        for _ in range(n_gt):
            scale = rng.choice([12.0, 50.0, 150.0])  # small / medium / large
            w, h = rng.uniform(0.5, 1.5, 2) * scale
            x, y = rng.uniform(0, image_size - w), rng.uniform(0, image_size - h)
            if rng.random() < 0.2:  # integer boxes create exact IoU ties
                x, y, w, h = np.round([x, y, w, h])
            c = int(rng.choice(gt_cat_ids))
            crowd = int(rng.random() < crowd_rate)
            anns.append({"id": ann_id, "image_id": im["id"], "category_id": c,
                         "bbox": [float(x), float(y), float(w), float(h)],
                         "area": float(w * h * rng.uniform(0.6, 1.0)), "iscrowd": crowd})
            boxes.append((x, y, w, h, c))
            ann_id += 1
        n_det = int(rng.integers(min_dets, max_dets + 1))
        for _ in range(n_det):
            if boxes and rng.random() < 0.7:
                x, y, w, h, c = boxes[int(rng.integers(len(boxes)))]
                jitter = rng.normal(0, 0.15, 4) * np.array([w, h, w, h])
                x, y = x + jitter[0], y + jitter[1]
                w, h = max(w + jitter[2], 1.0), max(h + jitter[3], 1.0)
                if rng.random() < 0.1:
                    c = int(rng.choice(cat_ids))  # wrong class
            else:
                w, h = rng.uniform(5, 200, 2)
                x, y = rng.uniform(0, image_size - 5, 2)
                c = int(rng.choice(cat_ids))
            score = float(np.round(rng.random(), 1)) if rng.random() < tie_rate else float(rng.random())
            dets.append({"image_id": im["id"], "category_id": c,
                         "bbox": [float(x), float(y), float(w), float(h)], "score": score})
    return {"images": images, "annotations": anns, "categories": cats}, dets


def pycocotools_stats(coco_gt: dict, detections: list) -> np.ndarray:
    """The 12 summary numbers from pycocotools itself, as an array in COCO_STATS order."""
    from lecture_utils.metrics import pycocotools_evaluate

    return np.array(list(pycocotools_evaluate(coco_gt, detections).values()))
