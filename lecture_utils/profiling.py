"""What a model costs: FLOPs, activation memory, parameters and CPU time per image."""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["model_cost"]


@torch.no_grad()
def model_cost(model: torch.nn.Module, size: int = 128, batch: int = 4, repeats: int = 3) -> dict:
    """Measure ``model`` on a random ``[batch, 3, size, size]`` input, on the CPU, in eval mode.

    Returns ``GFLOPs`` and ``activation_MB`` (float32 outputs of every conv layer) per image, the
    number of ``parameters`` and ``ms_per_image`` (mean of ``repeats`` timed runs after a warm-up).
    """
    if size < 1 or batch < 1 or repeats < 1:
        raise ValueError(f"size, batch and repeats must be positive, got {size}, {batch}, {repeats}")
    model = model.cpu().eval()
    x = torch.rand(batch, 3, size, size)
    with FlopCounterMode(display=False) as counter:
        model(x)
    activations = []
    hooks = [m.register_forward_hook(lambda m, i, o: activations.append(o.numel()))
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    t0 = time.perf_counter()
    for _ in range(repeats):
        model(x)
    seconds = (time.perf_counter() - t0) / repeats / batch
    return {"GFLOPs": counter.get_total_flops() / batch / 1e9,
            "activation_MB": sum(activations) / batch * 4 / 2**20,
            "ms_per_image": seconds * 1000,
            "parameters": sum(p.numel() for p in model.parameters())}
