"""One DINO update (views, teacher targets, student loss, optimiser step, EMA of the teacher), with
the later papers' terms as options: shared by scripts/train_dino.py and notebook 07."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..checks import number
from ..schedules import ema_update
from .augment import multi_crop
from .later_losses import gram_loss, ibot_patch_loss, koleo_loss, random_patch_mask
from .loss import DINOLoss, entropy_stats

__all__ = ["self_distillation_step"]


def self_distillation_step(student: nn.ModuleDict, teacher: nn.ModuleDict, images: Tensor,
                           optimizer: torch.optim.Optimizer, *, momentum: float, n_local: int = 4,
                           generator: torch.Generator | None = None, freeze_prototypes: bool = False,
                           koleo_weight: float = 0.0, ibot: DINOLoss | None = None, mask_ratio: float = 0.3,
                           gram_anchor: nn.Module | None = None, gram_weight: float = 0.0,
                           clip: float = 3.0) -> dict[str, float]:
    """One DINO update: views, teacher targets, student loss, optimiser step, EMA of the teacher.

    ``student`` and ``teacher`` are ``ModuleDict``s with ``backbone`` (a :class:`TinyViT`),
    ``head`` (a DINO head) and ``loss`` (:class:`DINOLoss`, holding the centre). Options add the
    later papers' terms: ``koleo_weight`` (DINOv2's KoLeo on the student's [CLS] features),
    ``ibot`` (a second :class:`DINOLoss` whose centre serves the masked-patch loss; student global
    views get ``mask_ratio`` of their patches masked) and ``gram_anchor`` with ``gram_weight``
    (DINOv3: keep the student's patch-similarity matrices near those of a frozen earlier backbone).
    Returns the losses and the teacher's entropy diagnostics.
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a batch [B, 3, H, W], got {getattr(images, 'shape', type(images))}")
    number("momentum", momentum, low=0, high=1)
    b = len(images)
    views = multi_crop(images, n_local=n_local, generator=generator)
    globals_ = torch.cat(views[:2])
    student.train(), teacher.train()  # the heads' BatchNorm uses batch statistics in both
    with torch.no_grad():
        t_tokens = teacher["backbone"].forward_tokens(globals_)
        t_logits = [teacher["head"](cls) for cls in t_tokens[:, 0].split(b)]  # one view at a time
    mask = None
    if ibot is not None:
        mask = random_patch_mask(len(globals_), t_tokens.shape[1] - 1, mask_ratio, generator).to(images.device)
    s_tokens = student["backbone"].forward_tokens(globals_, mask)
    feats = [s_tokens[:, 0]]
    if n_local:
        feats.append(student["backbone"](torch.cat(views[2:])))
    # one head call over all views, as DINO's multi-crop wrapper does (BatchNorm sees them all)
    s_logits = student["head"](torch.cat(feats)).split(b)
    dino = student["loss"](list(s_logits), t_logits)
    losses = {"dino": dino}
    if koleo_weight:
        losses["koleo"] = koleo_weight * sum(koleo_loss(c) for c in s_tokens[:, 0].split(b)) / 2
    if ibot is not None:
        n, d = s_tokens.shape[1] - 1, s_tokens.shape[2]
        with torch.no_grad():
            t_patch = teacher["head"](t_tokens[:, 1:].reshape(-1, d))
            t_probs = ibot.teacher_probs(t_patch).reshape(len(globals_), n, -1)
            ibot.update_center(t_patch)
        s_patch = student["head"](s_tokens[:, 1:].reshape(-1, d)).reshape(len(globals_), n, -1)
        losses["ibot"] = ibot_patch_loss(s_patch, t_probs, mask, ibot.student_temp)
    if gram_anchor is not None:
        with torch.no_grad():
            anchor = gram_anchor.forward_tokens(globals_)[:, 1:]
        plain = s_tokens[:, 1:] if mask is None else student["backbone"].forward_tokens(globals_)[:, 1:]
        losses["gram"] = gram_weight * gram_loss(plain, anchor)
    total = sum(losses.values())
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if freeze_prototypes:
        student["head"].prototypes.grad = None
    params = [p for p in student.parameters() if p.requires_grad]
    nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    ema_update(teacher, student, momentum)
    teacher["loss"].center.copy_(student["loss"].center)
    stats = {k: v.item() for k, v in losses.items()}
    stats["loss"] = total.item()
    stats.update(entropy_stats(student["loss"].teacher_probs(torch.cat(t_logits))))
    return stats
