"""A tiny Vision Transformer and the DINO projection head, in one readable module.

Modelled on DINO's ``vision_transformer.py``: a [CLS] token, learned positional embeddings that
are interpolated when a crop has a different number of patches, pre-norm blocks, and an attention
layer that hands back its attention matrix for visualisation (no hooks needed).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import number

__all__ = ["Attention", "Block", "TinyViT", "DINOHead", "from_official_dino", "to_official_dino"]

#: input normalisation of the course's ViTs, and of DINO's released ones (ImageNet statistics)
COURSE_NORM = ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
IMAGENET_NORM = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


class Attention(nn.Module):
    """Multi-head self-attention; ``forward`` returns ``(output, attention)``.

    ``attention`` is ``[B, heads, T, T]``; every row is a softmax, so it sums to 1.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        number("dim", dim, low=1, integer=True)
        number("heads", heads, low=1, integer=True)
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b, t, d = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attention = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)
        out = (attention @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(out), attention


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-5):
        super().__init__()
        number("mlp_ratio", mlp_ratio, low=0, low_open=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor, return_attention: bool = False):
        y, attention = self.attn(self.norm1(x))
        if return_attention:
            return attention
        x = x + y
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """ViT for small images. ``forward`` returns the [CLS] feature ``[B, dim]``.

    Images are in [0, 1] and normalised inside by ``norm`` (mean, std). ``img_size`` fixes the learned positional grid;
    other sizes (multiple of ``patch_size``) get an interpolated copy of it, as DINO does for its
    local crops. ``forward_tokens`` returns [CLS] and the patch tokens (``[B, 1 + N, dim]``) and
    accepts a boolean ``mask`` ``[B, N]`` that replaces those patch embeddings by a learned mask token
    (iBOT). ``registers`` adds that many learned tokens without a position (Darcet et al., 2024,
    "Vision Transformers Need Registers"): scratch space for global information, which a ViT otherwise
    writes into uninformative background patches. They sit between [CLS] and the patches in the
    attention matrix and are dropped from ``forward_tokens``' output.
    """

    def __init__(self, img_size: int = 64, patch_size: int = 8, dim: int = 128, depth: int = 4,
                 heads: int = 4, mlp_ratio: float = 4.0, norm=COURSE_NORM, eps: float = 1e-5,
                 registers: int = 0):
        super().__init__()
        for name, value in (("img_size", img_size), ("patch_size", patch_size), ("dim", dim), ("depth", depth),
                            ("heads", heads)):
            number(name, value, low=1, integer=True)
        number("registers", registers, low=0, integer=True)
        if img_size % patch_size:
            raise ValueError(f"patch_size ({patch_size}) must divide img_size ({img_size})")
        self.img_size, self.patch_size, self.dim = img_size, patch_size, dim
        self.grid = img_size // patch_size
        self.num_registers = registers
        self.patch_embed = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid ** 2, dim))
        if registers:
            self.registers = nn.Parameter(torch.zeros(1, registers, dim))
            nn.init.trunc_normal_(self.registers, std=0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, eps) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=eps)
        # not part of the weights: a checkpoint stays loadable whatever the normalisation
        self.register_buffer("mean", torch.tensor(norm[0]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm[1]).view(1, 3, 1, 1), persistent=False)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def interpolate_pos_embed(self, h: int, w: int) -> Tensor:
        """Positional embeddings for an ``h x w`` patch grid (bicubic resize of the learned grid)."""
        if (h, w) == (self.grid, self.grid):
            return self.pos_embed
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        patch_pos = patch_pos.reshape(1, self.grid, self.grid, self.dim).permute(0, 3, 1, 2)
        patch_pos = F.interpolate(patch_pos, size=(h, w), mode="bicubic", align_corners=False)
        return torch.cat([cls_pos, patch_pos.flatten(2).transpose(1, 2)], dim=1)

    def prepare_tokens(self, images: Tensor, mask: Tensor | None = None) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
        h, w = images.shape[-2] // self.patch_size, images.shape[-1] // self.patch_size
        if h * self.patch_size != images.shape[-2] or w * self.patch_size != images.shape[-1]:
            raise ValueError(f"images: side must be a multiple of patch_size={self.patch_size}, "
                             f"got {tuple(images.shape[-2:])}")
        x = self.patch_embed((images - self.mean) / self.std).flatten(2).transpose(1, 2)  # [B, N, dim]
        if mask is not None:
            if mask.shape != x.shape[:2]:
                raise ValueError(f"mask must have shape {tuple(x.shape[:2])}, got {tuple(mask.shape)}")
            x = torch.where(mask[..., None], self.mask_token.to(x.dtype), x)
        x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1) + self.interpolate_pos_embed(h, w)
        if self.num_registers:
            x = torch.cat([x[:, :1], self.registers.expand(len(x), -1, -1), x[:, 1:]], dim=1)
        return x

    def forward_tokens(self, images: Tensor, mask: Tensor | None = None) -> Tensor:
        x = self.prepare_tokens(images, mask)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return torch.cat([x[:, :1], x[:, 1 + self.num_registers:]], dim=1) if self.num_registers else x

    def forward(self, images: Tensor) -> Tensor:
        return self.forward_tokens(images)[:, 0]

    def get_selfattention(self, images: Tensor, block: int = -1) -> Tensor:
        """Attention of block ``block`` (default: the last), ``[B, heads, T, T]`` with
        ``T = 1 + registers + N``."""
        index = range(len(self.blocks))[block]  # IndexError names a block that does not exist
        x = self.prepare_tokens(images)
        for layer in self.blocks[:index]:
            x = layer(x)
        return self.blocks[index](x, return_attention=True)

    def get_last_selfattention(self, images: Tensor) -> Tensor:
        """Attention of the last block (the name DINO's code uses)."""
        return self.get_selfattention(images, -1)


class DINOHead(nn.Module):
    """MLP -> L2-normalised bottleneck -> weight-normalised linear layer to ``out_dim`` logits.

    The last layer's rows are divided by their norm (weight normalisation with the gain fixed
    at 1, as in DINO), so a logit is a cosine similarity to a learned prototype. ``use_bn`` puts
    BatchNorm in the MLP: DINO's default for ViTs is without; at this toy scale it is what keeps
    training from collapsing (notebook 07 shows both).
    """

    def __init__(self, in_dim: int, out_dim: int = 1024, hidden_dim: int = 256,
                 bottleneck_dim: int = 64, use_bn: bool = True):
        super().__init__()
        for name, value in (("in_dim", in_dim), ("out_dim", out_dim), ("hidden_dim", hidden_dim),
                            ("bottleneck_dim", bottleneck_dim)):
            number(name, value, low=1, integer=True)
        layers, d = [], in_dim
        for _ in range(2):
            layers += [nn.Linear(d, hidden_dim)] + ([nn.BatchNorm1d(hidden_dim)] if use_bn else []) + [nn.GELU()]
            d = hidden_dim
        layers.append(nn.Linear(d, bottleneck_dim))
        self.mlp = nn.Sequential(*layers)
        self.prototypes = nn.Parameter(torch.empty(out_dim, bottleneck_dim))
        nn.init.trunc_normal_(self.prototypes, std=1 / math.sqrt(bottleneck_dim))
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, features: Tensor) -> Tensor:
        z = F.normalize(self.mlp(features), dim=-1)
        return z @ F.normalize(self.prototypes, dim=-1).T


# --- DINO's released checkpoints use timm-style names; these map them to ours and back -------------

def _renames(depth: int) -> dict[str, str]:
    names = {"patch_embed.proj.weight": "patch_embed.weight", "patch_embed.proj.bias": "patch_embed.bias"}
    for i in range(depth):
        for layer, ours in (("fc1", "0"), ("fc2", "2")):
            for kind in ("weight", "bias"):
                names[f"blocks.{i}.mlp.{layer}.{kind}"] = f"blocks.{i}.mlp.{ours}.{kind}"
    return names


def from_official_dino(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A state dict of DINO's ``vision_transformer.py`` (e.g. ``dino_deitsmall8_pretrain.pth``) as
    :class:`TinyViT` names it. The mask token (iBOT's, not in DINO) is set to zeros."""
    if not isinstance(state, dict) or "cls_token" not in state or not any(k.startswith("blocks.") for k in state):
        raise ValueError("state must be a DINO ViT state dict (with cls_token and blocks.*), got "
                         f"{sorted(state)[:4] if isinstance(state, dict) else type(state).__name__}")
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    names = _renames(depth)
    out = {names.get(k, k): v for k, v in state.items() if not k.startswith("head.")}
    out.setdefault("mask_token", torch.zeros_like(out["cls_token"]))
    return out


def to_official_dino(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The inverse of :func:`from_official_dino` (used to test the loading path on our own weights)."""
    if not isinstance(state, dict) or not any(k.startswith("blocks.") for k in state):
        raise ValueError("state must be a TinyViT state dict (with blocks.*)")
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    back = {v: k for k, v in _renames(depth).items()}
    return {back.get(k, k): v for k, v in state.items() if k != "mask_token"}
