import pytest
import torch

from lecture_utils.boxes import box_iou
from lecture_utils.models.yolo import YOLOv1, yolo_boxes, yolo_decode, yolo_loss, yolo_targets


def one_object():
    # a 32x48 box centred at (40, 72): cell (row 4, col 2) of an 8x8 grid of 16-pixel cells
    return torch.tensor([[24.0, 48.0, 56.0, 96.0]]), torch.tensor([2])


def test_targets_by_hand():
    boxes, labels = one_object()
    t, dropped = yolo_targets(boxes, labels)
    assert dropped == 0 and t.shape == (8, 8, 8)
    assert torch.nonzero(t[..., 0]).tolist() == [[4, 2]]
    torch.testing.assert_close(t[4, 2, :5], torch.tensor([1.0, 0.5, 0.5, 0.5, (48 / 128) ** 0.5]))
    assert t[4, 2, 5:].tolist() == [0.0, 1.0, 0.0]
    torch.testing.assert_close(yolo_boxes(t[..., 1:5])[4, 2], boxes[0])  # decode inverts encode


def test_two_centres_in_one_cell_keep_the_larger():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 14, 14]])
    t, dropped = yolo_targets(boxes, torch.tensor([1, 3]))
    assert dropped == 1 and t[0, 0, 5:].tolist() == [0.0, 0.0, 1.0]


def perfect_prediction(t):
    pred = torch.zeros(1, 8, 8, 13)
    pred[0, ..., 0:4] = t[..., 1:5]
    pred[0, ..., 4] = t[..., 0]
    pred[0, ..., 5:9] = 0.3  # the second predictor: a different box, confidence 0
    pred[0, ..., 10:] = t[..., 5:]
    return pred


def test_loss_terms_by_hand():
    boxes, labels = one_object()
    t, _ = yolo_targets(boxes, labels)
    pred = perfect_prediction(t)
    losses = yolo_loss(pred, t[None])
    assert all(abs(v.item()) < 1e-10 for v in losses.values())
    shifted = pred.clone()
    shifted[0, 4, 2, 0] += 0.1  # x offset off by 0.1 cell: lambda_coord * 0.01, and IoU drops below 1
    losses = yolo_loss(shifted, t[None])
    assert losses["loss_xy"].item() == pytest.approx(5.0 * 0.01)
    iou = box_iou(yolo_boxes(shifted[0, ..., 0:4])[4, 2][None], boxes)[0, 0]
    assert losses["loss_obj"].item() == pytest.approx((1.0 - iou.item()) ** 2)
    noisy = pred.clone()
    noisy[0, 0, 0, 4] = 0.4  # confidence in an empty cell: lambda_noobj * 0.16
    assert yolo_loss(noisy, t[None])["loss_noobj"].item() == pytest.approx(0.5 * 0.16)
    wrong_class = pred.clone()
    wrong_class[0, 4, 2, 10:] = torch.tensor([1.0, 0.0, 0.0])
    assert yolo_loss(wrong_class, t[None])["loss_cls"].item() == pytest.approx(2.0)


def test_responsible_predictor_is_the_best_overlapping_one():
    boxes, labels = one_object()
    t, _ = yolo_targets(boxes, labels)
    pred = perfect_prediction(t)
    pred[0, 4, 2, 0:5] = torch.tensor([0.9, 0.9, 0.2, 0.2, 0.5])  # first box: poor
    pred[0, 4, 2, 5:10] = torch.cat([t[4, 2, 1:5], torch.tensor([0.7])])  # second box: exact
    losses = yolo_loss(pred, t[None])
    assert losses["loss_xy"].item() == pytest.approx(0.0, abs=1e-10)  # only the exact one is responsible
    assert losses["loss_noobj"].item() == pytest.approx(0.5 * 0.25)  # the poor one is pushed to 0
    assert losses["loss_obj"].item() == pytest.approx(0.09)  # (1 - 0.7)^2


def test_model_shapes_decode_and_gradients():
    model = YOLOv1()
    images = torch.rand(2, 3, 128, 128)
    pred = model(images)
    assert pred.shape == (2, 8, 8, 13)
    torch.testing.assert_close(pred[..., 10:].sum(-1), torch.ones(2, 8, 8))
    t = torch.stack([yolo_targets(*one_object())[0]] * 2)
    sum(yolo_loss(pred, t).values()).backward()
    assert all(p.grad is not None for p in model.parameters())
    dets = yolo_decode(perfect_prediction(t[0]))
    assert len(dets[0]["boxes"]) >= 1
    torch.testing.assert_close(dets[0]["boxes"][0], one_object()[0][0])
    assert dets[0]["labels"][0].item() == 2
    with pytest.raises(ValueError, match="stride"):
        YOLOv1(grid=7)
