import pytest
import torch
import torch.nn.functional as F

from lecture_utils.models.segmentation import (
    FCN,
    EncoderDecoder,
    FullResolutionNet,
    bilinear_kernel,
)


@pytest.mark.parametrize("model", [FullResolutionNet(4), EncoderDecoder(4), FCN(4, "32s"), FCN(4, "16s"), FCN(4, "8s")])
@pytest.mark.parametrize("size", [64, 128, 96])
def test_shapes_and_gradients(model, size):
    x = torch.rand(2, 3, size, size)
    out = model(x)
    assert out.shape == (2, 4, size, size)
    F.cross_entropy(out, torch.zeros(2, size, size, dtype=torch.long)).backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad and p.grad is not None)


def test_bilinear_initialisation_is_bilinear_upsampling():
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64)
    up = F.conv_transpose2d(x, bilinear_kernel(2, 2).double(), stride=2, padding=1)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(up[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])  # equal away from the border


def test_fcn_variant_is_checked():
    with pytest.raises(ValueError, match="variant"):
        FCN(4, "4s")
