"""A small convolutional backbone shared by the detectors of the course."""

from __future__ import annotations

import torch
from torch import nn

from ..checks import number
from ..checks import widths as check_widths

__all__ = ["conv_bn_relu", "SmallBackbone"]


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    for name, value in (("c_in", c_in), ("c_out", c_out), ("stride", stride)):
        number(name, value, low=1, integer=True)
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallBackbone(nn.Module):
    """Four conv-BN-ReLU stages, three of them halving the resolution: stride 8.

    A 128x128 scene becomes a 16x16 feature map with ``out_channels`` channels. Inputs are
    images in [0, 1]; they are centred inside, so callers never normalise by hand.
    """

    def __init__(self, widths=(32, 64, 96, 128)):
        super().__init__()
        check_widths("widths", widths, min_len=4)
        if len(widths) != 4:
            raise ValueError(f"widths must have 4 entries, got {widths}")
        w1, w2, w3, w4 = widths
        self.stages = nn.Sequential(
            conv_bn_relu(3, w1), nn.MaxPool2d(2),
            conv_bn_relu(w1, w2), nn.MaxPool2d(2),
            conv_bn_relu(w2, w3), nn.MaxPool2d(2),
            conv_bn_relu(w3, w4),
        )
        self.out_channels = w4
        self.stride = 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x must be RGB images [N, 3, H, W], got {getattr(x, 'shape', type(x))}")
        return self.stages((x - 0.5) / 0.25)
