"""Per-pixel classifiers on frozen features (Baranchuk et al., 2021), notebook 08.

Every pixel of the few labelled images is one training example: its feature vector (all
channels at that pixel) and its class. An ensemble of small MLPs is trained on them; at test time
the members vote, and the disagreement of the votes is the uncertainty map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import number
from .coordinates import pixel_coordinates  # re-exported: notebook 08's import path

__all__ = ["PixelMLP", "PixelEnsemble", "train_pixel_ensemble", "pixel_coordinates", "rgb_xy_features"]


class PixelMLP(nn.Module):
    """Linear-ReLU-BatchNorm twice (128 and 32 units), then a linear layer to the classes: the head of the
    official code (and of DatasetGAN before it) for a small number of classes."""

    def __init__(self, in_dim: int, num_classes: int, hidden: tuple[int, int] = (128, 32)):
        super().__init__()
        number("in_dim", in_dim, low=1, integer=True)
        number("num_classes", num_classes, low=2, integer=True)
        if len(hidden) != 2:
            raise ValueError(f"hidden must be two widths, got {hidden!r}")
        for k, h in enumerate(hidden):
            number(f"hidden[{k}]", h, low=1, integer=True)
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden[0]), nn.ReLU(), nn.BatchNorm1d(hidden[0]),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU(), nn.BatchNorm1d(hidden[1]),
            nn.Linear(hidden[1], num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PixelEnsemble(nn.Module):
    """Feature standardisation (statistics of the labelled pixels) and the MLP members."""

    def __init__(self, members: list[PixelMLP], mean: Tensor, std: Tensor):
        super().__init__()
        if not members or not all(isinstance(m, PixelMLP) for m in members):
            raise ValueError("members must be a non-empty list of PixelMLP")
        if mean.shape != std.shape or mean.ndim != 1:
            raise ValueError(f"mean and std must be [C] feature statistics, got {tuple(mean.shape)}, {tuple(std.shape)}")
        self.members = nn.ModuleList(members)
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    @torch.no_grad()
    def forward(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """``[B, C, H, W]`` features -> (majority-vote classes ``[B, H, W]``, vote entropy ``[B, H, W]``)."""
        self.eval()
        if features.ndim != 4 or features.shape[1] != self.mean.shape[0]:
            raise ValueError(f"features must be [B, {self.mean.shape[0]}, H, W], got {tuple(features.shape)}")
        b, c, h, w = features.shape
        x = (features.permute(0, 2, 3, 1).reshape(-1, c) - self.mean) / self.std
        votes = torch.stack([m(x).argmax(1) for m in self.members])  # [M, P]
        k = self.members[0].net[-1].out_features
        counts = F.one_hot(votes, k).sum(0).float()  # [P, K]
        share = counts / len(self.members)
        entropy = -(share * share.clamp_min(1e-12).log()).sum(1)
        return counts.argmax(1).reshape(b, h, w), entropy.reshape(b, h, w)

    @torch.no_grad()
    def disagreement(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """The uncertainty of the official code (``predict_labels`` in yandex-research/ddpm-segmentation):
        the entropy of the members' mean softmax minus the mean of the members' own entropies (a
        Jensen-Shannon divergence: zero when all members predict the same distribution, whatever its
        entropy). Returns the map ``[B, H, W]`` and each image's score ``[B]``, the mean of its top 10 %."""
        self.eval()
        if features.ndim != 4 or features.shape[1] != self.mean.shape[0]:
            raise ValueError(f"features must be [B, {self.mean.shape[0]}, H, W], got {tuple(features.shape)}")
        b, c, h, w = features.shape
        x = (features.permute(0, 2, 3, 1).reshape(-1, c) - self.mean) / self.std
        probs = torch.stack([m(x).softmax(1) for m in self.members])  # [M, P, K]

        def entropy(p):
            return -(p * p.clamp_min(1e-12).log()).sum(-1)

        js = (entropy(probs.mean(0)) - entropy(probs).mean(0)).clamp_min(0).reshape(b, h * w)
        top = max(1, (h * w) // 10)
        return js.reshape(b, h, w), js.topk(top, dim=1).values.mean(1)


def train_pixel_ensemble(features: Tensor, labels: Tensor, num_classes: int, *, members: int = 5,
                         epochs: int = 4, batch_size: int = 512, lr: float = 1e-3, seed: int = 0,
                         hidden: tuple[int, int] = (128, 32)) -> PixelEnsemble:
    """Train ``members`` MLPs (different initialisations and pixel orders) on labelled pixels.

    ``features``: ``[N, C, H, W]`` of the labelled images; ``labels``: ``[N, H, W]`` class ids.
    The ensemble is trained and returned on ``features``' device. Member ``k`` is initialised
    and shuffled from the seed ``seed * 1000 + k`` inside a fork of the global generator, so the
    caller's random state is left as it was.
    """
    if features.ndim != 4 or labels.shape != (features.shape[0], *features.shape[2:]):
        raise ValueError(f"features must be [N, C, H, W] and labels [N, H, W] to match, got "
                         f"{tuple(features.shape)} and {tuple(labels.shape)}")
    for name, value in (("members", members), ("epochs", epochs), ("batch_size", batch_size)):
        number(name, value, low=1, integer=True)
    number("lr", lr, low=0, low_open=True)
    if labels.is_floating_point():
        raise TypeError(f"labels must hold integer class ids, got {labels.dtype}")
    if not features.is_floating_point() or not torch.isfinite(features).all():
        raise ValueError("features must be finite floating-point values")
    c = features.shape[1]
    x = features.permute(0, 2, 3, 1).reshape(-1, c)
    y = labels.reshape(-1).long().to(features.device)
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes - 1}]")
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    nets = []
    for k in range(members):
        g = torch.Generator().manual_seed(seed * 1000 + k)
        with torch.random.fork_rng(devices=[]):  # the initialisation draws from the global generator
            torch.manual_seed(seed * 1000 + k)
            net = PixelMLP(c, num_classes, hidden).to(features.device)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        net.train()
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=g).to(x.device)
            for i in range(0, len(x) - 1, batch_size):
                idx = order[i:i + batch_size]
                if len(idx) < 2:  # BatchNorm needs two samples
                    continue
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        nets.append(net.eval())
    return PixelEnsemble(nets, mean, std)


def rgb_xy_features(images: Tensor) -> Tensor:
    """The weakest baseline's features: a pixel's colour and position, ``[B, 5, H, W]``."""
    if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be [B, 3, H, W], got {getattr(images, 'shape', type(images))}")
    return torch.cat([images, pixel_coordinates(images)], dim=1)
