"""Synthetic scenes: shapes on textured backgrounds with boxes, labels and masks.

The class of an object is its *shape*; its colour is drawn independently of the class,
so no per-pixel colour rule can classify or segment a scene. Objects are painted in order
and later ones occlude earlier ones; every target is computed from the *visible* mask, so
a box is always the tight box of what can be seen.

A scene is deterministic per ``(seed, index)``. Boxes are ``xyxy`` in pixel-edge
coordinates: a mask whose visible columns are 3..7 has ``x1 = 3`` and ``x2 = 8``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchvision import tv_tensors

from .checks import number

__all__ = [
    "TRAIN_SEED",
    "TEST_SEED",
    "VAL_SEED",
    "CLASSES",
    "COLOUR_NAMES",
    "SceneConfig",
    "make_scene", "place_objects",
    "SyntheticScenes",
    "detection_collate",
    "to_coco",
    "mask_to_rle",
    "rle_to_mask",
    "masks_to_tight_boxes",
    "stack_images",
]

#: the scene seeds of the detection and segmentation notebooks (02-05) and their training scripts:
#: checkpoints are trained on TRAIN_SEED scenes only, notebooks test on TEST_SEED scenes, and every
#: choice a training script makes (learning rate, steps, which checkpoint) is made on VAL_SEED scenes
TRAIN_SEED, TEST_SEED, VAL_SEED = 100, 999, 998

#: Class names; label ``k`` (1-based) is ``CLASSES[k - 1]``; 0 is the background.
CLASSES: tuple[str, ...] = ("circle", "rectangle", "triangle")

#: Named colours for scenes described in words (``SceneConfig(named_colours=True)``):
#: an object's colour is one of these (slightly jittered), still drawn independently of its shape.
COLOUR_NAMES: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.08, 0.08), "green": (0.1, 0.65, 0.15), "blue": (0.12, 0.25, 0.9),
    "yellow": (0.95, 0.85, 0.1), "purple": (0.55, 0.12, 0.7), "orange": (1.0, 0.5, 0.05),
}


@dataclass(frozen=True)
class SceneConfig:
    """How scenes are drawn. Sizes are fractions of the image side."""

    image_size: int = 128
    min_objects: int = 1
    max_objects: int = 4
    size_range: tuple[float, float] = (0.14, 0.38)  # object diameter / image side
    min_visible_fraction: float = 0.45  # drop an object if occlusion hides more than this
    min_visible_pixels: int = 30
    noise_std: float = 0.04
    texture_strength: float = 0.25
    min_contrast: float = 0.35  # RGB distance between an object's colour and the background
    classes: tuple[str, ...] = field(default=CLASSES)
    named_colours: bool = False  # colours from COLOUR_NAMES on a greyish background; adds "colours"
    # "random": each image its own background colour and stripes (a per-image signature);
    # "shared": every background is grey texture from the same distribution, so only the objects
    # tell two images apart (notebook 07: self-distillation must not match crops by background)
    background: str = "random"

    def __post_init__(self):
        if not isinstance(self.image_size, int) or self.image_size < 16:
            raise ValueError(f"image_size must be an int >= 16, got {self.image_size!r}")
        if not (isinstance(self.min_objects, int) and isinstance(self.max_objects, int)):
            raise TypeError("min_objects and max_objects must be ints")
        if self.min_objects < 0 or self.max_objects < max(self.min_objects, 1):
            raise ValueError(
                f"need 0 <= min_objects <= max_objects and max_objects >= 1, "
                f"got min_objects={self.min_objects}, max_objects={self.max_objects}"
            )
        if len(self.size_range) != 2:
            raise ValueError(f"size_range must be (low, high), got {self.size_range!r}")
        lo = number("size_range[0]", self.size_range[0], low=0, low_open=True, high=1)
        number("size_range[1]", self.size_range[1], low=lo, high=1)
        number("min_visible_fraction", self.min_visible_fraction, low=0, high=1)
        number("min_visible_pixels", self.min_visible_pixels, low=0, integer=True)
        number("noise_std", self.noise_std, low=0)  # checks.number: NaN fails here, not in `< 0`
        number("texture_strength", self.texture_strength, low=0)
        number("min_contrast", self.min_contrast, low=0)
        if self.background not in ("random", "shared"):
            raise ValueError(f"background must be 'random' or 'shared', got {self.background!r}")
        unknown = set(self.classes) - set(_PAINTERS)
        if not self.classes or unknown:
            raise ValueError(f"classes must be a non-empty subset of {tuple(_PAINTERS)}, got {self.classes}")


# --- shape rasterisers: each returns a boolean mask over the pixel-centre grid ---------

def _circle(xx, yy, cx, cy, r, rng):
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _rectangle(xx, yy, cx, cy, r, rng):
    # a rectangle with aspect ratio in [0.45, 1] and a random rotation
    aspect = rng.uniform(0.45, 1.0)
    half_w, half_h = r * 0.9, r * 0.9 * aspect
    theta = rng.uniform(0, math.pi)
    c, s = math.cos(theta), math.sin(theta)
    u = (xx - cx) * c + (yy - cy) * s
    v = -(xx - cx) * s + (yy - cy) * c
    return (np.abs(u) <= half_w) & (np.abs(v) <= half_h)


def _triangle(xx, yy, cx, cy, r, rng):
    theta = rng.uniform(0, 2 * math.pi)
    angles = theta + np.array([0, 2 * math.pi / 3, 4 * math.pi / 3]) + rng.uniform(-0.25, 0.25, 3)
    px, py = cx + r * np.cos(angles), cy + r * np.sin(angles)
    inside = np.ones_like(xx, dtype=bool)
    # the sign of the cross product tells on which side of each edge a pixel lies
    orient = np.sign((px[1] - px[0]) * (py[2] - py[0]) - (py[1] - py[0]) * (px[2] - px[0]))
    for i in range(3):
        j = (i + 1) % 3
        cross = (px[j] - px[i]) * (yy - py[i]) - (py[j] - py[i]) * (xx - px[i])
        inside &= cross * orient >= 0
    return inside


_PAINTERS = {"circle": _circle, "rectangle": _rectangle, "triangle": _triangle}


def _smooth_field(rng, size: int, cells: int, channels: int) -> np.ndarray:
    """Low-frequency noise: a coarse random grid upsampled bilinearly to ``size``."""
    coarse = torch.from_numpy(rng.standard_normal((1, channels, cells, cells)).astype(np.float32))
    fine = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return fine[0].numpy()


def _random_colour(rng) -> np.ndarray:
    return rng.uniform(0.05, 0.95, 3).astype(np.float32)


def _background(rng, cfg: SceneConfig) -> tuple[np.ndarray, np.ndarray]:
    n = cfg.image_size
    if cfg.background == "shared":
        # grey with fine texture: no colour or orientation that singles out this image
        base = np.full(3, 0.5, dtype=np.float32) + rng.normal(0, 0.02, 3).astype(np.float32)
        texture = _smooth_field(rng, n, max(n // 4, 2), 1) + 0.5 * _smooth_field(rng, n, max(n // 8, 2), 1)
        return (base[:, None, None] + cfg.texture_strength * 0.5 * texture).astype(np.float32), base
    base = _random_colour(rng)
    if cfg.named_colours:  # desaturate, so that an object's colour name is unambiguous
        base = (0.35 * base + 0.65 * base.mean()).astype(np.float32)
    img = base[:, None, None] + cfg.texture_strength * 0.5 * _smooth_field(rng, n, 6, 3)
    # stripes of random orientation and frequency make the texture non-trivial
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    theta, freq = rng.uniform(0, math.pi), rng.uniform(0.08, 0.4)
    stripes = np.sin(freq * (xx * math.cos(theta) + yy * math.sin(theta)))
    img = img + cfg.texture_strength * 0.4 * rng.uniform(0, 1) * stripes[None]
    return img.astype(np.float32), base


def make_scene(seed: int, index: int, config: SceneConfig | None = None) -> dict:
    """Draw scene number ``index`` of the family ``seed``.

    Returns a dict with ``image`` (``tv_tensors.Image``, float32 ``[3, H, W]`` in [0, 1]),
    ``boxes`` (``tv_tensors.BoundingBoxes``, ``XYXY``, ``[N, 4]`` float32), ``labels``
    (int64 ``[N]``, 1-based into :data:`CLASSES`), ``masks`` (``tv_tensors.Mask`` bool
    ``[N, H, W]``, the visible part of each object), ``semantic`` (``tv_tensors.Mask`` int64
    ``[H, W]``, 0 = background) and ``image_id`` (``index``). With ``named_colours`` it also
    holds ``colours`` (int64 ``[N]``, indices into :data:`COLOUR_NAMES`).
    """
    for name, v in (("seed", seed), ("index", index)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    if config is not None and not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    cfg = config or SceneConfig()
    n = cfg.image_size
    rng = np.random.default_rng([int(seed), int(index)])
    img, bg_colour = _background(rng, cfg)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5  # pixel centres

    owner = np.full((n, n), -1, dtype=np.int64)  # which object each pixel shows
    drawn_labels: list[int] = []
    drawn_colours: list[int] = []
    full_areas: list[int] = []
    palette = np.array(list(COLOUR_NAMES.values()), dtype=np.float32)
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    attempts = 0
    # 8 tries per object; more only while min_objects is not reached (so every scene that reaches
    # it on time is drawn from the same random numbers as before this rule existed)
    while len(drawn_labels) < target and (attempts < 8 * max(target, 1) or (
            len(drawn_labels) < cfg.min_objects and attempts < 200 * target)):
        attempts += 1
        k = int(rng.integers(len(cfg.classes)))
        diameter = rng.uniform(*cfg.size_range) * n
        r = diameter / 2
        cx, cy = (float(v) for v in rng.uniform(r * 0.6, n - r * 0.6, 2))
        shape = _PAINTERS[cfg.classes[k]](xx, yy, cx, cy, r, rng)
        area = int(shape.sum())
        if area < cfg.min_visible_pixels:
            continue
        def draw_colour():
            if cfg.named_colours:
                c = int(rng.integers(len(palette)))
                return c, np.clip(palette[c] + rng.normal(0, 0.03, 3), 0, 1).astype(np.float32)
            return -1, _random_colour(rng)

        colour_id, colour = draw_colour()
        for _ in range(10):  # keep the object visible against the background
            if np.linalg.norm(colour - bg_colour) >= cfg.min_contrast:
                break
            colour_id, colour = draw_colour()
        # would painting it hide too much of an earlier object? then try another one
        new_owner = np.where(shape, len(drawn_labels), owner)
        visible = np.bincount(new_owner[new_owner >= 0].ravel(), minlength=len(drawn_labels) + 1)
        if any(
            visible[i] < max(cfg.min_visible_fraction * full_areas[i], cfg.min_visible_pixels)
            for i in range(len(drawn_labels))
        ):
            continue
        owner = new_owner
        img = _paint(img, shape, colour, xx, yy, cx, cy, rng)
        drawn_labels.append(k + 1)
        drawn_colours.append(colour_id)
        full_areas.append(area)

    if len(drawn_labels) < cfg.min_objects:
        raise ValueError(f"config: could not place min_objects={cfg.min_objects} objects in scene ({seed}, "
                         f"{index}) without hiding one behind another; lower min_objects or size_range")
    return _scene_dict(img, owner, drawn_labels, drawn_colours, cfg, index, rng)


def _paint(img, shape, colour, xx, yy, cx, cy, rng):
    """The object's colour with a gentle random shading gradient, where ``shape`` is set."""
    shade = 1.0 + 0.15 * ((xx - cx) * rng.uniform(-1, 1) + (yy - cy) * rng.uniform(-1, 1)) / xx.shape[0]
    return np.where(shape[None], colour[:, None, None] * shade[None], img)


def _scene_dict(img, owner, drawn_labels, drawn_colours, cfg, index, rng) -> dict:
    n = cfg.image_size
    img = img + cfg.noise_std * rng.standard_normal(img.shape, dtype=np.float32)
    image = torch.from_numpy(np.clip(img, 0.0, 1.0).astype(np.float32))

    count = len(drawn_labels)
    masks = torch.from_numpy(owner[None] == np.arange(count)[:, None, None])
    labels = torch.tensor(drawn_labels, dtype=torch.int64)
    semantic = torch.zeros((n, n), dtype=torch.int64)
    if count:
        semantic = torch.from_numpy(np.where(owner >= 0, np.take(np.array(drawn_labels), owner), 0))
    scene = {
        "image": tv_tensors.Image(image),
        "boxes": tv_tensors.BoundingBoxes(
            masks_to_tight_boxes(masks), format="XYXY", canvas_size=(n, n)
        ),
        "labels": labels,
        "masks": tv_tensors.Mask(masks),
        "semantic": tv_tensors.Mask(semantic),
        "image_id": int(index),
    }
    if cfg.named_colours:
        scene["colours"] = torch.tensor(drawn_colours, dtype=torch.int64)
    return scene


def place_objects(objects, seed: int = 0, index: int = 0, config: SceneConfig | None = None) -> dict:
    """A scene with objects where *you* put them: a controlled experiment instead of a random draw.

    ``objects`` is a list of ``(label, cx, cy, diameter)`` in pixels (label 1-based into the classes),
    painted in that order (later ones occlude earlier ones); background, colours, texture and noise
    are drawn as in :func:`make_scene` from ``(seed, index)``. An object hidden completely is an error.
    Returns the same dict as :func:`make_scene`.
    """
    cfg = config or SceneConfig()
    if not isinstance(cfg, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(cfg).__name__}")
    if not isinstance(objects, (list, tuple)) or not objects:
        raise ValueError("objects must be a non-empty list of (label, cx, cy, diameter)")
    n = cfg.image_size
    for i, obj in enumerate(objects):
        if not (isinstance(obj, (list, tuple)) and len(obj) == 4):
            raise ValueError(f"objects[{i}] must be (label, cx, cy, diameter), got {obj!r}")
        label, cx, cy, diameter = obj
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 1 <= label <= len(cfg.classes):
            raise ValueError(f"objects[{i}]: label must be an int in 1..{len(cfg.classes)}, got {label!r}")
        if not all(np.isfinite(float(v)) for v in (cx, cy, diameter)) or not 0 <= cx <= n or not 0 <= cy <= n \
                or not diameter > 0:
            raise ValueError(f"objects[{i}]: the centre must lie in the {n}x{n} image and the diameter be positive, "
                             f"got {obj!r}")
    rng = np.random.default_rng([int(seed), int(index), 1])  # 1: never the stream of make_scene(seed, index)
    img, bg_colour = _background(rng, cfg)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
    owner = np.full((n, n), -1, dtype=np.int64)
    for k, (label, cx, cy, diameter) in enumerate(objects):
        shape = _PAINTERS[cfg.classes[label - 1]](xx, yy, float(cx), float(cy), float(diameter) / 2, rng)
        colour = _random_colour(rng)
        for _ in range(10):
            if np.linalg.norm(colour - bg_colour) >= cfg.min_contrast:
                break
            colour = _random_colour(rng)
        owner = np.where(shape, k, owner)
        img = _paint(img, shape, colour, xx, yy, float(cx), float(cy), rng)
    hidden = [k for k in range(len(objects)) if not (owner == k).any()]
    if hidden:
        raise ValueError(f"objects: {hidden} are hidden completely by later objects")
    return _scene_dict(img, owner, [int(o[0]) for o in objects], [-1] * len(objects), cfg, index, rng)


def masks_to_tight_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Tight ``xyxy`` boxes (pixel edges) of boolean masks ``[N, H, W]`` -> ``[N, 4]`` float32."""
    if not isinstance(masks, torch.Tensor) or masks.ndim != 3:
        raise ValueError(f"masks must be a tensor of shape [N, H, W], got {getattr(masks, 'shape', masks)!r}")
    if masks.dtype != torch.bool:
        raise TypeError(f"masks must be boolean, got {masks.dtype}")
    boxes = torch.zeros((masks.shape[0], 4), dtype=torch.float32)
    for i, m in enumerate(masks):
        ys, xs = torch.where(m)
        if len(xs) == 0:
            raise ValueError(f"masks[{i}] is empty: an empty mask has no box")
        boxes[i] = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
    return boxes


class SyntheticScenes(Dataset):
    """A ``Dataset`` of :func:`make_scene` samples in torchvision's detection format.

    ``dataset[i]`` is ``(image, target)`` where ``target`` holds ``boxes``, ``labels``,
    ``masks``, ``semantic`` and ``image_id``. ``transforms`` is a callable taking and
    returning ``(image, target)``, e.g. a ``torchvision.transforms.v2`` pipeline, which
    keeps boxes and masks in step with the image because they are ``tv_tensors``.
    """

    def __init__(self, length: int, seed: int = 0, config: SceneConfig | None = None,
                 transforms=None, offset: int = 0):
        if not isinstance(length, int) or length < 0:
            raise ValueError(f"length must be a non-negative int, got {length!r}")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative int, got {offset!r}")
        self.length, self.seed, self.offset = length, seed, offset
        self.config = config or SceneConfig()
        self.transforms = transforms

    @property
    def classes(self) -> tuple[str, ...]:
        return self.config.classes

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        if not -self.length <= i < self.length:
            raise IndexError(f"index {i} out of range for {self.length} scenes")
        i = i % self.length
        scene = make_scene(self.seed, self.offset + i, self.config)
        image = scene.pop("image")
        if self.transforms is not None:
            image, scene = self.transforms(image, scene)
        return image, scene


def stack_images(scenes, key: str = "image") -> torch.Tensor:
    """``scenes[i][key]`` stacked into one plain tensor (``[N, 3, H, W]`` images, ``[N, H, W]`` maps)."""
    if not scenes:
        raise ValueError("scenes: need at least one scene")
    return torch.stack([torch.as_tensor(s[key]).as_subclass(torch.Tensor) for s in scenes])


def detection_collate(batch):
    """Keep images and targets as tuples: detection targets differ in length per image."""
    if len(batch) == 0:
        raise ValueError("batch is empty")
    if not all(isinstance(item, (tuple, list)) and len(item) == 2 for item in batch):
        raise TypeError("batch must be a list of (image, target) pairs, as SyntheticScenes returns them")
    return tuple(zip(*batch, strict=True))


# --- COCO export ------------------------------------------------------------------------

def mask_to_rle(mask: torch.Tensor | np.ndarray) -> dict:
    """Uncompressed COCO RLE of a 2-D boolean mask (column-major runs, starting with 0s)."""
    raw = np.asarray(mask.cpu() if isinstance(mask, torch.Tensor) else mask)
    if raw.dtype != bool:
        if not np.issubdtype(raw.dtype, np.integer):  # a probability map is not a mask
            raise TypeError(f"mask must be boolean or 0/1 integers (threshold probabilities first), got {raw.dtype}")
        if raw.size and not np.isin(raw, (0, 1)).all():
            raise ValueError("mask must hold 0/1 values")
    m = raw.astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {m.shape}")
    flat = m.flatten(order="F")
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": counts}


def rle_to_mask(rle: dict) -> np.ndarray:
    """Inverse of :func:`mask_to_rle` for uncompressed RLE."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("rle must be a dict with 'size' [h, w] and 'counts'")
    h, w = rle["size"]
    counts = rle["counts"]
    if not isinstance(counts, list):
        raise ValueError("rle: only uncompressed RLE (a list of counts) is supported here")
    if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0 for c in counts):
        raise ValueError("rle: counts must be non-negative ints")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    if flat.size != h * w:
        raise ValueError(f"rle: counts sum to {flat.size}, expected {h * w}")
    return flat.reshape((w, h)).T


def to_coco(samples, classes: tuple[str, ...] = CLASSES, with_masks: bool = True) -> dict:
    """COCO ground-truth dict (images, annotations, categories) that pycocotools accepts.

    ``samples`` is an iterable of scene dicts from :func:`make_scene` or of ``(image,
    target)`` pairs from :class:`SyntheticScenes`. Category ids are the 1-based labels;
    ``bbox`` is ``[x, y, w, h]``; ``area`` is the visible mask area.
    """
    if not classes or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"classes must be a non-empty tuple of names, got {classes!r}")
    images, annotations = [], []
    ann_id = 1
    for i, sample in enumerate(samples):
        if isinstance(sample, tuple):
            image, target = sample
        else:
            image, target = sample.get("image"), sample
        missing = [key for key in ("image_id", "boxes", "labels") if key not in target]
        if image is None or missing:
            raise ValueError(f"samples[{i}] must be a scene dict or an (image, target) pair with image_id, boxes "
                             f"and labels; missing {missing or ['image']}")
        h, w = image.shape[-2:]
        image_id = int(target["image_id"])
        images.append({"id": image_id, "width": int(w), "height": int(h),
                       "file_name": f"scene_{image_id:06d}.png"})
        labels = torch.as_tensor(target["labels"])
        if labels.numel() and (int(labels.min()) < 1 or int(labels.max()) > len(classes)):
            raise ValueError(f"samples[{i}]: labels must lie in 1..{len(classes)} (one per class name)")
        masks = target.get("masks")
        for j, (box, label) in enumerate(zip(target["boxes"].tolist(), target["labels"].tolist(), strict=True)):
            x1, y1, x2, y2 = box
            ann = {"id": ann_id, "image_id": image_id, "category_id": int(label),
                   "bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": 0,
                   "area": float((x2 - x1) * (y2 - y1))}
            if masks is not None:
                ann["area"] = float(masks[j].sum())
                if with_masks:
                    ann["segmentation"] = mask_to_rle(masks[j].cpu().numpy())
            annotations.append(ann)
            ann_id += 1
    categories = [{"id": i + 1, "name": name, "supercategory": "shape"} for i, name in enumerate(classes)]
    return {"images": images, "annotations": annotations, "categories": categories}
