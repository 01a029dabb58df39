"""Train the shipped segmentation checkpoints of notebooks 04 and 05, all with the same budget.

    python scripts/train_segmenters.py [--steps 2000] [--only encdec fcn32s fcn16s fcn8s unet linknet]

Notebook 04 uses the default (2000 steps); notebook 05 uses 4000 steps for all three models
    python scripts/train_segmenters.py --steps 4000 --only encdec unet --suffix _4k
    python scripts/train_segmenters.py --steps 4000 --only linknet linknet_s2 --suffix _4k --lr 3e-3
(for LinkNet 3e-3 did better than the default 5e-3 on held-out scenes; each checkpoint's meta keeps its scores;
linknet_s2 is LinkNet with the light stem: no max-pool, widths 16 ... 128)

Each model sees the same stream of training scenes (seed 100), the same optimiser and number of
steps; the checkpoints land in data/checkpoints/seg_<name>.pt with their sha256 in SHA256SUMS.
"""

from __future__ import annotations

import argparse
import time

from lecture_utils.checkpoints import save_checkpoint
from lecture_utils.data import CLASSES, TEST_SEED, TRAIN_SEED, make_scene
from lecture_utils.models.zoo import SEGMENTERS
from lecture_utils.runtime import get_device, pick, seed_everything, set_threads
from lecture_utils.train import evaluate_segmenter, train_segmenter

K = len(CLASSES) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=["encdec", "fcn32s", "fcn16s", "fcn8s"], choices=list(SEGMENTERS))
    parser.add_argument("--suffix", default="", help="appended to the file name, e.g. '_4k'")
    args = parser.parse_args()
    threads = set_threads(args.threads or None)
    device = get_device()
    test = [make_scene(TEST_SEED, i) for i in range(pick(100, 100))]
    for name in args.only:
        seed_everything(0)
        model = SEGMENTERS[name](K)
        t0 = time.perf_counter()
        history = train_segmenter(model, args.steps, batch_size=args.batch_size, lr=args.lr, device=device, desc=name,
                                  seed=TRAIN_SEED)
        seconds = time.perf_counter() - t0
        r = evaluate_segmenter(model, test, K)
        print(f"{name}: {seconds:.0f} s, held-out mIoU {r['mIoU']:.4f}, boundary F {r['boundary_F']:.4f}", flush=True)
        meta = {"model": name, "steps": args.steps, "lr": args.lr, "batch_size": args.batch_size,
                "device": str(device), "threads": threads, "train_seconds": round(seconds, 1),
                "final_loss": round(sum(history[-50:]) / 50, 4),
                "heldout_mIoU": r["mIoU"], "heldout_boundary_F": r["boundary_F"]}
        save_checkpoint(model, f"seg_{name}{args.suffix}.pt", meta)


if __name__ == "__main__":
    main()
