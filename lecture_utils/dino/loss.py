"""The DINO objective: a centred, sharpened teacher and the student's cross-entropy to it,
and the entropy diagnostics that show whether a run collapsed."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import number

__all__ = ["DINOLoss", "entropy_stats"]


class DINOLoss(nn.Module):
    """Cross-entropy between the sharpened, centred teacher and the student, over view pairs.

    ``student_out`` is a list of ``[B, K]`` logits, one per view (globals first); ``teacher_out``
    the teacher's logits for the ``n_global`` global views. Pairs where student and teacher see
    the same view are skipped. The centre is an EMA (``center_momentum``) of the teacher's batch
    mean and is updated after the loss is computed.
    """

    def __init__(self, out_dim: int, teacher_temp: float = 0.03, student_temp: float = 0.1,
                 center_momentum: float = 0.9):
        super().__init__()
        number("out_dim", out_dim, low=1, integer=True)
        number("teacher_temp", teacher_temp, low=0, low_open=True)
        number("student_temp", student_temp, low=0, low_open=True)
        number("center_momentum", center_momentum, low=0, high=1)
        self.teacher_temp, self.student_temp, self.center_momentum = teacher_temp, student_temp, center_momentum
        self.register_buffer("center", torch.zeros(1, out_dim))

    def teacher_probs(self, teacher_logits: Tensor) -> Tensor:
        return F.softmax((teacher_logits - self.center) / self.teacher_temp, dim=-1)

    def forward(self, student_out: list[Tensor], teacher_out: list[Tensor]) -> Tensor:
        for name, views in (("student_out", student_out), ("teacher_out", teacher_out)):
            if not isinstance(views, (list, tuple)) or not all(isinstance(v, Tensor) for v in views):
                raise TypeError(f"{name} must be a list of [B, K] logits, one per view")
        if not teacher_out or len(student_out) < max(len(teacher_out), 2):
            # every pair (teacher view i, student view j != i): one student view per teacher view has no pair
            raise ValueError(f"student_out needs at least 2 views and as many as teacher_out, got "
                             f"{len(student_out)} and {len(teacher_out)}")
        k = self.center.shape[1]
        for name, views in (("student_out", student_out), ("teacher_out", teacher_out)):
            for v in views:
                if v.ndim != 2 or v.shape[1] != k or len(v) != len(teacher_out[0]):
                    raise ValueError(f"{name} must hold [B, {k}] logits with one B, got {tuple(v.shape)}")
        if len(teacher_out[0]) == 0:  # the mean of no logits is NaN, and the centre would stay NaN
            raise ValueError("student_out and teacher_out are empty batches")
        for name, views in (("student_out", student_out), ("teacher_out", teacher_out)):
            if not all(torch.isfinite(v).all() for v in views):  # a NaN here would poison the centre for good
                raise ValueError(f"{name} contains NaN or infinite logits")
        targets = [self.teacher_probs(t).detach() for t in teacher_out]
        total, pairs = 0.0, 0
        for i, target in enumerate(targets):
            for j, s in enumerate(student_out):
                if j == i:
                    continue
                total = total + torch.sum(-target * F.log_softmax(s / self.student_temp, dim=-1), dim=-1).mean()
                pairs += 1
        self.update_center(torch.cat(teacher_out))
        return total / pairs

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        batch_mean = teacher_logits.mean(dim=0, keepdim=True)
        self.center.mul_(self.center_momentum).add_(batch_mean.detach(), alpha=1 - self.center_momentum)


@torch.no_grad()
def entropy_stats(probs: Tensor) -> dict[str, float]:
    """Collapse diagnostics of a batch of distributions ``[B, K]`` (nats).

    ``mean_entropy`` near ln K: every output is uniform (collapse by flattening). ``marginal_entropy``
    (entropy of the batch-mean distribution) near 0: every image goes to the same prototype
    (collapse to one dimension). A healthy run has low per-sample and high marginal entropy.
    """
    if not isinstance(probs, Tensor) or probs.ndim != 2:
        raise ValueError(f"probs must be [B, K] distributions, got {getattr(probs, 'shape', type(probs))}")
    sums = probs.sum(-1)
    if (probs < 0).any() or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        raise ValueError("probs must be probability distributions (non-negative rows that sum to 1)")
    p = probs.clamp_min(1e-12)
    per_sample = -(p * p.log()).sum(dim=-1).mean()
    marginal = probs.mean(dim=0).clamp_min(1e-12)
    return {"mean_entropy": float(per_sample), "marginal_entropy": float(-(marginal * marginal.log()).sum()),
            "ln_K": math.log(probs.shape[-1])}
