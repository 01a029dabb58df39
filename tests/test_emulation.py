"""The emulated devices must fail where CUDA and MPS fail, and pass correct code."""

import copy

import numpy as np
import pytest
import torch
import torchvision

from lecture_utils import emulation, runtime
from lecture_utils.emulation import emulate, is_emulated

KINDS = ("cuda", "mps")


@pytest.fixture(params=KINDS)
def device(request):
    with emulate(request.param) as d:
        yield d


def test_device_tensors_are_tagged_and_the_tag_propagates(device):
    x = torch.randn(3, 4).to(device)
    assert x.device == device and is_emulated(x)
    assert (x * 2 + 1).device == device
    assert torch.zeros(2, device=x.device).device == device  # allocate on the inputs' device
    assert torch.stack([x, x]).device == device and x.sum().device == device
    assert x.cpu().device.type == "cpu" and not is_emulated(x.cpu())
    assert isinstance(x.max().item(), float) and len(x.tolist()) == 3


def test_mixing_a_device_tensor_with_a_cpu_tensor_fails(device):
    x = torch.randn(3, 4).to(device)
    with pytest.raises(RuntimeError, match="same device"):
        x + torch.ones(3, 4)
    with pytest.raises(RuntimeError, match="same device"):
        torch.cat([x, torch.zeros(1, 4)])
    assert (x + torch.tensor(1.0)).device == device  # a 0-dim CPU tensor is a scalar, as on CUDA


def test_cpu_tensor_indexed_by_device_indices_fails(device):
    index = torch.tensor([1, 2]).to(device)
    with pytest.raises(RuntimeError, match="indices should be either on cpu"):
        torch.arange(5)[index]
    assert torch.arange(5).to(device)[torch.tensor([1, 2])].device == device  # the other way is fine
    with pytest.raises(RuntimeError, match="same device"):
        torch.zeros(3, 4).to(device).__setitem__(0, torch.ones(4))


def test_cpu_generator_cannot_sample_on_the_device(device):
    g = torch.Generator().manual_seed(0)
    with pytest.raises(RuntimeError, match="generator"):
        torch.randperm(5, generator=g, device=device)
    assert torch.randperm(5, generator=g).to(device).device == device  # draw on the CPU, then move


def test_numpy_of_a_device_tensor_fails(device):
    x = torch.ones(2).to(device)
    with pytest.raises(TypeError, match="numpy"):
        x.numpy()
    with pytest.raises(TypeError, match="numpy"):
        np.asarray(x)
    assert np.asarray(x.cpu()).shape == (2,)


def test_float64_fails_on_mps_only():
    with emulate("mps") as mps:
        with pytest.raises(TypeError, match="float64"):
            torch.zeros(3, dtype=torch.float64).to(mps)
        with pytest.raises(TypeError, match="float64"):
            torch.ones(2, device=mps).double()
        assert torch.ones(2, device=mps).float().dtype == torch.float32
    with emulate("cuda") as cuda:
        assert torch.zeros(3, dtype=torch.float64).to(cuda).dtype == torch.float64


def test_torchvision_kernels_refuse_cpu_boxes_for_device_images(device):
    images = torch.rand(1, 3, 8, 8).to(device)
    boxes = torch.tensor([[0.0, 0, 0, 4, 4]])
    with pytest.raises(RuntimeError, match="same device"):
        torchvision.ops.roi_align(images, boxes, 2)
    assert torchvision.ops.roi_align(images, boxes.to(device), 2).device == device


def test_a_model_trains_on_the_device_and_matches_the_cpu(device):
    """Correct code passes, and the numbers are the CPU's (the emulation only checks devices)."""
    def train(dev):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                  torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2)).to(dev)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
        x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1)).to(dev)
        for _ in range(3):
            loss = net(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        return net, loss.item()

    net, loss = train(device)
    assert all(p.device == device and isinstance(p, torch.nn.Parameter) for p in net.parameters())
    assert net[0].weight.grad.device == device and net[1].running_mean.device == device
    twin = copy.deepcopy(net)
    assert twin[0].weight.device == device
    emulation.deactivate()
    try:
        _, cpu_loss = train("cpu")
    finally:
        emulation.activate(device.type)
    assert loss == cpu_loss
    net.cpu()
    assert all(p.device.type == "cpu" and not is_emulated(p) for p in net.parameters())


def test_a_checkpoint_of_device_weights_loads_anywhere(device, tmp_path):
    net = torch.nn.Linear(2, 2).to(device)
    torch.save(net.state_dict(), tmp_path / "w.pt")
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    assert type(state["weight"]) is torch.Tensor


def test_emulation_is_selected_by_the_environment(monkeypatch):
    monkeypatch.setenv("LECTURE_EMULATE", "mps")
    monkeypatch.delenv("LECTURE_DEVICE", raising=False)
    try:
        assert runtime.get_device() == torch.device("mps", 0)
        assert runtime.get_device("mps") == torch.device("mps", 0)
        assert runtime.get_device("cpu").type == "cpu"
        with pytest.raises(RuntimeError, match="already active"):
            emulation.activate("cuda")
    finally:
        emulation.deactivate()
    with pytest.raises(ValueError, match="kind"):
        emulation.activate("tpu")


def test_the_course_crashes_the_review_found_are_caught_and_gone(device):
    """D1 (CPU anchors indexed by device indices), D2 (CPU boxes for roi_align) and D3 (float64
    noise schedule on MPS) were found by reading; the emulation reproduces them on the old code
    and the fixed code runs."""
    from lecture_utils.data import make_scene
    from lecture_utils.diffusion import DenoisingUNet, NoiseSchedule, diffusion_loss
    from lecture_utils.models.rcnn import FasterRCNN
    from lecture_utils.roi import crop_and_warp

    images = torch.rand(1, 3, 64, 64).to(device)
    assert crop_and_warp(images, [torch.tensor([[0.0, 0, 10, 10]])], 8).device == device  # D2
    with pytest.raises(RuntimeError, match="indices"):  # D1's pattern
        torch.zeros(10, 4)[torch.topk(torch.rand(10).to(device), 3).indices]
    scene = make_scene(3, 0)
    model = FasterRCNN(3).to(device).train()
    losses = model(scene["image"].as_subclass(torch.Tensor)[None].to(device),
                   [{"boxes": scene["boxes"].as_subclass(torch.Tensor).to(device), "labels": scene["labels"].to(device)}])
    assert all(v.device == device for v in losses.values())  # D1 fixed
    model.eval()
    assert model(images.new_zeros(1, 3, 128, 128))[0]["boxes"].device == device
    schedule = NoiseSchedule(50)
    loss = diffusion_loss(DenoisingUNet(widths=(8, 16)).to(device), schedule, torch.rand(2, 3, 8, 8).to(device))
    assert loss.device == device  # D3 fixed: the float64 table is cast before it moves
