import pytest
import torch
import torch.nn.functional as F

from lecture_utils.models.segmentation import (
    FCN,
    EncoderDecoder,
    FullResolutionNet,
    bilinear_kernel,
)
from lecture_utils.models.unet import UNet

BUILDERS = {"full-res": lambda: FullResolutionNet(4), "enc-dec": lambda: EncoderDecoder(4),
            "fcn32s": lambda: FCN(4, "32s"), "fcn16s": lambda: FCN(4, "16s"), "fcn8s": lambda: FCN(4, "8s")}


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("size", [64, 128, 96])
def test_shapes_and_gradients(name, size):
    model = BUILDERS[name]()  # a fresh model per case: no gradients left over from another size
    x = torch.rand(2, 3, size, size)
    out = model(x)
    assert out.shape == (2, 4, size, size)
    F.cross_entropy(out, torch.zeros(2, size, size, dtype=torch.long)).backward()
    # every trainable parameter takes part in the prediction (FCN's skip scores only in its variants)
    unused = {"fcn32s": ("score16", "score8", "up2a", "up2b"), "fcn16s": ("score8", "up2b")}.get(name, ())
    for pname, p in model.named_parameters():
        if pname.startswith(unused):
            assert p.grad is None, f"{pname} should not be used by {name}"
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{pname} got no gradient"


def test_bilinear_initialisation_is_bilinear_upsampling():
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64)
    up = F.conv_transpose2d(x, bilinear_kernel(2, 2).double(), stride=2, padding=1)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(up[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1])  # equal away from the border


def test_fcn_variant_is_checked():
    with pytest.raises(ValueError, match="variant"):
        FCN(4, "4s")


@pytest.mark.parametrize("build", [lambda s: EncoderDecoder(4, skips=s), lambda s: UNet(4, skips=s)])
def test_the_skip_ablation_keeps_every_parameter_and_changes_only_what_the_decoder_sees(build):
    torch.manual_seed(0)
    with_skips = build(True).eval()
    without = build(False).eval()
    without.load_state_dict(with_skips.state_dict())  # the same parameters, one for one
    x = torch.rand(2, 3, 64, 64)
    assert not torch.allclose(with_skips(x), without(x))
    with pytest.raises(TypeError, match="skips"):
        build("yes")
