"""Semantic segmentation networks of notebook 04: full resolution, encoder-decoder, FCN.

All three map an image ``[N, 3, H, W]`` to per-pixel class logits ``[N, K, H, W]``. They share
one encoder (five conv stages, each halving the resolution: stride 32) so that the only
difference between ``EncoderDecoder`` and ``FCN`` is how the decoder gets back to full resolution.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..checks import number
from ..checks import widths as check_widths
from .backbones import conv_bn_relu

__all__ = ["ENCODER_WIDTHS", "FullResolutionNet", "Encoder", "EncoderDecoder", "FCN", "bilinear_kernel"]

ENCODER_WIDTHS = (16, 32, 64, 96, 128)


def _check_input(x: Tensor, multiple: int = 1) -> None:
    """RGB ``[N, 3, H, W]`` with sides divisible by the net's total stride (else the decoder's or
    the skips' maps no longer line up with the encoder's, and the error comes from deep inside)."""
    if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be RGB images [N, 3, H, W], got {getattr(x, 'shape', type(x))}")
    if x.shape[-1] % multiple or x.shape[-2] % multiple:
        raise ValueError(f"x: height and width must be multiples of {multiple}, got {tuple(x.shape[-2:])}")


class FullResolutionNet(nn.Module):
    """The naive fully convolutional net: a stack of 3x3 conv layers, all at the input's resolution.

    The default widths are those of ``EncoderDecoder``'s ten layers, so that the two nets differ
    only in where they compute: at full resolution, or mostly at 1/2 ... 1/32 of it.
    """

    def __init__(self, num_classes: int, widths=(*ENCODER_WIDTHS, *ENCODER_WIDTHS[-2::-1], ENCODER_WIDTHS[0])):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        check_widths("widths", widths)
        chans = (3, *widths)
        self.features = nn.Sequential(*[conv_bn_relu(chans[i], chans[i + 1]) for i in range(len(widths))])
        self.classifier = nn.Conv2d(widths[-1], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x)
        return self.classifier(self.features((x - 0.5) / 0.25))


class Encoder(nn.Module):
    """Five conv + max-pool stages; returns the features after each pooling (strides 2..32)."""

    def __init__(self, widths=ENCODER_WIDTHS):
        super().__init__()
        check_widths("widths", widths, min_len=3)  # FCN-8s reads the stride-8, 16 and 32 maps
        chans = (3, *widths)
        self.stages = nn.ModuleList(nn.Sequential(conv_bn_relu(chans[i], chans[i + 1]), nn.MaxPool2d(2))
                                    for i in range(len(widths)))
        self.widths = tuple(widths)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = (x - 0.5) / 0.25
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def bilinear_kernel(channels: int, factor: int) -> Tensor:
    """Weights that make ``ConvTranspose2d(channels, channels, 2 * factor, factor, factor // 2)``
    a bilinear upsampling by ``factor`` (FCN initialises its learnable upsampling this way)."""
    number("channels", channels, low=1, integer=True)
    number("factor", factor, low=1, integer=True)
    size = 2 * factor
    centre = (size - 1) / 2
    og = torch.arange(size, dtype=torch.float32)
    filt = 1 - (og - centre).abs() / factor
    kernel2d = filt[:, None] * filt[None, :]
    weight = torch.zeros(channels, channels, size, size)
    for c in range(channels):
        weight[c, c] = kernel2d
    return weight


def _upsample(channels: int, factor: int) -> nn.ConvTranspose2d:
    up = nn.ConvTranspose2d(channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False)
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(channels, factor))
    return up


class EncoderDecoder(nn.Module):
    """Encoder to stride 32, then five learnable 2x transposed convolutions back, *no* skips.

    Everything the decoder knows about *where* must squeeze through the 4x4 bottleneck of a
    128x128 image: it "knows what, forgets where".

    ``skips=True`` adds each encoder map to the decoder map of the same size (LinkNet's way: the
    widths already match), so the same network with the same parameters gets its "where" back;
    the pair isolates what skip connections buy.
    """

    def __init__(self, num_classes: int, widths=ENCODER_WIDTHS, skips: bool = False):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        if not isinstance(skips, bool):
            raise TypeError(f"skips must be True or False, got {skips!r}")
        self.skips = skips
        self.encoder = Encoder(widths)
        rev = list(widths[::-1]) + [widths[0]]
        self.decoder = nn.Sequential(*[
            nn.Sequential(nn.ConvTranspose2d(rev[i], rev[i + 1], 4, stride=2, padding=1, bias=False),
                          nn.BatchNorm2d(rev[i + 1]), nn.ReLU(inplace=True))
            for i in range(len(widths))])
        self.classifier = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, 2 ** len(self.encoder.widths))
        feats = self.encoder(x)
        if not self.skips:
            return self.classifier(self.decoder(feats[-1]))
        y = feats[-1]
        for i, stage in enumerate(self.decoder):
            y = stage(y)
            if i < len(feats) - 1:
                y = y + feats[-2 - i]  # the encoder map at this resolution (stride 16, 8, 4, 2)
        return self.classifier(y)


class FCN(nn.Module):
    """Fully convolutional network with skip fusion (Long, Shelhamer, Darrell, 2015).

    Class scores are predicted from the stride-32 features; ``variant="16s"`` adds scores from
    the stride-16 features after a learnable 2x upsampling, ``"8s"`` also from stride 8. The
    fused scores are upsampled to the input by a transposed convolution initialised to bilinear.
    """

    def __init__(self, num_classes: int, variant: str = "8s", widths=ENCODER_WIDTHS):
        super().__init__()
        number("num_classes", num_classes, low=1, integer=True)
        if variant not in ("32s", "16s", "8s"):
            raise ValueError(f"variant must be '32s', '16s' or '8s', got {variant!r}")
        self.variant = variant
        self.encoder = Encoder(widths)
        self.head = nn.Sequential(conv_bn_relu(widths[-1], widths[-1]), nn.Conv2d(widths[-1], num_classes, 1))
        self.score16 = nn.Conv2d(widths[-2], num_classes, 1)
        self.score8 = nn.Conv2d(widths[-3], num_classes, 1)
        self.up2a = _upsample(num_classes, 2)
        self.up2b = _upsample(num_classes, 2)
        self.up_final = _upsample(num_classes, {"32s": 32, "16s": 16, "8s": 8}[variant])

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, 2 ** len(self.encoder.widths))
        f8, f16, f32 = self.encoder(x)[2:]
        scores = self.head(f32)
        if self.variant in ("16s", "8s"):
            scores = self.up2a(scores) + self.score16(f16)
        if self.variant == "8s":
            scores = self.up2b(scores) + self.score8(f8)
        return self.up_final(scores)
