"""The two schedules every training in the course uses: warm-up + cosine, and an EMA of weights.

One helper each, shared by ``train.fit`` (learning rate), DINO (learning rate, weight decay,
teacher momentum) and the DDPM script (learning-rate warm-up, EMA of the weights).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .checks import number

__all__ = ["cosine_schedule", "ema_update"]


def cosine_schedule(start: float, end: float, step: int, total: int, warmup: int = 0) -> float:
    """Linear warm-up from 0 to ``start`` over ``warmup`` steps, then cosine from ``start`` to ``end``
    over the remaining ``total - warmup`` steps (``end`` from then on). ``start == end`` gives a plain
    warm-up to a constant; a warm-up longer than ``total`` is allowed (the run ends inside it)."""
    number("start", start)
    number("end", end)
    number("step", step, low=0, integer=True)
    total = number("total", total, low=1, integer=True)
    warmup = number("warmup", warmup, low=0, integer=True)
    if step < warmup:
        return start * (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher <- momentum * teacher + (1 - momentum) * student, parameter by parameter."""
    number("momentum", momentum, low=0, high=1)
    pairs = list(zip(teacher.parameters(), student.parameters(), strict=False))
    if len(pairs) != len(list(teacher.parameters())) or any(pt.shape != ps.shape for pt, ps in pairs):
        raise ValueError("teacher and student must have the same architecture (parameters of equal shapes)")
    for pt, ps in pairs:
        pt.mul_(momentum).add_(ps.detach(), alpha=1 - momentum)
