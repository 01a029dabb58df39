"""Shipped checkpoints: verified by sha256, loaded with ``weights_only=True``.

``data/checkpoints/SHA256SUMS`` lists ``<sha256>  <file name>`` for every file; a file that is
missing, unlisted or whose digest differs is refused with a clear message, and the notebook
falls back to training.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from .runtime import DATA_DIR

__all__ = ["CHECKPOINT_DIR", "sha256_of", "save_checkpoint", "load_checkpoint"]

# LECTURE_CHECKPOINT_DIR lets the tests run the training scripts without touching the shipped files
CHECKPOINT_DIR = Path(os.environ.get("LECTURE_CHECKPOINT_DIR", DATA_DIR / "checkpoints"))
MANIFEST = "SHA256SUMS"


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            entries[name.strip()] = digest
    return entries


def save_checkpoint(model: torch.nn.Module, name: str, meta: dict | None = None,
                    directory: Path | str = CHECKPOINT_DIR) -> str:
    """Save ``model``'s weights (and plain-data ``meta``) as ``name`` and record its sha256."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "meta": meta or {}}, directory / name)
    digest = sha256_of(directory / name)
    entries = _manifest(directory)
    entries[name] = digest
    (directory / MANIFEST).write_text("".join(f"{d}  {n}\n" for n, d in sorted(entries.items())))
    return digest


def load_checkpoint(model: torch.nn.Module, name: str, directory: Path | str = CHECKPOINT_DIR,
                    verbose: bool = True) -> dict | None:
    """Load verified weights into ``model``; return the checkpoint's ``meta``, or None if refused."""
    directory = Path(directory)
    path = directory / name
    expected = _manifest(directory).get(name)
    problem = None
    if not path.exists():
        problem = f"{path} is missing"
    elif expected is None:
        problem = f"{name} is not listed in {directory / MANIFEST}"
    elif sha256_of(path) != expected:
        problem = f"{path} is corrupt: its sha256 differs from {directory / MANIFEST}"
    if problem:
        if verbose:
            print(f"checkpoint not used: {problem}; the model keeps the weights it has (train it instead)")
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(payload["state_dict"])
    if verbose:
        print(f"loaded {name} (sha256 {expected[:12]}…)")
    return payload.get("meta", {})
