"""Device, seeds, profiles and measured numbers: the plumbing every notebook shares.

Every notebook starts with the same setup cell::

    from lecture_utils.runtime import setup
    DEVICE = setup("01_iou_map")

which fixes the seeds, picks the device (CUDA, then Apple MPS, then CPU) and remembers
the notebook's name so that ``record(name, value)`` knows where its numbers go.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "REPO_ROOT",
    "BUILD_DIR",
    "DATA_DIR",
    "get_device",
    "seed_everything",
    "full_profile",
    "pick",
    "downloads_allowed",
    "setup",
    "record",
    "load_metrics",
    "current_notebook",
    "finish",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = Path(os.environ.get("LECTURE_BUILD_DIR", REPO_ROOT / "build"))
DATA_DIR = REPO_ROOT / "data"

_TRUE = {"1", "true", "yes", "on"}
_notebook: str | None = None
_started: float | None = None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``LECTURE_DEVICE``) forces one, e.g. ``"cpu"``
    to reproduce the CI numbers on a machine that has a GPU.
    """
    prefer = prefer or os.environ.get("LECTURE_DEVICE")
    if prefer:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"prefer={prefer!r}: CUDA is not available on this machine")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"prefer={prefer!r}: Apple MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (all devices) so that a run repeats on the same device."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def full_profile() -> bool:
    """True when ``LECTURE_FULL=1``: train longer for nicer pictures (meant for a GPU)."""
    return _flag("LECTURE_FULL")


def pick(fast, full):
    """Choose a setting by profile: ``pick(fast=200, full=5000)`` steps of training."""
    return full if full_profile() else fast


def downloads_allowed() -> bool:
    """Downloads happen only when the user opts in with ``LECTURE_ALLOW_DOWNLOAD=1``."""
    return _flag("LECTURE_ALLOW_DOWNLOAD")


def current_notebook() -> str | None:
    return _notebook


def setup(notebook: str, seed: int = 0, *, quiet: bool = False) -> torch.device:
    """The one setup call at the top of every notebook.

    Seeds everything, chooses the device, sets readable plotting defaults and remembers
    ``notebook`` as the file that :func:`record` writes to. Returns the device.
    """
    global _notebook, _started
    if not isinstance(notebook, str) or not notebook.strip() or "/" in notebook:
        raise ValueError(f"notebook must be a plain name such as '01_iou_map', got {notebook!r}")
    _notebook = notebook
    _started = time.perf_counter()
    seed_everything(seed)
    device = get_device()
    # a fresh run replaces the numbers of the previous one
    (BUILD_DIR / "metrics" / f"{notebook}.json").unlink(missing_ok=True)
    record("device", device.type)
    from . import viz  # local import: plotting is not needed by the core algorithms

    viz.use_lecture_style()
    if not quiet:
        profile = "full (LECTURE_FULL=1)" if full_profile() else "fast (default)"
        print(f"notebook={notebook}  device={device}  profile={profile}  torch={torch.__version__}")
    return device


def _to_jsonable(value):
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError("value: only scalar tensors can be recorded")
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value: refusing to record a non-finite number ({value})")
        return value
    raise TypeError(f"value: expected a number or string, got {type(value).__name__}")


def record(name: str, value, notebook: str | None = None) -> float | int | str:
    """Store a number measured in this run in ``build/metrics/<notebook>.json``.

    The README's results table is filled from these files by ``scripts/update_results.py``,
    so no number in the README is typed by hand. Returns ``value`` (as a plain Python value)
    so that it can be used inline: ``ap = record("AP50", ap50)``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    notebook = notebook or _notebook
    if notebook is None:
        raise ValueError("notebook: call setup('<notebook name>') first or pass notebook=")
    plain = _to_jsonable(value)
    path = BUILD_DIR / "metrics" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = plain
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return plain


def load_metrics(metrics_dir: Path | None = None) -> Mapping[str, dict]:
    """All recorded numbers: ``{notebook: {name: value}}``."""
    metrics_dir = Path(metrics_dir or BUILD_DIR / "metrics")
    if not metrics_dir.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(metrics_dir.glob("*.json"))}


def finish() -> dict:
    """Record the notebook's wall time since :func:`setup` and show everything it measured.

    The last cell of every notebook calls it; the table it prints is the notebook's
    closing summary, built from the recorded numbers, never typed in.
    """
    if _notebook is None or _started is None:
        raise ValueError("notebook: call setup('<notebook name>') first")
    record("runtime_s", round(time.perf_counter() - _started, 1))
    numbers = load_metrics().get(_notebook, {})
    width = max(len(k) for k in numbers)
    print(f"Measured in this run ({_notebook}):")
    for key, value in numbers.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    return numbers
