"""Issue 21, part 2: short proxy runs of notebook 07's DINO, one change at a time.

The shipped recipe is ``scripts/train_dino.py`` (3000 steps, ~87 CPU minutes); these runs use the
same model, data and schedules *shapes* over a much shorter budget (``--steps``, 400 by default) so
that several variants fit in one session on one CPU thread. Each flag below changes one thing
against that baseline:

* colour shortcut: ``--p-hue`` (random rotation of the chroma plane, up to ``--hue-max`` of a full
  turn), ``--jitter`` / ``--p-jitter`` (DINO applies its ColorJitter with p = 0.8), ``--p-grey``;
* geometry: ``--local-scale``, ``--n-local``;
* recipe: ``--lr``, ``--momentum`` (EMA start), ``--wd-end`` (cosine weight decay), ``--teacher-temp``
  with ``--teacher-temp-end`` (linear warm-up over ``--teacher-warmup`` of the run).

With the defaults the augmentation draws exactly what ``lecture_utils.dino.multi_crop`` draws (same
random numbers in the same order; checked by :func:`_check_baseline_views`), so the baseline is the
shipped recipe on a shorter schedule. Every ``--eval-every`` steps the teacher (or the supervised
net) is measured on 100 validation scenes (seed 1): best head's 60%-mass Jaccard, that head's
attention mass on the object relative to the object's share, and its per-image AUROC. At the end
the full diagnostics (400 validation scenes, best-mass Jaccard, colour/shape probes) are added.
Runs are resumable (state in ``build/research_dino/``); logs go to ``research/dino/runs/``.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=.:research/dino \\
        python research/dino/proxy.py --name base_s0
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from diagnostics import (
    attention_report,
    cls_features,
    colour_probe,
    object_colour,
    quick_eval,
    shape_probe,
    uniform_jaccard,
)
from torch import Tensor, nn

from lecture_utils.dino import (
    DINO_SCENES,
    cosine_schedule,
    dino_model,
    ema_update,
    entropy_stats,
    multi_crop,
    scene_pool,
    supervised_model,
)
from lecture_utils.dino.augment import _bernoulli as _where
from lecture_utils.dino.augment import _random_crops
from lecture_utils.runtime import BUILD_DIR

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"
STATE = BUILD_DIR / "research_dino"

# --- augmentation: lecture_utils.dino.multi_crop plus hue rotation and a jitter probability ------------

#: RGB -> YIQ (NTSC): Y is luma, (I, Q) the chroma plane; rotating (I, Q) changes the hue and keeps
#: brightness and saturation, which is what a colour shortcut (match crops by hue) cannot survive
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_RGB = torch.linalg.inv(_YIQ)


def hue_rotate(x: Tensor, angle: Tensor) -> Tensor:
    """Rotate each image's chroma by ``angle`` (radians, ``[B]``) in YIQ space; clamp to [0, 1]."""
    yiq = torch.einsum("ij,bjhw->bihw", _YIQ.to(x), x)
    c, s = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    i, q = yiq[:, 1], yiq[:, 2]
    yiq = torch.stack([yiq[:, 0], c * i - s * q, s * i + c * q], dim=1)
    return torch.einsum("ij,bjhw->bihw", _RGB.to(x), yiq).clamp(0, 1)


def photometric(x: Tensor, g, *, jitter: float, p_jitter: float, p_hue: float, hue_max: float,
                p_grey: float, p_blur: float, p_solar: float) -> Tensor:
    """``lecture_utils.dino._photometric`` with two additions that are off by default: the
    brightness/contrast/saturation jitter applied with probability ``p_jitter`` (the library always
    applies it) and a hue rotation with probability ``p_hue``, uniform in +-``hue_max`` turns.
    The random numbers of the library's version are drawn first, in its order, so the defaults
    reproduce it exactly."""
    b = len(x)
    if jitter > 0:
        f = (1 + (torch.rand(b, 3, generator=g) * 2 - 1) * jitter).to(x.device)
        y = x * f[:, 0].view(b, 1, 1, 1)
        mean = y.mean(dim=(1, 2, 3), keepdim=True)
        y = (y - mean) * f[:, 1].view(b, 1, 1, 1) + mean
        grey = y.mean(dim=1, keepdim=True)
        y = ((y - grey) * f[:, 2].view(b, 1, 1, 1) + grey).clamp(0, 1)
        x = y if p_jitter >= 1 else torch.where(_where(p_jitter, b, g, x.device), y, x)
    if p_hue > 0:
        angle = (torch.rand(b, generator=g) * 2 - 1) * hue_max * 2 * math.pi
        x = torch.where(_where(p_hue, b, g, x.device), hue_rotate(x, angle.to(x.device)), x)
    if p_grey > 0:
        x = torch.where(_where(p_grey, b, g, x.device), x.mean(dim=1, keepdim=True).expand_as(x), x)
    if p_blur > 0:
        k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
        kernel = (k[:, None] * k[None, :]).expand(3, 1, 5, 5).to(x.device)
        blurred = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=3)
        x = torch.where(_where(p_blur, b, g, x.device), blurred, x)
    if p_solar > 0:
        x = torch.where(_where(p_solar, b, g, x.device), torch.where(x >= 0.5, 1 - x, x), x)
    return x


def views(images: Tensor, args, g, n_local: int | None = None, global_scale=(0.4, 1.0)) -> list[Tensor]:
    """DINO's multi-crop with the run's options (blur/solarisation probabilities as the paper's)."""
    n_local = args.n_local if n_local is None else n_local
    colour = dict(jitter=args.jitter, p_jitter=args.p_jitter, p_hue=args.p_hue, hue_max=args.hue_max, p_grey=args.p_grey)
    out = [photometric(_random_crops(images, 64, global_scale, g), g, **colour, p_blur=1.0, p_solar=0.0),
           photometric(_random_crops(images, 64, global_scale, g), g, **colour, p_blur=0.1, p_solar=0.2)]
    for _ in range(n_local):
        out.append(photometric(_random_crops(images, 32, tuple(args.local_scale), g), g, **colour, p_blur=0.5,
                               p_solar=0.0))
    return out


def _check_baseline_views(images: Tensor) -> None:
    """The default options must reproduce the library's multi_crop bit for bit."""
    args = parse([])
    ours = views(images, args, torch.Generator().manual_seed(5))
    theirs = multi_crop(images, n_local=4, generator=torch.Generator().manual_seed(5))
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# --- one DINO step (lecture_utils.dino.self_distillation_step without the DINOv2/v3 terms) ----------

def dino_step(student: nn.ModuleDict, teacher: nn.ModuleDict, images: Tensor, optimizer, args, g, *,
              momentum: float, freeze_prototypes: bool) -> dict[str, float]:
    """Views, teacher targets on the two globals, student on all views, step, EMA of the teacher.
    Same order of operations (and BatchNorm behaviour) as the library's step."""
    b = len(images)
    v = views(images, args, g)
    globals_ = torch.cat(v[:2])
    student.train(), teacher.train()
    with torch.no_grad():
        t_cls = teacher["backbone"](globals_)
        t_logits = [teacher["head"](cls) for cls in t_cls.split(b)]
    feats = [student["backbone"](globals_)]
    if len(v) > 2:
        feats.append(student["backbone"](torch.cat(v[2:])))
    s_logits = student["head"](torch.cat(feats)).split(b)
    loss = student["loss"](list(s_logits), t_logits)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if freeze_prototypes:
        student["head"].prototypes.grad = None
    nn.utils.clip_grad_norm_([p for p in student.parameters() if p.requires_grad], 3.0)
    optimizer.step()
    ema_update(teacher, student, momentum)
    teacher["loss"].center.copy_(student["loss"].center)
    record = {"loss": loss.item()}
    record.update(entropy_stats(student["loss"].teacher_probs(torch.cat(t_logits))))
    return record


def supervised_step(model: nn.ModuleDict, images: Tensor, shapes: Tensor, optimizer, args, g) -> dict[str, float]:
    """scripts/train_dino.py's supervised baseline: one global crop (70-100%), shape multi-hot BCE."""
    model.train()
    view = views(images, args, g, n_local=0, global_scale=(0.7, 1.0))[0]
    loss = F.binary_cross_entropy_with_logits(model["head"](model["backbone"](view)), shapes)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 3.0)
    optimizer.step()
    return {"loss": loss.item()}


# --- the run ------------------------------------------------------------------------------------

def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="base_s0")
    parser.add_argument("--mode", choices=("dino", "supervised"), default="dino")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation and augmentation stream")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--pool", type=int, default=8000, help="training scenes (seed 0), as the shipped runs")
    parser.add_argument("--val", type=int, default=100, help="validation scenes (seed 1) during training")
    parser.add_argument("--eval-every", type=int, default=100)
    # colour
    parser.add_argument("--jitter", type=float, default=0.3)
    parser.add_argument("--p-jitter", type=float, default=1.0)
    parser.add_argument("--p-hue", type=float, default=0.0)
    parser.add_argument("--hue-max", type=float, default=0.5, help="largest hue rotation, in turns (0.5 = any hue)")
    parser.add_argument("--p-grey", type=float, default=0.2)
    # geometry
    parser.add_argument("--n-local", type=int, default=4)
    parser.add_argument("--local-scale", type=float, nargs=2, default=(0.08, 0.4))
    # recipe
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--momentum", type=float, default=0.99, help="teacher EMA at the start (cosine to 1)")
    parser.add_argument("--wd", type=float, default=0.04)
    parser.add_argument("--wd-end", type=float, default=None, help="cosine weight decay to this value (DINO: 0.4)")
    parser.add_argument("--teacher-temp", type=float, default=0.03)
    parser.add_argument("--teacher-temp-end", type=float, default=None, help="linear warm-up to this value")
    parser.add_argument("--teacher-warmup", type=float, default=0.3, help="share of the run for the warm-up")
    parser.add_argument("--freeze-last-layer", type=float, default=0.1, help="share of the run with fixed prototypes")
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the run for the lr warm-up")
    return parser.parse_args(argv)


def pool(count: int, seed: int):
    """Training/validation scenes, cached under build/ (the same scenes scripts/train_dino.py uses)."""
    path = STATE / f"pool_{seed}_{count}.pt"
    if path.exists():
        return torch.load(path, map_location="cpu", weights_only=True)
    data = scene_pool(count, seed=seed, config=DINO_SCENES)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    return data


def final_report(net, seconds: float) -> dict:
    """Diagnostics of the final net on 400 validation scenes (+ probes on 1000 fresh seed-0 scenes)."""
    images, fg, shapes = scene_pool(400, seed=1)
    half = torch.arange(200)
    report = attention_report(net, images, fg, half, half + 200)
    train_images, train_fg, train_shapes = scene_pool(1000, seed=0, offset=8000)
    train_x, test_x = cls_features(net, train_images), cls_features(net, images)
    report["probe_colour_r2"] = colour_probe(train_x, object_colour(train_images, train_fg), test_x, object_colour(images, fg))
    report["probe_shape"] = shape_probe(train_x, train_shapes, test_x, shapes)
    report["uniform_60"] = uniform_jaccard(fg, net.patch_size)
    report["train_seconds"] = round(seconds, 1)
    return report


def main(argv=None) -> None:
    args = parse(argv)
    torch.set_num_threads(1)
    RUNS.mkdir(parents=True, exist_ok=True)
    STATE.mkdir(parents=True, exist_ok=True)
    images, _, shapes = pool(args.pool, seed=0)
    _check_baseline_views(images[:8])
    val_images, val_fg, _ = pool(args.val, seed=1)
    torch.manual_seed(args.seed)
    model = dino_model() if args.mode == "dino" else supervised_model(shapes.shape[1])
    teacher = copy.deepcopy(model).requires_grad_(False) if args.mode == "dino" else None
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    state_path, log_path = STATE / f"{args.name}_state.pt", RUNS / f"{args.name}.jsonl"
    start, seconds = 0, 0.0
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if teacher is not None:
            teacher.load_state_dict(state["teacher"])
        start, seconds = state["step"], state["seconds"]
        print(f"resumed at step {start}", flush=True)
    elif log_path.exists():
        log_path.unlink()  # a fresh run: do not mix logs of two runs
    g = torch.Generator().manual_seed(1000 + 7919 * args.seed + start)  # a resumed run draws a new stream
    warmup, freeze = int(args.warmup * args.steps), int(args.freeze_last_layer * args.steps)
    with log_path.open("a") as log:
        if start == 0:
            log.write(json.dumps({"config": vars(args)}) + "\n")
        for step in range(start, args.steps):
            started = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = cosine_schedule(args.lr, 1e-6, step, args.steps, warmup)
            if args.wd_end is not None:
                optimizer.param_groups[0]["weight_decay"] = cosine_schedule(args.wd, args.wd_end, step, args.steps)
            index = torch.randint(len(images), (args.batch,), generator=g)
            if args.mode == "dino":
                if args.teacher_temp_end is not None:
                    ramp = min(step / max(args.teacher_warmup * args.steps, 1), 1.0)
                    model["loss"].teacher_temp = args.teacher_temp + ramp * (args.teacher_temp_end - args.teacher_temp)
                stats = dino_step(model, teacher, images[index], optimizer, args, g,
                                  momentum=cosine_schedule(args.momentum, 1.0, step, args.steps),
                                  freeze_prototypes=step < freeze)
            else:
                stats = supervised_step(model, images[index], shapes[index], optimizer, args, g)
            seconds += time.perf_counter() - started
            if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
                net = (teacher if teacher is not None else model)["backbone"]
                record = {"step": step + 1, "seconds": round(seconds, 1), **{k: round(v, 4) for k, v in stats.items()},
                          **quick_eval(net, val_images, val_fg)}
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(record, flush=True)
                state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step + 1,
                         "seconds": seconds}
                if teacher is not None:
                    state["teacher"] = teacher.state_dict()
                torch.save(state, state_path)
    net = (teacher if teacher is not None else model)["backbone"]
    summary = {"config": vars(args), "final": final_report(net, seconds)}
    (RUNS / f"{args.name}.json").write_text(json.dumps(summary, indent=1))
    print({k: summary["final"][k] for k in ("best_head", "jaccard_60", "mass_ratio", "auroc", "probe_colour_r2")},
          flush=True)


if __name__ == "__main__":
    main()
