import math

import numpy as np
import pytest
import torch
from coco_cases import pycocotools_stats, random_coco_case

from lecture_utils.data import SceneConfig, make_scene, to_coco
from lecture_utils.metrics import (
    COCO_STATS,
    average_precision,
    coco_evaluate,
    confusion_matrix,
    mask_iou,
    match_detections,
    mean_average_precision,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
    precision_recall_curve,
)


def test_matching_rules_on_a_hand_made_case():
    gt_boxes = torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 30, 30]])
    gt_labels = torch.tensor([1, 2])
    pred = torch.tensor([
        [0.0, 0, 10, 10],    # TP for object 0
        [0.5, 0, 10, 10],    # duplicate of object 0 -> FP
        [20.0, 20, 30, 30],  # right place, wrong class -> FP, object 1 stays a miss
        [50.0, 50, 60, 60],  # nothing there -> FP
    ])
    scores = torch.tensor([0.9, 0.8, 0.95, 0.3])
    labels = torch.tensor([1, 1, 1, 1])
    is_tp, matched = match_detections(pred, scores, labels, gt_boxes, gt_labels)
    assert is_tp.tolist() == [True, False, False, False]
    assert matched.tolist() == [0, -1, -1, -1]


def test_precision_recall_curve_by_hand():
    is_tp = torch.tensor([True, False, True, True, False])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5])
    p, r = precision_recall_curve(is_tp, scores, num_gt=4)
    torch.testing.assert_close(p, torch.tensor([1, 1 / 2, 2 / 3, 3 / 4, 3 / 5], dtype=torch.float64))
    torch.testing.assert_close(r, torch.tensor([0.25, 0.25, 0.5, 0.75, 0.75], dtype=torch.float64))
    # all-point: envelope 1 up to 0.25, then 0.75 up to 0.75 -> 0.25 + 0.5 * 0.75
    assert average_precision(p, r, "voc10") == pytest.approx(0.25 + 0.5 * 0.75)
    # 11-point: r = 0, .1, .2 -> 1 ; .3 .. .7 -> 0.75 ; .8 .9 1 -> 0
    assert average_precision(p, r, "voc07") == pytest.approx((3 * 1 + 5 * 0.75) / 11)
    # 101-point: r = 0..0.25 (26 points) -> 1 ; 0.26..0.75 (50 points) -> 0.75
    assert average_precision(p, r, "coco") == pytest.approx((26 + 50 * 0.75) / 101)


def test_average_precision_edge_cases():
    assert average_precision(torch.zeros(0), torch.zeros(0), "coco") == 0.0
    with pytest.raises(ValueError, match="method"):
        average_precision(torch.ones(1), torch.ones(1), "voc2012")
    with pytest.raises(ValueError, match="recall"):
        average_precision(torch.ones(2), torch.tensor([0.5, 0.2]))


def scenes_and_noisy_detections(n=30, seed=0):
    cfg = SceneConfig(image_size=96)
    scenes = [make_scene(seed, i, cfg) for i in range(n)]
    g = torch.Generator().manual_seed(seed)
    preds = []
    for s in scenes:
        b = s["boxes"].as_subclass(torch.Tensor)
        noisy = b + torch.randn(b.shape, generator=g) * 2
        noisy = torch.cat([noisy[:, :2], torch.maximum(noisy[:, 2:], noisy[:, :2] + 1)], 1)
        fp = torch.rand(2, 2, generator=g) * 80
        fp = torch.cat([fp, fp + 10], 1)
        preds.append({"boxes": torch.cat([noisy, fp]),
                      "scores": torch.rand(len(b) + 2, generator=g),
                      "labels": torch.cat([s["labels"], torch.randint(1, 4, (2,), generator=g)])})
    return scenes, preds


def test_didactic_map_equals_coco_ap50_and_pycocotools():
    scenes, preds = scenes_and_noisy_detections()
    coco_gt = to_coco(scenes, with_masks=False)
    dets = [{"image_id": s["image_id"], "category_id": int(lab), "score": float(sc),
             "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]}
            for s, p in zip(scenes, preds, strict=True)
            for (x1, y1, x2, y2), sc, lab in zip(p["boxes"].tolist(), p["scores"], p["labels"], strict=True)]
    ours = coco_evaluate(coco_gt, dets)
    ref = pycocotools_stats(coco_gt, dets)
    np.testing.assert_allclose([ours[k] for k in COCO_STATS], ref, atol=1e-9, rtol=0)
    didactic = mean_average_precision(preds, scenes, iou_threshold=0.5, method="coco", num_classes=3)
    assert didactic["mAP"] == pytest.approx(ours["AP50"], abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_coco_evaluate_equals_pycocotools(seed):
    gt, dets = random_coco_case(seed, max_dets=150 if seed % 4 == 0 else 25,
                                crowd_rate=0.3 if seed % 3 == 0 else 0.05)
    ours = coco_evaluate(gt, dets)
    np.testing.assert_allclose([ours[k] for k in COCO_STATS], pycocotools_stats(gt, dets), atol=1e-9, rtol=0)


def test_coco_evaluate_edge_cases():
    gt, dets = random_coco_case(5)
    empty = coco_evaluate(gt, [])
    assert empty["AP"] == 0.0 and empty["AR100"] == 0.0
    no_gt = dict(gt, annotations=[])
    assert coco_evaluate(no_gt, dets)["AP"] == -1.0  # undefined, as in pycocotools
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in gt["annotations"] if not a["iscrowd"]]
    assert coco_evaluate(gt, perfect)["AP"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="image_id"):
        coco_evaluate(gt, [{"image_id": -7, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0}])
    with pytest.raises(ValueError, match="missing"):
        coco_evaluate(gt, [{"image_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0}])
    with pytest.raises(ValueError, match="annotations"):
        coco_evaluate({"images": []}, [])
    with pytest.raises(ValueError, match="NaN"):
        coco_evaluate(gt, [{"image_id": 1, "category_id": 1, "bbox": [0, 0, math.nan, 1], "score": 1.0}])


def test_mask_iou_and_semantic_metrics():
    a = torch.zeros(2, 4, 4, dtype=torch.bool)
    a[0, :2, :2] = True
    a[1, :, :] = True
    b = torch.zeros(1, 4, 4, dtype=torch.bool)
    b[0, :2, :] = True
    torch.testing.assert_close(mask_iou(a, b), torch.tensor([[4 / 8], [8 / 16]], dtype=torch.float64))
    target = torch.tensor([[0, 0, 1], [1, 2, 2]])
    pred = torch.tensor([[0, 1, 1], [1, 2, 0]])
    conf = confusion_matrix(pred, target, 3)
    assert conf.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert pixel_accuracy(conf) == pytest.approx(4 / 6)
    torch.testing.assert_close(per_class_iou(conf), torch.tensor([1 / 3, 2 / 3, 1 / 2], dtype=torch.float64))
    assert mean_iou(conf) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    # class 3 absent from both maps is left out of the mean
    assert mean_iou(confusion_matrix(pred, target, 4)) == pytest.approx(mean_iou(conf))
    with pytest.raises(TypeError, match="argmax"):
        confusion_matrix(pred.float(), target, 3)
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(pred + 5, target, 3)


def test_noisy_detector_and_coco_export():
    from lecture_utils.metrics import detections_to_coco
    from lecture_utils.simulate import noisy_detections

    scenes = [make_scene(4, i, SceneConfig(image_size=96)) for i in range(20)]
    gt = to_coco(scenes, with_masks=False)
    ids = [s["image_id"] for s in scenes]
    perfect = noisy_detections(scenes, loc_noise=0.0, false_alarms=0.0)
    assert coco_evaluate(gt, detections_to_coco(perfect, ids))["AP"] == pytest.approx(1.0)
    stats = [coco_evaluate(gt, detections_to_coco(noisy_detections(scenes, loc_noise=s, seed=1), ids))
             for s in (0.02, 0.15)]
    # localisation noise hurts the strict threshold more than the loose one
    assert stats[0]["AP75"] - stats[1]["AP75"] > stats[0]["AP50"] - stats[1]["AP50"]
    missed = noisy_detections(scenes, loc_noise=0.0, miss_rate=1.0, false_alarms=0.0)
    assert coco_evaluate(gt, detections_to_coco(missed, ids))["AR100"] == 0.0
    with pytest.raises(ValueError, match="miss_rate"):
        noisy_detections(scenes, miss_rate=1.5)
    with pytest.raises(ValueError, match="image_ids"):
        detections_to_coco(perfect, ids[:-1])


def test_boundary_f_score_by_hand():
    from lecture_utils.metrics import boundary_f_score

    target = torch.zeros(20, 20, dtype=torch.int64)
    target[5:15, 5:15] = 1
    assert boundary_f_score(target, target, 2) == pytest.approx(1.0)
    shifted = torch.roll(target, 1, dims=1)  # one pixel off: within a tolerance of 2, still perfect
    assert boundary_f_score(shifted, target, 2, tolerance=2) == pytest.approx(1.0)
    assert boundary_f_score(shifted, target, 2, tolerance=0) < 1.0
    far = torch.roll(target, 6, dims=1)
    assert boundary_f_score(far, target, 2, tolerance=2) < 0.5
    empty = torch.zeros_like(target)
    assert boundary_f_score(empty, target, 2) == 0.0
    with pytest.raises(ValueError, match="tolerance"):
        boundary_f_score(target, target, 2, tolerance=-1)


def test_object_recall_by_hand():
    from lecture_utils.metrics import object_recall

    gt = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 30, 30]])}]
    proposals = [torch.tensor([[50.0, 50, 60, 60], [0.0, 0, 10, 11], [20.0, 20, 26, 26]])]
    assert object_recall(proposals, gt).tolist() == [True, False]  # 0.36 < 0.5 for the second
    assert object_recall(proposals, gt, top_n=1).tolist() == [False, False]
    preds = [{"boxes": proposals[0], "scores": torch.tensor([0.9, 0.2, 0.8])}]
    assert object_recall(preds, gt, iou_threshold=0.3, score_threshold=0.5).tolist() == [False, True]
    with pytest.raises(ValueError, match="scores"):
        object_recall(proposals, gt, score_threshold=0.5)


def test_model_cost_counts_flops_of_a_conv():
    from lecture_utils.cost import model_cost

    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    cost = model_cost(conv, size=16, batch=2, repeats=1)
    assert cost["GFLOPs"] == pytest.approx(2 * 16 * 16 * 8 * 27 / 1e9)  # 2 FLOPs per multiply-add
    assert cost["parameters"] == 8 * 27
    assert cost["activation_MB"] == pytest.approx(8 * 16 * 16 * 4 / 2**20)


def _random_image_case(g: torch.Generator, n_gt: int, n_det: int, num_classes: int = 3, spread: float = 80):
    xy = torch.rand(n_gt, 2, generator=g) * spread  # a small spread crowds the objects together
    gt = torch.cat([xy, xy + 10 + torch.rand(n_gt, 2, generator=g) * 30], 1)
    gt_labels = torch.randint(1, num_classes + 1, (n_gt,), generator=g)
    source = torch.randint(n_gt, (n_det,), generator=g)  # detections are jittered copies (duplicates too)
    det = gt[source] + torch.randn(n_det, 4, generator=g) * 4
    det[:, 2:] = torch.maximum(det[:, 2:], det[:, :2] + 2)
    labels = torch.where(torch.rand(n_det, generator=g) < 0.8, gt_labels[source],
                         torch.randint(1, num_classes + 1, (n_det,), generator=g))
    return gt, gt_labels, det, torch.rand(n_det, generator=g, dtype=torch.float64), labels


def _voc_devkit_loop(det, scores, labels, gt, gt_labels, threshold):
    """A literal port of VOCevaldet.m's assignment loop (continuous boxes), one image."""
    from lecture_utils.boxes import box_iou

    detected = [False] * len(gt)
    tp = [False] * len(det)
    for d in sorted(range(len(det)), key=lambda k: -float(scores[k])):
        ovmax, jmax = -math.inf, -1
        for j in range(len(gt)):
            if gt_labels[j] != labels[d]:
                continue
            ov = float(box_iou(det[d:d + 1].double(), gt[j:j + 1].double())[0, 0])
            if ov > ovmax:
                ovmax, jmax = ov, j
        if ovmax >= threshold and not detected[jmax]:
            tp[d], detected[jmax] = True, True
    return tp


def test_voc_and_coco_matching_differ_beyond_ties():
    gt = torch.tensor([[0.0, 0, 10, 10], [4.0, 0, 14, 10]])
    gt_labels = torch.tensor([1, 1])
    pred = torch.tensor([[0.0, 0, 10, 10],   # takes object 0
                         [1.0, 0, 11, 10]])  # IoU 9/11 with the taken object 0, 7/13 with the free object 1
    scores, labels = torch.tensor([0.9, 0.8]), torch.tensor([1, 1])
    coco_tp, coco_gt = match_detections(pred, scores, labels, gt, gt_labels, rule="coco")
    voc_tp, voc_gt = match_detections(pred, scores, labels, gt, gt_labels, rule="voc")
    assert coco_tp.tolist() == [True, True] and coco_gt.tolist() == [0, 1]
    assert voc_tp.tolist() == [True, False] and voc_gt.tolist() == [0, -1]
    with pytest.raises(ValueError, match="rule"):
        match_detections(pred, scores, labels, gt, gt_labels, rule="pascal")


def test_coco_matching_equals_pycocotools_evalimgs():
    from lecture_utils.metrics import pycocotools_matches

    g = torch.Generator().manual_seed(3)
    images, annotations, detections, ours = [], [], [], {}
    for image_id in range(1, 41):
        gt, gt_labels, det, scores, labels = _random_image_case(g, int(torch.randint(1, 7, (1,), generator=g)),
                                                                int(torch.randint(0, 15, (1,), generator=g)))
        images.append({"id": image_id, "width": 128, "height": 128})
        first = len(annotations) + 1
        for b, c in zip(gt.tolist(), gt_labels.tolist(), strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": c, "iscrowd": 0,
                                "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "area": (b[2] - b[0]) * (b[3] - b[1])})
        for threshold in (0.5, 0.75):
            is_tp, matched = match_detections(det, scores, labels, gt, gt_labels, threshold)
            for k in range(len(det)):
                ours[(threshold, len(detections) + k)] = first + int(matched[k]) if is_tp[k] else 0
        for b, s, c in zip(det.tolist(), scores.tolist(), labels.tolist(), strict=True):
            detections.append({"image_id": image_id, "category_id": c, "score": s,
                               "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    coco_gt = {"images": images, "annotations": annotations,
               "categories": [{"id": c, "name": str(c)} for c in (1, 2, 3)]}
    for threshold in (0.5, 0.75):
        reference = pycocotools_matches(coco_gt, detections, threshold)
        assert len(reference) == len(detections)
        mine = {k: v for (t, k), v in ours.items() if t == threshold}
        assert mine == reference
        assert 0 < sum(v == 0 for v in mine.values()) < len(mine)  # both verdicts occur


def test_voc_matching_equals_the_devkit_loop():
    g = torch.Generator().manual_seed(4)
    differ = 0
    for _ in range(60):
        gt, gt_labels, det, scores, labels = _random_image_case(g, int(torch.randint(1, 7, (1,), generator=g)),
                                                                int(torch.randint(1, 15, (1,), generator=g)),
                                                                num_classes=1, spread=12)
        voc, _ = match_detections(det, scores, labels, gt, gt_labels, 0.5, rule="voc")
        assert voc.tolist() == _voc_devkit_loop(det, scores, labels, gt, gt_labels, 0.5)
        coco, _ = match_detections(det, scores, labels, gt, gt_labels, 0.5, rule="coco")
        differ += int((voc != coco).sum())
    assert differ > 0  # random crowded images do hit the case where the rules disagree


def test_paired_bootstrap_gap_matches_the_whole_set_metrics_and_covers_the_gap():
    from lecture_utils.metrics import (
        boundary_f_score,
        boundary_f_scores,
        confusion_matrix,
        mean_iou,
        paired_bootstrap_gap,
        scene_scores,
    )
    g = torch.Generator().manual_seed(0)
    target = torch.zeros(30, 24, 24, dtype=torch.int64)
    target[:, 6:18, 6:18] = 1
    target[::2, 2:8, 14:22] = 2
    noisy = torch.where(torch.rand(target.shape, generator=g) < 0.15, torch.randint(0, 3, target.shape, generator=g), target)
    worse = torch.where(torch.rand(target.shape, generator=g) < 0.30, torch.randint(0, 3, target.shape, generator=g), target)
    per_image = boundary_f_scores(noisy, target, 3)
    assert len(per_image) == 30
    assert np.concatenate(per_image).mean() == pytest.approx(boundary_f_score(noisy, target, 3))
    a, b = scene_scores(noisy, target, 3), scene_scores(worse, target, 3)
    gap = paired_bootstrap_gap(a, b, n_boot=500)
    expected = mean_iou(confusion_matrix(noisy, target, 3)) - mean_iou(confusion_matrix(worse, target, 3))
    assert gap["mIoU"][0] == pytest.approx(expected)
    assert gap["boundary_F"][0] == pytest.approx(boundary_f_score(noisy, target, 3) - boundary_f_score(worse, target, 3))
    for metric in ("mIoU", "boundary_F"):
        value, low, high = gap[metric]
        assert 0 < low <= value <= high  # less noise is better, and 30 scenes are enough to tell
    assert paired_bootstrap_gap(a, a, n_boot=200)["mIoU"] == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="scores_b"):
        paired_bootstrap_gap(a, scene_scores(worse[:5], target[:5], 3))
    with pytest.raises(TypeError, match="scores_a"):
        paired_bootstrap_gap(noisy, b)
    with pytest.raises(ValueError, match="n_boot"):
        paired_bootstrap_gap(a, b, n_boot=10)
    with pytest.raises(ValueError, match="pred"):
        scene_scores(noisy[0], target[0], 3)


def test_paired_draw_bootstrap_averages_per_draw_gaps_and_widens_with_draw_luck():
    from lecture_utils.metrics import confusion_matrix, mean_iou, paired_draw_bootstrap
    g = torch.Generator().manual_seed(1)
    target = torch.zeros(12, 16, 16, dtype=torch.int64)
    target[:, 4:12, 4:12] = 1

    def predictions(rate):
        flip = torch.rand(target.shape, generator=g) < rate
        return torch.where(flip, 1 - target, target)

    def confusions(rates):  # one row per labelled-set draw, one confusion per test scene
        return torch.stack([torch.stack([confusion_matrix(p, t, 2) for p, t in zip(predictions(r), target, strict=True)])
                            for r in rates]).double()

    a, b = confusions([0.05, 0.08, 0.06, 0.07]), confusions([0.20, 0.25, 0.22, 0.30])
    gap, low, high = paired_draw_bootstrap(a, b, n_boot=400)
    expected = np.mean([mean_iou(a[d].sum(0)) - mean_iou(b[d].sum(0)) for d in range(4)])
    assert gap == pytest.approx(expected)
    assert 0 < low <= gap <= high
    assert paired_draw_bootstrap(a, a, n_boot=100) == (0.0, 0.0, 0.0)
    # draws of very different luck widen the interval, at the same mean gap
    lucky = confusions([0.01, 0.15, 0.02, 0.14])
    _, low2, high2 = paired_draw_bootstrap(lucky, b, n_boot=400)
    assert high2 - low2 > high - low
    with pytest.raises(ValueError, match="conf_b"):
        paired_draw_bootstrap(a, b[:, :5])
    with pytest.raises(ValueError, match="conf_a"):
        paired_draw_bootstrap(-a, b)
    with pytest.raises(ValueError, match="level"):
        paired_draw_bootstrap(a, b, level=1.0)


def test_flops_by_part_adds_up_to_the_model_and_reaches_into_module_lists():
    from lecture_utils.cost import flops_by_part, model_cost
    from lecture_utils.models.unet import UNet

    model = UNet(3, widths=(4, 8, 16))
    parts = flops_by_part(model, size=32)
    assert set(parts) == {"down", "pool", "up", "up_conv", "classifier"}  # down/up are nn.ModuleLists
    assert parts["down"] > 0 and parts["up_conv"] > 0 and parts["pool"] == 0
    assert sum(parts.values()) == pytest.approx(model_cost(model, size=32, batch=1, repeats=1)["GFLOPs"])
    with pytest.raises(TypeError, match="model"):
        flops_by_part("unet")
