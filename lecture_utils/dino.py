"""DINO self-distillation at toy scale, with the DINOv2 (iBOT, KoLeo) and DINOv3 (Gram) losses.

Everything here works on batches of tensors, so a CPU can run the multi-crop pipeline:

* :func:`multi_crop` - 2 global + ``n_local`` local random-resized crops with flips, colour
  jitter, grey-scale, blur and solarisation, drawn per sample with one ``grid_sample`` call;
* :class:`DINOLoss` - the teacher's outputs centred (EMA of batch means) and sharpened (low
  temperature), cross-entropy to the student over every (teacher global view, other student view);
* :func:`ema_update`, :func:`cosine_schedule` - the teacher is an exponential moving average;
* :func:`koleo_loss`, :func:`ibot_patch_loss`, :func:`gram_loss` - the later papers' additions;
* :func:`cls_attention`, :func:`attention_mass_mask`, :func:`jaccard` - the attention-map
  measurement of the DINO paper (keep 60% of the [CLS] attention mass, compare with the mask).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import SceneConfig, make_scene
from .models.vit import DINOHead, TinyViT

__all__ = [
    "DINO_SCENES", "VIT", "HEAD", "DINO", "dino_model", "supervised_model", "scene_pool", "multi_crop", "DINOLoss", "ema_update", "cosine_schedule",
    "entropy_stats", "koleo_loss", "ibot_patch_loss", "random_patch_mask", "gram_loss", "cls_attention",
    "attention_mass_mask", "jaccard", "shape_targets", "self_distillation_step",
]

#: notebook 07's scenes: 64 x 64, one or two large shapes (22-38 px) of random colour on grey
#: texture shared by all images, so the objects are what two crops of one image have in common
DINO_SCENES = SceneConfig(image_size=64, min_objects=1, max_objects=2, size_range=(0.35, 0.6),
                          min_visible_pixels=60, background="shared")


#: the architecture and the DINO settings of notebook 07 and scripts/train_dino.py. BatchNorm in the
#: head and a teacher temperature of 0.03 kept the toy run from collapsing; DINO's defaults for ViTs
#: are a head without BatchNorm and a teacher temperature warmed up from 0.04 to 0.07.
VIT = dict(img_size=64, patch_size=8, dim=128, depth=4, heads=4)
HEAD = dict(out_dim=1024, hidden_dim=256, bottleneck_dim=64, use_bn=True)
DINO = dict(teacher_temp=0.03, student_temp=0.1, center_momentum=0.9)


def dino_model(registers: int = 0) -> nn.ModuleDict:
    """Backbone + head + loss (the loss holds the centre): what a DINO checkpoint stores."""
    backbone = TinyViT(**VIT, registers=registers)
    return nn.ModuleDict({"backbone": backbone, "head": DINOHead(backbone.dim, **HEAD),
                          "loss": DINOLoss(HEAD["out_dim"], **DINO)})


def supervised_model(num_classes: int = 3) -> nn.ModuleDict:
    """The same backbone with a linear classifier on [CLS]: which shapes a scene holds (multi-label)."""
    backbone = TinyViT(**VIT)
    return nn.ModuleDict({"backbone": backbone, "head": nn.Linear(backbone.dim, num_classes)})


def scene_pool(count: int, seed: int = 0, offset: int = 0, config: SceneConfig = DINO_SCENES):
    """``count`` scenes as ``(images [count, 3, H, W] float, foreground [count, H, W] bool,
    shapes [count, C] float multi-hot of the classes present)``."""
    images, foreground, shapes = [], [], []
    for i in range(count):
        scene = make_scene(seed, offset + i, config)
        images.append(scene["image"].as_subclass(Tensor))
        foreground.append(scene["semantic"].as_subclass(Tensor) > 0)
        shapes.append(shape_targets(scene["labels"], len(config.classes)))
    return torch.stack(images), torch.stack(foreground), torch.stack(shapes)


def shape_targets(labels: Tensor, num_classes: int) -> Tensor:
    """Multi-hot ``[num_classes]`` of which (1-based) labels occur: the supervised baseline's target."""
    target = torch.zeros(num_classes)
    if len(labels):
        target[labels - 1] = 1.0
    return target


# --- multi-crop augmentation --------------------------------------------------------------

def _random_crops(images: Tensor, size: int, scale: tuple[float, float], generator) -> Tensor:
    """Random-resized crops (area fraction in ``scale``, aspect 3/4..4/3) with horizontal flips."""
    b = len(images)
    area = torch.empty(b).uniform_(*scale, generator=generator)
    log_ratio = torch.empty(b).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)
    w = torch.sqrt(area * log_ratio.exp()).clamp(max=1.0)  # fractions of the image side
    h = torch.sqrt(area / log_ratio.exp()).clamp(max=1.0)
    cx = (torch.rand(b, generator=generator) * 2 - 1) * (1 - w)  # keep the crop inside the image
    cy = (torch.rand(b, generator=generator) * 2 - 1) * (1 - h)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w * flip, cx, h, cy
    grid = F.affine_grid(theta.to(images.device), [b, 3, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _where(p: float, b: int, generator, device) -> Tensor:
    return (torch.rand(b, generator=generator) < p).view(b, 1, 1, 1).to(device)


def _photometric(x: Tensor, generator, jitter: float, p_grey: float, p_blur: float, p_solar: float) -> Tensor:
    b = len(x)
    if jitter > 0:  # brightness, contrast and saturation, each a random factor in [1 - jitter, 1 + jitter]
        f = (1 + (torch.rand(b, 3, generator=generator) * 2 - 1) * jitter).to(x.device)
        x = x * f[:, 0].view(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * f[:, 1].view(b, 1, 1, 1) + mean
        grey = x.mean(dim=1, keepdim=True)
        x = ((x - grey) * f[:, 2].view(b, 1, 1, 1) + grey).clamp(0, 1)
    if p_grey > 0:
        x = torch.where(_where(p_grey, b, generator, x.device), x.mean(dim=1, keepdim=True).expand_as(x), x)
    if p_blur > 0:
        k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # binomial approximation of a Gaussian
        kernel = (k[:, None] * k[None, :]).expand(3, 1, 5, 5).to(x.device)
        blurred = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=3)
        x = torch.where(_where(p_blur, b, generator, x.device), blurred, x)
    if p_solar > 0:
        x = torch.where(_where(p_solar, b, generator, x.device), torch.where(x >= 0.5, 1 - x, x), x)
    return x


def multi_crop(images: Tensor, n_local: int = 4, global_size: int = 64, local_size: int = 32,
               global_scale=(0.4, 1.0), local_scale=(0.08, 0.4), jitter: float = 0.3,
               generator: torch.Generator | None = None) -> list[Tensor]:
    """DINO's views of a batch: ``[global_1, global_2, local_1, ..., local_n]``.

    As in the paper, the first global view is always blurred, the second rarely but sometimes
    solarised, and local crops blurred half of the time. ``images`` is ``[B, 3, H, W]`` in [0, 1].
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape [B, 3, H, W], got {tuple(images.shape)}")
    if n_local < 0:
        raise ValueError(f"n_local must be >= 0, got {n_local}")
    g = generator
    views = [
        _photometric(_random_crops(images, global_size, global_scale, g), g, jitter, 0.2, 1.0, 0.0),
        _photometric(_random_crops(images, global_size, global_scale, g), g, jitter, 0.2, 0.1, 0.2),
    ]
    for _ in range(n_local):
        views.append(_photometric(_random_crops(images, local_size, local_scale, g), g, jitter, 0.2, 0.5, 0.0))
    return views


# --- the DINO objective --------------------------------------------------------------------

class DINOLoss(nn.Module):
    """Cross-entropy between the sharpened, centred teacher and the student, over view pairs.

    ``student_out`` is a list of ``[B, K]`` logits, one per view (globals first); ``teacher_out``
    the teacher's logits for the ``n_global`` global views. Pairs where student and teacher see
    the same view are skipped. The centre is an EMA (``center_momentum``) of the teacher's batch
    mean and is updated after the loss is computed.
    """

    def __init__(self, out_dim: int, teacher_temp: float = 0.03, student_temp: float = 0.1,
                 center_momentum: float = 0.9):
        super().__init__()
        if teacher_temp <= 0 or student_temp <= 0:
            raise ValueError(f"teacher_temp and student_temp must be positive, got {teacher_temp}, {student_temp}")
        self.teacher_temp, self.student_temp, self.center_momentum = teacher_temp, student_temp, center_momentum
        self.register_buffer("center", torch.zeros(1, out_dim))

    def teacher_probs(self, teacher_logits: Tensor) -> Tensor:
        return F.softmax((teacher_logits - self.center) / self.teacher_temp, dim=-1)

    def forward(self, student_out: list[Tensor], teacher_out: list[Tensor]) -> Tensor:
        if not teacher_out or len(student_out) < len(teacher_out):
            raise ValueError("need at least one teacher view and as many student views")
        targets = [self.teacher_probs(t).detach() for t in teacher_out]
        total, pairs = 0.0, 0
        for i, target in enumerate(targets):
            for j, s in enumerate(student_out):
                if j == i:
                    continue
                total = total + torch.sum(-target * F.log_softmax(s / self.student_temp, dim=-1), dim=-1).mean()
                pairs += 1
        self.update_center(torch.cat(teacher_out))
        return total / pairs

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        batch_mean = teacher_logits.mean(dim=0, keepdim=True)
        self.center.mul_(self.center_momentum).add_(batch_mean.detach(), alpha=1 - self.center_momentum)


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher <- momentum * teacher + (1 - momentum) * student, parameter by parameter."""
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    for pt, ps in zip(teacher.parameters(), student.parameters(), strict=True):
        pt.mul_(momentum).add_(ps.detach(), alpha=1 - momentum)


def cosine_schedule(start: float, end: float, step: int, total: int, warmup: int = 0) -> float:
    """Linear warm-up from 0 to ``start`` over ``warmup`` steps, then cosine from ``start`` to ``end``."""
    if step < warmup:
        return start * (step + 1) / warmup
    progress = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def entropy_stats(probs: Tensor) -> dict[str, float]:
    """Collapse diagnostics of a batch of distributions ``[B, K]`` (nats).

    ``mean_entropy`` near ln K: every output is uniform (collapse by flattening). ``marginal_entropy``
    (entropy of the batch-mean distribution) near 0: every image goes to the same prototype
    (collapse to one dimension). A healthy run has low per-sample and high marginal entropy.
    """
    p = probs.clamp_min(1e-12)
    per_sample = -(p * p.log()).sum(dim=-1).mean()
    marginal = probs.mean(dim=0).clamp_min(1e-12)
    return {"mean_entropy": float(per_sample), "marginal_entropy": float(-(marginal * marginal.log()).sum()),
            "ln_K": math.log(probs.shape[-1])}


# --- DINOv2 and DINOv3 additions --------------------------------------------------------

def koleo_loss(features: Tensor, eps: float = 1e-8) -> Tensor:
    """Kozachenko-Leonenko regulariser: -mean log distance to the nearest neighbour in the batch.

    ``features`` ``[B, D]`` are L2-normalised inside; minimising spreads them over the sphere.
    """
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [B, D] with B >= 2, got {tuple(features.shape)}")
    x = F.normalize(features, dim=-1, eps=eps)
    distances = torch.cdist(x, x)
    distances = distances + torch.eye(len(x), device=x.device) * 1e4  # exclude the point itself
    return -torch.log(distances.min(dim=1).values + eps).mean()


def random_patch_mask(batch: int, patches: int, ratio: float, generator=None) -> Tensor:
    """Boolean ``[batch, patches]`` with ``round(ratio * patches)`` masked patches per image."""
    if not 0 <= ratio < 1:
        raise ValueError(f"ratio must be in [0, 1), got {ratio}")
    count = round(ratio * patches)
    order = torch.rand(batch, patches, generator=generator).argsort(dim=1)
    return order < count


def ibot_patch_loss(student_patch_logits: Tensor, teacher_patch_probs: Tensor, mask: Tensor,
                    student_temp: float = 0.1) -> Tensor:
    """iBOT: cross-entropy between teacher and student on the *masked* patches only.

    ``student_patch_logits`` ``[B, N, K]`` (student saw mask tokens there), ``teacher_patch_probs``
    ``[B, N, K]`` (teacher saw the real patches, already centred and sharpened), ``mask`` ``[B, N]``.
    """
    if not mask.any():
        raise ValueError("mask selects no patch: iBOT needs masked patches")
    ce = torch.sum(-teacher_patch_probs * F.log_softmax(student_patch_logits / student_temp, dim=-1), dim=-1)
    return ce[mask].mean()


def gram_loss(student_patches: Tensor, anchor_patches: Tensor) -> Tensor:
    """DINOv3's Gram anchoring: squared Frobenius distance between patch-similarity matrices.

    Both inputs are ``[B, N, D]`` patch features (L2-normalised inside); the anchor comes from an
    earlier checkpoint (the "Gram teacher"). Returned per image and per entry of the ``N x N`` matrix.
    """
    if student_patches.shape[:2] != anchor_patches.shape[:2]:
        raise ValueError(f"need the same [B, N], got {tuple(student_patches.shape)} and {tuple(anchor_patches.shape)}")
    s, a = F.normalize(student_patches, dim=-1), F.normalize(anchor_patches, dim=-1)
    return ((s @ s.transpose(1, 2) - a @ a.transpose(1, 2)) ** 2).mean()


# --- attention maps and their measurement -------------------------------------------------

@torch.no_grad()
def cls_attention(model: nn.Module, images: Tensor, block: int = -1) -> Tensor:
    """Attention of [CLS] to every patch in block ``block`` (default: the last), ``[B, heads, h, w]``
    (each head sums to 1 over the patches, registers and [CLS] itself). The last block works for any
    model with ``get_last_selfattention`` and ``patch_size``, as DINO's released ViTs have."""
    attention = model.get_last_selfattention(images) if block == -1 else model.get_selfattention(images, block)
    h, w = images.shape[-2] // model.patch_size, images.shape[-1] // model.patch_size
    first_patch = 1 + getattr(model, "num_registers", 0)
    return attention[:, :, 0, first_patch:].reshape(len(images), -1, h, w)


def attention_mass_mask(attention: Tensor, mass: float = 0.6) -> Tensor:
    """Keep the highest patches until they hold ``mass`` of each map's total: bool, same shape.

    ``attention`` is ``[..., h, w]``; each map is normalised over its own patches first.
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    flat = attention.flatten(-2)
    flat = flat / flat.sum(dim=-1, keepdim=True)
    values, order = flat.sort(dim=-1, descending=True)
    keep_sorted = (values.cumsum(dim=-1) - values) < mass  # include the patch that crosses the line
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return keep.reshape(attention.shape)


def jaccard(pred: Tensor, target: Tensor) -> Tensor:
    """Intersection over union of boolean masks ``[..., H, W]``; two empty masks score 1."""
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must match")
    inter = (pred & target).flatten(-2).sum(-1).float()
    union = (pred | target).flatten(-2).sum(-1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


# --- one training step, shared by scripts/train_dino.py and notebook 07 -------------------------

def self_distillation_step(student: nn.ModuleDict, teacher: nn.ModuleDict, images: Tensor,
                           optimizer: torch.optim.Optimizer, *, momentum: float, n_local: int = 4,
                           generator: torch.Generator | None = None, freeze_prototypes: bool = False,
                           koleo_weight: float = 0.0, ibot: DINOLoss | None = None, mask_ratio: float = 0.3,
                           gram_anchor: nn.Module | None = None, gram_weight: float = 0.0,
                           clip: float = 3.0) -> dict[str, float]:
    """One DINO update: views, teacher targets, student loss, optimiser step, EMA of the teacher.

    ``student`` and ``teacher`` are ``ModuleDict``s with ``backbone`` (a :class:`TinyViT`),
    ``head`` (a DINO head) and ``loss`` (:class:`DINOLoss`, holding the centre). Options add the
    later papers' terms: ``koleo_weight`` (DINOv2's KoLeo on the student's [CLS] features),
    ``ibot`` (a second :class:`DINOLoss` whose centre serves the masked-patch loss; student global
    views get ``mask_ratio`` of their patches masked) and ``gram_anchor`` with ``gram_weight``
    (DINOv3: keep the student's patch-similarity matrices near those of a frozen earlier backbone).
    Returns the losses and the teacher's entropy diagnostics.
    """
    b = len(images)
    views = multi_crop(images, n_local=n_local, generator=generator)
    globals_ = torch.cat(views[:2])
    student.train(), teacher.train()  # the heads' BatchNorm uses batch statistics in both
    with torch.no_grad():
        t_tokens = teacher["backbone"].forward_tokens(globals_)
        t_logits = [teacher["head"](cls) for cls in t_tokens[:, 0].split(b)]  # one view at a time
    mask = None
    if ibot is not None:
        mask = random_patch_mask(len(globals_), t_tokens.shape[1] - 1, mask_ratio, generator).to(images.device)
    s_tokens = student["backbone"].forward_tokens(globals_, mask)
    feats = [s_tokens[:, 0]]
    if n_local:
        feats.append(student["backbone"](torch.cat(views[2:])))
    # one head call over all views, as DINO's multi-crop wrapper does (BatchNorm sees them all)
    s_logits = student["head"](torch.cat(feats)).split(b)
    dino = student["loss"](list(s_logits), t_logits)
    losses = {"dino": dino}
    if koleo_weight:
        losses["koleo"] = koleo_weight * sum(koleo_loss(c) for c in s_tokens[:, 0].split(b)) / 2
    if ibot is not None:
        n, d = s_tokens.shape[1] - 1, s_tokens.shape[2]
        with torch.no_grad():
            t_patch = teacher["head"](t_tokens[:, 1:].reshape(-1, d))
            t_probs = ibot.teacher_probs(t_patch).reshape(len(globals_), n, -1)
            ibot.update_center(t_patch)
        s_patch = student["head"](s_tokens[:, 1:].reshape(-1, d)).reshape(len(globals_), n, -1)
        losses["ibot"] = ibot_patch_loss(s_patch, t_probs, mask, ibot.student_temp)
    if gram_anchor is not None:
        with torch.no_grad():
            anchor = gram_anchor.forward_tokens(globals_)[:, 1:]
        plain = s_tokens[:, 1:] if mask is None else student["backbone"].forward_tokens(globals_)[:, 1:]
        losses["gram"] = gram_weight * gram_loss(plain, anchor)
    total = sum(losses.values())
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    if freeze_prototypes:
        student["head"].prototypes.grad = None
    params = [p for p in student.parameters() if p.requires_grad]
    nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    ema_update(teacher, student, momentum)
    teacher["loss"].center.copy_(student["loss"].center)
    record = {k: v.item() for k, v in losses.items()}
    record["loss"] = total.item()
    record.update(entropy_stats(student["loss"].teacher_probs(torch.cat(t_logits))))
    return record
