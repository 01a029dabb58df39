"""Linear probes on frozen [CLS] features: what an image's feature vector lets a linear model read off.

If DINO told its scenes apart by the objects' colour, its [CLS] feature should predict the colour
well and the shapes no better than random weights do. A probe is trained on scenes no network was
trained on and scored on others; raw pixels and random weights are the references.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

__all__ = ["object_colour", "cls_features", "colour_probe", "shape_probe"]


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
