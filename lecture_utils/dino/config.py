"""Notebook 07's scenes, architecture and DINO settings, and the models built from them.

``scripts/train_dino.py``, the notebook and the tests all build their ViTs here, so a checkpoint,
the code that made it and the code that loads it cannot drift apart.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..checks import class_ids, number
from ..data import SceneConfig, make_scene
from ..models.vit import DINOHead, TinyViT
from .loss import DINOLoss

__all__ = ["DINO_SCENES", "VIT", "HEAD", "DINO", "dino_model", "supervised_model", "scene_pool", "shape_targets"]

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
    number("num_classes", num_classes, low=1, integer=True)
    backbone = TinyViT(**VIT)
    return nn.ModuleDict({"backbone": backbone, "head": nn.Linear(backbone.dim, num_classes)})


def scene_pool(count: int, seed: int = 0, offset: int = 0, config: SceneConfig = DINO_SCENES):
    """``count`` scenes as ``(images [count, 3, H, W] float, foreground [count, H, W] bool,
    shapes [count, C] float multi-hot of the classes present)``."""
    number("count", count, low=1, integer=True)
    images, foreground, shapes = [], [], []
    for i in range(count):
        scene = make_scene(seed, offset + i, config)
        images.append(scene["image"].as_subclass(Tensor))
        foreground.append(scene["semantic"].as_subclass(Tensor) > 0)
        shapes.append(shape_targets(scene["labels"], len(config.classes)))
    return torch.stack(images), torch.stack(foreground), torch.stack(shapes)


def shape_targets(labels: Tensor, num_classes: int) -> Tensor:
    """Multi-hot ``[num_classes]`` of which (1-based) labels occur: the supervised baseline's target."""
    num_classes = number("num_classes", num_classes, low=1, integer=True)
    labels = class_ids("labels", labels, 1, num_classes)  # label 0 would mark the *last* class
    target = torch.zeros(num_classes)
    if len(labels):
        target[labels - 1] = 1.0
    return target
