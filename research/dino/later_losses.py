"""Do DINOv2's and DINOv3's additions deliver what they are for, beyond their own loss? (notebook 07)

Notebook 07 continues the shipped DINO checkpoint for a few steps with each addition and shows that each
term moves its own quantity. Whether it moves what it is *for* needs longer phases and several seeds,
which this script runs: STEPS steps of 32 scenes from ``vit_dino.pt``, three seeds (the batch and
augmentation stream), for

* plain DINO, + KoLeo (weight 0.1), + iBOT (30 % of the patches masked), all at lr 1e-4;
* a deliberately high learning rate (1e-3, DINOv3's "long training degrades dense features" in miniature)
  without and with the Gram anchor (weight 10, the anchor is the checkpoint itself).

Measured on validation scenes only (seed 1, 400 scenes; labelled scenes for the probe: 100 unseen seed-0
scenes at offset 8000): the nearest-neighbour distance of [CLS] (KoLeo's own quantity) and shape-set
retrieval by nearest neighbour (what KoLeo is for); linear segmentation on frozen patch tokens, N = 20,
5 draws (what iBOT and the Gram anchor are for); the Gram drift from the checkpoint (the anchor's own
quantity). Writes ``data/dino_later_losses.json``.

    OMP_NUM_THREADS=1 python research/dino/later_losses.py --seeds 0 1 2 --part 0   # and --part 1 beside it
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from lecture_utils.checkpoints import load_checkpoint
from lecture_utils.dino import (
    DINO,
    HEAD,
    DINOLoss,
    cls_features,
    dino_model,
    gram_loss,
    patch_features,
    scene_pool,
    segmentation_probe,
    self_distillation_step,
    shape_retrieval,
    shape_retrieval_chance,
)
from lecture_utils.runtime import BUILD_DIR, DATA_DIR

STEPS, BATCH, P = 100, 32, 8
RUNS = {"plain": dict(lr=1e-4), "koleo": dict(lr=1e-4, koleo_weight=0.1), "ibot": dict(lr=1e-4, ibot=True),
        "high_lr": dict(lr=1e-3), "high_lr_gram": dict(lr=1e-3, gram_weight=10.0)}
OUT = BUILD_DIR / "research_dino" / "later_losses"


def measures(backbone, anchor, val, labelled) -> dict:
    images, fg, shapes = val
    backbone.eval()
    with torch.no_grad():
        tokens = backbone.forward_tokens(images)
        cls = F.normalize(tokens[:, 0], dim=-1)
        nn_distance = (torch.cdist(cls, cls) + 10 * torch.eye(len(cls))).min(1).values.mean().item()
        drift = gram_loss(tokens[:, 1:], anchor.forward_tokens(images)[:, 1:]).item()
    label_images, label_fg, _ = labelled
    train_x, test_x = patch_features(backbone, label_images, P), patch_features(backbone, images, P)
    picks = [torch.randperm(len(label_images), generator=torch.Generator().manual_seed(2000 + d))[:20].numpy()
             for d in range(5)]
    seg = [segmentation_probe(train_x[i], label_fg[i], test_x, fg, P)["miou"] for i in picks]
    return {"nn_distance": round(nn_distance, 4), "retrieval": round(shape_retrieval(cls_features(backbone, images), shapes), 4),
            "linear_seg_n20": round(float(np.mean(seg)), 4), "gram_drift": round(drift, 5)}


def run(name: str, seed: int, train, val, labelled) -> dict:
    path = OUT / f"{name}_s{seed}.json"
    if path.exists():  # resumable: finished runs are kept
        return json.loads(path.read_text())
    settings = dict(RUNS[name])
    torch.manual_seed(0)
    student = dino_model()
    load_checkpoint(student, "vit_dino.pt", verbose=False)
    anchor = copy.deepcopy(student["backbone"]).requires_grad_(False).eval()
    teacher = copy.deepcopy(student).requires_grad_(False)
    optimizer = torch.optim.AdamW(student.parameters(), lr=settings.pop("lr"), weight_decay=0.04)
    extra = {}
    if settings.pop("ibot", False):
        extra["ibot"] = DINOLoss(HEAD["out_dim"], **DINO)
    if "gram_weight" in settings:
        extra.update(gram_anchor=anchor, gram_weight=settings.pop("gram_weight"))
    extra.update(settings)
    generator, started = torch.Generator().manual_seed(100 + seed), time.perf_counter()
    for _ in range(STEPS):
        batch = train[torch.randint(len(train), (BATCH,), generator=generator)]
        self_distillation_step(student, teacher, batch, optimizer, momentum=0.996, n_local=2, generator=generator, **extra)
    result = {"name": name, "seed": seed, "steps": STEPS, "batch": BATCH, "seconds": round(time.perf_counter() - started, 1),
              **measures(student["backbone"], anchor, val, labelled)}
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result) + "\n")
    print(result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--part", type=int, choices=(0, 1, 2), default=2, help="0/1: half of the runs each (two "
                        "processes side by side); 2: all, then write the table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train = scene_pool(2000, seed=0)[0]
    val, labelled = scene_pool(400, seed=1), scene_pool(100, seed=0, offset=8000)
    jobs = [(name, seed) for seed in args.seeds for name in RUNS]
    if args.part < 2:
        jobs = jobs[args.part::2]
    results = [run(name, seed, train, val, labelled) for name, seed in jobs]
    if args.part == 2:
        anchor = dino_model()
        load_checkpoint(anchor, "vit_dino.pt", verbose=False)
        backbone = anchor["backbone"]
        table = {"protocol": f"{STEPS} steps of {BATCH} scenes from vit_dino.pt, one CPU thread; validation seed 1, "
                             "400 scenes; linear segmentation: N = 20 of 100 unseen seed-0 scenes (offset 8000), 5 draws",
                 "script": "research/dino/later_losses.py",
                 "checkpoint": measures(backbone, copy.deepcopy(backbone).eval(), val, labelled),
                 "retrieval_chance": round(shape_retrieval_chance(val[2]), 4),
                 "all_background_miou": round((1 - val[1].float().mean().item()) / 2, 4), "runs": results}
        (DATA_DIR / "dino_later_losses.json").write_text(json.dumps(table, indent=1) + "\n")


if __name__ == "__main__":
    main()
