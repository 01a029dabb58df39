"""Optional real pretrained weights, used only if already on disk or if downloading is allowed.

The course never downloads by default (``LECTURE_ALLOW_DOWNLOAD=1`` opts in). A torchvision
weights file already in the local torch cache (``torch.hub.get_dir()/checkpoints``) is used
offline; otherwise these helpers return ``None`` with a message, and the notebook goes on with
the course's own checkpoints.

Cached files are checked before they are loaded: torchvision names each weights file after the
first hex digits of its sha256 (``...-907ea3f9.pth``), the check ``torch.hub`` makes on download,
and it is made here on every load. DINO publishes no digest, so the course records the sha256 of
the file it downloads (``<file>.sha256``) and checks it on later loads; a file put in the cache by
hand cannot be verified and is said so. All files load with ``weights_only=True``, so none can
run code.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .checkpoints import sha256_of
from .runtime import downloads_allowed

__all__ = ["cached_weights_path", "coco_faster_rcnn", "DINO_VITS8_URL", "dino_vits8"]

#: DINO's ViT-S/8 backbone weights, as the official repository publishes them (about 82 MB)
DINO_VITS8_URL = "https://dl.fbaipublicfiles.com/dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth"


def cached_weights_path(weights) -> Path:
    """Where torch's hub cache keeps the file of a torchvision ``Weights`` entry."""
    if not isinstance(getattr(weights, "url", None), str):
        raise TypeError(f"weights must be a torchvision Weights entry (with a url), got {weights!r}")
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _digest_problem(path: Path) -> str | None:
    """Why the cached ``path`` fails its sha256 check, or None (see the module docstring)."""
    digest = sha256_of(path)
    prefix = re.search(r"-([a-f0-9]{6,})\.", path.name)  # torch.hub's HASH_REGEX
    if prefix is not None:
        return None if digest.startswith(prefix.group(1)) else f"its sha256 does not start with {prefix.group(1)}"
    record = path.with_name(path.name + ".sha256")
    if record.exists():
        return None if record.read_text().strip() == digest else f"its sha256 differs from {record.name}"
    print(f"note: {path.name} has no published digest and was not downloaded by the course: not verified")
    return None


def _refused(path: Path, verbose: bool) -> bool:
    problem = _digest_problem(path)
    if problem and verbose:
        print(f"cached weights not used: {path} is corrupt ({problem}); delete it to download again.")
    return problem is not None


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
        if _refused(path, verbose):
            return None
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
        if _refused(path, verbose):
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
    else:  # LECTURE_ALLOW_DOWNLOAD=1
        state = torch.hub.load_state_dict_from_url(DINO_VITS8_URL, map_location="cpu", progress=True,
                                                   weights_only=True)
        path.with_name(path.name + ".sha256").write_text(sha256_of(path) + "\n")  # checked on later loads
    model = TinyViT(img_size=224, patch_size=8, dim=384, depth=12, heads=6, norm=IMAGENET_NORM, eps=1e-6)
    model.load_state_dict(from_official_dino(state))
    return model.eval()
