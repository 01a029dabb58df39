"""Networks that map the PDE's (a, f) on a grid to its solution u (notebook 06).

``UNetOperator`` is notebook 05's U-Net with four input channels (a, f, x, y) and one output.
``FNO2d`` is a small Fourier Neural Operator (Li et al., 2021): its spectral layers multiply the
lowest Fourier modes of the features by learned complex weights, so their parameters live in
frequency space and do not depend on the grid the input is sampled on.
``UNO2d`` is a small U-shaped neural operator (Rahman, Ross, Azizzadenesheli, 2023), the lecture's
figure: spectral layers that also change the grid (to a fixed fraction of the input's), arranged as
a U-Net with skips, so the network is multi-scale like a U-Net and grid-free like an FNO.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import number
from ..coordinates import pixel_coordinates
from ..pde import A_HIGH, A_LOW
from .unet import UNet

__all__ = ["operator_inputs", "UNetOperator", "SpectralConv2d", "FNO2d", "OperatorBlock", "UNO2d", "U_SCALE"]

#: typical size of u for a in [3, 12] and f ~ 1: networks predict u / U_SCALE, a number of order 1
U_SCALE = 0.01


def operator_inputs(a: Tensor, f: Tensor) -> Tensor:
    """Stack ``[B, n, n]`` fields into ``[B, 4, n, n]`` channels: a scaled to [0, 1], f, x, y (cell centres)."""
    for name, t in (("a", a), ("f", f)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if a.ndim != 3 or a.shape != f.shape or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"a and f must be [B, n, n] of the same shape, got {tuple(a.shape)} and {tuple(f.shape)}")
    a, f = a.unsqueeze(1), f.unsqueeze(1)
    return torch.cat([(a - A_LOW) / (A_HIGH - A_LOW), f, pixel_coordinates(a)], dim=1)


class UNetOperator(nn.Module):
    """``(a, f) -> u``: notebook 05's ``UNet`` on the four input channels, one output channel.

    Without BatchNorm by default: u is linear in f, so its scale is the answer, and batch
    statistics made each prediction depend on the other samples of the batch (in our runs the
    BatchNorm U-Net's error was several times higher; notebook 06 measures it)."""

    def __init__(self, widths=(16, 32, 64, 128), norm: str = "none"):
        super().__init__()
        if norm not in ("batch", "group", "none"):
            raise ValueError(f"norm must be 'batch', 'group' or 'none', got {norm!r}")
        self.unet = UNet(num_classes=1, widths=widths, in_channels=4, norm=norm)

    def forward(self, a: Tensor, f: Tensor) -> Tensor:
        return self.unet(operator_inputs(a, f)).squeeze(1) * U_SCALE


class SpectralConv2d(nn.Module):
    """Fourier layer: FFT, multiply the lowest ``modes`` x ``modes`` frequencies (positive and
    negative along y, non-negative along x, since the FFT of a real signal is symmetric) by
    learned complex ``[c_in, c_out]`` matrices, zero the rest, inverse FFT to the input's size."""

    def __init__(self, c_in: int, c_out: int, modes: int):
        super().__init__()
        if modes < 1:
            raise ValueError(f"modes must be >= 1, got {modes}")
        self.modes = modes
        scale = 1 / (c_in * c_out)
        self.weight_pos = nn.Parameter(scale * torch.randn(c_in, c_out, modes, modes, dtype=torch.cfloat))
        self.weight_neg = nn.Parameter(scale * torch.randn(c_in, c_out, modes, modes, dtype=torch.cfloat))

    def forward(self, x: Tensor, size: tuple[int, int] | None = None) -> Tensor:
        """``[B, c_in, h, w]`` -> ``[B, c_out, *size]`` (the input's size by default): the kept modes are
        the same function's modes on any grid, so the inverse FFT may as well sample it on another one."""
        b, _, h, w = x.shape
        oh, ow = size or (h, w)
        m = self.modes
        for what, (gh, gw) in (("input", (h, w)), ("output", (oh, ow))):
            if gh < 2 * m or gw // 2 + 1 < m:
                raise ValueError(f"{what} {gh}x{gw} is too small for {m} modes (needs at least {2 * m}x{2 * (m - 1)})")
        x_hat = torch.fft.rfft2(x, norm="forward")  # [b, c_in, h, w // 2 + 1], scaled so the grid size cancels
        out = torch.zeros(b, self.weight_pos.shape[1], oh, ow // 2 + 1, dtype=torch.cfloat, device=x.device)
        out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", x_hat[:, :, :m, :m], self.weight_pos)
        out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", x_hat[:, :, -m:, :m], self.weight_neg)
        return torch.fft.irfft2(out, s=(oh, ow), norm="forward")


def _lift_padded(lift: nn.Module, a: Tensor, f: Tensor, pad_fraction: float) -> tuple[Tensor, int]:
    """Lift the inputs to features and zero-pad them by ``pad_fraction`` of the side (FNO and U-NO alike);
    returns the padded features and the unpadded side ``n`` (to cut the padding off at the end)."""
    x = lift(operator_inputs(a, f))
    n = x.shape[-1]
    pad = round(pad_fraction * n)
    return F.pad(x, (0, pad, 0, pad)), n


class FNO2d(nn.Module):
    """Lift (1x1 conv) -> ``depth`` x [spectral conv + 1x1 conv, GELU] -> project (two 1x1 convs).

    The domain is not periodic (u = 0 on the walls) while the FFT assumes it is, so the input is
    zero-padded by a fixed *fraction* of the domain (not a fixed number of pixels, which would
    mean a different domain at another resolution) and the padding is cut off at the end.
    """

    def __init__(self, width: int = 32, modes: int = 8, depth: int = 4, pad_fraction: float = 0.125):
        super().__init__()
        number("width", width, low=1, integer=True)
        number("modes", modes, low=1, integer=True)
        number("depth", depth, low=1, integer=True)
        number("pad_fraction", pad_fraction, low=0, high=1)
        self.pad_fraction = pad_fraction
        self.lift = nn.Conv2d(4, width, 1)
        self.spectral = nn.ModuleList(SpectralConv2d(width, width, modes) for _ in range(depth))
        self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(depth))
        self.project = nn.Sequential(nn.Conv2d(width, 4 * width, 1), nn.GELU(), nn.Conv2d(4 * width, 1, 1))

    def forward(self, a: Tensor, f: Tensor) -> Tensor:
        x, n = _lift_padded(self.lift, a, f, self.pad_fraction)
        for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise, strict=True)):
            x = spectral(x) + pointwise(x)
            if i < len(self.spectral) - 1:
                x = F.gelu(x)
        x = x[..., :n, :n]
        return self.project(x).squeeze(1) * U_SCALE


class OperatorBlock(nn.Module):
    """One U-NO layer: a spectral convolution that samples its output on the grid ``size``, plus a 1x1
    convolution interpolated there (the local, non-spectral part), then GELU."""

    def __init__(self, c_in: int, c_out: int, modes: int):
        super().__init__()
        self.spectral = SpectralConv2d(c_in, c_out, modes)
        self.pointwise = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        local = F.interpolate(self.pointwise(x), size=size, mode="bilinear", align_corners=False)
        return F.gelu(self.spectral(x, size) + local)


class UNO2d(nn.Module):
    """A small U-shaped neural operator: lift -> grid 1/2 (2w channels) -> 1/4 (4w) -> back to 1/2 and 1
    with the encoder's maps concatenated (the U-Net's skips) -> one more block -> project.

    Every grid is a fraction of the (zero-padded) input grid, never a fixed number of pixels, so the same
    weights run on a 32x32 and a 64x64 input, as the FNO's do. Padding as in ``FNO2d``."""

    SCALES = (0.5, 0.25, 0.5, 1.0, 1.0)

    def __init__(self, width: int = 16, modes: tuple[int, ...] = (8, 4, 4, 8, 8), pad_fraction: float = 0.125):
        super().__init__()
        number("width", width, low=1, integer=True)
        number("pad_fraction", pad_fraction, low=0, high=1)
        if not isinstance(modes, (tuple, list)) or len(modes) != len(self.SCALES):
            raise ValueError(f"modes must give {len(self.SCALES)} blocks their mode counts, got {modes!r}")
        for k, m in enumerate(modes):
            number(f"modes[{k}]", m, low=1, integer=True)
        w = width
        self.pad_fraction = pad_fraction
        self.lift = nn.Conv2d(4, w, 1)
        channels = ((w, 2 * w), (2 * w, 4 * w), (4 * w, 2 * w), (4 * w, w), (2 * w, w))  # in -> out, skips included
        self.blocks = nn.ModuleList(OperatorBlock(c_in, c_out, m) for (c_in, c_out), m in zip(channels, modes, strict=True))
        self.project = nn.Sequential(nn.Conv2d(w, 4 * w, 1), nn.GELU(), nn.Conv2d(4 * w, 1, 1))

    def forward(self, a: Tensor, f: Tensor) -> Tensor:
        x0, n = _lift_padded(self.lift, a, f, self.pad_fraction)
        grid = [max(1, round(s * x0.shape[-1])) for s in self.SCALES]
        e1 = self.blocks[0](x0, (grid[0], grid[0]))
        e2 = self.blocks[1](e1, (grid[1], grid[1]))
        d1 = self.blocks[2](e2, (grid[2], grid[2]))
        d2 = self.blocks[3](torch.cat([d1, e1], 1), (grid[3], grid[3]))
        x = self.blocks[4](torch.cat([d2, x0], 1), (grid[4], grid[4]))
        return self.project(x[..., :n, :n]).squeeze(1) * U_SCALE
