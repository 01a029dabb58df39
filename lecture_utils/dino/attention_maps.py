"""The DINO paper's attention-map measurement: [CLS] attention per head, the mask that keeps 60 %
of its mass, and the Jaccard index of that mask with the object's pixels."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..checks import number
from ..metrics.segmentation import paired_mask_iou as jaccard

__all__ = ["cls_attention", "attention_mass_mask", "jaccard"]


@torch.no_grad()
def cls_attention(model: nn.Module, images: Tensor, block: int = -1) -> Tensor:
    """Attention of [CLS] to every patch in block ``block`` (default: the last), ``[B, heads, h, w]``
    (each head sums to 1 over the patches, registers and [CLS] itself). The last block works for any
    model with ``get_last_selfattention`` and ``patch_size``, as DINO's released ViTs have."""
    depth = len(getattr(model, "blocks", ()))
    if block != -1 and not (isinstance(block, int) and -depth <= block < depth):
        raise ValueError(f"block must index the model's {depth} blocks, got {block!r}")
    attention = model.get_last_selfattention(images) if block == -1 else model.get_selfattention(images, block)
    h, w = images.shape[-2] // model.patch_size, images.shape[-1] // model.patch_size
    first_patch = 1 + getattr(model, "num_registers", 0)
    return attention[:, :, 0, first_patch:].reshape(len(images), -1, h, w)


def attention_mass_mask(attention: Tensor, mass: float = 0.6) -> Tensor:
    """Keep the highest patches until they hold ``mass`` of each map's total: bool, same shape.

    ``attention`` is ``[..., h, w]``; each map is normalised over its own patches first.
    """
    number("mass", mass, low=0, low_open=True, high=1)
    if attention.ndim < 2:
        raise ValueError(f"attention must be [..., h, w], got {tuple(attention.shape)}")
    if not torch.isfinite(attention).all() or (attention < 0).any():
        raise ValueError("attention must be finite and non-negative (softmax weights)")
    flat = attention.flatten(-2)
    flat = flat / flat.sum(dim=-1, keepdim=True)
    values, order = flat.sort(dim=-1, descending=True)
    keep_sorted = (values.cumsum(dim=-1) - values) < mass  # include the patch that crosses the line
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return keep.reshape(attention.shape)
