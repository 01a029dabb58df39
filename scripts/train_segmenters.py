"""Train the shipped segmentation checkpoints of notebooks 04 and 05, all with the same budget.

    python scripts/train_segmenters.py [--steps 2000] [--only encdec encdec_skip fcn32s fcn16s fcn8s]

Notebook 04 uses the default (2000 steps); notebook 05 uses 4000 steps for every model
    python scripts/train_segmenters.py --steps 4000 --only encdec unet unet_noskip --suffix _4k
    python scripts/train_segmenters.py --steps 4000 --only linknet linknet_s2 --suffix _4k --lr 3e-3
LinkNet's learning rate (3e-3 against the default 5e-3) was chosen on validation scenes (VAL_SEED),
never on the notebooks' test scenes:
    python scripts/train_segmenters.py --steps 4000 --only linknet linknet_s2 --lr 5e-3 --out-dir build/lr_sweep
compares with the shipped 3e-3 runs (``--evaluate-only`` scores existing checkpoints on validation); on
VAL_SEED's 200 scenes 3e-3 gave mIoU 0.931 / boundary F 0.884 and 5e-3 0.920 / 0.860 (data/README.md).
linknet_s2 is LinkNet with the light stem: no max-pool, widths 16 ... 128.

Each model sees the same stream of training scenes (TRAIN_SEED), the same optimiser and number of
steps; ``--seed`` sets the initial weights. Every checkpoint's meta keeps its validation scores.
The checkpoints land in data/checkpoints/seg_<name><suffix>.pt with their sha256 in SHA256SUMS.
"""

from __future__ import annotations

import argparse
import time

from lecture_utils.checkpoints import CHECKPOINT_DIR, load_checkpoint, save_checkpoint
from lecture_utils.data import CLASSES, TRAIN_SEED, VAL_SEED, make_scene
from lecture_utils.models.zoo import SEGMENTERS
from lecture_utils.runtime import get_device, pick, seed_everything, set_threads
from lecture_utils.train import evaluate_segmenter, train_segmenter

K = len(CLASSES) + 1
VAL_SCENES = 200  # the smoke profile (emulated devices) takes a tenth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="initial weights (the scene stream is always TRAIN_SEED)")
    parser.add_argument("--only", nargs="*", default=["encdec", "encdec_skip", "fcn32s", "fcn16s", "fcn8s"],
                        choices=list(SEGMENTERS))
    parser.add_argument("--suffix", default="", help="appended to the file name, e.g. '_4k'")
    parser.add_argument("--out-dir", default=str(CHECKPOINT_DIR))
    parser.add_argument("--evaluate-only", action="store_true", help="score existing checkpoints on validation")
    args = parser.parse_args()
    threads = set_threads(args.threads or None)
    device = get_device()
    val = [make_scene(VAL_SEED, i) for i in range(pick(VAL_SCENES, VAL_SCENES, smoke=VAL_SCENES // 10))]
    for name in args.only:
        file = f"seg_{name}{args.suffix}.pt"
        seed_everything(args.seed)
        model = SEGMENTERS[name](K)
        if args.evaluate_only:
            meta = load_checkpoint(model, file, directory=args.out_dir, verbose=False)
            r = evaluate_segmenter(model, val, K)
            print(f"{file} (lr {meta['lr']}): validation mIoU {r['mIoU']:.4f}, boundary F {r['boundary_F']:.4f}")
            continue
        t0 = time.perf_counter()
        history = train_segmenter(model, args.steps, batch_size=args.batch_size, lr=args.lr, device=device, desc=name,
                                  seed=TRAIN_SEED)
        seconds = time.perf_counter() - t0
        r = evaluate_segmenter(model, val, K)
        print(f"{name}: {seconds:.0f} s, validation mIoU {r['mIoU']:.4f}, boundary F {r['boundary_F']:.4f}", flush=True)
        meta = {"model": name, "steps": args.steps, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
                "device": str(device), "threads": threads, "train_seconds": round(seconds, 1),
                "final_loss": round(sum(history[-50:]) / 50, 4),
                "validation": f"VAL_SEED={VAL_SEED}, {len(val)} scenes",
                "validation_mIoU": r["mIoU"], "validation_boundary_F": r["boundary_F"]}
        save_checkpoint(model, file, meta, directory=args.out_dir)


if __name__ == "__main__":
    main()
