"""Segmentation from N labelled scenes: notebook 08's label-efficiency protocol.

Every method is trained on the same random subsets ("draws") of one labelled pool and scored on the
same test scenes, so the methods can be compared draw by draw (paired). Draws for choosing settings
(validation) and draws for the final measurement (test) come from disjoint generator seeds.

* :func:`scene_tensors`: a seed's scenes with their images and label maps stacked;
* :func:`scene_confusions`: one confusion matrix per scene (what every paired comparison is built from);
* :func:`labelled_draw`: the indices of a draw;
* :func:`flip_rotate`: the augmentation of the scratch baseline (the same for image and labels);
* :func:`train_scratch_unet`: the baseline that sees only the N labelled scenes;
* :func:`block_step_scores`: mIoU of a one-member pixel classifier on each (decoder block, step)
  of a diffusion model's features, the map by which features are chosen (on validation scenes).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import number
from .metrics import confusion_matrix, mean_iou
from .models.unet import UNet
from .pixel_classifier import train_pixel_ensemble
from .train import fit

__all__ = ["scene_tensors", "scene_confusions", "labelled_draw", "flip_rotate", "train_scratch_unet", "block_step_scores", "choose_features"]

PURPOSES = ("test", "validation")


def scene_tensors(seed: int, count: int, config=None) -> tuple[list, Tensor, Tensor]:
    """Scenes ``0 .. count - 1`` of ``seed`` (notebook 08's ``DIFFUSION_SCENES`` by default), their images
    ``[count, 3, H, W]`` and semantic label maps ``[count, H, W]``."""
    from .data import make_scene
    from .diffusion import DIFFUSION_SCENES

    number("count", count, low=1, integer=True)
    scenes = [make_scene(seed, i, config or DIFFUSION_SCENES) for i in range(count)]
    return (scenes, torch.stack([s["image"].as_subclass(Tensor) for s in scenes]),
            torch.stack([s["semantic"].as_subclass(Tensor) for s in scenes]))


def scene_confusions(pred: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """``[N, K, K]`` int confusion matrices, one per scene, of ``pred`` against ``labels`` (both ``[N, H, W]``)."""
    if pred.ndim != 3 or pred.shape != labels.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and labels {tuple(labels.shape)} must both be [N, H, W]")
    return torch.stack([confusion_matrix(p, t, num_classes) for p, t in zip(pred, labels, strict=True)]).int()


def labelled_draw(pool_size: int, n: int, draw: int, purpose: str = "test") -> Tensor:
    """Indices of ``n`` scenes out of ``pool_size``: draw number ``draw`` (0..49) for ``purpose``.

    Test draws use the generator seed 100 n + draw, validation draws 100 n + 50 + draw, so a setting
    chosen on validation draws was never chosen on the labelled sets it is measured with."""
    number("pool_size", pool_size, low=1, integer=True)
    number("n", n, low=1, high=pool_size, integer=True)
    number("draw", draw, low=0, high=49, integer=True)
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, got {purpose!r}")
    seed = 100 * n + draw + (50 if purpose == "validation" else 0)
    return torch.randperm(pool_size, generator=torch.Generator().manual_seed(seed))[:n]


def flip_rotate(images: Tensor, labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """One random 90-degree rotation and a random horizontal flip, the same for images and labels."""
    if images.ndim != 4 or labels.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(f"images must be [B, C, H, W] and labels [B, H, W] to match, got "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}")
    k = int(torch.randint(4, (1,), generator=generator))
    images, labels = images.rot90(k, (-2, -1)), labels.rot90(k, (-2, -1))
    if torch.rand(1, generator=generator) < 0.5:
        images, labels = images.flip(-1), labels.flip(-1)
    return images, labels


def train_scratch_unet(images: Tensor, labels: Tensor, num_classes: int, *, steps: int, lr: float = 3e-3,
                       seed: int = 0, batch_size: int = 8, device=None, desc: str | None = None) -> UNet:
    """The course U-Net (16 ... 128 channels) trained on the labelled ``images`` [N, 3, H, W] and ``labels``
    [N, H, W] only: batches of ``batch_size`` scenes drawn with replacement, :func:`flip_rotate`, cross
    entropy, ``steps`` AdamW steps (warm-up and cosine decay, ``train.fit``). Returned in eval mode."""
    if images.ndim != 4 or labels.shape != (images.shape[0], *images.shape[2:]) or len(images) == 0:
        raise ValueError(f"images must be [N, 3, H, W] and labels [N, H, W] to match, got "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}")
    number("steps", steps, low=1, integer=True)
    number("batch_size", batch_size, low=1, integer=True)
    number("seed", seed, low=0, integer=True)
    torch.manual_seed(seed)
    net = UNet(num_classes, widths=(16, 32, 64, 128))
    g = torch.Generator().manual_seed(seed)

    def batches():
        while True:
            chosen = torch.randint(len(images), (batch_size,), generator=g)
            yield flip_rotate(images[chosen], labels[chosen], g)

    fit(net, steps, batches(), lambda m, b: {"ce": F.cross_entropy(m(b[0].to(device)), b[1].to(device))},
        lr=lr, device=device, desc=desc or f"U-Net с нуля, N = {len(images)}")
    return net.eval()


def block_step_scores(model, schedule, train_images: Tensor, train_labels: Tensor, val_images: Tensor,
                      val_labels: Tensor, steps: tuple[int, ...], num_classes: int, epochs: int = 3,
                      progress: bool = True) -> np.ndarray:
    """``[len(model.decoder), len(steps)]``: validation mIoU of a one-member pixel classifier trained on
    the features of one (decoder block, step) pair only. The images go to the model's device."""
    from tqdm.auto import tqdm

    from .diffusion import extract_features

    number("epochs", epochs, low=1, integer=True)
    if not steps:
        raise ValueError("steps must list at least one diffusion step")
    for name, (images, labels) in (("train", (train_images, train_labels)), ("val", (val_images, val_labels))):
        if images.ndim != 4 or labels.shape != (images.shape[0], *images.shape[2:]):
            raise ValueError(f"{name}_images must be [N, 3, H, W] and {name}_labels [N, H, W] to match, got "
                             f"{tuple(images.shape)} and {tuple(labels.shape)}")
    device = next(model.parameters()).device
    edges = np.cumsum([0, *model.decoder_widths])  # where each block's channels start in the concatenation
    blocks = tuple(range(len(model.decoder)))
    scores = np.zeros((len(blocks), len(steps)))
    for j, t in enumerate(tqdm(steps, desc="карта (блок, t)", disable=not progress)):
        train_f = extract_features(model, schedule, train_images.to(device), (t,), blocks).cpu()
        val_f = torch.cat([extract_features(model, schedule, val_images[i:i + 50].to(device), (t,), blocks).cpu()
                           for i in range(0, len(val_images), 50)])
        for b in blocks:
            part = slice(edges[b], edges[b + 1])
            ens = train_pixel_ensemble(train_f[:, part], train_labels, num_classes, members=1, epochs=epochs, seed=b)
            scores[b, j] = mean_iou(confusion_matrix(ens(val_f[:, part])[0], val_labels, num_classes))
    return scores


def choose_features(scores: np.ndarray, steps: tuple[int, ...], n_blocks: int = 2, n_steps: int = 3):
    """The ``n_blocks`` best blocks (by their best step) and the ``n_steps`` steps best on average over
    those blocks, from :func:`block_step_scores`; both sorted."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] != len(steps):
        raise ValueError(f"scores must be [blocks, len(steps)] = [*, {len(steps)}], got shape {scores.shape}")
    number("n_blocks", n_blocks, low=1, high=scores.shape[0], integer=True)
    number("n_steps", n_steps, low=1, high=scores.shape[1], integer=True)
    blocks = tuple(sorted(int(b) for b in np.argsort(-scores.max(1))[:n_blocks]))
    chosen = tuple(sorted(steps[int(j)] for j in np.argsort(-scores[list(blocks)].mean(0))[:n_steps]))
    return blocks, chosen
