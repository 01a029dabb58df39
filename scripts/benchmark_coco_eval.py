"""Time lecture_utils.metrics.coco_evaluate against pycocotools' COCOeval on one large set.

Default: 5,000 images x 20 categories x 100 detections per image, as the course promises.
Both evaluators get the same inputs in the same process; the script prints both times,
their ratio, and checks that the 12 numbers agree to 1e-9.

    python scripts/benchmark_coco_eval.py [--images 5000] [--cats 20] [--dets 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from coco_cases import pycocotools_stats, random_coco_case  # noqa: E402

from lecture_utils.metrics import COCO_STATS, coco_evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--cats", type=int, default=20)
    parser.add_argument("--dets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    gt, dets = random_coco_case(args.seed, n_images=args.images, n_cats=args.cats, max_gt=12,
                                max_dets=args.dets, min_dets=args.dets, crowd_rate=0.05,
                                empty_image_rate=0.02)
    print(f"{len(gt['images'])} images, {args.cats} categories, {len(gt['annotations'])} ground-truth boxes, "
          f"{len(dets)} detections")

    t0 = time.perf_counter()
    ours = coco_evaluate(gt, dets)
    t_ours = time.perf_counter() - t0
    print(f"lecture_utils.coco_evaluate: {t_ours:.2f} s")

    t0 = time.perf_counter()
    ref = pycocotools_stats(gt, dets)
    t_ref = time.perf_counter() - t0
    print(f"pycocotools COCOeval:        {t_ref:.2f} s (evaluate + accumulate + summarize, incl. loadRes)")

    diff = max(abs(ours[k] - r) for k, r in zip(COCO_STATS, ref, strict=True))
    print("stats:", {k: round(v, 4) for k, v in ours.items()})
    print(f"max |difference| = {diff:.3g}")
    print(f"speed-up: pycocotools time / ours = {t_ref / t_ours:.1f}x")
    if not diff <= 1e-9 or not np.isfinite(diff):
        raise SystemExit("MISMATCH with pycocotools")


if __name__ == "__main__":
    main()
