"""Notebook 08's label-efficiency measurement with ten labelled draws per N (too slow to run live).

    python scripts/label_efficiency_08.py --part mlp      [--threads 1]   # DDPM, random weights, RGB+xy, paper-like
    python scripts/label_efficiency_08.py --part scratch  [--threads 1]   # the scratch U-Net, its steps tuned
    python scripts/label_efficiency_08.py --collect                       # -> data/checkpoints/label_efficiency_08.pt

The two parts can run side by side (one thread each); each writes build/label_efficiency/<part>.pt and
``--collect`` joins them into the shipped result (sha256 in SHA256SUMS). Everything the notebook
does live is done here the same way, through the same library functions:

* features: the shipped DDPM, blocks and steps chosen by ``few_labels.block_step_scores`` on the
  validation scenes (seed 850), exactly as the notebook's heat map chooses them;
* draws: ``few_labels.labelled_draw`` (test draws 0..9 for the measurement, validation draws for tuning);
* MLP methods as in the notebook (3 members, 4 epochs); "paper-like" adds the 16x16 block, 10 members and
  the number of epochs chosen per N on validation draws ({2, 4, 8, 16});
* the scratch U-Net: its number of steps ({200, 400, 800, 1600}, lr 3e-3) chosen per N on validation
  draws scored on the validation scenes, then trained on the ten test draws.

Saved per method, N and draw: the confusion matrix of each of the 100 test scenes (seed 900), so the
notebook can bootstrap over both draws and scenes (``metrics.paired_draw_bootstrap``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from lecture_utils.checkpoints import load_checkpoint, save_result
from lecture_utils.data import CLASSES
from lecture_utils.diffusion import DenoisingUNet, NoiseSchedule, extract_features
from lecture_utils.few_labels import (
    block_step_scores,
    choose_features,
    labelled_draw,
    scene_confusions,
    scene_tensors,
    train_scratch_unet,
)
from lecture_utils.metrics import confusion_matrix, mean_iou
from lecture_utils.pixel_classifier import rgb_xy_features, train_pixel_ensemble
from lecture_utils.runtime import BUILD_DIR, get_device, pick, set_threads

K = len(CLASSES) + 1
# the smoke profile (the tests' emulated-device run) takes every code path on a few scenes
N_VALUES, DRAWS, POOL = pick((2, 5, 10, 20), (2, 5, 10, 20), smoke=(2, 5)), pick(10, 10, smoke=2), 40
VAL_DRAWS, SCENES = pick(2, 2, smoke=1), pick(100, 100, smoke=8)
HEAT_STEPS = pick((10, 50, 150, 250, 500), (10, 50, 150, 250, 500), smoke=(10, 50, 150))
SCRATCH_STEPS, SCRATCH_LR = pick((200, 400, 800, 1600), (200, 400, 800, 1600), smoke=(2, 3)), 3e-3
PAPER_EPOCHS, PAPER_MEMBERS = pick((2, 4, 8, 16), (2, 4, 8, 16), smoke=(1, 2)), pick(10, 10, smoke=2)
PARTS = BUILD_DIR / "label_efficiency"
RESULT = "label_efficiency_08.pt"


def load_scenes(seed, count):
    return scene_tensors(seed, count)[1:]


def per_scene_confusions(pred, labels):
    return scene_confusions(pred, labels, K)


def mlp_part(device, pool, val, test):
    model = DenoisingUNet()
    if load_checkpoint(model, "ddpm_scenes.pt") is None:
        raise SystemExit("the shipped DDPM checkpoint is needed")
    model = model.to(device).eval()
    schedule = NoiseSchedule(1000)
    heat = block_step_scores(model, schedule, pool[0][:20], pool[1][:20], val[0], val[1], HEAT_STEPS, K,
                             epochs=pick(3, 3, smoke=1))
    blocks, steps = choose_features(heat, HEAT_STEPS)
    paper_blocks = tuple(sorted({*blocks, 2}))  # add the 16x16 block (the paper's high-resolution block)
    print(f"blocks {blocks} at t in {steps}; paper-like blocks {paper_blocks}")
    torch.manual_seed(0)
    random_model = DenoisingUNet().to(device).eval()
    extractors = {
        "DDPM": lambda x: extract_features(model, schedule, x, steps, blocks),
        "U-Net, случайные веса": lambda x: extract_features(random_model, schedule, x, steps, blocks),
        "RGB + xy": rgb_xy_features,
        "DDPM, как в статье": lambda x: extract_features(model, schedule, x, steps, paper_blocks),
    }

    def features(fn, images):
        return torch.cat([fn(images[i:i + 20].to(device)).cpu() for i in range(0, len(images), 20)])

    out, chosen_epochs, val_table = {}, {}, {}
    for name, fn in extractors.items():
        pool_f, val_f, test_f = features(fn, pool[0][:POOL]), features(fn, val[0]), features(fn, test[0])
        for n in N_VALUES:
            members, epochs = pick(3, 3, smoke=1), pick(4, 4, smoke=1)
            if name == "DDPM, как в статье":  # epochs to the validation plateau, chosen per N
                scores = {}
                for e in PAPER_EPOCHS:
                    s = []
                    for d in range(VAL_DRAWS):
                        idx = labelled_draw(POOL, n, d, "validation")
                        ens = train_pixel_ensemble(pool_f[idx], pool[1][idx], K, members=PAPER_MEMBERS, epochs=e, seed=d)
                        s.append(mean_iou(confusion_matrix(ens(val_f)[0], val[1], K)))
                    scores[e] = float(np.mean(s))
                epochs = max(scores, key=scores.get)
                members, chosen_epochs[n], val_table[n] = PAPER_MEMBERS, epochs, scores
                print(f"paper-like N = {n}: validation mIoU by epochs {scores} -> {epochs}", flush=True)
            conf = []
            for d in tqdm(range(DRAWS), desc=f"{name}, N = {n}", mininterval=10):
                idx = labelled_draw(POOL, n, d)
                ens = train_pixel_ensemble(pool_f[idx], pool[1][idx], K, members=members, epochs=epochs, seed=d)
                conf.append(per_scene_confusions(ens(test_f)[0], test[1]))
            out[name, n] = torch.stack(conf)
    meta = {"feature_blocks": list(blocks), "feature_steps": list(steps), "paper_blocks": list(paper_blocks),
            "paper_members": PAPER_MEMBERS, "paper_epochs": {str(n): e for n, e in chosen_epochs.items()},
            "paper_validation_mIoU": {str(n): {str(e): round(v, 4) for e, v in s.items()} for n, s in val_table.items()}}
    return out, meta


def scratch_part(device, pool, val, test):
    chosen, val_table, out = {}, {}, {}
    for n in N_VALUES:
        scores = {}
        for steps in SCRATCH_STEPS:
            s = []
            for d in range(VAL_DRAWS):
                idx = labelled_draw(POOL, n, d, "validation")
                net = train_scratch_unet(pool[0][idx], pool[1][idx], K, steps=steps,
                                         lr=SCRATCH_LR, seed=d, device=device, desc=f"tune N = {n}, {steps} steps")
                with torch.no_grad():
                    s.append(mean_iou(confusion_matrix(net(val[0].to(device)).argmax(1).cpu(), val[1], K)))
            scores[steps] = float(np.mean(s))
        chosen[n] = max(scores, key=scores.get)
        val_table[n] = scores
        print(f"scratch N = {n}: validation mIoU by steps {scores} -> {chosen[n]}", flush=True)
        conf = []
        for d in range(DRAWS):
            idx = labelled_draw(POOL, n, d)
            net = train_scratch_unet(pool[0][idx], pool[1][idx], K, steps=chosen[n],
                                     lr=SCRATCH_LR, seed=d, device=device)
            with torch.no_grad():
                conf.append(per_scene_confusions(net(test[0].to(device)).argmax(1).cpu(), test[1]))
        out["U-Net с нуля", n] = torch.stack(conf)
    meta = {"scratch_lr": SCRATCH_LR, "scratch_steps": {str(n): s for n, s in chosen.items()},
            "scratch_validation_mIoU": {str(n): {str(k): round(v, 4) for k, v in s.items()} for n, s in val_table.items()}}
    return out, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("mlp", "scratch", "all"), help="all: both parts, then --collect")
    parser.add_argument("--collect", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    PARTS.mkdir(parents=True, exist_ok=True)
    if args.part == "all":
        for part in ("mlp", "scratch"):
            run_part(part, args.threads)
        args.collect = True
    if args.collect:
        tensors, meta = {}, {"n_values": list(N_VALUES), "draws": DRAWS, "pool": POOL, "test_seed": 900,
                             "test_scenes": SCENES, "val_seed": 850, "validation_draws": VAL_DRAWS}
        methods = []
        for part in ("mlp", "scratch"):
            payload = torch.load(PARTS / f"{part}.pt", weights_only=True)
            for key, conf in payload["tensors"].items():
                tensors[key] = conf
                name = key.rsplit("|N", 1)[0]
                if name not in methods:
                    methods.append(name)
            meta.update(payload["meta"])
        meta["methods"] = methods
        digest = save_result(RESULT, tensors, meta)
        print(f"{RESULT}: sha256 {digest[:12]}…, methods {methods}")
        return
    if args.part is None:
        parser.error("give --part mlp|scratch|all or --collect")
    run_part(args.part, args.threads)


def run_part(part: str, threads: int) -> None:
    threads = set_threads(threads or None)
    device = get_device()
    pool, val, test = load_scenes(800, 60), load_scenes(850, SCENES), load_scenes(900, SCENES)
    t0 = time.perf_counter()
    out, meta = (mlp_part if part == "mlp" else scratch_part)(device, pool, val, test)
    seconds = time.perf_counter() - t0
    meta[f"{part}_seconds"], meta[f"{part}_threads"], meta[f"{part}_device"] = round(seconds, 1), threads, str(device)
    tensors = {f"{name}|N{n}": conf for (name, n), conf in out.items()}
    torch.save({"tensors": tensors, "meta": meta}, PARTS / f"{part}.pt")
    for key, conf in tensors.items():
        print(f"{key}: test mIoU {np.mean([mean_iou(c.sum(0)) for c in conf]):.3f} over {len(conf)} draws")
    print(f"{part}: {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
