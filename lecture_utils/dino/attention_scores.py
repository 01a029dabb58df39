"""How well a [CLS] attention map finds the object, beyond the paper's single number.

The DINO paper scores a head by the Jaccard index of its 60 %-mass mask with the object. On an 8 x 8
patch grid with objects covering about a fifth of the image that number cannot tell "looks at nothing
in particular" (uniform attention already scores about 0.16) from "stares at one point of the object"
or "looks at everything *but* the object". The measures here separate those cases:

* :func:`mass_on_object` - the share of the map's mass on object pixels (uniform attention: the
  object's pixel share);
* :func:`auroc_per_image` - attention as a per-patch "object" score (0.5: no information; near 0: the
  head looks at the background, its complement is the object);
* :func:`top_k_mask` and :func:`choose_rank_mask` - keep the k highest (or, for a background head,
  lowest) patches, with the head, the direction and k chosen on validation scenes only;
* :func:`uniform_jaccard` - the chance level of the 60 %-mass protocol.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor

from ..checks import number
from .attention_maps import attention_mass_mask, jaccard

__all__ = ["patch_share", "upsample_patches", "mass_on_object", "mask_precision", "auroc_per_image", "top_k_mask",
           "rank_mask_jaccard", "rank_mask_jaccard_by_k", "choose_rank_mask", "uniform_jaccard", "OBJECT_PATCH"]

#: a patch counts as "object" for AUROC when more than half of its pixels are object
OBJECT_PATCH = 0.5


def _maps(attention: Tensor, name: str = "attention") -> None:
    if not isinstance(attention, Tensor) or attention.ndim != 4:
        raise ValueError(f"{name} must be a [B, heads, h, w] tensor, got "
                         f"{tuple(attention.shape) if isinstance(attention, Tensor) else type(attention).__name__}")


def _foreground(foreground: Tensor, patch: int) -> None:
    if not isinstance(foreground, Tensor) or foreground.ndim != 3:
        raise ValueError("foreground must be a [B, H, W] mask")
    if not isinstance(patch, int) or isinstance(patch, bool) or patch < 1 \
            or foreground.shape[-1] % patch or foreground.shape[-2] % patch:
        raise ValueError(f"patch must be a positive int dividing the mask's size {tuple(foreground.shape[-2:])}, "
                         f"got {patch!r}")


def patch_share(foreground: Tensor, patch: int) -> Tensor:
    """``[B, h, w]``: the fraction of each ``patch x patch`` patch covered by the object."""
    _foreground(foreground, patch)
    return torch.nn.functional.avg_pool2d(foreground[:, None].float(), patch)[:, 0]


def upsample_patches(maps: Tensor, patch: int) -> Tensor:
    """Patch maps ``[..., h, w]`` to pixel maps: each patch becomes a ``patch x patch`` block."""
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ValueError(f"patch must be a positive int, got {patch!r}")
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError("maps must be a [..., h, w] tensor")
    return maps.repeat_interleave(patch, dim=-2).repeat_interleave(patch, dim=-1)


def mass_on_object(attention: Tensor, share: Tensor) -> Tensor:
    """``[B, heads]``: the share of each map's mass that falls on object pixels.

    Each patch counts with the fraction of it that is object, so uniform attention scores exactly
    the object's pixel share: the ratio to that share is "how many times chance"."""
    _maps(attention)
    if share.shape != (attention.shape[0], *attention.shape[-2:]):
        raise ValueError(f"share must be [B, h, w] = {(attention.shape[0], *attention.shape[-2:])}, "
                         f"got {tuple(share.shape)}")
    weights = attention / attention.sum(dim=(-2, -1), keepdim=True)
    return (weights * share[:, None]).sum(dim=(-2, -1))


def mask_precision(mask: Tensor, share: Tensor) -> Tensor:
    """``[B, heads]``: the object share of the patches a mask keeps (1 = only object patches)."""
    _maps(mask, "mask")
    return (mask * share[:, None]).sum(dim=(-2, -1)) / mask.sum(dim=(-2, -1)).clamp_min(1)


def auroc_per_image(scores: Tensor, share: Tensor) -> Tensor:
    """``[B, heads]`` AUROC of each map as a score for "this patch is object" (mostly-object patches
    are the positives), per image; NaN for an image without object or without background patches.

    The rank form of the Mann-Whitney statistic with average ranks for ties, the same number as
    ``sklearn.metrics.roc_auc_score`` (notebook 07 checks it against sklearn)."""
    _maps(scores, "scores")
    # ranked on the CPU in float64 (scipy; MPS has no float64), returned on the scores' device
    labels = (share.detach().cpu() > OBJECT_PATCH).flatten(1)  # [B, n]
    flat = scores.detach().cpu().flatten(2).double().numpy()  # [B, heads, n]
    ranks = torch.from_numpy(rankdata(flat, axis=-1))  # average ranks, 1..n
    pos = labels.sum(1).double()[:, None]  # [B, 1]
    neg = labels.shape[1] - pos
    rank_sum = (ranks * labels[:, None].double()).sum(-1)  # [B, heads]
    auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
    auc = torch.where((pos > 0) & (neg > 0), auc, torch.full_like(auc, float("nan"))).float()
    return auc.to(scores.device)


def top_k_mask(scores: Tensor, k: int) -> Tensor:
    """Keep the ``k`` highest-scoring patches of every map (``[..., h, w]`` -> bool, same shape).

    Unlike the mass threshold this does not care how peaked the map is, only how it *ranks* the
    patches; pass ``-attention`` to keep the k patches a head looks at least."""
    n = scores.shape[-1] * scores.shape[-2]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise ValueError(f"k must be an int in 1..{n}, got {k!r}")
    flat = scores.flatten(-2)
    keep = torch.zeros_like(flat, dtype=torch.bool).scatter(-1, flat.topk(k, dim=-1).indices, True)
    return keep.reshape(scores.shape)


def rank_mask_jaccard(attention: Tensor, foreground: Tensor, patch: int, direction: str, k: int) -> Tensor:
    """``[B, heads]`` Jaccard of the k-patch mask (``direction`` "attention": the k most attended
    patches; "complement": the k least attended) with the object's pixels."""
    _maps(attention)
    _foreground(foreground, patch)
    if direction not in ("attention", "complement"):
        raise ValueError(f"direction must be 'attention' or 'complement', got {direction!r}")
    mask = upsample_patches(top_k_mask(attention if direction == "attention" else -attention, k), patch)
    return jaccard(mask, foreground[:, None].expand_as(mask))


def rank_mask_jaccard_by_k(attention: Tensor, foreground: Tensor, patch: int, direction: str) -> Tensor:
    """``[n, B, heads]``: :func:`rank_mask_jaccard` for every k = 1..n at once (n = patches per map).

    A k-patch mask's pixel intersection with the object is the object share of its k patches, so
    one sort and a cumulative sum give every k (ties are broken as ``sort`` breaks them)."""
    _maps(attention)
    _foreground(foreground, patch)
    if direction not in ("attention", "complement"):
        raise ValueError(f"direction must be 'attention' or 'complement', got {direction!r}")
    share = patch_share(foreground, patch).flatten(1)  # [B, n]
    scores = (attention if direction == "attention" else -attention).flatten(2)  # [B, heads, n]
    order = scores.argsort(dim=-1, descending=True, stable=True)
    inter = share[:, None].expand_as(scores).gather(-1, order).cumsum(-1)  # [B, heads, n], in patches
    k = torch.arange(1, scores.shape[-1] + 1, dtype=inter.dtype, device=inter.device)
    area = share.sum(1)[:, None, None]
    return (inter / (k + area - inter)).permute(2, 0, 1)


def choose_rank_mask(attention: Tensor, foreground: Tensor, patch: int, ks=None) -> dict:
    """The head, direction and k whose k-patch mask has the best mean Jaccard on these scenes.

    ``ks`` defaults to every k up to 60 % of the patches (1..39 on an 8 x 8 grid), the share the
    paper's mass threshold keeps. Call it on validation scenes, then score the choice on test scenes
    with :func:`rank_mask_jaccard`: choosing on the scenes you report would flatter the number."""
    _maps(attention)
    n = attention.shape[-1] * attention.shape[-2]
    ks = list(range(1, math.ceil(0.6 * n) + 1) if ks is None else ks)
    if not ks:
        raise ValueError("ks must hold at least one k")
    if any(isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n for k in ks):
        raise ValueError(f"ks must be ints in 1..{n}, got {ks!r}")
    best = None
    for direction in ("attention", "complement"):
        table = rank_mask_jaccard_by_k(attention, foreground, patch, direction).mean(1)  # [n, heads]
        for k in ks:
            head = int(table[k - 1].argmax())
            if best is None or table[k - 1, head] > best["jaccard"]:
                best = {"direction": direction, "head": head, "k": int(k), "jaccard": float(table[k - 1, head])}
    return best


def uniform_jaccard(foreground: Tensor, patch: int, mass: float = 0.6, draws: int = 20, seed: int = 0) -> float:
    """The 60 %-mass protocol's chance level: the expected Jaccard of uniform attention, whose mask
    is a random ``mass`` share of the patches (ties broken at random, ``draws`` times)."""
    _foreground(foreground, patch)
    number("mass", mass, low=0, low_open=True, high=1)
    g = torch.Generator().manual_seed(seed)
    h, w = foreground.shape[-2] // patch, foreground.shape[-1] // patch
    values = []
    for _ in range(draws):
        almost_flat = (1 + 1e-6 * torch.rand(len(foreground), h, w, generator=g)).to(foreground.device)
        mask = upsample_patches(attention_mass_mask(almost_flat, mass), patch)
        values.append(jaccard(mask, foreground).mean())
    return float(np.mean([v.item() for v in values]))
