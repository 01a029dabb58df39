"""Train the shipped detector checkpoints of notebooks 02 and 03 (CPU is enough; a GPU is faster).

    python scripts/train_detectors.py --model course       # lecture_utils.models.rcnn.FasterRCNN
    python scripts/train_detectors.py --model torchvision  # torchvision FasterRCNN, same backbone
    python scripts/train_detectors.py --model yolo         # lecture_utils.models.yolo.YOLOv1
    python scripts/train_detectors.py --model openvocab    # OpenVocabYOLO, starts from yolo_v1.pt

Scenes are generated on the fly from seed 100 (training); the held-out scenes of the notebook
(seed 999) are never seen. The script evaluates on 200 held-out scenes every --eval-every steps,
then saves ``data/checkpoints/<name>.pt`` and records its sha256 in SHA256SUMS.
"""

from __future__ import annotations

import argparse
import time

import torch

from lecture_utils.checkpoints import load_checkpoint, save_checkpoint
from lecture_utils.data import CLASSES, TEST_SEED, SceneConfig, make_scene
from lecture_utils.models.rcnn import FasterRCNN, torchvision_faster_rcnn
from lecture_utils.models.yolo import (
    OpenVocabYOLO,
    YOLOv1,
    yolo_inference_forward,
    yolo_loss,
    yolo_targets,
    yolo_training_forward,
)
from lecture_utils.runtime import get_device, pick, seed_everything, set_threads
from lecture_utils.text import (
    HELD_OUT_COMBOS,
    combo_index,
    combo_prompts,
    encode_prompts,
    load_text_encoder,
)
from lecture_utils.train import (
    evaluate_detector,
    evaluate_open_vocab,
    open_vocab_targets,
    train_detector,
)

NAMES = {"course": "faster_rcnn_course", "torchvision": "faster_rcnn_torchvision", "yolo": "yolo_v1",
         "openvocab": "yolo_open_vocab"}
NAMED = SceneConfig(named_colours=True)


def seen_vocabulary():
    """Prompts and embeddings of the (colour, shape) pairs used in open-vocabulary training."""
    combos = combo_prompts()
    seen = [i for i, pair in enumerate(combos) if pair not in HELD_OUT_COMBOS]
    encoder = load_text_encoder()
    if encoder is None:
        raise SystemExit("the text encoder is required: pip install -e '.[text]'")
    return seen, encode_prompts(encoder, [f"{c} {s}" for c, s in (combos[i] for i in seen)]), encoder


def openvocab_train_forward(seen, text):
    held = {combo_prompts().index(p) for p in HELD_OUT_COMBOS}

    def forward(model, images, targets):
        # scenes showing a held-out pair are skipped: those pairs are never seen in training
        keep = [i for i, t in enumerate(targets)
                if not set(combo_index(t["colours"], t["labels"]).tolist()) & held]
        if not keep:  # every scene of this batch showed a held-out pair
            return {"loss": sum(p.sum() for p in model.parameters()) * 0.0}
        relabelled = open_vocab_targets([targets[i] for i in keep], seen)
        encoded = torch.stack([yolo_targets(t["boxes"].cpu(), t["labels"], num_classes=len(seen))[0]
                               for t in relabelled])
        return yolo_loss(model(images[keep], text.to(images.device)), encoded.to(images.device))

    return forward


def build(name: str):
    """(model, training forward or None, evaluation forward or None)."""
    if name == "course":
        return FasterRCNN(len(CLASSES)), None, None
    if name == "torchvision":
        return torchvision_faster_rcnn(len(CLASSES)), None, None
    if name == "yolo":
        return YOLOv1(len(CLASSES)), yolo_training_forward, yolo_inference_forward
    if name == "openvocab":
        yolo = YOLOv1(len(CLASSES))
        if load_checkpoint(yolo, "yolo_v1.pt") is None:
            raise SystemExit("train the closed-set YOLO first: --model yolo")
        model = OpenVocabYOLO()
        model.init_from_yolo(yolo)
        seen, text, _ = seen_vocabulary()
        return model, openvocab_train_forward(seen, text), None
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
    threads = set_threads(args.threads or None)
    seed_everything(args.seed)
    device = get_device()
    model, train_forward, eval_forward = build(args.model)
    test = [make_scene(TEST_SEED, i) for i in range(pick(200, 200))]
    t0 = time.perf_counter()
    config = NAMED if args.model == "openvocab" else None
    history = train_detector(model, args.steps, batch_size=args.batch_size, lr=args.lr, device=device,
                             desc=NAMES[args.model], forward=train_forward, config=config)
    train_s = time.perf_counter() - t0
    if args.model == "openvocab":
        seen, _, encoder = seen_vocabulary()
        everything = list(range(len(combo_prompts())))
        text = encode_prompts(encoder, [f"{c} {s}" for c, s in combo_prompts()])
        named_test = [make_scene(TEST_SEED, i, NAMED) for i in range(pick(200, 200))]
        ap = evaluate_open_vocab(model, named_test, text, everything)["AP50"]
        unseen = [i for i in everything if i not in seen]
        stats = {"seen_pairs_AP50": sum(ap[i] for i in seen) / len(seen),
                 "unseen_pairs_AP50": sum(ap[i] for i in unseen) / len(unseen)}
    else:
        stats = evaluate_detector(model, test, forward=eval_forward)["stats"]
    shown = ", ".join(f"{k} = {v:.4f}" for k, v in stats.items() if k in ("AP50", "AP") or "pairs" in k)
    print(f"trained {args.steps} steps in {train_s:.0f} s on {device}; on held-out scenes: {shown}", flush=True)
    meta = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
            "seed": args.seed, "device": str(device), "threads": threads, "train_seconds": round(train_s, 1),
            "final_loss": round(sum(history[-50:]) / 50, 4)}
    meta.update({f"heldout_{k}": v for k, v in stats.items() if k in ("AP50", "AP") or "pairs" in k})
    digest = save_checkpoint(model, f"{NAMES[args.model]}.pt", meta)
    print(f"saved {NAMES[args.model]}.pt sha256={digest}")


if __name__ == "__main__":
    main()
