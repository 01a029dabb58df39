"""Train the shipped detector checkpoints of notebooks 02 and 03 (CPU is enough; a GPU is faster).

    python scripts/train_detectors.py --model course       # lecture_utils.models.rcnn.FasterRCNN
    python scripts/train_detectors.py --model torchvision  # torchvision FasterRCNN, same backbone
    python scripts/train_detectors.py --model yolo         # lecture_utils.models.yolo.YOLOv1

Scenes are generated on the fly from seed 100 (training); the held-out scenes of the notebook
(seed 999) are never seen. The script evaluates on 200 held-out scenes every --eval-every steps,
then saves ``data/checkpoints/<name>.pt`` and records its sha256 in SHA256SUMS.
"""

from __future__ import annotations

import argparse
import time

import torch

from lecture_utils.checkpoints import save_checkpoint
from lecture_utils.data import CLASSES, make_scene
from lecture_utils.models.rcnn import FasterRCNN, torchvision_faster_rcnn
from lecture_utils.models.yolo import YOLOv1, yolo_decode, yolo_loss, yolo_targets
from lecture_utils.runtime import get_device, seed_everything
from lecture_utils.train import evaluate_detector, train_detector

TEST_SEED = 999
NAMES = {"course": "faster_rcnn_course", "torchvision": "faster_rcnn_torchvision", "yolo": "yolo_v1"}


def yolo_train_forward(model, images, targets):
    encoded = torch.stack([yolo_targets(t["boxes"].cpu(), t["labels"].cpu())[0] for t in targets])
    return yolo_loss(model(images), encoded.to(images.device))


def yolo_eval_forward(model, images, start):
    return yolo_decode(model(images))


def build(name: str):
    """(model, training forward or None, evaluation forward or None)."""
    if name == "course":
        return FasterRCNN(len(CLASSES)), None, None
    if name == "torchvision":
        return torchvision_faster_rcnn(len(CLASSES)), None, None
    if name == "yolo":
        return YOLOv1(len(CLASSES)), yolo_train_forward, yolo_eval_forward
    raise SystemExit(f"--model must be one of {sorted(NAMES)}, got {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = get_device()
    model, train_forward, eval_forward = build(args.model)
    test = [make_scene(TEST_SEED, i) for i in range(200)]
    t0 = time.perf_counter()
    history = train_detector(model, args.steps, batch_size=args.batch_size, lr=args.lr, device=device,
                             desc=NAMES[args.model], forward=train_forward)
    train_s = time.perf_counter() - t0
    result = evaluate_detector(model.cpu(), test, forward=eval_forward)
    stats = result["stats"]
    print(f"trained {args.steps} steps in {train_s:.0f} s on {device}; held-out AP50 = {stats['AP50']:.4f}, "
          f"AP = {stats['AP']:.4f}", flush=True)
    meta = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
            "seed": args.seed, "device": str(device), "train_seconds": round(train_s, 1),
            "final_loss": round(sum(history[-50:]) / 50, 4), "heldout_AP50": stats["AP50"],
            "heldout_AP": stats["AP"]}
    digest = save_checkpoint(model, f"{NAMES[args.model]}.pt", meta)
    print(f"saved data/checkpoints/{NAMES[args.model]}.pt sha256={digest}")


if __name__ == "__main__":
    main()
