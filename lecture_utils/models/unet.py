"""U-Net (Ronneberger et al., 2015) and LinkNet (Chaurasia & Culurciello, 2017), sized for a CPU.

Both are encoder-decoders whose decoder gets the encoder's features at every resolution:
U-Net *concatenates* them (and then needs convolutions to mix twice the channels), LinkNet *adds*
them (and keeps its decoder thin). Inputs are images in [0, 1], centred inside.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..checks import number
from ..checks import widths as check_widths

__all__ = ["UNET_WIDTHS", "NORMS", "double_conv", "UNet", "BasicBlock", "LinkNetDecoderBlock", "LinkNet"]

#: the original's widths are 64, 128, 256, 512, 1024; ours are 8 times narrower for a laptop CPU
UNET_WIDTHS = (8, 16, 32, 64, 128)


NORMS = ("batch", "group", "none")


def double_conv(c_in: int, c_out: int, norm: str = "batch") -> nn.Sequential:
    """Two 3x3 conv-norm-ReLU layers. Padding 1 keeps the size (the original used *valid*
    convolutions, which shrink every map by 2 pixels per conv, hence its crop-and-copy).

    ``norm``: "batch" (BatchNorm, for classification-like outputs), "group" (GroupNorm with 8
    groups: per-sample statistics, for diffusion models) or "none" (plain conv-ReLU)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    number("c_in", c_in, low=1, integer=True)
    number("c_out", c_out, low=1, integer=True)

    def conv(i, o):
        if norm == "none":
            return [nn.Conv2d(i, o, 3, padding=1), nn.ReLU(inplace=True)]
        layer = nn.BatchNorm2d(o) if norm == "batch" else nn.GroupNorm(min(8, o), o)
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), layer, nn.ReLU(inplace=True)]

    return nn.Sequential(*conv(c_in, c_out), *conv(c_out, c_out))


class UNet(nn.Module):
    """Contracting path (double conv, 2x2 max-pool) and expanding path (2x2 transposed conv that
    halves the channels, concatenation with the same-size encoder map, double conv).

    ``norm="none"`` drops BatchNorm, for regression where the output's scale matters
    (notebook 06: batch statistics make each prediction depend on the rest of the batch).

    ``skips=False`` concatenates zeros instead of the encoder maps: the same layers and parameter
    count, but the decoder sees only the bottleneck (notebook 05's ablation of the skips)."""

    def __init__(self, num_classes: int, widths=UNET_WIDTHS, in_channels: int = 3, norm: str = "batch",
                 skips: bool = True):
        super().__init__()
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        self.skips = skips
        number("num_classes", num_classes, low=1, integer=True)
        number("in_channels", in_channels, low=1, integer=True)
        check_widths("widths", widths, min_len=2)  # one level would have nothing to skip
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths:
            self.down.append(double_conv(c, w, norm))
            c = w
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(len(widths) - 1)))
        self.up_conv = nn.ModuleList(double_conv(2 * widths[i], widths[i], norm) for i in reversed(range(len(widths) - 1)))
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)
        self.depth = len(widths) - 1

    def forward(self, x: Tensor, return_skips: bool = False):
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.down[0][0].in_channels:
            raise ValueError(f"x must be [N, {self.down[0][0].in_channels}, H, W], got {getattr(x, 'shape', type(x))}")
        if x.shape[-1] % 2 ** self.depth or x.shape[-2] % 2 ** self.depth:
            raise ValueError(f"x: height and width must be multiples of {2 ** self.depth}, got {tuple(x.shape[-2:])}")
        x = (x - 0.5) / 0.25
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = self.pool(x)
        decoded = []
        for up, conv, skip in zip(self.up, self.up_conv, reversed(skips), strict=True):
            x = up(x)
            # "copy" the encoder map next to the upsampled one (zeros of its shape in the ablation)
            x = conv(torch.cat([skip if self.skips else torch.zeros_like(skip), x], dim=1))
            decoded.append(x)
        out = self.classifier(x)
        return (out, skips, decoded) if return_skips else out


class BasicBlock(nn.Module):
    """ResNet-18's block: two 3x3 convs and an identity (or 1x1, when the shape changes) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        number("c_in", c_in, low=1, integer=True)
        number("c_out", c_out, low=1, integer=True)
        number("stride", stride, low=1, integer=True)
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class LinkNetDecoderBlock(nn.Module):
    """LinkNet's decoder block: 1x1 conv (m -> m/4), 3x3 transposed conv with stride 2, 1x1 conv (m/4 -> n)."""

    def __init__(self, m: int, n: int):
        super().__init__()
        number("m", m, low=4, integer=True)  # the block squeezes m to m / 4 channels
        number("n", n, low=1, integer=True)

        def cbr(layer, c):
            return nn.Sequential(layer, nn.BatchNorm2d(c), nn.ReLU(inplace=True))

        q = max(m // 4, 1)
        self.block = nn.Sequential(
            cbr(nn.Conv2d(m, q, 1, bias=False), q),
            cbr(nn.ConvTranspose2d(q, q, 3, stride=2, padding=1, output_padding=1, bias=False), q),
            cbr(nn.Conv2d(q, n, 1, bias=False), n),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x)


class LinkNet(nn.Module):
    """LinkNet: a ResNet-18-style encoder (stem 7x7/2 + max-pool, four stages of two BasicBlocks)
    and a decoder of ``LinkNetDecoderBlock``s whose outputs are *added* to the encoder maps.

    ``stem_stride=4`` is the paper's stem. ``stem_stride=2`` drops its max-pool, so the first stage
    sees the image at half rather than quarter resolution: our objects are 10-30 px wide, and a
    quarter-resolution start blurs their corners. The decoder then ends at full resolution.
    """

    # ResNet-18's widths (64, 128, 256, 512) halved. With the paper's stride-4 stem a 4x narrower
    # LinkNet (16 ... 128) got stuck in our runs, predicting only background; this one trains.
    def __init__(self, num_classes: int, widths=(32, 64, 128, 256), in_channels: int = 3, stem_stride: int = 4):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        number("in_channels", in_channels, low=1, integer=True)
        check_widths("widths", widths, min_len=2)
        if stem_stride not in (2, 4):
            raise ValueError(f"stem_stride must be 2 or 4, got {stem_stride}")
        w = widths
        pool = nn.MaxPool2d(3, stride=2, padding=1) if stem_stride == 4 else nn.Identity()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w[0], 7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(w[0]), nn.ReLU(inplace=True), pool)
        chans = (w[0], *w)
        self.encoder = nn.ModuleList(
            nn.Sequential(BasicBlock(chans[i], chans[i + 1], stride=1 if i == 0 else 2),
                          BasicBlock(chans[i + 1], chans[i + 1]))
            for i in range(len(w)))
        self.decoder = nn.ModuleList(LinkNetDecoderBlock(w[i], w[i - 1] if i > 0 else w[0])
                                     for i in reversed(range(len(w))))
        # The paper's encoder halves the resolution in every block and its final block upsamples
        # twice; ResNet-18's first stage keeps the resolution, so one x2 upsampling is enough here.
        half = max(w[0] // 2, 1)
        head = (nn.ConvTranspose2d(half, num_classes, 2, stride=2) if stem_stride == 4
                else nn.Conv2d(half, num_classes, 1))
        self.final = nn.Sequential(
            nn.Conv2d(w[0], half, 3, padding=1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True), head)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"input height and width must be multiples of 32, got {tuple(x.shape[-2:])}")
        x = self.stem((x - 0.5) / 0.25)
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        for i, block in enumerate(self.decoder):
            x = block(x)
            j = len(skips) - 2 - i
            if j >= 0:
                x = x + skips[j]  # LinkNet adds the encoder map instead of concatenating it
        return self.final(x)
