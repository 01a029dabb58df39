"""The label-efficiency protocol of notebook 08 (lecture_utils.few_labels)."""

import numpy as np
import pytest
import torch

from lecture_utils.diffusion import DenoisingUNet, NoiseSchedule
from lecture_utils.few_labels import (
    block_step_scores,
    choose_features,
    flip_rotate,
    labelled_draw,
    train_scratch_unet,
)


def test_draws_are_reproducible_and_validation_draws_are_other_sets():
    assert torch.equal(labelled_draw(40, 5, 3), labelled_draw(40, 5, 3))
    test = {tuple(sorted(labelled_draw(40, 5, d).tolist())) for d in range(10)}
    val = {tuple(sorted(labelled_draw(40, 5, d, "validation").tolist())) for d in range(10)}
    assert len(test) == 10 and not test & val
    assert len(set(labelled_draw(40, 20, 0).tolist())) == 20
    with pytest.raises(ValueError, match="purpose"):
        labelled_draw(40, 5, 0, "train")
    with pytest.raises(ValueError, match="n"):
        labelled_draw(40, 41, 0)


def test_flip_rotate_moves_labels_with_the_image():
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    labels = images[:, 0].long()
    for seed in range(8):
        im, lab = flip_rotate(images, labels, torch.Generator().manual_seed(seed))
        assert torch.equal(im[:, 0].long(), lab)
    with pytest.raises(ValueError, match="labels"):
        flip_rotate(images, labels[:, :2], torch.Generator())


def test_scratch_unet_learns_the_few_scenes_it_sees():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 16, 16, generator=g)
    labels = (images[:, 0] > 0.5).long()  # the class is visible in the red channel
    net = train_scratch_unet(images, labels, 2, steps=60, seed=0)
    with torch.no_grad():
        accuracy = (net(images).argmax(1) == labels).float().mean()
    assert not net.training and accuracy > 0.8
    with pytest.raises(ValueError, match="steps"):
        train_scratch_unet(images, labels, 2, steps=0)


def test_block_step_scores_has_one_score_per_block_and_step_and_choose_features_ranks_them():
    torch.manual_seed(0)
    model = DenoisingUNet(widths=(8, 16), time_dim=8)
    images = torch.rand(4, 3, 8, 8)
    labels = (images[:, 1] > 0.5).long()
    scores = block_step_scores(model, NoiseSchedule(100), images[:2], labels[:2], images[2:], labels[2:], (5, 50), 2,
                               epochs=1, progress=False)
    assert scores.shape == (2, 2) and ((scores >= 0) & (scores <= 1)).all()
    toy = np.array([[0.1, 0.2, 0.3], [0.9, 0.5, 0.4], [0.2, 0.8, 0.1]])
    assert choose_features(toy, (10, 50, 150), n_blocks=2, n_steps=2) == ((1, 2), (10, 50))
