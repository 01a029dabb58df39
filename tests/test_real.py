import torch

from lecture_utils.real import load_real_coco, load_real_set


def test_real_set_loads_with_consistent_boxes_and_masks():
    coco = load_real_coco()
    samples = load_real_set()
    assert len(samples) == len(coco["images"]) >= 3
    total = 0
    for s in samples:
        _, h, w = s["image"].shape
        boxes = s["boxes"].as_subclass(torch.Tensor)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
        for box, mask, has in zip(boxes, s["masks"], s["has_mask"], strict=True):
            if has:
                ys, xs = torch.where(mask)
                assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        total += len(boxes)
    assert total == len(coco["annotations"])
