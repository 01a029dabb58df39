"""What DINOv2 (KoLeo, iBOT's masked-patch loss) and DINOv3 (Gram anchoring) add to DINO's loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..checks import number

__all__ = ["koleo_loss", "random_patch_mask", "ibot_patch_loss", "gram_loss"]


def koleo_loss(features: Tensor, eps: float = 1e-8) -> Tensor:
    """Kozachenko-Leonenko regulariser: -mean log distance to the nearest neighbour in the batch.

    ``features`` ``[B, D]`` are L2-normalised inside; minimising spreads them over the sphere.
    """
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [B, D] with B >= 2, got {tuple(features.shape)}")
    if not torch.isfinite(features).all():
        raise ValueError("features contains NaN or infinite values")
    x = F.normalize(features, dim=-1, eps=eps)
    distances = torch.cdist(x, x)
    distances = distances + torch.eye(len(x), device=x.device) * 1e4  # exclude the point itself
    return -torch.log(distances.min(dim=1).values + eps).mean()


def random_patch_mask(batch: int, patches: int, ratio: float, generator=None) -> Tensor:
    """Boolean ``[batch, patches]`` with ``round(ratio * patches)`` masked patches per image."""
    number("batch", batch, low=0, integer=True)
    number("patches", patches, low=1, integer=True)
    number("ratio", ratio, low=0, high=1, high_open=True)
    count = round(ratio * patches)
    order = torch.rand(batch, patches, generator=generator).argsort(dim=1)
    return order < count


def ibot_patch_loss(student_patch_logits: Tensor, teacher_patch_probs: Tensor, mask: Tensor,
                    student_temp: float = 0.1) -> Tensor:
    """iBOT: cross-entropy between teacher and student on the *masked* patches only.

    ``student_patch_logits`` ``[B, N, K]`` (student saw mask tokens there), ``teacher_patch_probs``
    ``[B, N, K]`` (teacher saw the real patches, already centred and sharpened), ``mask`` ``[B, N]``.
    """
    if student_patch_logits.ndim != 3 or student_patch_logits.shape != teacher_patch_probs.shape:
        raise ValueError(f"student_patch_logits {tuple(student_patch_logits.shape)} and teacher_patch_probs "
                         f"{tuple(teacher_patch_probs.shape)} must both be [B, N, K]")
    if mask.shape != student_patch_logits.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool [B, N] = {tuple(student_patch_logits.shape[:2])}, "
                         f"got {mask.dtype} {tuple(mask.shape)}")
    number("student_temp", student_temp, low=0, low_open=True)
    sums = teacher_patch_probs.sum(-1)
    probs_ok = (teacher_patch_probs >= 0).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-3)
    if not probs_ok:  # logits passed where the centred, sharpened softmax belongs
        raise ValueError("teacher_patch_probs must be probabilities over K (non-negative, summing to 1)")
    if not mask.any():
        raise ValueError("mask selects no patch: iBOT needs masked patches")
    ce = torch.sum(-teacher_patch_probs * F.log_softmax(student_patch_logits / student_temp, dim=-1), dim=-1)
    return ce[mask].mean()


def gram_loss(student_patches: Tensor, anchor_patches: Tensor) -> Tensor:
    """DINOv3's Gram anchoring: squared Frobenius distance between patch-similarity matrices.

    Both inputs are ``[B, N, D]`` patch features (L2-normalised inside); the anchor comes from an
    earlier checkpoint (the "Gram teacher"). Returned per image and per entry of the ``N x N`` matrix.
    """
    if student_patches.ndim != 3 or student_patches.shape[:2] != anchor_patches.shape[:2]:
        raise ValueError(f"student_patches and anchor_patches must be [B, N, D] with the same B and N, got "
                         f"{tuple(student_patches.shape)} and {tuple(anchor_patches.shape)}")
    for name, t in (("student_patches", student_patches), ("anchor_patches", anchor_patches)):
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    s, a = F.normalize(student_patches, dim=-1), F.normalize(anchor_patches, dim=-1)
    return ((s @ s.transpose(1, 2) - a @ a.transpose(1, 2)) ** 2).mean()
