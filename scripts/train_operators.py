"""Train notebook 06's shipped neural operators on the same PDE data and budget.

    python scripts/train_operators.py [--steps 4000] [--only unet unet_bn fno uno] [--threads 0]
    python scripts/train_operators.py --multires            # the FNO trained on 32x32 and 64x64 grids

Data: 1000 training samples at 32x32 (``make_pde_dataset(1000, 32, seed=0)``), tested on 200
others (seed 1) at 32x32 and, zero-shot, at 64x64. Every model: the same mini-batches (20
samples), AdamW with warm-up and cosine decay, relative-L2 loss. The checkpoints land in
data/checkpoints/operator_<name>.pt with their sha256 in SHA256SUMS; each one's meta keeps
its training time and test errors.

``--multires`` trains the FNO once more with the same steps, batches and seed, but every second batch
comes from the same 1000 PDEs solved on 64x64 (``make_pde_dataset(1000, 32, seed=0,
resolutions=(64,))``): what multi-resolution training buys over zero-shot super-resolution, at the
price of the finer solves and the dearer 64x64 steps (the meta keeps the training time). -> operator_fno_multires.pt.
"""

from __future__ import annotations

import argparse
import time

from lecture_utils.checkpoints import save_checkpoint
from lecture_utils.models.zoo import OPERATORS
from lecture_utils.pde import make_pde_dataset
from lecture_utils.runtime import get_device, pick, seed_everything, set_threads
from lecture_utils.train import evaluate_operator, train_operator

LR = 2e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=list(OPERATORS), choices=list(OPERATORS))
    parser.add_argument("--multires", action="store_true", help="train the FNO on 32x32 and 64x64 batches")
    args = parser.parse_args()
    threads = set_threads(args.threads or None)
    device = get_device()
    train = make_pde_dataset(pick(1000, 1000), 32, seed=0, resolutions=(64,) if args.multires else ())
    runs = {name: (name, train, f"operator_{name}.pt") for name in args.only}
    if args.multires:
        fine = {key: train[f"{key}@64"] for key in ("a", "f", "u")}
        runs = {"fno_multires": ("fno", [{k: train[k] for k in ("a", "f", "u")}, fine], "operator_fno_multires.pt")}
    test = make_pde_dataset(pick(200, 200), 32, seed=1, resolutions=(64,))
    for name, (builder, data, checkpoint) in runs.items():
        seed_everything(0)
        model = OPERATORS[builder]()
        t0 = time.perf_counter()
        history = train_operator(model, data, args.steps, lr=LR, device=device, desc=name)
        seconds = time.perf_counter() - t0
        r32 = evaluate_operator(model, test["a"], test["f"], test["u"])["relative_l2"]
        r64 = evaluate_operator(model, test["a@64"], test["f@64"], test["u@64"])["relative_l2"]
        print(f"{name}: {seconds:.0f} s, test relative L2 {r32:.4f} at 32x32, {r64:.4f} at 64x64", flush=True)
        meta = {"model": builder, "grids": [32, 64] if args.multires else [32], "steps": args.steps, "lr": LR, "batch_size": 20, "device": str(device), "threads": threads,
                "train_seconds": round(seconds, 1), "final_loss": round(sum(history[-50:]) / 50, 4),
                "test_relative_l2_32": r32, "test_relative_l2_64": r64}
        save_checkpoint(model, checkpoint, meta)


if __name__ == "__main__":
    main()
