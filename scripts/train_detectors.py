"""Train the shipped detector checkpoints of notebooks 02 and 03 (CPU is enough; a GPU is faster).

    python scripts/train_detectors.py --model course       # lecture_utils.models.rcnn.FasterRCNN
    python scripts/train_detectors.py --model torchvision  # torchvision FasterRCNN, same backbone
    python scripts/train_detectors.py --model yolo         # lecture_utils.models.yolo.YOLOv1
    python scripts/train_detectors.py --model openvocab    # OpenVocabYOLO, starts from yolo_v1.pt
    python scripts/train_detectors.py --model fast         # FastRCNN (RoI pooling) on selective-search proposals
    python scripts/train_detectors.py --model fast_align   # the same with RoI Align
    python scripts/train_detectors.py --model course_align # FasterRCNN with RoI Align
    python scripts/train_detectors.py --model openvocab_random  # controls of notebook 03: prompt embeddings
    python scripts/train_detectors.py --model openvocab_onehot  #   replaced (lecture_utils.text.control_embeddings)

The Fast R-CNN models train on a fixed pool of --pool training scenes whose selective-search proposals
are computed once (selective search is too slow to run on fresh scenes every step); the others see fresh
scenes every step. Every pair the notebooks compare (RoI pooling vs RoI Align, the text encoder vs its
controls) is trained with the same steps, batch, lr and seed.

Scenes are generated on the fly from seed 100 (training); the held-out scenes of the notebook
(seed 999) are never seen. The script evaluates on 200 held-out scenes every --eval-every steps,
then saves ``data/checkpoints/<name>.pt`` and records its sha256 in SHA256SUMS.
"""

from __future__ import annotations

import argparse
import time

import torch

from lecture_utils.checkpoints import load_checkpoint, save_checkpoint
from lecture_utils.data import CLASSES, TEST_SEED, TRAIN_SEED, SceneConfig, make_scene, stack_images
from lecture_utils.models.rcnn import FasterRCNN, FastRCNN, torchvision_faster_rcnn
from lecture_utils.models.yolo import (
    OpenVocabYOLO,
    YOLOv1,
    yolo_inference_forward,
    yolo_loss,
    yolo_targets,
    yolo_training_forward,
)
from lecture_utils.runtime import BUILD_DIR, get_device, pick, seed_everything, set_threads
from lecture_utils.selective_search import selective_search
from lecture_utils.text import (
    HELD_OUT_COMBOS,
    combo_index,
    combo_prompts,
    control_embeddings,
    encode_prompts,
    load_text_encoder,
)
from lecture_utils.train import (
    evaluate_detector,
    evaluate_open_vocab,
    fit,
    open_vocab_targets,
    train_detector,
)

NAMES = {"course": "faster_rcnn_course", "torchvision": "faster_rcnn_torchvision", "yolo": "yolo_v1",
         "openvocab": "yolo_open_vocab", "fast": "fast_rcnn", "fast_align": "fast_rcnn_align",
         "course_align": "faster_rcnn_course_align", "openvocab_random": "yolo_open_vocab_random",
         "openvocab_onehot": "yolo_open_vocab_onehot"}
NAMED = SceneConfig(named_colours=True)
FAST = ("fast", "fast_align")


def prompt_embeddings(model: str, pairs: list[tuple[str, str]]):
    """Embeddings of ``pairs``: the text encoder's for ``openvocab``, a control's for ``openvocab_<kind>``."""
    if model != "openvocab":
        return control_embeddings(model.removeprefix("openvocab_"), pairs)
    encoder = load_text_encoder()
    if encoder is None:
        raise SystemExit("the text encoder is required: pip install -e '.[text]'")
    return encode_prompts(encoder, [f"{c} {s}" for c, s in pairs])


def seen_vocabulary(model: str = "openvocab"):
    """Indices and embeddings of the (colour, shape) pairs used in open-vocabulary training."""
    combos = combo_prompts()
    seen = [i for i, pair in enumerate(combos) if pair not in HELD_OUT_COMBOS]
    return seen, prompt_embeddings(model, [combos[i] for i in seen])


def proposal_pool(count: int):
    """``count`` training scenes with their selective-search proposals (computed once, cached in build/)."""
    scenes = [make_scene(TRAIN_SEED, i) for i in range(count)]
    cache = BUILD_DIR / f"ss_proposals_train{TRAIN_SEED}_{count}.pt"
    if cache.exists():
        return scenes, torch.load(cache)
    t0 = time.perf_counter()
    proposals = []
    for k, s in enumerate(scenes):
        proposals.append(selective_search(s["image"]))
        if (k + 1) % 250 == 0:
            print(f"selective search: {k + 1}/{count} scenes, {time.perf_counter() - t0:.0f} s", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save(proposals, cache)
    return scenes, proposals


def train_fast(model: FastRCNN, steps: int, batch_size: int, lr: float, device, seed: int, pool: int,
               desc: str = "fast_rcnn"):
    """Fast R-CNN's training on a pool of scenes with precomputed proposals, by the course's ``fit``."""
    scenes, proposals = proposal_pool(pool)
    images = stack_images(scenes)
    targets = [{"boxes": s["boxes"].as_subclass(torch.Tensor), "labels": s["labels"]} for s in scenes]

    def batches():
        g = torch.Generator().manual_seed(seed)
        while True:
            yield torch.randint(pool, (batch_size,), generator=g).tolist()

    def loss_fn(m, idx):
        return m(images[idx].to(device), [proposals[i] for i in idx], [targets[i] for i in idx])

    return fit(model, steps, batches(), loss_fn, lr=lr, device=device, desc=desc, seed=seed), proposals


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
    if name == "course_align":
        return FasterRCNN(len(CLASSES), pool="align"), None, None
    if name in FAST:
        return FastRCNN(len(CLASSES), pool="align" if name == "fast_align" else "max"), None, None
    if name == "yolo":
        return YOLOv1(len(CLASSES)), yolo_training_forward, yolo_inference_forward
    if name.startswith("openvocab"):
        yolo = YOLOv1(len(CLASSES))
        if load_checkpoint(yolo, "yolo_v1.pt") is None:
            raise SystemExit("train the closed-set YOLO first: --model yolo")
        model = OpenVocabYOLO()
        model.init_from_yolo(yolo)
        seen, text = seen_vocabulary(name)
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
    parser.add_argument("--pool", type=int, default=2000, help="Fast R-CNN: training scenes with proposals")
    args = parser.parse_args()
    if args.model not in NAMES:
        raise SystemExit(f"--model must be one of {sorted(NAMES)}, got {args.model!r}")
    threads = set_threads(args.threads or None)
    seed_everything(args.seed)
    device = get_device()
    model, train_forward, eval_forward = build(args.model)
    test = [make_scene(TEST_SEED, i) for i in range(pick(200, 200, smoke=10))]
    t0 = time.perf_counter()
    config = NAMED if args.model.startswith("openvocab") else None
    if args.model in FAST:
        history, _ = train_fast(model, args.steps, args.batch_size, args.lr, device, args.seed, args.pool,
                                NAMES[args.model])
    else:
        history = train_detector(model, args.steps, batch_size=args.batch_size, lr=args.lr, device=device,
                                 desc=NAMES[args.model], forward=train_forward, config=config)
    train_s = time.perf_counter() - t0  # includes the Fast R-CNN pool's selective search
    if args.model.startswith("openvocab"):
        seen, _ = seen_vocabulary(args.model)
        everything = list(range(len(combo_prompts())))
        text = prompt_embeddings(args.model, combo_prompts())
        named_test = [make_scene(TEST_SEED, i, NAMED) for i in range(pick(200, 200))]
        ap = evaluate_open_vocab(model, named_test, text, everything)["AP50"]
        unseen = [i for i in everything if i not in seen]
        stats = {"seen_pairs_AP50": sum(ap[i] for i in seen) / len(seen),
                 "unseen_pairs_AP50": sum(ap[i] for i in unseen) / len(unseen)}
    elif args.model in FAST:
        props = [selective_search(s["image"]) for s in test]
        stats = evaluate_detector(model, test, forward=lambda m, imgs, start: m(imgs, props[start:start + len(imgs)]))["stats"]
    else:
        stats = evaluate_detector(model, test, forward=eval_forward)["stats"]
    shown = ", ".join(f"{k} = {v:.4f}" for k, v in stats.items() if k in ("AP50", "AP") or "pairs" in k)
    print(f"trained {args.steps} steps in {train_s:.0f} s on {device}; on held-out scenes: {shown}", flush=True)
    meta = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
            "seed": args.seed, "device": str(device), "threads": threads, "train_seconds": round(train_s, 1),
            "final_loss": round(sum(history[-50:]) / 50, 4)}
    if args.model in FAST:
        meta["pool_scenes"] = args.pool
    if hasattr(model, "head") and hasattr(model.head, "pool"):
        meta["pool"] = model.head.pool
    if args.model.startswith("openvocab"):
        meta["prompts"] = args.model.removeprefix("openvocab_") if args.model != "openvocab" else "minilm"
    meta.update({f"heldout_{k}": v for k, v in stats.items() if k in ("AP50", "AP") or "pairs" in k})
    digest = save_checkpoint(model, f"{NAMES[args.model]}.pt", meta)
    print(f"saved {NAMES[args.model]}.pt sha256={digest}")


if __name__ == "__main__":
    main()
