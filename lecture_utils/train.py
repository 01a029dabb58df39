"""Training loops shared by the notebooks and the scripts: one generic ``fit`` and the streams
of data for detectors, segmenters and operators (their evaluation: :mod:`lecture_utils.evaluation`,
re-exported here for the notebooks' import path).

Every loop follows the device rule of :mod:`lecture_utils.runtime`: ``device=None`` (the
default) runs on the model's current device, ``device=...`` moves the model there first; data
moves to that device batch by batch, predictions come back on the CPU. Training draws its
randomness (dropout, torchvision's samplers) from the global generator seeded with ``seed``
inside a fork, so a training run repeats whatever ran before it and leaves the caller's
generator as it was.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor
from tqdm.auto import tqdm

from . import evaluation
from .checks import number
from .data import TRAIN_SEED, SceneConfig, make_scene
from .evaluation import (  # noqa: F401 - re-exported: notebooks import them from here
    evaluate_detector,
    evaluate_open_vocab,
    evaluate_operator,
    evaluate_segmenter,
    open_vocab_targets,
    predict,
)
from .runtime import resolve_device
from .schedules import cosine_schedule

__all__ = ["scene_batches", "warmup_cosine", "forked_rng", "fit", "train_detector", "train_segmenter",
           "train_operator", *evaluation.__all__]

Device = torch.device | str | None


@contextlib.contextmanager
def forked_rng(device: torch.device, seed: int | None):
    """The global generator(s) seeded with ``seed`` inside the block and restored after it."""
    if seed is not None:
        number("seed", seed, low=0, integer=True)
    if seed is None:
        yield
        return
    real_cuda = device.type == "cuda" and torch.cuda.is_available()
    with torch.random.fork_rng(devices=[device.index or 0] if real_cuda else []):
        torch.manual_seed(seed)
        yield


def scene_batches(seed: int, batch_size: int, config: SceneConfig | None = None,
                  start: int = 0) -> Iterator[tuple[Tensor, list[dict]]]:
    """An endless stream of fresh scenes: ``(images [B, 3, H, W], targets)``; never repeats a scene."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    index = start
    while True:
        scenes = [make_scene(seed, index + i, config) for i in range(batch_size)]
        index += batch_size
        images = torch.stack([s.pop("image").as_subclass(Tensor) for s in scenes])
        for s in scenes:
            s["boxes"] = s["boxes"].as_subclass(Tensor)
        yield images, scenes


def warmup_cosine(step: int, total: int, warmup: int = 50) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to zero."""
    return cosine_schedule(1.0, 0.0, step, total, warmup)


def fit(model: torch.nn.Module, steps: int, batches: Iterator, loss_fn: Callable, *, lr: float,
        device: Device = None, desc: str = "training", weight_decay: float = 1e-4,
        seed: int | None = 0) -> list[float]:
    """The course's training loop: AdamW with warm-up and cosine decay, gradient clipping, a
    progress bar showing the running loss. ``loss_fn(model, batch)`` returns a dict of losses
    for one item of ``batches`` (already on the model's device, or moved there by ``loss_fn``).
    Returns the total loss of every step; leaves the model in eval mode. ``seed`` seeds the
    global generator inside a fork for the whole run (``None``: use it as it is)."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    device = resolve_device(model, device)
    with forked_rng(device, seed):
        return _fit(model, steps, batches, loss_fn, lr, desc, weight_decay)


def _fit(model, steps, batches, loss_fn, lr, desc, weight_decay) -> list[float]:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, steps))
    history = []
    bar = tqdm(range(steps), desc=desc, mininterval=1.0)
    for step in bar:
        try:
            batch = next(batches)
        except StopIteration:
            raise ValueError(f"batches ran out after {step} of {steps} steps: give an endless stream") from None
        losses = loss_fn(model, batch)
        loss = sum(losses.values())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()
        history.append(loss.item())
        if not math.isfinite(history[-1]):  # stop here rather than train on: every step after is NaN too
            raise ValueError(f"the loss is {history[-1]} at step {step} ({sorted(losses)}): lower lr or check the data")
        bar.set_postfix(loss=f"{sum(history[-20:]) / len(history[-20:]):.3f}", refresh=False)
    model.eval()
    return history


def train_detector(model: torch.nn.Module, steps: int, *, batch_size: int = 8, lr: float = 2e-3,
                   seed: int = TRAIN_SEED, device: Device = None, config: SceneConfig | None = None,
                   desc: str = "training", start: int = 0,
                   forward: Callable | None = None) -> list[float]:
    """Train a detector whose ``forward(images, targets)`` returns a dict of losses.

    Fresh synthetic scenes every step (so there is no over-fitting to watch for), trained by
    ``fit``. ``forward(model, images, targets)`` overrides the call, e.g. to pass proposals.
    Returns the total loss of every step.
    """
    device = resolve_device(model, device)

    def loss_fn(m, batch):
        images, targets = batch
        images = images.to(device)
        targets = [{k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in t.items()} for t in targets]
        return forward(m, images, targets) if forward else m(images, targets)

    return fit(model, steps, scene_batches(seed, batch_size, config, start), loss_fn, lr=lr, device=device, desc=desc,
               seed=seed + start)


def train_operator(model: torch.nn.Module, data, steps: int, *, batch_size: int = 20, lr: float = 2e-3,
                   seed: int = 0, device: Device = None, desc: str = "training") -> list[float]:
    """Train ``model(a, f) -> u`` on ``data`` (``make_pde_dataset``'s dict) with the mean relative
    L2 error as the loss; mini-batches are drawn from epochs shuffled with ``seed``.

    ``data`` may also be a list of such dicts (the same PDEs on several grids, say): step i then
    takes its batch from ``data[i % len(data)]``, each with its own shuffled epochs. This is
    multi-resolution training, which only a resolution-independent model (an operator) can do."""
    from .pde import relative_l2

    sets = list(data) if isinstance(data, (list, tuple)) else [data]
    if not sets or any(not isinstance(d, dict) or any(k not in d for k in ("a", "f", "u")) for d in sets):
        raise ValueError("data must be make_pde_dataset's dict with 'a', 'f' and 'u' (or a non-empty list of them)")
    smallest = min(len(d["a"]) for d in sets)
    if batch_size < 1 or batch_size > smallest:
        raise ValueError(f"batch_size must be in [1, {smallest}], got {batch_size}")
    device = resolve_device(model, device)

    def epochs(d, g):
        while True:
            order = torch.randperm(len(d["a"]), generator=g)
            for i in range(0, len(order) - batch_size + 1, batch_size):
                idx = order[i:i + batch_size]
                yield d["a"][idx].to(device), d["f"][idx].to(device), d["u"][idx].to(device)

    def batches():
        # the first set keeps the single-set order (seed), so one set in a list trains exactly as before
        streams = [epochs(d, torch.Generator().manual_seed(seed + j)) for j, d in enumerate(sets)]
        while True:
            for stream in streams:
                yield next(stream)

    def loss_fn(m, batch):
        a, f, u = batch
        return {"relative_l2": relative_l2(m(a, f), u).mean()}

    return fit(model, steps, batches(), loss_fn, lr=lr, device=device, desc=desc, weight_decay=0.0, seed=seed)


def train_segmenter(model: torch.nn.Module, steps: int, *, batch_size: int = 8, lr: float = 3e-3,
                    seed: int = TRAIN_SEED, device: Device = None, config: SceneConfig | None = None,
                    desc: str = "training") -> list[float]:
    """Train ``model(images) -> logits [N, K, H, W]`` with cross-entropy on the scenes' semantic masks."""
    import torch.nn.functional as F

    def forward(m, images, targets):
        sem = torch.stack([t["semantic"].as_subclass(Tensor) for t in targets]).to(images.device)
        return {"cross_entropy": F.cross_entropy(m(images), sem)}

    return train_detector(model, steps, batch_size=batch_size, lr=lr, seed=seed, device=device, config=config,
                          desc=desc, forward=forward)


