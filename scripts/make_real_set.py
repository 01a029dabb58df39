"""Write data/real/annotations.json: a tiny COCO-format set on photos that scikit-image ships.

The photos themselves are not copied: scikit-image installs them with the package, and
``lecture_utils.real.load_real_set`` reads them from there. Boxes of the cat, the astronaut
and the coffee photos were drawn by hand by the course authors (xywh, pixels). Masks and
boxes of the coins are computed here by the watershed recipe of scikit-image's gallery
("Comparing edge-based and region-based segmentation") and were checked by eye.

    python scripts/make_real_set.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage import data, filters, measure, segmentation

from lecture_utils.data import mask_to_rle

OUT = Path(__file__).resolve().parent.parent / "data" / "real" / "annotations.json"

CATEGORIES = ["cat", "eye", "nose", "person", "face", "helmet", "spacecraft", "flag",
              "patch", "cup", "saucer", "spoon", "coin"]

# hand-drawn boxes [x, y, w, h]
HAND_BOXES = {
    "chelsea": [("cat", [0, 0, 400, 300]), ("eye", [135, 85, 70, 65]), ("eye", [295, 110, 52, 57]),
                ("nose", [228, 228, 65, 50])],
    "astronaut": [("person", [25, 15, 345, 497]), ("face", [165, 60, 85, 110]),
                  ("helmet", [265, 330, 235, 182]), ("spacecraft", [335, 0, 100, 262]),
                  ("flag", [0, 0, 92, 510]), ("patch", [122, 332, 72, 76])],
    "coffee": [("cup", [175, 25, 250, 275]), ("saucer", [80, 60, 400, 330]),
               ("spoon", [320, 65, 105, 265])],
}


def coin_masks() -> list[np.ndarray]:
    image = data.coins()
    elevation = filters.sobel(image)
    markers = np.zeros_like(image, dtype=np.int32)
    markers[image < 30] = 1
    markers[image > 150] = 2
    regions = segmentation.watershed(elevation, markers) == 2
    regions = ndi.binary_fill_holes(regions)
    labelled, _ = ndi.label(regions)
    # coins are larger than 150 px; smaller blobs are highlights and noise
    return [labelled == r.label for r in measure.regionprops(labelled) if r.area >= 150]


def main() -> None:
    cat_id = {name: i + 1 for i, name in enumerate(CATEGORIES)}
    images, annotations = [], []
    for image_id, name in enumerate(["chelsea", "astronaut", "coffee", "coins"], start=1):
        h, w = getattr(data, name)().shape[:2]
        images.append({"id": image_id, "file_name": f"skimage.data.{name}", "width": w, "height": h})
        if name == "coins":
            for m in coin_masks():
                ys, xs = np.nonzero(m)
                x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
                annotations.append({"image_id": image_id, "category_id": cat_id["coin"],
                                    "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float(m.sum()),
                                    "iscrowd": 0, "segmentation": mask_to_rle(m)})
        else:
            for cat, box in HAND_BOXES[name]:
                annotations.append({"image_id": image_id, "category_id": cat_id[cat], "bbox": box,
                                    "area": float(box[2] * box[3]), "iscrowd": 0})
    for i, ann in enumerate(annotations, start=1):
        ann["id"] = i
    coco = {
        "info": {"description": "Lecture 05 tiny real set on scikit-image sample photos",
                 "url": "https://scikit-image.org/docs/stable/api/skimage.data.html"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": i, "name": n, "supercategory": "object"} for n, i in cat_id.items()],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(coco, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} with {len(images)} images and {len(annotations)} annotations")


if __name__ == "__main__":
    main()
