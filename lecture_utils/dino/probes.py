"""Linear probes on frozen features: what a linear model can read off a network's features.

* [CLS] probes: if DINO told its scenes apart by the objects' colour, its [CLS] feature should predict
  the colour well (:func:`colour_probe`) and the shapes no better than random weights do
  (:func:`shape_probe`); :func:`shape_retrieval` asks whether a scene's nearest neighbour holds the
  same shapes (what KoLeo's spread of features is for).
* patch probes: DINOv2's "segmentation with a linear classifier" - one logistic regression on each
  frozen patch token, object or background, trained on a handful of labelled scenes
  (:func:`segmentation_probe`).

Probes are trained on scenes no network was trained on and scored on others; raw pixels and random
weights are the references.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from .attention_scores import OBJECT_PATCH, patch_share

__all__ = ["object_colour", "cls_features", "colour_probe", "shape_probe", "shape_retrieval", "shape_retrieval_chance",
           "patch_features", "segmentation_probe"]


def object_colour(images: Tensor, foreground: Tensor) -> Tensor:
    """``[B, 3]``: the mean RGB of each scene's object pixels (all its objects together)."""
    if images.ndim != 4 or foreground.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(f"images must be [B, 3, H, W] and foreground [B, H, W], got {tuple(images.shape)} "
                         f"and {tuple(foreground.shape)}")
    if not foreground.flatten(1).any(1).all():
        raise ValueError("foreground: every scene needs at least one object pixel")
    return torch.stack([img[:, fg].mean(1) for img, fg in zip(images, foreground, strict=True)])


@torch.no_grad()
def cls_features(backbone: nn.Module | None, images: Tensor, batch: int = 250) -> np.ndarray:
    """Frozen [CLS] features ``[B, dim]`` (``None``: raw pixels average-pooled to 8 x 8, the reference)."""
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError("images must be a [B, 3, H, W] tensor")
    if backbone is None:
        return torch.nn.functional.adaptive_avg_pool2d(images, 8).flatten(1).cpu().numpy()
    device = next(backbone.parameters()).device
    backbone.eval()
    return torch.cat([backbone(images[i:i + batch].to(device)).cpu() for i in range(0, len(images), batch)]).numpy()


def _rows(name: str, x: np.ndarray, y: Tensor) -> None:
    if np.ndim(x) != 2 or len(x) != len(y) or len(x) < 2:
        raise ValueError(f"{name} must be [N, features] with one row per target (N >= 2), got "
                         f"{np.shape(x)} for {len(y)} targets")


def colour_probe(train_x: np.ndarray, train_colour: Tensor, test_x: np.ndarray, test_colour: Tensor) -> float:
    """R^2 on the test scenes (mean over R, G, B) of a ridge regression from features to object colour
    (1 = colour read off exactly, 0 = no better than predicting the mean colour)."""
    _rows("train_x", train_x, train_colour)
    _rows("test_x", test_x, test_colour)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    model.fit(train_x, train_colour.numpy())
    return float(r2_score(test_colour.numpy(), model.predict(test_x)))


def shape_probe(train_x: np.ndarray, train_shapes: Tensor, test_x: np.ndarray, test_shapes: Tensor) -> float:
    """Mean AUROC on the test scenes of one logistic regression per shape class ("does the scene
    hold a circle?"): 0.5 = the feature says nothing about which shapes are there."""
    _rows("train_x", train_x, train_shapes)
    _rows("test_x", test_x, test_shapes)
    y_train, y_test = train_shapes.numpy() > 0.5, test_shapes.numpy() > 0.5
    aurocs = []
    for c in range(y_train.shape[1]):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(train_x, y_train[:, c])
        aurocs.append(roc_auc_score(y_test[:, c], model.predict_proba(test_x)[:, 1]))
    return float(np.mean(aurocs))


def shape_retrieval(x: np.ndarray, shapes: Tensor, per_scene: bool = False) -> float | np.ndarray:
    """The share of scenes whose nearest other scene (cosine similarity of ``x``) holds exactly the
    same set of shapes: k-NN retrieval with k = 1, the use KoLeo's spreading of features is meant for.
    ``per_scene=True`` returns the hit (``True``/``False``) of every scene instead, for paired intervals."""
    _rows("x", x, shapes)
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)  # a scene is not its own neighbour
    labels = shapes.numpy() > 0.5
    hits = (labels[similarity.argmax(1)] == labels).all(1)
    return hits if per_scene else float(hits.mean())


def shape_retrieval_chance(shapes: Tensor) -> float:
    """:func:`shape_retrieval`'s chance level: the mean share of *other* scenes holding exactly the same
    set of shapes (what a random neighbour scores)."""
    if not isinstance(shapes, Tensor) or shapes.ndim != 2 or len(shapes) < 2:
        raise ValueError("shapes must be a [N, classes] tensor with N >= 2")
    labels = shapes > 0.5
    same = (labels[:, None] == labels[None]).all(-1).float()
    same.fill_diagonal_(0)
    return (same.sum(1) / (len(labels) - 1)).mean().item()


@torch.no_grad()
def patch_features(backbone: nn.Module | None, images: Tensor, patch: int, batch: int = 250) -> np.ndarray:
    """Frozen patch tokens ``[B, patches, dim]`` in raster order (``None``: each patch's raw pixels,
    ``3 * patch * patch`` numbers, the reference a probe on the input itself reaches)."""
    if not isinstance(images, Tensor) or images.ndim != 4:
        raise ValueError("images must be a [B, 3, H, W] tensor")
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1 \
            or images.shape[-1] % patch or images.shape[-2] % patch:
        raise ValueError(f"patch must be a positive int dividing the image size {tuple(images.shape[-2:])}, got {patch!r}")
    if backbone is None:
        return torch.nn.functional.unfold(images, patch, stride=patch).transpose(1, 2).cpu().numpy()
    device = next(backbone.parameters()).device
    backbone.eval()
    return torch.cat([backbone.forward_tokens(images[i:i + batch].to(device))[:, 1:].cpu()  # without [CLS]
                      for i in range(0, len(images), batch)]).numpy()


def segmentation_probe(train_x: np.ndarray, train_fg: Tensor, test_x: np.ndarray, test_fg: Tensor,
                       patch: int, return_masks: bool = False) -> dict:
    """A linear classifier on frozen patch tokens, object vs background, scored on test pixels.

    Each training patch is labelled "object" when most of its pixels are object. The classifier's
    logits on the test patches are upsampled bilinearly to pixels (as DINOv2's linear segmentation
    head does) and thresholded at 0. Returns the dataset-level IoU of the object and of the
    background over all test pixels and their mean, ``miou`` (and, with ``return_masks``, the
    predicted ``[B, H, W]`` masks under ``"masks"``).
    """
    for name, x, fg in (("train_x", train_x, train_fg), ("test_x", test_x, test_fg)):
        patch_share(fg, patch)  # checks fg and patch
        cells = (fg.shape[-2] // patch) * (fg.shape[-1] // patch)
        if np.ndim(x) != 3 or x.shape[:2] != (len(fg), cells):
            raise ValueError(f"{name} must be [B, {cells}, dim] for {len(fg)} masks of {tuple(fg.shape[-2:])} "
                             f"with patch {patch}, got {np.shape(x)}")
    labels = (patch_share(train_fg, patch) > OBJECT_PATCH).flatten().numpy()
    if labels.all() or not labels.any():
        raise ValueError("train_fg: the training scenes need both object and background patches")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(train_x.reshape(-1, train_x.shape[-1]), labels)
    h, w = test_fg.shape[-2] // patch, test_fg.shape[-1] // patch
    logits = torch.from_numpy(model.decision_function(test_x.reshape(-1, test_x.shape[-1]))).float()
    pixels = torch.nn.functional.interpolate(logits.reshape(len(test_fg), 1, h, w), size=tuple(test_fg.shape[-2:]),
                                             mode="bilinear", align_corners=False)[:, 0] > 0
    truth = test_fg.bool().cpu()
    iou_fg = ((pixels & truth).sum() / (pixels | truth).sum()).item()  # over all test pixels at once
    iou_bg = ((~pixels & ~truth).sum() / (~pixels | ~truth).sum()).item()
    scores = {"iou_object": iou_fg, "iou_background": iou_bg, "miou": (iou_fg + iou_bg) / 2}
    return {**scores, "masks": pixels} if return_masks else scores
