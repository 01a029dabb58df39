import matplotlib.pyplot as plt
import pytest
import torch

from lecture_utils import viz
from lecture_utils.data import CLASSES, make_scene


def test_drawing_functions_make_artists():
    s = make_scene(0, 1)
    fig, axes = plt.subplots(1, 3)
    viz.draw_boxes(s["image"], s["boxes"], s["labels"], torch.rand(len(s["labels"])),
                   class_names=CLASSES, ax=axes[0])
    assert len(axes[0].patches) == len(s["labels"])
    viz.overlay_masks(s["image"], s["masks"], s["labels"], ax=axes[1])
    viz.show_semantic(s["semantic"], class_names=CLASSES, ax=axes[2])
    assert axes[2].get_legend() is not None
    plt.close(fig)
    fig, axes = viz.image_grid([s["image"]] * 5, titles=list("abcde"), ncols=2)
    assert axes.shape == (3, 2)
    plt.close(fig)


def test_bad_inputs_name_the_argument():
    s = make_scene(0, 1)
    with pytest.raises(ValueError, match="labels"):
        viz.draw_boxes(s["image"], s["boxes"], labels=[1])
    with pytest.raises(ValueError, match="images"):
        viz.image_grid([])
    with pytest.raises(ValueError, match="image"):
        viz.to_numpy_image(torch.zeros(2, 2, 2, 2))
