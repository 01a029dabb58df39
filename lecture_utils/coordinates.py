"""Pixel-centre coordinates as extra input channels.

A convolution cannot tell where in the image it is; two coordinate channels tell it. The PDE
operators of notebook 06 (the coefficient's position matters) and the weakest per-pixel baseline
of notebook 08 (colour + position) both add them.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["pixel_coordinates"]


def pixel_coordinates(images: Tensor) -> Tensor:
    """``[B, 2, H, W]`` pixel-centre coordinates (x, y) in [0, 1] for ``[B, C, H, W]`` images,
    on their device and in their (floating) dtype."""
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor [B, C, H, W], got {getattr(images, 'shape', type(images))}")
    dtype = images.dtype if images.is_floating_point() else torch.float32
    b, _, h, w = images.shape
    ys = (torch.arange(h, dtype=dtype, device=images.device) + 0.5) / h
    xs = (torch.arange(w, dtype=dtype, device=images.device) + 0.5) / w
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx, yy]).expand(b, 2, h, w)
