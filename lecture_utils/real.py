"""A tiny real annotated set: photos that scikit-image ships, with COCO annotations in data/real/.

See ``data/README.md`` for provenance and licences, and ``scripts/make_real_set.py`` for how
the annotations were made.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torchvision import tv_tensors

from .data import rle_to_mask
from .runtime import DATA_DIR

__all__ = ["REAL_ANNOTATIONS", "load_real_coco", "load_real_image", "load_real_set"]

REAL_ANNOTATIONS = DATA_DIR / "real" / "annotations.json"


def load_real_coco(path: Path | str = REAL_ANNOTATIONS) -> dict:
    """The COCO ground-truth dict of the real set."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path {path} is missing: run `python scripts/make_real_set.py`")
    return json.loads(path.read_text())


def load_real_image(file_name: str) -> np.ndarray:
    """Read a photo named ``skimage.data.<name>`` as an ``[H, W, 3]`` uint8 array."""
    prefix = "skimage.data."
    if not file_name.startswith(prefix):
        raise ValueError(f"file_name must look like 'skimage.data.<name>', got {file_name!r}")
    from skimage import color, data

    name = file_name[len(prefix):]
    if not hasattr(data, name):
        raise ValueError(f"file_name: scikit-image has no sample image {name!r}")
    image = getattr(data, name)()
    return color.gray2rgb(image) if image.ndim == 2 else image[..., :3]


def load_real_set(path: Path | str = REAL_ANNOTATIONS) -> list[dict]:
    """Each photo as a dict like a synthetic scene: ``image`` (float ``[3, H, W]``), ``boxes``
    (xyxy ``BoundingBoxes``), ``labels``, ``names`` (category names), ``masks`` (``[N, H, W]``,
    empty where an annotation has no mask: ``has_mask`` tells), ``image_id``, ``file_name``."""
    coco = load_real_coco(path)
    cat_names = {c["id"]: c["name"] for c in coco["categories"]}
    samples = []
    for im in coco["images"]:
        array = load_real_image(im["file_name"])
        h, w = array.shape[:2]
        anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
        xywh = torch.tensor([a["bbox"] for a in anns], dtype=torch.float32).reshape(-1, 4)
        boxes = torch.cat([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], dim=1)
        masks = torch.zeros((len(anns), h, w), dtype=torch.bool)
        has_mask = torch.zeros(len(anns), dtype=torch.bool)
        for i, a in enumerate(anns):
            if "segmentation" in a and isinstance(a["segmentation"], dict):
                masks[i] = torch.from_numpy(rle_to_mask(a["segmentation"]))
                has_mask[i] = True
        samples.append({
            "image": tv_tensors.Image(torch.from_numpy(array).permute(2, 0, 1).float() / 255),
            "boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=(h, w)),
            "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64),
            "names": [cat_names[a["category_id"]] for a in anns],
            "masks": tv_tensors.Mask(masks),
            "has_mask": has_mask,
            "image_id": im["id"],
            "file_name": im["file_name"],
        })
    return samples
