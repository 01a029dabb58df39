"""Optional real pretrained weights, used only if already on disk or if downloading is allowed.

The course never downloads by default (``LECTURE_ALLOW_DOWNLOAD=1`` opts in). A torchvision
weights file already in the local torch cache (``torch.hub.get_dir()/checkpoints``) is used
offline; otherwise these helpers return ``None`` with a message, and the notebook goes on with
the course's own checkpoints.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .runtime import downloads_allowed

__all__ = ["cached_weights_path", "coco_faster_rcnn", "DINO_VITS8_URL", "dino_vits8"]

#: DINO's ViT-S/8 backbone weights, as the official repository publishes them (about 82 MB)
DINO_VITS8_URL = "https://dl.fbaipublicfiles.com/dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth"


def cached_weights_path(weights) -> Path:
    """Where torch's hub cache keeps the file of a torchvision ``Weights`` entry."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def coco_faster_rcnn(verbose: bool = True):
    """torchvision's COCO-trained Faster R-CNN (MobileNetV3-Large FPN, 320 px), or ``None``.

    Returns ``(model, category_names)`` in eval mode on the CPU.
    """
    from torchvision.models.detection import (
        FasterRCNN_MobileNet_V3_Large_320_FPN_Weights,
        fasterrcnn_mobilenet_v3_large_320_fpn,
    )

    weights = FasterRCNN_MobileNet_V3_Large_320_FPN_Weights.COCO_V1
    path = cached_weights_path(weights)
    if not path.exists() and not downloads_allowed():
        if verbose:
            print(f"COCO weights are not in the local cache ({path}) and downloads are off "
                  "(set LECTURE_ALLOW_DOWNLOAD=1 to fetch them, about 75 MB): skipping this part.")
        return None
    model = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None)
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:  # LECTURE_ALLOW_DOWNLOAD=1
        state = weights.get_state_dict(progress=True, check_hash=True)
    model.load_state_dict(state)
    return model.eval(), list(weights.meta["categories"])


def dino_vits8(verbose: bool = True):
    """DINO's self-supervised ViT-S/8 as a course :class:`~lecture_utils.models.vit.TinyViT`, or ``None``.

    Uses ``dino_deitsmall8_pretrain.pth`` from the torch hub cache (``torch.hub.get_dir()/checkpoints``),
    downloading it only with ``LECTURE_ALLOW_DOWNLOAD=1``. The model is in eval mode on the CPU and
    takes [0, 1] images (ImageNet normalisation inside), any side that is a multiple of 8.
    """
    from .models.vit import IMAGENET_NORM, TinyViT, from_official_dino

    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(DINO_VITS8_URL).name
    if not path.exists() and not downloads_allowed():
        if verbose:
            print(f"DINO ViT-S/8 weights are not in the local cache ({path}) and downloads are off "
                  "(set LECTURE_ALLOW_DOWNLOAD=1 to fetch them, about 82 MB): skipping this part.")
        return None
    if path.exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:  # LECTURE_ALLOW_DOWNLOAD=1
        state = torch.hub.load_state_dict_from_url(DINO_VITS8_URL, map_location="cpu", progress=True)
    model = TinyViT(img_size=224, patch_size=8, dim=384, depth=12, heads=6, norm=IMAGENET_NORM, eps=1e-6)
    model.load_state_dict(from_official_dino(state))
    return model.eval()
