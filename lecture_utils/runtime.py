"""Device, seeds, profiles and measured numbers: the plumbing every notebook shares.

Every notebook starts with the same setup cell::

    from lecture_utils.runtime import setup
    DEVICE = setup("01_iou_map")

which fixes the seeds and the CPU thread count, picks the device (CUDA, then Apple MPS, then
CPU), records where and how the run happened, and remembers the notebook's name so that
``record(name, value)`` knows where its numbers go.

**The device rule** (followed by every module of the package):

1. A function allocates on its inputs' device (``torch.zeros(n, device=x.device)``) and never
   moves its inputs; a model's helper allocates on the device of the model's parameters.
2. Tensors move to the CPU only at the edge: plotting, NumPy, ``.item()``/``.tolist()``, and the
   metrics that are defined on the CPU (``coco_evaluate``, the AP layer). Such functions say so
   and accept device tensors by moving them themselves.
3. Training and evaluation (``train_*``, ``evaluate_*``, ``predict``, ``fit``) run on the model's
   current device by default (``device=None``); ``device=`` moves the model there first. Nothing
   defaults to a hard-coded ``"cpu"``; the shipped training scripts use :func:`get_device`.
4. Random draws inside the library come from a ``torch.Generator`` the caller passes (or one seeded
   locally); no library function draws from or reseeds the global generator. Sampling that must
   happen on the device draws on the CPU and moves the indices (a CPU generator cannot sample
   on a GPU).
5. Timings synchronise the device (:func:`lecture_utils.timing.seconds_per_call`).

``make test`` proves the rule without a GPU: ``LECTURE_EMULATE=cuda|mps`` makes :func:`setup`
emulate that device on the CPU (:mod:`lecture_utils.emulation`), and every notebook and training
script runs under both.
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
    "model_device",
    "as_device",
    "resolve_device",
    "seed_everything",
    "set_threads",
    "full_profile",
    "smoke_profile",
    "pick",
    "downloads_allowed",
    "setup",
    "record",
    "metrics_dir",
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


_DEVICE_TYPES = ("cpu", "cuda", "mps")


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    ``prefer`` (or the environment variable ``LECTURE_DEVICE``) forces one, e.g. ``"cpu"``
    to reproduce the CI numbers on a machine that has a GPU. While a device is emulated
    (``LECTURE_EMULATE``), that device is the best one.
    """
    from .emulation import activate, emulated_device

    emulate = os.environ.get("LECTURE_EMULATE", "").strip().lower()
    if emulate:  # the tests' switch (see setup); the training scripts come through here
        activate(emulate)
    source = "prefer" if prefer else "LECTURE_DEVICE"
    prefer = prefer or os.environ.get("LECTURE_DEVICE")
    emulated = emulated_device()
    if prefer:
        if not isinstance(prefer, str | torch.device):
            raise TypeError(f"{source} must be a device name such as 'cpu' or 'cuda', got {prefer!r}")
        name = str(prefer).strip()
        try:
            device = torch.device(name)
        except RuntimeError:
            device = None
        if device is None or device.type not in _DEVICE_TYPES or str(prefer) != name:
            raise ValueError(f"{source}={prefer!r}: expected one of {', '.join(_DEVICE_TYPES)} "
                             "(optionally with an index, e.g. 'cuda:1')")
        if device.type == "cpu" and device.index not in (None, 0):
            raise ValueError(f"{source}={prefer!r}: the CPU has no index other than 0")
        if emulated is not None and device.type == emulated.type:
            return emulated
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"prefer={prefer!r}: CUDA is not available on this machine")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"prefer={prefer!r}: Apple MPS is not available on this machine")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"{source}={prefer!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return device
    if emulated is not None:
        return emulated
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s parameters (or buffers); the CPU for a model that has neither."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def as_device(device: torch.device | str, name: str = "device") -> torch.device:
    """``torch.device(device)``, with an error that names the argument for a string torch rejects."""
    if isinstance(device, torch.device):
        return device
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} must be a device such as 'cpu', 'cuda', 'cuda:1' or 'mps', got {device!r}") from err


def resolve_device(model: torch.nn.Module, device: torch.device | str | None) -> torch.device:
    """Rule 3: ``device=None`` means the model's current device; otherwise the model moves there."""
    target = model_device(model) if device is None else as_device(device)
    model.to(target)
    return target


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (all devices) so that a run repeats on the same device."""
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def set_threads(threads: int | None = None) -> int:
    """Fix torch's CPU thread count (``LECTURE_THREADS``, default 2) and return it.

    Results of CPU kernels depend on the thread count (reductions are split differently), so a
    fixed count makes the numbers repeat on any machine with at least that many cores; 2 is the
    count CI and the README's numbers use. More threads only make the small models a little faster.
    """
    if threads is None:
        raw = os.environ.get("LECTURE_THREADS", "2").strip()
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"LECTURE_THREADS must be a positive integer, got {raw!r}")
        threads = int(raw)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    torch.set_num_threads(threads)
    return threads


def full_profile() -> bool:
    """True when ``LECTURE_FULL=1``: train longer for nicer pictures (meant for a GPU)."""
    return _flag("LECTURE_FULL")


def smoke_profile() -> bool:
    """True when ``LECTURE_SMOKE=1``: the shortest run that still takes every code path.

    Used only by the emulated-device tests: loops run a few steps, so the notebooks' quality
    checks do not hold and are not the point there (see :mod:`lecture_utils.execution`).
    """
    return _flag("LECTURE_SMOKE")


def pick(fast, full, smoke=None):
    """Choose a setting by profile: ``pick(fast=200, full=5000)`` steps of training.

    Under the smoke profile an integer ``fast`` shrinks to a twentieth (at least 1), unless
    ``smoke=`` says otherwise; other types keep their ``fast`` value.
    """
    if full_profile():
        return full
    if smoke_profile():
        if smoke is not None:
            return smoke
        if isinstance(fast, int) and not isinstance(fast, bool):
            return max(1, fast // 20)
    return fast


def downloads_allowed() -> bool:
    """Downloads happen only when the user opts in with ``LECTURE_ALLOW_DOWNLOAD=1``."""
    return _flag("LECTURE_ALLOW_DOWNLOAD")


def current_notebook() -> str | None:
    return _notebook


def setup(notebook: str, seed: int = 0, *, quiet: bool = False) -> torch.device:
    """The one setup call at the top of every notebook.

    Seeds everything (``seed``, or ``LECTURE_SEED``), fixes the CPU thread count, chooses the device (emulating one when the
    tests set ``LECTURE_EMULATE=cuda|mps``), records the device, its name, the thread count and
    the torch version, sets readable plotting defaults and remembers ``notebook`` as the file
    that :func:`record` writes to. Returns the device.
    """
    global _notebook, _started
    _check_notebook_name(notebook)
    emulate = os.environ.get("LECTURE_EMULATE", "").strip().lower()
    _notebook = notebook
    _started = time.perf_counter()
    raw_seed = os.environ.get("LECTURE_SEED", "").strip()
    if raw_seed:  # the seed-spread measurement runs whole notebooks with another seed
        if not raw_seed.isdigit():
            raise ValueError(f"LECTURE_SEED must be a non-negative integer, got {raw_seed!r}")
        seed = int(raw_seed)
    seed_everything(seed)
    threads = set_threads()
    if _flag("LECTURE_DETERMINISTIC"):  # optional: repeatable GPU numbers, at some cost in speed
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    device = get_device()
    # a fresh run replaces the numbers of the previous one
    (metrics_dir() / f"{notebook}.json").unlink(missing_ok=True)
    record("device", device.type + (" (emulated)" if emulate else ""))
    record("device_name", torch.cuda.get_device_name(device) if device.type == "cuda" and not emulate
           else device.type)
    record("torch_threads", threads)
    record("seed", seed)
    record("torch_version", torch.__version__)
    from . import viz  # local import: plotting is not needed by the core algorithms

    viz.use_lecture_style()
    if not quiet:
        profile = ("full (LECTURE_FULL=1)" if full_profile() else
                   "smoke (LECTURE_SMOKE=1)" if smoke_profile() else "fast (default)")
        print(f"notebook={notebook}  device={device}{' (emulated)' if emulate else ''}  threads={threads}  "
              f"profile={profile}  torch={torch.__version__}")
    return device


def _check_notebook_name(notebook) -> None:
    if (not isinstance(notebook, str) or not notebook.strip() or any(c in notebook for c in "/\\")
            or notebook.startswith(".")):
        raise ValueError(f"notebook must be a plain name such as '01_iou_map', got {notebook!r}")


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
    _check_notebook_name(notebook)
    plain = _to_jsonable(value)
    path = metrics_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = plain
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return plain


def metrics_dir() -> Path:
    """Where :func:`record` writes: ``build/metrics``, or ``LECTURE_METRICS_DIR`` (the emulated and
    GPU runs of the tests write there, so that the CPU run's numbers stay the README's)."""
    return Path(os.environ.get("LECTURE_METRICS_DIR") or BUILD_DIR / "metrics")


def load_metrics(directory: Path | None = None) -> Mapping[str, dict]:
    """All recorded numbers: ``{notebook: {name: value}}``."""
    directory = Path(directory or metrics_dir())
    if not directory.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


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
