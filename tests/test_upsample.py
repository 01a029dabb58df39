import itertools

import pytest
import torch
import torch.nn.functional as F

from lecture_utils.upsample import (
    bed_of_nails,
    conv1d_matrix,
    conv2d_matrix,
    conv_output_size,
    conv_transpose_output_size,
)


def test_lecture_1d_example_by_hand():
    x, y, z = 2.0, 3.0, 5.0
    a, b, c, d = 1.0, 10.0, 100.0, 1000.0
    X = conv1d_matrix(torch.tensor([x, y, z]), 4, stride=1, padding=1)
    vec = torch.tensor([a, b, c, d])
    assert (X @ vec).tolist() == [a * y + b * z, a * x + b * y + c * z, b * x + c * y + d * z, c * x + d * y]
    Xt = conv1d_matrix(torch.tensor([x, y, z]), 6, stride=1, padding=0).T  # the lecture's X^T
    assert (Xt @ vec).tolist() == [a * x, a * y + b * x, a * z + b * y + c * x, b * z + c * y + d * x,
                                   c * z + d * y, d * z]
    torch.testing.assert_close(Xt @ vec, F.conv_transpose1d(vec.view(1, 1, 4), torch.tensor([x, y, z]).view(1, 1, 3)).flatten())


@pytest.mark.parametrize("n, k, s, p", [(4, 3, 1, 1), (7, 3, 2, 1), (8, 4, 2, 1), (9, 5, 3, 2), (5, 1, 1, 0)])
def test_matrix_equals_conv_and_its_transpose_equals_conv_transpose(n, k, s, p):
    g = torch.Generator().manual_seed(n * 100 + k)
    kernel, a = torch.randn(k, generator=g, dtype=torch.float64), torch.randn(n, generator=g, dtype=torch.float64)
    X = conv1d_matrix(kernel, n, s, p)
    torch.testing.assert_close(X @ a, F.conv1d(a.view(1, 1, -1), kernel.view(1, 1, -1), stride=s, padding=p).flatten())
    out = torch.randn(X.shape[0], generator=g, dtype=torch.float64)
    extra = n - conv_transpose_output_size(X.shape[0], k, s, p)  # output_padding recovers the length n
    tr = F.conv_transpose1d(out.view(1, 1, -1), kernel.view(1, 1, -1), stride=s, padding=p, output_padding=extra)
    torch.testing.assert_close(X.T @ out, tr.flatten())


def test_2d_matrix():
    g = torch.Generator().manual_seed(0)
    kernel, a = torch.randn(3, 3, generator=g, dtype=torch.float64), torch.randn(5, 6, generator=g, dtype=torch.float64)
    X = conv2d_matrix(kernel, (5, 6), stride=2, padding=1)
    ref = F.conv2d(a[None, None], kernel[None, None], stride=2, padding=1)
    torch.testing.assert_close(X @ a.flatten(), ref.flatten())
    out = torch.randn(ref.numel(), generator=g, dtype=torch.float64)
    tr = F.conv_transpose2d(out.view(ref.shape), kernel[None, None], stride=2, padding=1, output_padding=(0, 1))
    torch.testing.assert_close(X.T @ out, tr.flatten())


def test_output_size_formulas_against_torch():
    for n, k, s, p, d in itertools.product([1, 4, 7], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]):
        for op in range(max(s, d)):
            x = torch.zeros(1, 1, n)
            w = torch.zeros(1, 1, k)
            try:
                expected = F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=op, dilation=d).shape[-1]
            except RuntimeError:
                continue  # torch refuses non-positive sizes
            assert conv_transpose_output_size(n, k, s, p, op, d) == expected
        if n + 2 * p >= d * (k - 1) + 1:
            assert conv_output_size(n, k, s, p, d) == F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s,
                                                              padding=p, dilation=d).shape[-1]
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_output_size(4, 3, stride=2, output_padding=2)


def test_bed_of_nails():
    x = torch.arange(4.0).view(1, 1, 2, 2)
    assert bed_of_nails(x).view(4, 4).tolist() == [[0, 0, 1, 0], [0, 0, 0, 0], [2, 0, 3, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="factor"):
        bed_of_nails(x, 0)
