"""Selective search (Uijlings et al., 2013), written for reading.

1. Over-segment the image with Felzenszwalb's graph method (scikit-image).
2. Describe each region by a colour histogram, a texture histogram, its size and its box.
3. Repeatedly merge the two most similar *neighbouring* regions; every region ever formed,
   initial or merged, contributes its bounding box as a proposal.
4. Rank the proposals: newer (larger) regions first, shuffled by a random factor, as in the paper.

Several "strategies" (colour space, segmentation scale) diversify the proposals; their lists are
interleaved and duplicates removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage as ndi
from skimage import color as skcolor
from skimage.segmentation import felzenszwalb

from .checks import number

__all__ = ["Strategy", "DEFAULT_STRATEGIES", "initial_regions", "hierarchical_grouping", "selective_search"]

COLOUR_BINS = 25
TEXTURE_BINS = 10
ORIENTATIONS = 8


@dataclass(frozen=True)
class Strategy:
    """One diversification strategy: colour space and Felzenszwalb scale."""

    colour_space: str = "rgb"  # "rgb", "hsv" or "lab"
    scale: float = 60.0
    sigma: float = 0.8
    min_size: int = 12
    similarities: str = "cstf"  # which of colour, size, texture, fill to use

    def __post_init__(self):
        if self.colour_space not in ("rgb", "hsv", "lab"):
            raise ValueError(f"colour_space must be 'rgb', 'hsv' or 'lab', got {self.colour_space!r}")
        number("scale", self.scale, low=0, low_open=True)
        number("sigma", self.sigma, low=0)
        number("min_size", self.min_size, low=1, integer=True)
        if not self.similarities or set(self.similarities) - set("cstf"):
            raise ValueError(f"similarities must be letters of 'cstf', got {self.similarities!r}")


DEFAULT_STRATEGIES = (Strategy("rgb", 60.0), Strategy("hsv", 120.0))


def _to_float_hwc(image) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
        if image.ndim == 3 and image.shape[0] == 3:
            image = np.transpose(image, (1, 2, 0))
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be RGB [3, H, W] or [H, W, 3], got shape {image.shape}")
    if image.dtype == np.uint8:
        image = image / 255.0
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
    if image.min() < 0 or image.max() > 1:  # clipping 0..255 floats would make the image all white
        raise ValueError(f"image must be uint8 or floats in [0, 1], got values in [{image.min()}, {image.max()}]")
    return image.astype(np.float64)


def _convert(image: np.ndarray, space: str) -> np.ndarray:
    """Colour channels rescaled to [0, 1]."""
    if space == "rgb":
        return image
    if space == "hsv":
        return skcolor.rgb2hsv(image)
    if space == "lab":
        lab = skcolor.rgb2lab(image)
        return np.stack([lab[..., 0] / 100, (lab[..., 1] + 128) / 255, (lab[..., 2] + 128) / 255], -1)
    raise ValueError(f"colour_space must be 'rgb', 'hsv' or 'lab', got {space!r}")


def _histograms(labels: np.ndarray, values: np.ndarray, bins: int, n: int) -> np.ndarray:
    """Per-region histograms of ``values`` (in [0, 1]) for each channel, L1-normalised."""
    channels = values.shape[-1]
    idx = np.minimum((values * bins).astype(np.int64), bins - 1)
    flat_labels = labels.ravel()
    out = np.zeros((n, channels * bins))
    for c in range(channels):
        key = flat_labels * bins + idx[..., c].ravel()
        out[:, c * bins:(c + 1) * bins] = np.bincount(key, minlength=n * bins).reshape(n, bins)
    return out / np.maximum(out.sum(1, keepdims=True), 1e-12)


def _texture_values(image: np.ndarray) -> np.ndarray:
    """Gaussian-derivative responses in 8 orientations per channel, scaled to [0, 1]."""
    responses = []
    for c in range(image.shape[-1]):
        gx = ndi.gaussian_filter(image[..., c], 1.0, order=(0, 1))
        gy = ndi.gaussian_filter(image[..., c], 1.0, order=(1, 0))
        for k in range(ORIENTATIONS):
            theta = np.pi * k / ORIENTATIONS
            responses.append(np.cos(theta) * gx + np.sin(theta) * gy)
    r = np.stack(responses, -1)
    lo, hi = r.min(), r.max()
    return (r - lo) / (hi - lo + 1e-12)


def initial_regions(image, strategy: Strategy = Strategy()) -> dict:
    """Felzenszwalb segments and their descriptors.

    Returns ``labels [H, W]`` and per region: ``size``, ``box`` (xyxy, pixel edges), ``colour``
    and ``texture`` histograms, plus the set of neighbouring pairs ``edges``.
    """
    rgb = _to_float_hwc(image)
    img = _convert(rgb, strategy.colour_space)
    labels = felzenszwalb(rgb, scale=strategy.scale, sigma=strategy.sigma, min_size=strategy.min_size)
    _, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(rgb.shape[:2])
    n = int(labels.max()) + 1
    size = np.bincount(labels.ravel(), minlength=n).astype(np.float64)
    ys, xs = np.indices(labels.shape)
    box = np.stack([
        ndi.minimum(xs, labels, np.arange(n)), ndi.minimum(ys, labels, np.arange(n)),
        np.asarray(ndi.maximum(xs, labels, np.arange(n))) + 1, np.asarray(ndi.maximum(ys, labels, np.arange(n))) + 1,
    ], 1).astype(np.float64)
    colour = _histograms(labels, img, COLOUR_BINS, n)
    texture = _histograms(labels, _texture_values(img), TEXTURE_BINS, n)
    pairs = np.concatenate([
        np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
        np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], 1),
    ])
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    edges = {(int(min(a, b)), int(max(a, b))) for a, b in np.unique(np.sort(pairs, 1), axis=0)}
    return {"labels": labels, "size": size, "box": box, "colour": colour, "texture": texture, "edges": edges}


def _similarity(r: dict, i: int, j: int, image_size: float, which: str) -> float:
    s = 0.0
    if "c" in which:
        s += np.minimum(r["colour"][i], r["colour"][j]).sum()
    if "t" in which:
        s += np.minimum(r["texture"][i], r["texture"][j]).sum()
    if "s" in which:
        s += 1.0 - (r["size"][i] + r["size"][j]) / image_size
    if "f" in which:
        bi, bj = r["box"][i], r["box"][j]
        bbox = (max(bi[2], bj[2]) - min(bi[0], bj[0])) * (max(bi[3], bj[3]) - min(bi[1], bj[1]))
        s += 1.0 - (bbox - r["size"][i] - r["size"][j]) / image_size
    return float(s)


def hierarchical_grouping(regions: dict, similarities: str = "cstf") -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring regions, most similar first, until none are left to merge.

    Returns ``boxes [R, 4]`` of every region formed (initial ones first, then each merge) and
    their ``levels`` (0 for initial regions, k for the k-th merge).
    """
    if not set(similarities) <= set("cstf") or not similarities:
        raise ValueError(f"similarities must be a non-empty combination of 'c', 's', 't', 'f', got {similarities!r}")
    n0 = len(regions["size"])
    image_size = float(regions["labels"].size)
    size = list(regions["size"])
    box = list(regions["box"])
    colour = list(regions["colour"])
    texture = list(regions["texture"])
    r = {"size": size, "box": box, "colour": colour, "texture": texture}
    neighbours: dict[int, set[int]] = {i: set() for i in range(n0)}
    for a, b in regions["edges"]:
        neighbours[a].add(b)
        neighbours[b].add(a)
    sims = {(a, b): _similarity(r, a, b, image_size, similarities) for a, b in regions["edges"]}
    levels = [0] * n0
    while sims:
        (i, j), _ = max(sims.items(), key=lambda kv: kv[1])
        k = len(size)
        si, sj = size[i], size[j]
        size.append(si + sj)
        box.append(np.array([min(box[i][0], box[j][0]), min(box[i][1], box[j][1]),
                             max(box[i][2], box[j][2]), max(box[i][3], box[j][3])]))
        colour.append((si * colour[i] + sj * colour[j]) / (si + sj))
        texture.append((si * texture[i] + sj * texture[j]) / (si + sj))
        levels.append(len(levels) - n0 + 1)
        merged_nb = (neighbours.pop(i) | neighbours.pop(j)) - {i, j}
        for key in [key for key in sims if i in key or j in key]:
            del sims[key]
        neighbours[k] = merged_nb
        for m in merged_nb:
            neighbours[m] -= {i, j}
            neighbours[m].add(k)
            sims[(m, k)] = _similarity(r, m, k, image_size, similarities)
    return np.array(box, dtype=np.float64).reshape(-1, 4), np.array(levels)


def selective_search(image, strategies=DEFAULT_STRATEGIES, max_proposals: int | None = None,
                     seed: int = 0) -> torch.Tensor:
    """Class-agnostic object proposals for ``image`` ([3, H, W] tensor or [H, W, 3] array).

    Returns ``Tensor[N, 4]`` (xyxy, float32), ranked as in the paper: within a strategy a
    region's rank is its position in the hierarchy (the last merge is first) times a random
    number, then strategies are interleaved and duplicate boxes dropped.
    """
    if not strategies:
        raise ValueError("strategies must name at least one Strategy")
    if max_proposals is not None and max_proposals < 1:
        raise ValueError(f"max_proposals must be >= 1, got {max_proposals}")
    rng = np.random.default_rng(seed)
    ranked = []
    for strategy in strategies:
        boxes, levels = hierarchical_grouping(initial_regions(image, strategy), strategy.similarities)
        position = levels.max() - levels + 1  # 1 for the last merge, larger for older regions
        ranked.append(boxes[np.argsort(position * rng.random(len(position)), kind="stable")])
    out, seen = [], set()
    for i in range(max(len(b) for b in ranked)):
        for boxes in ranked:
            if i < len(boxes):
                key = tuple(boxes[i])
                if key not in seen:
                    seen.add(key)
                    out.append(boxes[i])
    result = torch.tensor(np.array(out), dtype=torch.float32).reshape(-1, 4)
    return result[:max_proposals] if max_proposals is not None else result
