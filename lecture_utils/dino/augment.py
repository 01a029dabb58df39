"""DINO's multi-crop augmentation on batches of tensors (one ``grid_sample`` call per view).

Every random number comes from the caller's CPU ``generator`` and is moved to the images' device,
so the same seed gives the same views on any device.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import number

__all__ = ["multi_crop"]


def _random_crops(images: Tensor, size: int, scale: tuple[float, float], generator) -> Tensor:
    """Random-resized crops (area fraction in ``scale``, aspect 3/4..4/3) with horizontal flips."""
    b = len(images)
    area = torch.empty(b).uniform_(*scale, generator=generator)
    log_ratio = torch.empty(b).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)
    w = torch.sqrt(area * log_ratio.exp()).clamp(max=1.0)  # fractions of the image side
    h = torch.sqrt(area / log_ratio.exp()).clamp(max=1.0)
    cx = (torch.rand(b, generator=generator) * 2 - 1) * (1 - w)  # keep the crop inside the image
    cy = (torch.rand(b, generator=generator) * 2 - 1) * (1 - h)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w * flip, cx, h, cy
    grid = F.affine_grid(theta.to(images.device), [b, 3, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _bernoulli(p: float, b: int, generator, device) -> Tensor:
    """``[b, 1, 1, 1]`` bool: which samples of the batch get an augmentation applied with probability p."""
    return (torch.rand(b, generator=generator) < p).view(b, 1, 1, 1).to(device)


def _photometric(x: Tensor, generator, jitter: float, p_grey: float, p_blur: float, p_solar: float) -> Tensor:
    b = len(x)
    if jitter > 0:  # brightness, contrast and saturation, each a random factor in [1 - jitter, 1 + jitter]
        f = (1 + (torch.rand(b, 3, generator=generator) * 2 - 1) * jitter).to(x.device)
        x = x * f[:, 0].view(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * f[:, 1].view(b, 1, 1, 1) + mean
        grey = x.mean(dim=1, keepdim=True)
        x = ((x - grey) * f[:, 2].view(b, 1, 1, 1) + grey).clamp(0, 1)
    if p_grey > 0:
        x = torch.where(_bernoulli(p_grey, b, generator, x.device), x.mean(dim=1, keepdim=True).expand_as(x), x)
    if p_blur > 0:
        k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # binomial approximation of a Gaussian
        kernel = (k[:, None] * k[None, :]).expand(3, 1, 5, 5).to(x.device)
        blurred = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=3)
        x = torch.where(_bernoulli(p_blur, b, generator, x.device), blurred, x)
    if p_solar > 0:
        x = torch.where(_bernoulli(p_solar, b, generator, x.device), torch.where(x >= 0.5, 1 - x, x), x)
    return x


def multi_crop(images: Tensor, n_local: int = 4, global_size: int = 64, local_size: int = 32,
               global_scale=(0.4, 1.0), local_scale=(0.08, 0.4), jitter: float = 0.3,
               generator: torch.Generator | None = None) -> list[Tensor]:
    """DINO's views of a batch: ``[global_1, global_2, local_1, ..., local_n]``.

    As in the paper, the first global view is always blurred, the second rarely but sometimes
    solarised, and local crops blurred half of the time. ``images`` is ``[B, 3, H, W]`` in [0, 1].
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
    number("n_local", n_local, low=0, integer=True)
    number("global_size", global_size, low=1, integer=True)
    number("local_size", local_size, low=1, integer=True)
    number("jitter", jitter, low=0, high=1, high_open=True)
    for name, scale in (("global_scale", global_scale), ("local_scale", local_scale)):
        if len(scale) != 2:
            raise ValueError(f"{name} must be (low, high), got {scale!r}")
        low = number(f"{name}[0]", scale[0], low=0, low_open=True, high=1)
        number(f"{name}[1]", scale[1], low=low, high=1)
    g = generator
    views = [
        _photometric(_random_crops(images, global_size, global_scale, g), g, jitter, 0.2, 1.0, 0.0),
        _photometric(_random_crops(images, global_size, global_scale, g), g, jitter, 0.2, 0.1, 0.2),
    ]
    for _ in range(n_local):
        views.append(_photometric(_random_crops(images, local_size, local_scale, g), g, jitter, 0.2, 0.5, 0.0))
    return views
