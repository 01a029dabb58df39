"""Region-of-interest operations: RoI pooling (Fast R-CNN) and crop-and-warp (R-CNN).

``roi_pool`` follows ``torchvision.ops.roi_pool`` to the last detail, so that the two agree
exactly: box corners are scaled and *rounded* to feature cells (half away from zero), the end
cell is *inclusive*, and the RoI is split into ``output_size`` bins with floor/ceil borders —
neighbouring bins may share a row or column. Each bin keeps the maximum of its cells; an empty
bin gives 0. That rounding is the quantisation RoI Align removes.

Where the two differ: torchvision truncates a fractional or out-of-range batch index (reading
another image, or memory outside the batch) and passes NaN or infinite corners to its kernel
(which can crash the process); here both are refused with a ``ValueError`` naming ``boxes``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.ops import roi_align

from .boxes import check_boxes
from .checks import number

__all__ = ["to_roi_format", "roi_pool", "crop_and_warp"]


def to_roi_format(boxes) -> Tensor:
    """``Tensor[K, 5]`` (batch index, x1, y1, x2, y2) from itself or from a list of ``Tensor[L_i, 4]``."""
    if isinstance(boxes, (list, tuple)):
        parts = []
        for i, b in enumerate(boxes):
            b = torch.as_tensor(b).as_subclass(Tensor)
            check_boxes(b, f"boxes[{i}]")
            parts.append(torch.cat([torch.full((b.shape[0], 1), float(i), dtype=b.dtype, device=b.device), b], 1))
        return torch.cat(parts) if parts else torch.zeros((0, 5), device=_first_device(boxes))
    if not isinstance(boxes, Tensor) or boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError("boxes must be Tensor[K, 5] (batch index, x1, y1, x2, y2) or a list of Tensor[L, 4]")
    check_boxes(boxes[:, 1:], "boxes")  # NaN or infinite corners crash torchvision's kernels
    return boxes


def _first_device(boxes) -> torch.device:
    return next((b.device for b in boxes if isinstance(b, Tensor)), torch.device("cpu"))


def _check_batch_index(rois: Tensor, batch: int, name: str = "boxes") -> None:
    """A batch index outside ``[0, batch)`` would read memory outside the images."""
    if len(rois) and (rois[:, 0].min() < 0 or rois[:, 0].max() >= batch or (rois[:, 0] != rois[:, 0].round()).any()):
        raise ValueError(f"{name}: batch indices must be integers in [0, {batch}), "
                         f"got {rois[:, 0].min().item()}..{rois[:, 0].max().item()}")


def _round_half_away(x: Tensor) -> Tensor:
    # C's round(): 2.5 -> 3, -2.5 -> -3 (torch.round would give 2 and -2)
    return torch.sign(x) * torch.floor(torch.abs(x) + 0.5)


def _pair(size) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in size)):
        raise ValueError(f"output_size must be a positive int or a pair of them, got {size!r}")
    return tuple(size)


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """Max-pool each RoI of ``input [N, C, H, W]`` to ``output_size``; as ``torchvision.ops.roi_pool``.

    ``boxes``: ``Tensor[K, 5]`` or a list of ``Tensor[L, 4]`` (xyxy, image coordinates);
    ``spatial_scale`` maps image coordinates to feature cells (1 / stride).
    Returns ``Tensor[K, C, output_h, output_w]``.
    """
    if not isinstance(input, Tensor) or input.ndim != 4:
        raise ValueError(f"input must be a tensor [N, C, H, W], got {getattr(input, 'shape', type(input))}")
    rois = to_roi_format(boxes).to(input.dtype)
    _check_batch_index(rois, input.shape[0])
    ph_n, pw_n = _pair(output_size)
    number("spatial_scale", spatial_scale, low=0, low_open=True)
    _, channels, height, width = input.shape
    out = input.new_zeros((rois.shape[0], channels, ph_n, pw_n))
    if rois.shape[0] == 0:
        return out
    scaled = _round_half_away(rois[:, 1:] * torch.tensor(spatial_scale, dtype=input.dtype))
    for k in range(rois.shape[0]):
        b = int(rois[k, 0])
        if not 0 <= b < input.shape[0]:
            raise ValueError(f"boxes[{k}] refers to batch index {b}, input has {input.shape[0]} images")
        x1, y1, x2, y2 = (int(v) for v in scaled[k].tolist())
        roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # the end cell is inclusive
        bin_h = torch.tensor(roi_h, dtype=input.dtype) / ph_n
        bin_w = torch.tensor(roi_w, dtype=input.dtype) / pw_n
        for ph in range(ph_n):
            hs = min(max(int(math.floor(ph * bin_h)) + y1, 0), height)
            he = min(max(int(math.ceil((ph + 1) * bin_h)) + y1, 0), height)
            for pw in range(pw_n):
                ws = min(max(int(math.floor(pw * bin_w)) + x1, 0), width)
                we = min(max(int(math.ceil((pw + 1) * bin_w)) + x1, 0), width)
                if he > hs and we > ws:
                    out[k, :, ph, pw] = input[b, :, hs:he, ws:we].amax(dim=(1, 2))
    return out


def crop_and_warp(images: Tensor, boxes, size: int = 32, context: float = 0.0) -> Tensor:
    """R-CNN's input: each box cropped from its image and warped (stretched) to ``size x size``.

    ``context`` enlarges every box by that fraction of its size on each side first (the paper
    adds 16 pixels of context around a 227-pixel warp). Bilinear resampling is done by
    ``roi_align`` with one sample per output pixel, which is exactly a bilinear resize of the crop.
    """
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be a tensor [N, C, H, W] with C = 1 or 3 (not [N, H, W, C]), got "
                         f"{getattr(images, 'shape', type(images))}")
    if not images.is_floating_point():
        raise TypeError(f"images must be floating point (roi_align interpolates), got {images.dtype}")
    number("size", size, low=1, integer=True)
    # -0.5 shrinks a box to its centre; below that it would turn inside out (and inf crashes roi_align)
    number("context", context, low=-0.5, low_open=True)
    # the RoIs go where the images are: roi_align's CUDA kernel refuses CPU boxes
    rois = to_roi_format(boxes).to(device=images.device, dtype=images.dtype)
    _check_batch_index(rois, images.shape[0])
    if context:
        wh = (rois[:, 3:5] - rois[:, 1:3]) * context
        rois = torch.cat([rois[:, :1], rois[:, 1:3] - wh, rois[:, 3:5] + wh], 1)
    return roi_align(images, rois, output_size=(size, size), spatial_scale=1.0, sampling_ratio=1, aligned=True)
