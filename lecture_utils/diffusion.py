"""A small DDPM (Ho et al., 2020) and the feature extractor of Baranchuk et al. (2021), notebook 08.

The forward process adds Gaussian noise in T steps with variances beta_1..beta_T (linear from 1e-4
to 0.02, as in the DDPM paper); in closed form

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),    abar_t = prod_{s <= t} (1 - beta_s).

A network eps(x_t, t) learns to predict the added noise (the "simple" loss ||eps - eps_hat||^2).
Images live in [-1, 1] inside this module (``to_model_range``), in [0, 1] outside.
Time steps are 0-based here: t = 0 is the first noising step, t = T - 1 the last.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checks import number
from .data import SceneConfig
from .models.unet import double_conv

__all__ = ["DIFFUSION_SCENES", "NoiseSchedule", "to_model_range", "timestep_embedding", "DenoisingUNet", "diffusion_loss",
           "ddpm_step", "ddpm_sample", "ddim_sample", "extract_features"]

#: notebook 08's scenes: 32 x 32, one or two large shapes (11-19 px) of random colour on a
#: textured random background, so the class is the shape and colour does not give it away
DIFFUSION_SCENES = SceneConfig(image_size=32, min_objects=1, max_objects=2, size_range=(0.35, 0.6),
                               min_visible_pixels=20)


def to_model_range(images: Tensor) -> Tensor:
    """[0, 1] images -> [-1, 1], the range the noise schedule is designed for."""
    if not isinstance(images, Tensor) or not images.is_floating_point():
        # uint8 * 2 would wrap around; 0..255 floats would be 255 times too bright for the schedule
        raise TypeError(f"images must be a float tensor in [0, 1], got {getattr(images, 'dtype', type(images))}")
    if images.numel() and not (torch.isfinite(images).all() and images.min() >= 0 and images.max() <= 1):
        raise ValueError("images must lie in [0, 1] (divide 8-bit images by 255)")
    return images * 2 - 1


class NoiseSchedule:
    """betas, alphas and their cumulative products for ``steps`` diffusion steps (linear betas).

    The tables are float64 on the CPU (the products of 1000 factors need the precision); they
    are indexed there and cast to the images' dtype *before* moving, since MPS has no float64.
    """

    def __init__(self, steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        number("steps", steps, low=2, integer=True)
        number("beta_start", beta_start, low=0, low_open=True, high=1, high_open=True)
        number("beta_end", beta_end, low=beta_start, low_open=True, high=1, high_open=True)
        self.steps = steps
        self.betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
        self.alpha_bar = torch.cumprod(1 - self.betas, dim=0)

    def _abar(self, t: Tensor, like: Tensor) -> Tensor:
        t = torch.as_tensor(t).cpu()
        if t.dtype not in (torch.int64, torch.int32) or (t < 0).any() or (t >= self.steps).any():
            raise ValueError(f"t must hold integer steps in [0, {self.steps - 1}], got {t}")
        if t.ndim != 1 or len(t) != len(like):
            raise ValueError(f"t must be [B] with one step per image (B = {len(like)}), got {tuple(t.shape)}")
        abar = self.alpha_bar[t].to(like.dtype).to(like.device)
        return abar.reshape(-1, *([1] * (like.ndim - 1)))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor | None = None,
                 generator: torch.Generator | None = None) -> Tensor:
        """Draw x_t ~ q(x_t | x_0) = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, one t per image.

        Without ``noise``, eps is drawn on the CPU from ``generator`` (the global generator when
        ``None``) and moved to ``x0``'s device: the same draw on every device."""
        if not torch.isfinite(x0).all():
            raise ValueError("x0 contains NaN or infinite values")
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        elif noise.shape != x0.shape:  # a [1, C, H, W] noise would broadcast: one draw for all images
            raise ValueError(f"noise must have x0's shape {tuple(x0.shape)}, got {tuple(noise.shape)}")
        abar = self._abar(t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def signal_to_noise(self) -> Tensor:
        """abar_t / (1 - abar_t) for every step: how much of the image is left at step t."""
        return self.alpha_bar / (1 - self.alpha_bar)


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Transformer-style sinusoidal embedding ``[B, dim]`` of integer steps ``t`` ``[B]``."""
    number("dim", dim, low=2, integer=True)
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    if not isinstance(t, Tensor) or t.ndim != 1:
        raise ValueError(f"t must be a 1-D tensor of steps [B], got {getattr(t, 'shape', t)!r}")
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TimeBlock(nn.Module):
    """The course U-Net's ``double_conv`` (GroupNorm variant), told the step t: a learned
    projection of the time embedding is added to every channel of its input."""

    def __init__(self, c_in: int, c_out: int, time_dim: int):
        super().__init__()
        self.time = nn.Linear(time_dim, c_in)
        self.conv = double_conv(c_in, c_out, norm="group")

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return self.conv(x + self.time(emb)[:, :, None, None])


class DenoisingUNet(nn.Module):
    """eps(x_t, t): the U-Net of notebook 05 with a time embedding in every block.

    Contracting path: ``TimeBlock`` then 2x2 max-pool per level; bottom ``TimeBlock``;
    expanding path: 2x2 transposed conv, concatenation with the encoder map, ``TimeBlock``.
    ``self.decoder`` lists the decoder blocks, bottom first: those are the feature sources of
    Baranchuk et al. (their block numbers count the decoder of a much bigger model).
    """

    def __init__(self, widths=(32, 64, 128, 256), in_channels: int = 3, time_dim: int = 128):
        super().__init__()
        if not isinstance(widths, (tuple, list)) or len(widths) < 2:
            raise ValueError(f"widths must list at least two levels, got {widths!r}")
        for k, w in enumerate(widths):
            number(f"widths[{k}]", w, low=1, integer=True)
        number("in_channels", in_channels, low=1, integer=True)
        number("time_dim", time_dim, low=2, integer=True)
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        c = widths[0]
        for w in widths[:-1]:
            self.down.append(TimeBlock(c, w, time_dim))
            c = w
        self.bottom = TimeBlock(c, widths[-1], time_dim)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                for i in reversed(range(len(widths) - 1)))
        self.up_blocks = nn.ModuleList(TimeBlock(2 * widths[i], widths[i], time_dim)
                                       for i in reversed(range(len(widths) - 1)))
        self.out = nn.Conv2d(widths[0], in_channels, 1)
        self.decoder = [self.bottom, *self.up_blocks]
        self.decoder_widths = (widths[-1], *reversed(widths[:-1]))  # output channels of each decoder block
        self.depth = len(widths) - 1

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[1] != self.stem.in_channels:
            raise ValueError(f"x must be [N, {self.stem.in_channels}, H, W] images, got {getattr(x, 'shape', type(x))}")
        if x.shape[-1] % 2 ** self.depth or x.shape[-2] % 2 ** self.depth:
            raise ValueError(f"input height and width must be multiples of {2 ** self.depth}, got {tuple(x.shape[-2:])}")
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must have one step per image, shape ({x.shape[0]},), got {tuple(t.shape)}")
        emb = self.time_mlp(timestep_embedding(t, self.time_dim))
        x = self.stem(x)
        skips = []
        for block in self.down:
            x = block(x, emb)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x, emb)
        for up, block, skip in zip(self.up, self.up_blocks, reversed(skips), strict=True):
            x = block(torch.cat([skip, up(x)], dim=1), emb)
        return self.out(x)


def diffusion_loss(model: nn.Module, schedule: NoiseSchedule, images: Tensor,
                   generator: torch.Generator | None = None, step: int | None = None) -> Tensor:
    """The DDPM "simple" loss: noise [0, 1] ``images`` to random steps, MSE of the predicted noise.

    With ``step`` every image is noised to that one step instead: the same network, loss and data
    become a denoising autoencoder at a single noise level (notebook 08's control). Steps and noise
    are drawn on the CPU from ``generator`` (the global generator when ``None``, which ``train.fit``
    seeds in a fork) and moved to the images' device."""
    if not isinstance(images, Tensor) or images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty batch [N, C, H, W], got {getattr(images, 'shape', type(images))}")
    x0 = to_model_range(images)
    if step is None:
        t = torch.randint(0, schedule.steps, (x0.shape[0],), generator=generator).to(x0.device)
    else:
        number("step", step, low=0, high=schedule.steps - 1, integer=True)
        t = torch.full((x0.shape[0],), step, dtype=torch.long, device=x0.device)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    return F.mse_loss(model(schedule.q_sample(x0, t, noise), t), noise)


def ddpm_step(x_t: Tensor, eps: Tensor, abar_t, abar_prev, noise: Tensor) -> Tensor:
    """One ancestral DDPM step x_t -> x_{t-1} (Ho et al., eq. 11, with the posterior's variance):

        x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) * eps) / sqrt(alpha_t) + sigma_t * z,
        alpha_t = abar_t / abar_prev,  beta_t = 1 - alpha_t,  sigma_t^2 = beta_t (1 - abar_prev) / (1 - abar_t).

    ``abar_prev`` is abar of the step the sampler goes to (1 after the last step, where sigma = 0). Written
    with the two abar values, so the same step serves a respaced schedule (a subsequence of the steps)."""
    if x_t.shape != eps.shape or x_t.shape != noise.shape:
        raise ValueError(f"x_t, eps and noise must have one shape, got {tuple(x_t.shape)}, {tuple(eps.shape)}, "
                         f"{tuple(noise.shape)}")
    abar_t, abar_prev = torch.as_tensor(abar_t, dtype=x_t.dtype), torch.as_tensor(abar_prev, dtype=x_t.dtype)
    if not (0 < abar_t < abar_prev <= 1):
        raise ValueError(f"need 0 < abar_t < abar_prev <= 1 (the sampler goes towards less noise), got "
                         f"abar_t = {float(abar_t)}, abar_prev = {float(abar_prev)}")
    alpha = abar_t / abar_prev
    beta = 1 - alpha
    mean = (x_t - beta / (1 - abar_t).sqrt() * eps) / alpha.sqrt()
    var = beta * (1 - abar_prev) / (1 - abar_t)
    return mean + var.sqrt() * noise


@torch.no_grad()
def ddpm_sample(model: nn.Module, schedule: NoiseSchedule, shape: tuple[int, ...], steps: int = 100,
                generator: torch.Generator | None = None, device: torch.device | str | None = None,
                keep: tuple[int, ...] = (), clip_denoised: bool = True) -> tuple[Tensor, dict[int, tuple[Tensor, Tensor]]]:
    """Ancestral (stochastic) DDPM sampling on ``steps`` evenly spaced steps of the schedule (respacing:
    each step's beta recomputed from abar of the two steps it joins). Every random number is drawn on the
    CPU from ``generator``. Returns the [0, 1] images and, for each step in ``keep`` that the sampler
    visits, ``(x_t, predicted x_0)`` on the CPU in [0, 1].

    ``clip_denoised`` (as in Ho et al.'s code): the estimate x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) is
    clipped to the image range and the noise recomputed from it before the step. At large t the division
    by sqrt(abar) ~ 0.006 magnifies the network's error; unclipped, our model's samples come out smooth."""
    from .runtime import resolve_device

    number("steps", steps, low=1, high=schedule.steps, integer=True)
    if len(shape) != 4 or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"shape must be (B, C, H, W) of positive ints, got {shape!r}")
    device = resolve_device(model, device)
    model.eval()
    abar = schedule.alpha_bar.float()
    ts = torch.linspace(schedule.steps - 1, 0, steps).round().long().tolist()
    x = torch.randn(shape, generator=generator).to(device)
    kept = {}
    for i, t in enumerate(ts):
        a_t = abar[t].to(device)
        eps = model(x, torch.full((shape[0],), t, device=device, dtype=torch.long))
        x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
        if clip_denoised:  # the noise that the clipped estimate implies: the step then uses the clipped x0
            eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
        if t in keep:
            kept[t] = ((x.clamp(-1, 1).cpu() + 1) / 2, (x0.cpu() + 1) / 2)
        abar_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        z = torch.randn(shape, generator=generator).to(device)
        x = ddpm_step(x, eps, a_t, abar_prev.to(device), z)
    return (x.clamp(-1, 1) + 1) / 2, kept


@torch.no_grad()
def ddim_sample(model: nn.Module, schedule: NoiseSchedule, shape: tuple[int, ...], steps: int = 50,
                generator: torch.Generator | None = None, device: torch.device | str | None = None) -> Tensor:
    """Deterministic DDIM sampling (eta = 0) on ``steps`` evenly spaced steps; returns [0, 1] images
    on the model's device (or ``device``). The start noise is drawn on the CPU from ``generator``."""
    from .runtime import resolve_device

    number("steps", steps, low=1, high=schedule.steps, integer=True)
    if len(shape) != 4 or any(not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"shape must be (B, C, H, W) of positive ints, got {shape!r}")
    device = resolve_device(model, device)
    model.eval()
    x = torch.randn(shape, generator=generator).to(device)
    abar = schedule.alpha_bar.float().to(device)
    ts = torch.linspace(schedule.steps - 1, 0, steps).round().long().tolist()
    for i, t in enumerate(ts):
        eps = model(x, torch.full((shape[0],), t, device=device, dtype=torch.long))
        x0 = ((x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt()).clamp(-1, 1)
        abar_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=device)
        x = abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps
    return (x.clamp(-1, 1) + 1) / 2


@torch.no_grad()
def extract_features(model: nn.Module, schedule: NoiseSchedule, images: Tensor, steps: tuple[int, ...],
                     blocks: tuple[int, ...], seed: int = 0) -> Tensor:
    """Per-pixel features ``[B, C, H, W]`` as in Baranchuk et al.: noise the [0, 1] ``images`` to
    each step in ``steps`` with one fixed noise draw (``seed``), run the network, catch the outputs
    of ``model.decoder[b]`` for b in ``blocks`` with forward hooks, upsample each bilinearly to
    the image size, and concatenate over blocks and steps (step-major)."""
    if images.ndim != 4:
        raise ValueError(f"images must be [B, 3, H, W], got shape {tuple(images.shape)}")
    if not steps or not blocks:
        raise ValueError("steps and blocks must be non-empty")
    for t in steps:
        number("steps[i]", t, low=0, high=schedule.steps - 1, integer=True)
    if any(not 0 <= b < len(model.decoder) for b in blocks):
        raise ValueError(f"blocks must index model.decoder (0..{len(model.decoder) - 1}), got {blocks}")
    model.eval()
    caught: dict[int, Tensor] = {}
    hooks = [model.decoder[b].register_forward_hook(lambda _m, _i, out, b=b: caught.__setitem__(b, out))
             for b in blocks]
    try:
        x0 = to_model_range(images)
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed)).to(x0.device)
        features = []
        for t in steps:
            tt = torch.full((x0.shape[0],), t, device=x0.device, dtype=torch.long)
            model(schedule.q_sample(x0, tt, noise), tt)
            for b in blocks:
                features.append(F.interpolate(caught[b], size=images.shape[-2:], mode="bilinear", align_corners=False))
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(features, dim=1)
