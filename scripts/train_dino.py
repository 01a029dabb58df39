"""Train notebook 07's tiny ViTs: by DINO self-distillation (no labels) or supervised (shape labels).

    python scripts/train_dino.py --mode dino --steps 6000
    python scripts/train_dino.py --mode supervised --steps 6000

Both read the same pool of unlabelled-looking scenes (``lecture_utils.dino.DINO_SCENES``, 64 x 64,
seed 0); the supervised model also sees which shapes each scene holds. Every ``--eval-every`` steps
the script measures the notebook's number on 100 validation scenes (seed 1): the Jaccard index
between the best head's 60%-mass [CLS] attention mask and the foreground. The run is resumable
(``build/dino_<mode>_state.pt``, saved every ``--save-every`` steps); at the end the teacher (DINO)
or the model (supervised) is written to ``data/checkpoints/`` with its history in the meta, so the
notebook can plot the whole run's loss and entropy curves. Training time is stored there as well.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from lecture_utils.checkpoints import save_checkpoint
from lecture_utils.dino import (
    attention_mass_mask,
    cls_attention,
    cosine_schedule,
    dino_model,
    jaccard,
    multi_crop,
    scene_pool,
    self_distillation_step,
    supervised_model,
)
from lecture_utils.models.vit import TinyViT
from lecture_utils.runtime import BUILD_DIR, get_device, set_threads


def pool(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    path = BUILD_DIR / "dino" / f"pool_{seed}_{count}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True)
    data = scene_pool(count, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return data


@torch.no_grad()
def best_head_jaccard(backbone: TinyViT, images: torch.Tensor, foreground: torch.Tensor) -> tuple[float, int]:
    attention = cls_attention(backbone.eval(), images)
    masks = attention_mass_mask(attention, 0.6)
    p = backbone.patch_size
    masks = masks.repeat_interleave(p, dim=-2).repeat_interleave(p, dim=-1)
    per_head = jaccard(masks, foreground[:, None].expand_as(masks)).mean(dim=0)
    return float(per_head.max()), int(per_head.argmax())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("dino", "supervised"), default="dino")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--pool", type=int, default=8000, help="training scenes (seed 0)")
    parser.add_argument("--n-local", type=int, default=4)
    parser.add_argument("--registers", type=int, default=0, help="register tokens in the ViT (DINO only)")
    parser.add_argument("--freeze-last-layer", type=int, default=300, help="steps with fixed prototypes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--save-every", type=int, default=250)
    parser.add_argument("--name", default=None, help="checkpoint file (default: vit_<mode>.pt)")
    args = parser.parse_args()
    for name in ("steps", "batch", "pool", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    set_threads(args.threads)
    device = get_device()
    torch.manual_seed(0)

    images, _, shapes = pool(args.pool, seed=0)
    val_images, val_fg, val_shapes = pool(100, seed=1)
    val_images, val_fg, val_shapes = val_images.to(device), val_fg.to(device), val_shapes.to(device)
    model = dino_model(args.registers) if args.mode == "dino" else supervised_model(shapes.shape[1])
    model.to(device)
    run = args.mode + (f"_reg{args.registers}" if args.registers else "")
    teacher = copy.deepcopy(model) if args.mode == "dino" else None
    if teacher is not None:
        teacher.requires_grad_(False)
    params = [p for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.04},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    state_path = BUILD_DIR / f"dino_{run}_state.pt"
    step, history, seconds = 0, [], 0.0
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if teacher is not None:
            teacher.load_state_dict(state["teacher"])
        step, history, seconds = state["step"], state["history"], state["seconds"]
        print(f"resumed at step {step}")
    generator = torch.Generator().manual_seed(1000 + step)
    warmup = min(500, args.steps // 10)

    bar = tqdm(range(step, args.steps), desc=f"{args.mode} ViT", initial=step, total=args.steps, mininterval=20)
    for step in bar:
        started = time.perf_counter()
        lr = cosine_schedule(args.lr, 1e-6, step, args.steps, warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = torch.randint(len(images), (args.batch,), generator=generator)
        batch, batch_shapes = images[index].to(device), shapes[index].to(device)
        if args.mode == "dino":
            stats = self_distillation_step(model, teacher, batch, optimizer, n_local=args.n_local,
                                           momentum=cosine_schedule(0.99, 1.0, step, args.steps),
                                           generator=generator, freeze_prototypes=step < args.freeze_last_layer)
            loss = stats.pop("loss")
        else:
            model.train()
            views = multi_crop(batch, n_local=0, global_scale=(0.7, 1.0), generator=generator)[:1]
            out = model["head"](model["backbone"](views[0]))
            loss = F.binary_cross_entropy_with_logits(out, batch_shapes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 3.0)
            optimizer.step()
            loss, stats = loss.item(), {}
        seconds += time.perf_counter() - started

        record = {"step": step + 1, "loss": loss, "seconds": round(seconds, 1)}
        record.update({k: v for k, v in stats.items() if k in ("mean_entropy", "marginal_entropy", "ln_K")})
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            net = teacher["backbone"] if teacher is not None else model["backbone"]
            record["val_jaccard"], record["best_head"] = best_head_jaccard(net, val_images, val_fg)
            if args.mode == "supervised":
                with torch.no_grad():
                    pred = model["head"](model["backbone"].eval()(val_images)) > 0
                record["val_exact_match"] = float((pred == (val_shapes > 0.5)).all(dim=1).float().mean())
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()}, flush=True)
        history.append(record)
        bar.set_postfix(loss=f"{loss:.3f}")
        if (step + 1) % args.save_every == 0 or step + 1 == args.steps:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step + 1,
                     "history": history, "seconds": seconds}
            if teacher is not None:
                state["teacher"] = teacher.state_dict()
            torch.save(state, state_path)

    final = teacher if teacher is not None else model
    name = args.name or f"vit_{run}.pt"
    keep = ("step", "loss", "mean_entropy", "marginal_entropy", "val_jaccard", "val_exact_match")
    meta = {"mode": args.mode, "registers": args.registers, "steps": args.steps, "batch": args.batch, "pool": args.pool,
            "n_local": args.n_local, "cpu_seconds": round(seconds, 1), "threads": args.threads, "device": str(device),
            "history": [{k: r[k] for k in keep if k in r} for r in history
                        if r["step"] % 10 == 0 or "val_jaccard" in r or r is history[-1]]}
    digest = save_checkpoint(final, name, meta)
    print(f"saved {name} ({digest[:12]}…) after {seconds / 60:.1f} min of training", flush=True)


if __name__ == "__main__":
    Path(BUILD_DIR).mkdir(exist_ok=True)
    main()
