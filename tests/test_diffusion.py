import math

import pytest
import torch

from lecture_utils.checkpoints import load_checkpoint, save_checkpoint
from lecture_utils.diffusion import (
    DenoisingUNet,
    NoiseSchedule,
    ddim_sample,
    diffusion_loss,
    extract_features,
    timestep_embedding,
    to_model_range,
)
from lecture_utils.pixel_classifier import pixel_coordinates, rgb_xy_features, train_pixel_ensemble


def small_unet():
    return DenoisingUNet(widths=(8, 16, 32), time_dim=16)


def test_schedule_matches_its_definition():
    s = NoiseSchedule(1000)
    assert s.alpha_bar.shape == (1000,)
    assert torch.all(s.alpha_bar[1:] < s.alpha_bar[:-1])  # noise only grows
    assert math.isclose(s.alpha_bar[0].item(), 1 - 1e-4)
    assert math.isclose(s.alpha_bar[2].item(), (1 - 1e-4) * (1 - s.betas[1].item()) * (1 - s.betas[2].item()))
    assert s.alpha_bar[-1] < 1e-4  # the last step is (almost) pure noise
    with pytest.raises(ValueError, match="beta"):
        NoiseSchedule(10, beta_start=0.5, beta_end=0.1)


@pytest.mark.parametrize("t", [0, 100, 500, 999])
def test_q_sample_statistics(t):
    s = NoiseSchedule()
    torch.manual_seed(0)
    x0 = torch.full((40_000, 1), 0.6)
    xt = s.q_sample(x0, torch.full((40_000,), t))
    abar = s.alpha_bar[t].item()
    assert abs(xt.mean().item() - math.sqrt(abar) * 0.6) < 0.02
    assert abs(xt.var().item() - (1 - abar)) < 0.02
    with pytest.raises(ValueError, match="t must"):
        s.q_sample(x0[:2], torch.tensor([0, 1000]))


def test_time_embedding_shapes_and_distinct_steps():
    e = timestep_embedding(torch.tensor([0, 1, 500]), 32)
    assert e.shape == (3, 32) and e.abs().max() <= 1
    assert not torch.allclose(e[0], e[1])
    with pytest.raises(ValueError, match="even"):
        timestep_embedding(torch.tensor([0]), 7)


def test_denoiser_shapes_and_loss_gradients():
    model, s = small_unet(), NoiseSchedule()
    x = torch.rand(2, 3, 32, 32)
    assert model(to_model_range(x), torch.tensor([3, 900])).shape == (2, 3, 32, 32)
    diffusion_loss(model, s, x).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="one step per image"):
        model(x, torch.tensor([1]))
    with pytest.raises(ValueError, match="multiples"):
        model(torch.rand(1, 3, 30, 30), torch.tensor([1]))


def test_ddim_sample_range_and_shape():
    out = ddim_sample(small_unet(), NoiseSchedule(), (2, 3, 16, 16), steps=4, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 3, 16, 16) and out.min() >= 0 and out.max() <= 1


def test_feature_extractor_output_size_and_hooks_removed():
    model, s = small_unet(), NoiseSchedule()
    images = torch.rand(3, 3, 32, 32)
    f = extract_features(model, s, images, steps=(50, 150), blocks=(0, 2))
    widths = [32, 8]  # decoder[0] is the bottom (32 channels), decoder[2] the last up block (8)
    assert f.shape == (3, 2 * sum(widths), 32, 32)
    assert all(not b._forward_hooks for b in model.decoder)
    again = extract_features(model, s, images, steps=(50, 150), blocks=(0, 2))
    assert torch.equal(f, again)  # one fixed noise draw
    with pytest.raises(ValueError, match="blocks"):
        extract_features(model, s, images, steps=(50,), blocks=(5,))


def test_pixel_ensemble_learns_a_separable_problem():
    torch.manual_seed(0)
    images = torch.rand(4, 3, 16, 16)
    labels = (images[:, 0] > 0.5).long()  # class = is the red channel bright
    ens = train_pixel_ensemble(rgb_xy_features(images), labels, 2, members=3, epochs=8)
    pred, entropy = ens(rgb_xy_features(images))
    assert pred.shape == labels.shape and entropy.shape == labels.shape
    assert (pred == labels).float().mean() > 0.95
    assert entropy.min() >= 0 and entropy.max() <= math.log(2) + 1e-6
    assert pixel_coordinates(images)[0, 0, 0, -1] == pytest.approx(31 / 32)
    with pytest.raises(ValueError, match="labels"):
        train_pixel_ensemble(rgb_xy_features(images), labels[:, :8], 2)



def test_disagreement_is_zero_for_identical_members_and_matches_the_formula():
    torch.manual_seed(0)
    images = torch.rand(3, 3, 8, 8)
    labels = (images[:, 0] > 0.5).long()
    ens = train_pixel_ensemble(rgb_xy_features(images), labels, 2, members=3, epochs=2)
    js, score = ens.disagreement(rgb_xy_features(images))
    assert js.shape == labels.shape and score.shape == (3,) and js.min() >= 0
    x = (rgb_xy_features(images).permute(0, 2, 3, 1).reshape(-1, 5) - ens.mean) / ens.std
    with torch.no_grad():
        p = torch.stack([m(x).softmax(1) for m in ens.members])
    h = lambda q: -(q * q.log()).sum(-1)  # noqa: E731
    torch.testing.assert_close(js.reshape(-1), (h(p.mean(0)) - h(p).mean(0)).clamp_min(0), atol=1e-5, rtol=0)
    assert score[0] == pytest.approx(js[0].flatten().topk(6).values.mean().item())
    same = type(ens)([ens.members[0]] * 3, ens.mean, ens.std)
    assert same.disagreement(rgb_xy_features(images))[0].max() < 1e-6  # agreeing members: no uncertainty
    with pytest.raises(ValueError, match="features"):
        ens.disagreement(images)

def test_checkpoint_sha256_is_checked(tmp_path):
    model = small_unet()
    save_checkpoint(model, "ddpm.pt", {"steps": 1}, directory=tmp_path)
    fresh = small_unet()
    assert load_checkpoint(fresh, "ddpm.pt", directory=tmp_path, verbose=False) == {"steps": 1}
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values(), strict=True))
    data = bytearray((tmp_path / "ddpm.pt").read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "ddpm.pt").write_bytes(bytes(data))
    assert load_checkpoint(small_unet(), "ddpm.pt", directory=tmp_path, verbose=False) is None


def test_ddpm_step_is_the_posterior_mean_and_the_sampler_is_reproducible():
    from lecture_utils.diffusion import ddpm_sample, ddpm_step
    s = NoiseSchedule(200)
    abar = s.alpha_bar
    x0 = torch.rand(2, 3, 4, 4, dtype=torch.float64) * 2 - 1
    eps = torch.randn_like(x0)
    t = 120
    x_t = abar[t].sqrt() * x0 + (1 - abar[t]).sqrt() * eps
    beta = s.betas[t]
    posterior = abar[t - 1].sqrt() * beta / (1 - abar[t]) * x0 + (1 - beta).sqrt() * (1 - abar[t - 1]) / (1 - abar[t]) * x_t
    torch.testing.assert_close(ddpm_step(x_t, eps, abar[t], abar[t - 1], torch.zeros_like(x0)), posterior)
    model = small_unet()
    a, kept = ddpm_sample(model, s, (2, 3, 8, 8), steps=10, keep=(199, 0), generator=torch.Generator().manual_seed(3))
    b, _ = ddpm_sample(model, s, (2, 3, 8, 8), steps=10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1 and set(kept) == {199, 0}
    c, _ = ddpm_sample(model, s, (2, 3, 8, 8), steps=10, generator=torch.Generator().manual_seed(3), clip_denoised=False)
    assert not torch.equal(a, c)


def test_loss_at_one_step_is_a_denoising_autoencoder():
    """``step=`` noises every image to that step: the loss equals the MSE computed by hand at that step."""
    model, s = small_unet(), NoiseSchedule()
    x = torch.rand(3, 3, 16, 16)
    loss = diffusion_loss(model, s, x, generator=torch.Generator().manual_seed(1), step=100)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    t = torch.full((3,), 100)
    expected = torch.nn.functional.mse_loss(model(s.q_sample(to_model_range(x), t, noise), t), noise)
    assert torch.allclose(loss, expected)
    with pytest.raises(ValueError, match="step"):
        diffusion_loss(model, s, x, step=1000)
    with pytest.raises(TypeError, match="step"):
        diffusion_loss(model, s, x, step=1.5)
