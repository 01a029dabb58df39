"""Collect the 500-step proxy runs into ``data/dino_proxy_ablation.json``, the table notebook 07 shows.

Every number comes from validation scenes (seed 1, 400 scenes): the best head, the mass threshold,
and the k-patch mask's head / direction / k are chosen on half A (scenes 0-199) and reported on
half B (200-399), as ``proxy.py`` and ``reanalyse.py`` do. The k-patch numbers of runs whose
training state is still in ``build/research_dino`` are computed here with
``lecture_utils.dino.choose_rank_mask``; for runs of an earlier session (state gone) they are read
from ``reanalysis.json``, computed there by the same rule.

    OMP_NUM_THREADS=1 PYTHONPATH=.:research/dino python research/dino/proxy_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lecture_utils.dino import (
    choose_rank_mask,
    cls_attention,
    patch_features,
    rank_mask_jaccard,
    scene_pool,
    segmentation_probe,
)
from lecture_utils.runtime import BUILD_DIR, DATA_DIR

HERE = Path(__file__).resolve().parent
CHANGES = {  # run name prefix -> what changed against the shipped recipe (notebook 07 prints these)
    "base": "рецепт чекпойнта (базовый)",
    "colour_dino": "цвет почти как в DINO: ярк./контр./насыщ. 0.4 (у DINO насыщ. 0.2), оттенок ±0.1, p = 0.8",
    "colour": "сильнее: любой оттенок p = 0.8, оттенки серого p = 0.5",
    "geometry": "локальные кадры меньше (5–25% площади), 6 штук",
    "recipe": "настройки статьи: lr, EMA 0.996, wd 0.04→0.4, τ_t 0.04→0.07",
    "supervised": "с метками (какие фигуры), те же шаги и батч",
}


def group_of(name: str) -> str:
    return name.rsplit("_s", 1)[0]


SEG_DRAWS = 5  # draws of labelled scenes per N, as in notebook 07 (there on the test scenes, here on validation)


def linear_segmentation(backbone, images, foreground, labelled) -> dict[str, float]:
    """Mean validation mIoU over SEG_DRAWS draws of N labelled scenes (N = 5, 20) of a linear probe on
    frozen patch tokens - notebook 07's linear segmentation, scored on the report half."""
    label_images, label_fg, _ = labelled
    train_x, test_x = patch_features(backbone, label_images, 8), patch_features(backbone, images, 8)
    out = {}
    for n in (5, 20):
        picks = [torch.randperm(len(label_images), generator=torch.Generator().manual_seed(100 * n + d))[:n].numpy()
                 for d in range(SEG_DRAWS)]
        out[f"seg_miou_{n}"] = round(float(np.mean([segmentation_probe(train_x[i], label_fg[i], test_x, foreground, 8)
                                                    ["miou"] for i in picks])), 4)
    return out


def main() -> None:
    torch.set_num_threads(1)
    from reanalyse import proxy_backbone  # the state loader of the earlier session's script

    images, foreground, _ = scene_pool(400, seed=1)
    choose, report = torch.arange(200), torch.arange(200, 400)
    earlier = json.loads((HERE / "reanalysis.json").read_text())
    labelled = scene_pool(100, seed=0, offset=8000)  # unseen in training (the pool is scenes 0-7999)
    runs = []
    for path in sorted((HERE / "runs").glob("*_s[0-9].json")):
        name = path.stem
        summary = json.loads(path.read_text())
        final, config = summary["final"], summary["config"]
        head = final["best_head"]
        state = BUILD_DIR / "research_dino" / f"{name}_state.pt"
        if state.exists():
            backbone, _ = proxy_backbone(name)
            attention = cls_attention(backbone.eval(), images)
            choice = choose_rank_mask(attention[choose], foreground[choose], 8)
            rank = {"direction": choice["direction"], "head": choice["head"], "k": choice["k"],
                    "jaccard": rank_mask_jaccard(attention[report], foreground[report], 8, choice["direction"],
                                                 choice["k"])[:, choice["head"]].mean().item(), "source": "proxy_table.py"}
        else:
            t = earlier[name]["top_k"]
            rank = {"direction": t["direction"], "head": t["head"], "k": t["k"], "jaccard": t["jaccard_B"],
                    "source": "reanalysis.json"}
        # the linear-segmentation columns need the trained net: its own state, or a re-run with the same
        # arguments (queue6.sh) when an earlier session's state was deleted; the re-run's J@60 is printed
        # beside the original's as a determinism check
        seg = {"seg_miou_5": None, "seg_miou_20": None, "seg_source": None}
        for source in (name, f"{name}_rerun"):
            if (BUILD_DIR / "research_dino" / f"{source}_state.pt").exists():
                backbone, step = proxy_backbone(source)
                if step == config["steps"]:
                    seg = {**linear_segmentation(backbone.eval(), images[report], foreground[report], labelled),
                           "seg_source": source}
                    if source != name:
                        again = json.loads((HERE / "runs" / f"{source}.json").read_text())["final"]
                        print(f"{name}: J@60 of the re-run {again['jaccard_60_report_half'][head]:.4f}, "
                              f"original {final['jaccard_60_report_half'][head]:.4f}")
                    break
        runs.append({"name": name, "group": group_of(name), "change": CHANGES[group_of(name)], "mode": config["mode"], "seed": config["seed"],
                     "steps": config["steps"], "train_minutes": round(final["train_seconds"] / 60, 1),
                     "best_head": head, "jaccard_60": round(final["jaccard_60_report_half"][head], 4),
                     "mass_ratio": round(final["mass_ratio"][head], 3), "auroc": round(final["auroc"][head], 3),
                     "rank_direction": rank["direction"], "rank_k": rank["k"],
                     "rank_jaccard": round(rank["jaccard"], 4), "rank_source": rank["source"],
                     "probe_colour_r2": round(final["probe_colour_r2"], 3),
                     "probe_shape_auroc": round(final["probe_shape"]["auroc"], 3), **seg})
        print(runs[-1])
    out = {"protocol": "validation seed 1, 400 scenes; choices on scenes 0-199, numbers on 200-399 "
                       "(mass ratio and AUROC: all 400); 500 steps of 64 scenes, one CPU thread; "
                       "linear segmentation: probes on N = 5 / 20 of 100 unseen seed-0 scenes (offset 8000), "
                       f"{SEG_DRAWS} draws, mIoU on scenes 200-399",
           "script": "research/dino/proxy.py (runs), research/dino/proxy_table.py (this table)",
           "uniform_60": round(json.loads((HERE / "runs" / "base_s0.json").read_text())["final"]["uniform_60"], 4),
           "runs": runs}
    (DATA_DIR / "dino_proxy_ablation.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
