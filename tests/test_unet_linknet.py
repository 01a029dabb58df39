import pytest
import torch
import torch.nn.functional as F

from lecture_utils.models.unet import LinkNet, LinkNetDecoderBlock, UNet

BUILDERS = {"unet": lambda: UNet(4), "unet_no_bn": lambda: UNet(4, norm="none"), "linknet": lambda: LinkNet(4),
            "linknet_light_stem": lambda: LinkNet(4, (16, 32, 64, 128), stem_stride=2)}


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("size", [64, 128, 160])
def test_output_shapes(name, size):
    model = BUILDERS[name]()
    assert model(torch.rand(2, 3, size, size)).shape == (2, 4, size, size)


@pytest.mark.parametrize("name", BUILDERS)
def test_gradients_reach_every_parameter(name):
    model = BUILDERS[name]()
    out = model(torch.rand(2, 3, 64, 64))
    F.cross_entropy(out, torch.randint(0, 4, (2, 64, 64))).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_parameter_counts_and_flops_order():
    from torch.utils.flop_counter import FlopCounterMode

    unet, link, light = (BUILDERS[k]() for k in ("unet", "linknet", "linknet_light_stem"))
    assert sum(p.numel() for p in unet.parameters()) == 486_580
    assert sum(p.numel() for p in link.parameters()) == 2_886_500
    assert sum(p.numel() for p in light.parameters()) == 724_228
    counts = []
    for m in (unet, link, light):
        with torch.no_grad(), FlopCounterMode(display=False) as c:
            m(torch.rand(1, 3, 128, 128))
        counts.append(c.get_total_flops())
    assert counts[1] < counts[0]  # 6x more parameters, yet fewer FLOPs: LinkNet works at 1/4 resolution and up
    assert counts[2] < counts[0]  # half resolution, but half the widths


def test_skips_and_blocks():
    out, skips, decoded = UNet(4)(torch.rand(1, 3, 64, 64), return_skips=True)
    assert [s.shape[-1] for s in skips] == [64, 32, 16, 8] and decoded[-1].shape[-1] == 64
    assert LinkNetDecoderBlock(64, 32)(torch.rand(1, 64, 8, 8)).shape == (1, 32, 16, 16)
    with pytest.raises(ValueError, match="multiples"):
        UNet(4)(torch.rand(1, 3, 60, 60))
    with pytest.raises(ValueError, match="multiples"):
        LinkNet(4)(torch.rand(1, 3, 100, 100))
    with pytest.raises(ValueError, match="stem_stride"):
        LinkNet(4, stem_stride=3)
