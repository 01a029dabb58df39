import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lecture_utils.checkpoints import load_checkpoint, save_checkpoint
from lecture_utils.data import SceneConfig, make_scene
from lecture_utils.dino import (
    DINO_SCENES,
    DINOLoss,
    attention_mass_mask,
    cls_attention,
    cosine_schedule,
    ema_update,
    entropy_stats,
    gram_loss,
    ibot_patch_loss,
    jaccard,
    koleo_loss,
    multi_crop,
    random_patch_mask,
    scene_pool,
)
from lecture_utils.metrics import mask_iou
from lecture_utils.models.vit import DINOHead, TinyViT


def small_vit():
    return TinyViT(img_size=32, patch_size=8, dim=32, depth=2, heads=4)


def test_vit_shapes_and_attention_rows_sum_to_one():
    torch.manual_seed(0)
    vit = small_vit().eval()
    x = torch.rand(3, 3, 32, 32)
    assert vit(x).shape == (3, 32)
    assert vit.forward_tokens(x).shape == (3, 1 + 16, 32)
    attention = vit.get_last_selfattention(x)
    assert attention.shape == (3, 4, 17, 17)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 4, 17))
    assert cls_attention(vit, x).shape == (3, 4, 4, 4)
    # a local crop of another size gets interpolated positional embeddings
    assert vit.forward_tokens(torch.rand(2, 3, 16, 16)).shape == (2, 1 + 4, 32)
    assert torch.equal(vit.interpolate_pos_embed(4, 4), vit.pos_embed)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        vit(torch.rand(1, 3, 30, 30))
    with pytest.raises(ValueError, match="divisible"):
        TinyViT(dim=30, heads=4)


def test_mask_token_replaces_masked_patches_only():
    torch.manual_seed(0)
    vit = small_vit()
    x = torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, 3] = True
    tokens, plain = vit.prepare_tokens(x, mask), vit.prepare_tokens(x)
    changed = (tokens != plain).any(-1)
    assert changed.sum() == 1 and changed[0, 1 + 3]
    torch.testing.assert_close(tokens[0, 4], (vit.mask_token[0, 0] + vit.pos_embed[0, 4]))


def test_dino_head_outputs_cosines():
    torch.manual_seed(0)
    head = DINOHead(32, out_dim=50, hidden_dim=16, bottleneck_dim=8).eval()
    out = head(torch.randn(6, 32))
    assert out.shape == (6, 50) and out.abs().max() <= 1 + 1e-5
    # scaling a prototype does not change the logits: the last layer is weight-normalised
    before = head(torch.randn(2, 32).clone())
    with torch.no_grad():
        head.prototypes.mul_(3.0)
    torch.manual_seed(1)
    x = torch.randn(2, 32)
    a = head(x)
    with torch.no_grad():
        head.prototypes.div_(3.0)
    torch.testing.assert_close(a, head(x))
    assert before.shape == (2, 50)


def test_dino_loss_on_hand_made_logits():
    loss = DINOLoss(out_dim=3, teacher_temp=0.5, student_temp=1.0, center_momentum=0.9)
    teacher = [torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])]
    student = [torch.tensor([[0.0, 0.0, 0.0]]), torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[0.0, 0.0, 3.0]])]

    def ce(t, s):
        p = torch.softmax(t / 0.5, -1)
        return -(p * torch.log_softmax(s / 1.0, -1)).sum()

    # pairs: teacher 0 with students 1 and 2, teacher 1 with students 0 and 2 (same view skipped)
    expected = (ce(teacher[0], student[1]) + ce(teacher[0], student[2])
                + ce(teacher[1], student[0]) + ce(teacher[1], student[2])) / 4
    torch.testing.assert_close(loss(student, teacher), expected)
    # the centre moved 10% of the way to the teacher's batch mean
    torch.testing.assert_close(loss.center, torch.tensor([[0.05, 0.05, 0.0]]))
    with pytest.raises(ValueError, match="teacher_temp"):
        DINOLoss(3, teacher_temp=0.0)


def test_centring_and_sharpening_pull_in_opposite_directions():
    loss = DINOLoss(out_dim=4, teacher_temp=0.05)
    logits = torch.tensor([[2.0, 0.0, 0.0, 0.0]] * 8)
    sharp = entropy_stats(loss.teacher_probs(logits))
    assert sharp["mean_entropy"] < 0.01  # sharpening: one-hot
    assert sharp["marginal_entropy"] < 0.01  # ...and every sample the same: collapse to one dimension
    for _ in range(200):
        loss.update_center(logits)
    centred = entropy_stats(loss.teacher_probs(logits))
    assert math.isclose(centred["mean_entropy"], math.log(4), rel_tol=1e-3)  # centring alone: uniform
    assert centred["ln_K"] == math.log(4)


def test_ema_update_and_schedule():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    wa, wb = a.weight.detach().clone(), b.weight.detach().clone()
    ema_update(a, b, 0.9)
    torch.testing.assert_close(a.weight, 0.9 * wa + 0.1 * wb)
    with pytest.raises(ValueError, match="momentum"):
        ema_update(a, b, 1.5)
    assert cosine_schedule(1.0, 0.0, 0, 100, warmup=10) == pytest.approx(0.1)
    assert cosine_schedule(1.0, 0.0, 10, 100, warmup=10) == pytest.approx(1.0)
    assert cosine_schedule(1.0, 0.0, 100, 100, warmup=10) == pytest.approx(0.0)
    assert cosine_schedule(0.99, 1.0, 50, 100) == pytest.approx(0.995)


def test_koleo_on_hand_made_features():
    # nearest-neighbour distances: points 0 and 1 are 0.6 apart, point 2 is 0.8 from point 1
    x = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, -0.6]])
    d01 = math.dist((1, 0), (0.8, 0.6))
    d02 = math.dist((1, 0), (0.8, -0.6))
    expected = -(math.log(min(d01, d02)) + math.log(d01) + math.log(d02)) / 3
    assert koleo_loss(x).item() == pytest.approx(expected, rel=1e-5)
    # spreading the points lowers the loss
    spread = torch.tensor([[1.0, 0.0], [-0.5, 0.866], [-0.5, -0.866]])
    assert koleo_loss(spread) < koleo_loss(x)
    with pytest.raises(ValueError, match="B >= 2"):
        koleo_loss(torch.ones(1, 3))


def test_gram_loss_on_hand_made_features():
    a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # orthogonal patches: Gram = identity
    b = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])  # identical patches: Gram = all ones
    assert gram_loss(a, a).item() == 0.0
    assert gram_loss(a, b).item() == pytest.approx(0.5)  # two off-diagonal entries differ by 1, of 4
    assert gram_loss(3 * a, a).item() == 0.0  # features are normalised first
    # a rotation of the feature space keeps every similarity: no penalty
    rot = torch.tensor([[0.6, -0.8], [0.8, 0.6]])
    x = torch.randn(2, 5, 2)
    assert gram_loss(x @ rot, x).item() < 1e-10
    with pytest.raises(ValueError, match="same"):
        gram_loss(torch.ones(1, 3, 2), torch.ones(1, 4, 2))


def test_ibot_loss_counts_masked_patches_only():
    teacher = F.one_hot(torch.tensor([[0, 1, 2]]), 3).float()
    student = torch.zeros(1, 3, 3)
    mask = torch.tensor([[True, False, False]])
    assert ibot_patch_loss(student, teacher, mask).item() == pytest.approx(math.log(3))
    student[0, 1] = torch.tensor([-9.0, 9.0, -9.0])  # unmasked patch: must not matter
    assert ibot_patch_loss(student, teacher, mask).item() == pytest.approx(math.log(3))
    student[0, 0] = torch.tensor([9.0, -9.0, -9.0])
    assert ibot_patch_loss(student, teacher, mask, student_temp=1.0).item() < 1e-6
    m = random_patch_mask(4, 10, 0.3, generator=torch.Generator().manual_seed(0))
    assert m.shape == (4, 10) and (m.sum(1) == 3).all()
    with pytest.raises(ValueError, match="no patch"):
        ibot_patch_loss(student, teacher, torch.zeros(1, 3, dtype=torch.bool))


def test_attention_mass_mask_and_jaccard():
    attention = torch.tensor([[0.5, 0.2], [0.2, 0.1]])
    assert attention_mass_mask(attention, 0.5).tolist() == [[True, False], [False, False]]
    assert attention_mass_mask(attention, 0.6).tolist() == [[True, True], [False, False]] or \
        attention_mass_mask(attention, 0.6).tolist() == [[True, False], [True, False]]
    assert attention_mass_mask(attention, 1.0).all()
    # unnormalised maps give the same mask
    assert torch.equal(attention_mass_mask(10 * attention, 0.6), attention_mass_mask(attention, 0.6))
    a = torch.tensor([[True, True], [False, False]])
    b = torch.tensor([[True, False], [True, False]])
    assert jaccard(a, b).item() == pytest.approx(1 / 3)
    # one convention for two empty masks across the package: 0, as metrics.mask_iou and pycocotools
    empty = torch.zeros(2, 2, dtype=torch.bool)
    assert jaccard(empty, empty).item() == 0.0 == mask_iou(empty[None], empty[None]).item()
    with pytest.raises(ValueError, match="mass"):
        attention_mass_mask(attention, 0.0)


def test_multi_crop_views():
    images = torch.rand(5, 3, 64, 64)
    views = multi_crop(images, n_local=3, generator=torch.Generator().manual_seed(0))
    assert [tuple(v.shape) for v in views] == [(5, 3, 64, 64)] * 2 + [(5, 3, 32, 32)] * 3
    assert all(0 <= v.min() and v.max() <= 1 for v in views)
    again = multi_crop(images, n_local=3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(views, again, strict=True))
    with pytest.raises(ValueError, match="images"):
        multi_crop(torch.rand(3, 64, 64))


def test_shared_backgrounds_hide_the_image_identity():
    images, foreground, shapes = scene_pool(40, seed=3)
    assert images.shape == (40, 3, 64, 64) and foreground.dtype == torch.bool
    assert ((shapes.sum(1) >= 1) & (shapes.sum(1) <= 2)).all()
    background_means = torch.stack([img[:, ~fg].mean(1) for img, fg in zip(images, foreground, strict=True)])
    assert background_means.std(0).max() < 0.05  # every background has about the same colour
    random_bg = [make_scene(3, i, SceneConfig(image_size=64))["image"] for i in range(40)]
    assert torch.stack([im.mean((1, 2)) for im in random_bg]).std(0).min() > 0.1
    assert DINO_SCENES.background == "shared"
    with pytest.raises(ValueError, match="background"):
        SceneConfig(background="plain")


def test_checkpoint_round_trip_and_corrupt_file(tmp_path):
    vit = small_vit()
    save_checkpoint(vit, "vit.pt", {"steps": 3}, directory=tmp_path)
    other = small_vit()
    assert load_checkpoint(other, "vit.pt", directory=tmp_path, verbose=False) == {"steps": 3}
    assert all(torch.equal(a, b) for a, b in zip(vit.state_dict().values(), other.state_dict().values(), strict=True))
    with open(tmp_path / "vit.pt", "r+b") as f:
        f.seek(100)
        f.write(b"corrupt")
    assert load_checkpoint(other, "vit.pt", directory=tmp_path, verbose=False) is None


def test_official_dino_loading_path_on_our_own_weights(tmp_path, monkeypatch):
    """dino_vits8() reads the official file format: write our own ViT-S/8 in it and read it back."""
    from lecture_utils import pretrained
    from lecture_utils.models.vit import IMAGENET_NORM, to_official_dino

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv("LECTURE_ALLOW_DOWNLOAD", "0")
    assert pretrained.dino_vits8(verbose=False) is None  # not cached, downloads off: skipped, no network
    torch.manual_seed(0)
    ours = TinyViT(img_size=224, patch_size=8, dim=384, depth=12, heads=6, norm=IMAGENET_NORM, eps=1e-6).eval()
    official = to_official_dino(ours.state_dict())
    assert "patch_embed.proj.weight" in official and "blocks.11.mlp.fc2.bias" in official
    assert "mask_token" not in official
    (tmp_path / "checkpoints").mkdir()
    torch.save(official, tmp_path / "checkpoints" / "dino_deitsmall8_pretrain.pth")
    loaded = pretrained.dino_vits8(verbose=False)
    x = torch.rand(1, 3, 64, 96)  # another size: positional embeddings are interpolated
    torch.testing.assert_close(loaded.get_last_selfattention(x), ours.get_last_selfattention(x))


def test_registers_take_part_in_attention_but_not_in_the_output():
    torch.manual_seed(0)
    vit = TinyViT(img_size=32, patch_size=8, dim=32, depth=2, heads=4, registers=3).eval()
    x = torch.rand(2, 3, 32, 32)
    assert vit.forward_tokens(x).shape == (2, 1 + 16, 32)
    attention = vit.get_last_selfattention(x)
    assert attention.shape == (2, 4, 1 + 3 + 16, 1 + 3 + 16)
    maps = cls_attention(vit, x)
    assert maps.shape == (2, 4, 4, 4)
    torch.testing.assert_close(maps.flatten(2).sum(-1) + attention[:, :, 0, :4].sum(-1), torch.ones(2, 4))


def test_attention_of_any_block():
    torch.manual_seed(0)
    vit = small_vit().eval()
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(vit.get_selfattention(x, 1), vit.get_last_selfattention(x))
    first = vit.blocks[0](vit.prepare_tokens(x), return_attention=True)
    torch.testing.assert_close(cls_attention(vit, x, block=0), first[:, :, 0, 1:].reshape(2, 4, 4, 4))
    with pytest.raises(IndexError):
        vit.get_selfattention(x, 2)


def test_attention_scores_on_hand_made_maps():
    from sklearn.metrics import roc_auc_score

    from lecture_utils.dino import (
        auroc_per_image,
        choose_rank_mask,
        mass_on_object,
        patch_share,
        rank_mask_jaccard,
        top_k_mask,
        uniform_jaccard,
    )

    fg = torch.zeros(2, 16, 16, dtype=torch.bool)
    fg[:, :8, :8] = True  # the top-left patch of a 2 x 2 grid of 8-pixel patches
    share = patch_share(fg, 8)
    assert share[0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    looks_at_object = torch.tensor([[0.7, 0.1], [0.1, 0.1]])
    looks_away = torch.tensor([[0.01, 0.33], [0.33, 0.33]])
    attention = torch.stack([looks_at_object, looks_away])[None].expand(2, 2, 2, 2).clone()
    torch.testing.assert_close(mass_on_object(attention, share)[0], torch.tensor([0.7, 0.01]))
    uniform = torch.full((2, 1, 2, 2), 0.25)
    torch.testing.assert_close(mass_on_object(uniform, share), share.mean((1, 2))[:, None])  # chance = pixel share
    auc = auroc_per_image(attention, share)
    assert auc[0].tolist() == [1.0, 0.0]
    # the average-rank form agrees with sklearn, ties included
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 4, (3, 2, 4, 4), generator=g).float()
    share4 = (torch.rand(3, 4, 4, generator=g) > 0.6).float()
    ours = auroc_per_image(scores, share4)
    for i in range(3):
        for h in range(2):
            expected = roc_auc_score(share4[i].flatten() > 0.5, scores[i, h].flatten())
            assert abs(ours[i, h].item() - expected) < 1e-6
    assert torch.isnan(auroc_per_image(scores, torch.zeros(3, 4, 4))).all()  # no object patch: undefined
    assert top_k_mask(looks_at_object, 1).tolist() == [[True, False], [False, False]]
    assert top_k_mask(-looks_away, 1).tolist() == [[True, False], [False, False]]
    # a background head: its complement (the least attended patch) is the object exactly
    assert rank_mask_jaccard(attention, fg, 8, "complement", 1)[0].tolist() == [0.0, 1.0]
    # every k at once (a cumulative sum over the sorted patches) = the pixel masks one k at a time
    from lecture_utils.dino import rank_mask_jaccard_by_k
    maps = torch.rand(3, 2, 4, 4, generator=g)
    objects = torch.rand(3, 16, 16, generator=g) > 0.7
    for direction in ("attention", "complement"):
        table = rank_mask_jaccard_by_k(maps, objects, 4, direction)
        for k in (1, 5, 16):
            torch.testing.assert_close(table[k - 1], rank_mask_jaccard(maps, objects, 4, direction, k))
    choice = choose_rank_mask(attention, fg, 8, ks=range(1, 4))
    assert choice["jaccard"] == 1.0 and choice["k"] == 1
    assert 0.1 < uniform_jaccard(fg, 8) < 0.5
    for bad, match in ((lambda: top_k_mask(looks_at_object, 5), "k"),
                       (lambda: rank_mask_jaccard(attention, fg, 8, "inverse", 1), "direction"),
                       (lambda: patch_share(fg, 5), "patch"),
                       (lambda: mass_on_object(attention, share[:, :1]), "share")):
        with pytest.raises(ValueError, match=match):
            bad()


def test_probes_read_what_is_linearly_there():
    from lecture_utils.dino import colour_probe, object_colour, shape_probe

    g = torch.Generator().manual_seed(0)
    images = torch.rand(400, 3, 8, 8, generator=g)
    fg = torch.zeros(400, 8, 8, dtype=torch.bool)
    fg[:, 2:6, 2:6] = True
    colour = object_colour(images, fg)
    torch.testing.assert_close(colour[0], images[0][:, 2:6, 2:6].mean((1, 2)))
    x = np.concatenate([colour.numpy(), np.random.default_rng(0).normal(size=(400, 5))], axis=1)
    assert colour_probe(x[:300], colour[:300], x[300:], colour[300:]) > 0.99
    noise = np.random.default_rng(1).normal(size=(400, 8))
    assert colour_probe(noise[:300], colour[:300], noise[300:], colour[300:]) < 0.1
    shapes = (torch.rand(400, 3, generator=g) > 0.5).float()
    informative = shapes.numpy() + 0.1 * np.random.default_rng(2).normal(size=(400, 3))
    assert shape_probe(informative[:300], shapes[:300], informative[300:], shapes[300:]) > 0.95
    assert abs(shape_probe(noise[:300], shapes[:300], noise[300:], shapes[300:]) - 0.5) < 0.15
    with pytest.raises(ValueError, match="foreground"):
        object_colour(images, torch.zeros(400, 8, 8, dtype=torch.bool))


def test_shape_retrieval_counts_exact_shape_sets_of_nearest_neighbours():
    from lecture_utils.dino import shape_retrieval

    shapes = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 1.0]])  # scene 2's neighbour is 3: other shapes
    assert shape_retrieval(x, shapes) == 0.5  # 0 -> 1 and 1 -> 0 match, 2 -> 3 and 3 -> 2 do not
    assert shape_retrieval(10 * x, shapes) == 0.5  # cosine: the scale of a feature does not matter
    assert shape_retrieval(x, shapes, per_scene=True).tolist() == [True, True, False, False]
    from lecture_utils.dino import shape_retrieval_chance

    assert shape_retrieval_chance(shapes) == pytest.approx((1 / 3 + 1 / 3 + 0 + 0) / 4)  # only scenes 0 and 1 agree


def test_segmentation_probe_against_sklearn_and_hand_made_scenes():
    from sklearn.metrics import jaccard_score

    from lecture_utils.dino import patch_features, segmentation_probe

    g = torch.Generator().manual_seed(0)
    fg = torch.zeros(30, 16, 16, dtype=torch.bool)
    for i in range(30):  # one 8 x 8 object per scene, on the patch grid
        y, x = torch.randint(0, 2, (2,), generator=g) * 8
        fg[i, y:y + 8, x:x + 8] = True
    images = 0.5 + 0.05 * torch.randn(30, 3, 16, 16, generator=g)
    images[:, 0][fg] = 0.9  # a red object on grey noise: raw pixels separate it linearly
    x = patch_features(None, images, 8)
    assert x.shape == (30, 4, 192)
    torch.testing.assert_close(torch.from_numpy(x[0, 1]), images[0, :, :8, 8:].flatten())  # raster order
    perfect = segmentation_probe(x[:10], fg[:10], x[10:], fg[10:], 8)
    assert perfect["miou"] > 0.85  # bilinear logits blur the 8-pixel object edges a little
    noise = np.random.default_rng(0).normal(size=x.shape)
    chance = segmentation_probe(noise[:10], fg[:10], noise[10:], fg[10:], 8)
    assert chance["miou"] < 0.7
    # the IoUs over all test pixels, as scikit-learn counts them, for an imperfect prediction
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(noise[:10].reshape(-1, 192), (fg[:10].reshape(10, 2, 8, 2, 8).float().mean((2, 4)) > 0.5).flatten())
    logits = torch.from_numpy(model.decision_function(noise[10:].reshape(-1, 192))).float().reshape(20, 1, 2, 2)
    pred = torch.nn.functional.interpolate(logits, size=(16, 16), mode="bilinear", align_corners=False)[:, 0] > 0
    reference = jaccard_score(fg[10:].flatten().numpy(), pred.flatten().numpy(), average=None, labels=[False, True])
    assert chance["iou_background"] == pytest.approx(reference[0]) and chance["iou_object"] == pytest.approx(reference[1])
    masks = segmentation_probe(noise[:10], fg[:10], noise[10:], fg[10:], 8, return_masks=True)["masks"]
    assert torch.equal(masks, pred)
    with pytest.raises(ValueError, match="train_x"):
        segmentation_probe(x[:10, :3], fg[:10], x[10:], fg[10:], 8)
    with pytest.raises(ValueError, match="train_fg"):
        segmentation_probe(x[:10], torch.zeros_like(fg[:10]), x[10:], fg[10:], 8)
    with pytest.raises(ValueError, match="patch"):
        patch_features(None, images, 5)


@pytest.mark.parametrize("kind", ["cuda", "mps"])
def test_attention_scores_stay_on_the_device(kind):
    """Every score works on device tensors (emulated) and gives the CPU's numbers there."""
    from lecture_utils.dino import (
        auroc_per_image,
        choose_rank_mask,
        mask_precision,
        mass_on_object,
        patch_share,
        rank_mask_jaccard,
        rank_mask_jaccard_by_k,
        top_k_mask,
        uniform_jaccard,
        upsample_patches,
    )
    from lecture_utils.emulation import emulate

    g = torch.Generator().manual_seed(0)
    maps, objects = torch.rand(3, 2, 4, 4, generator=g), torch.rand(3, 16, 16, generator=g) > 0.6

    def scores(a, fg):
        share = patch_share(fg, 4)
        mask = top_k_mask(a, 5)
        return [mass_on_object(a, share), mask_precision(mask, share), auroc_per_image(a, share),
                rank_mask_jaccard(a, fg, 4, "complement", 5), rank_mask_jaccard_by_k(a, fg, 4, "attention"),
                upsample_patches(mask, 4), torch.tensor(uniform_jaccard(fg, 4, draws=2)),
                torch.tensor(choose_rank_mask(a, fg, 4)["jaccard"])]

    on_cpu = scores(maps, objects)
    with emulate(kind) as device:
        on_device = scores(maps.to(device), objects.to(device))
        assert all(t.device == device for t in on_device[:6])
        for cpu, dev in zip(on_cpu, on_device, strict=True):
            torch.testing.assert_close(dev.cpu(), cpu, equal_nan=True)
