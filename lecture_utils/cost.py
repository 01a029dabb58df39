"""What a model costs: FLOPs, activation memory, parameters and CPU time per image."""

from __future__ import annotations

import copy

import torch
from torch.utils.flop_counter import FlopCounterMode

from .checks import number
from .timing import seconds_per_call

__all__ = ["model_cost", "flops_by_part"]


@torch.no_grad()
def model_cost(model: torch.nn.Module, size: int = 128, batch: int = 4, repeats: int = 3) -> dict:
    """Measure ``model`` on a random ``[batch, 3, size, size]`` input, on the CPU, in eval mode.

    A CPU copy of the model is measured (the caller's model stays where it is, in its mode), on an
    input drawn from a local generator (the global one is not touched). Returns ``GFLOPs`` and
    ``activation_MB`` (float32 outputs of every conv layer) per image, the
    number of ``parameters`` and ``ms_per_image`` (the best of ``repeats`` timed runs; the two passes
    above warm up).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for name, value in (("size", size), ("batch", batch), ("repeats", repeats)):
        number(name, value, low=1, integer=True)
    model = copy.deepcopy(model).cpu().eval()
    x = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
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
    seconds = seconds_per_call(lambda: model(x), device="cpu", repeats=repeats, warmup=0) / batch
    return {"GFLOPs": counter.get_total_flops() / batch / 1e9,
            "activation_MB": sum(activations) / batch * 4 / 2**20,
            "ms_per_image": seconds * 1000,
            "parameters": sum(p.numel() for p in model.parameters())}


@torch.no_grad()
def flops_by_part(model: torch.nn.Module, size: int = 128) -> dict[str, float]:
    """GFLOPs per image of each top-level child of ``model`` (``{"down": ..., "up": ...}``) on a random
    ``[1, 3, size, size]`` input, on a CPU copy in eval mode; the values sum to the model's total."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    number("size", size, low=1, integer=True)
    model = copy.deepcopy(model).cpu().eval()
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter:
        model(x)
    counts = counter.get_flop_counts()
    root = type(model).__name__

    def flops_of(prefix: str, module: torch.nn.Module) -> float:
        # a module that was called has its own entry (its children included); a container that never
        # is (nn.ModuleList) is the sum of its children's
        if prefix in counts:
            return sum(counts[prefix].values())
        return sum(flops_of(f"{prefix}.{name}", child) for name, child in module.named_children())

    parts = {name: flops_of(f"{root}.{name}", child) / 1e9 for name, child in model.named_children()}
    total = counter.get_total_flops() / 1e9
    if abs(sum(parts.values()) - total) > 1e-9 * max(total, 1.0):  # FLOPs outside any child (a functional op)
        parts["(вне частей)"] = total - sum(parts.values())
    return parts
