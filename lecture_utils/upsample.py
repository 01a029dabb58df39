"""Upsampling without and with parameters: bed of nails, and convolution as a matrix.

A convolution is linear in its input, so it *is* a matrix ``X``: ``conv(a) = X a``. The
transposed convolution is the multiplication by ``X^T``: it maps the output shape back to the
input shape (not the values: ``X^T`` is no inverse). ``conv1d_matrix``/``conv2d_matrix`` build
``X`` explicitly so that both facts can be checked against torch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .checks import number

__all__ = ["bed_of_nails", "conv_output_size", "conv_transpose_output_size", "conv1d_matrix", "conv2d_matrix"]


def bed_of_nails(x: Tensor, factor: int = 2) -> Tensor:
    """Upsample ``[N, C, H, W]`` by putting each value in the top-left corner of a
    ``factor x factor`` block of zeros."""
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    if x.ndim != 4:
        raise ValueError(f"x must be [N, C, H, W], got shape {tuple(x.shape)}")
    out = x.new_zeros(*x.shape[:2], x.shape[2] * factor, x.shape[3] * factor)
    out[..., ::factor, ::factor] = x
    return out


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Length of a convolution's output: floor((n + 2p - d(k - 1) - 1) / s) + 1."""
    for name, v, m in (("n", n, 1), ("kernel", kernel, 1), ("stride", stride, 1), ("padding", padding, 0),
                       ("dilation", dilation, 1)):
        number(name, v, low=m, integer=True)
    span = dilation * (kernel - 1) + 1
    if span > n + 2 * padding:  # the formula would give 0 or a negative length
        raise ValueError(f"kernel (spanning {span} with dilation {dilation}) is larger than the padded input "
                         f"n + 2 * padding = {n + 2 * padding}")
    return (n + 2 * padding - span) // stride + 1


def conv_transpose_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Length of a transposed convolution's output: (n - 1) s - 2p + d(k - 1) + output_padding + 1.

    ``output_padding`` (< stride) picks one of the ``stride`` input lengths that the forward
    convolution maps to the same ``n``.
    """
    for name, v, m in (("n", n, 1), ("kernel", kernel, 1), ("stride", stride, 1), ("padding", padding, 0),
                       ("output_padding", output_padding, 0), ("dilation", dilation, 1)):
        number(name, v, low=m, integer=True)
    if output_padding >= max(stride, dilation):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got {output_padding}")
    size = (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if size < 0:  # the padding crops away more than the transposed convolution produces (torch refuses too)
        raise ValueError(f"padding {padding} crops more than the whole output (its length would be {size})")
    return size


def conv1d_matrix(kernel: Tensor, n: int, stride: int = 1, padding: int = 0) -> Tensor:
    """The matrix ``X`` with ``F.conv1d(a, kernel, stride, padding) == X @ a`` for inputs of length ``n``.

    Row ``i`` holds the kernel at positions ``i * stride - padding ...``; columns that fall in the
    zero padding are dropped (the lecture writes them out as zeros around ``a``).
    """
    kernel = torch.as_tensor(kernel)
    if kernel.ndim != 1:
        raise ValueError(f"kernel must be 1-D, got shape {tuple(kernel.shape)}")
    k = kernel.shape[0]
    m = conv_output_size(n, k, stride, padding)
    X = torch.zeros(m, n, dtype=kernel.dtype)
    for i in range(m):
        for t in range(k):
            j = i * stride - padding + t
            if 0 <= j < n:
                X[i, j] = kernel[t]
    return X


def conv2d_matrix(kernel: Tensor, size: tuple[int, int], stride: int = 1, padding: int = 0) -> Tensor:
    """``X`` with ``F.conv2d(a, kernel).flatten() == X @ a.flatten()`` for one channel of ``size``."""
    kernel = torch.as_tensor(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {tuple(kernel.shape)}")
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"size must be (height, width), got {size!r}")
    h, w = size
    kh, kw = kernel.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    X = torch.zeros(oh * ow, h * w, dtype=kernel.dtype)
    for i in range(oh):
        for j in range(ow):
            for u in range(kh):
                for v in range(kw):
                    y, x = i * stride - padding + u, j * stride - padding + v
                    if 0 <= y < h and 0 <= x < w:
                        X[i * ow + j, y * w + x] = kernel[u, v]
    return X
