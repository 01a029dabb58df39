"""Shipped checkpoints: verified by sha256, loaded with ``weights_only=True``.

``data/checkpoints/SHA256SUMS`` lists ``<sha256>  <file name>`` for every file. A file that is
missing, unlisted, whose digest differs, that cannot be read, that is not a course checkpoint
(``{"state_dict": ..., "meta": ...}``) or that does not fit the model is refused with a clear
message and loads nothing, and the notebook falls back to training.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path

import torch

from .runtime import DATA_DIR

__all__ = ["CHECKPOINT_DIR", "sha256_of", "save_checkpoint", "load_checkpoint", "save_result", "load_result"]

# LECTURE_CHECKPOINT_DIR lets the tests run the training scripts without touching the shipped files
CHECKPOINT_DIR = Path(os.environ.get("LECTURE_CHECKPOINT_DIR", DATA_DIR / "checkpoints"))
MANIFEST = "SHA256SUMS"


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_LINE = re.compile(r"^([0-9a-f]{64}) [ *]?(\S.*)$")  # sha256sum's format: digest, space(s), name


def _manifest(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    if not path.exists():
        return {}
    entries = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        match = _LINE.match(line.strip())
        if match is None:
            raise ValueError(f"{path} line {number} is not '<sha256>  <file name>': {line!r}")
        entries[match.group(2).strip()] = match.group(1)
    return entries


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", "..", MANIFEST):
        raise ValueError(f"name must be a plain file name inside the checkpoint folder, got {name!r}")
    return name


def _check_meta(value, where: str = "meta") -> None:
    """Only what ``torch.load(weights_only=True)`` reads back: plain numbers, strings, lists, dicts."""
    # exact types: numpy's float64 is a float subclass, yet torch cannot unpickle it safely
    if value is None or type(value) in (bool, int, str):
        return
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}: store finite numbers")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_meta(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}")
            _check_meta(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"{where} is a {type(value).__name__}; load_checkpoint could not read it back "
                    "(use int(), float() or .tolist())")


def save_checkpoint(model: torch.nn.Module, name: str, meta: dict | None = None,
                    directory: Path | str = CHECKPOINT_DIR) -> str:
    """Save ``model``'s weights (and plain-data ``meta``) as ``name`` and record its sha256."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_name(name)
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    _check_meta(meta or {})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "meta": meta or {}}, directory / name)
    return _register(directory, name)


def _register(directory: Path, name: str) -> str:
    """Record ``name``'s sha256 in the folder's manifest (kept sorted); return the digest."""
    digest = sha256_of(directory / name)
    entries = _manifest(directory)
    entries[name] = digest
    (directory / MANIFEST).write_text("".join(f"{d}  {n}\n" for n, d in sorted(entries.items())))
    return digest


def load_checkpoint(model: torch.nn.Module, name: str, directory: Path | str = CHECKPOINT_DIR,
                    verbose: bool = True) -> dict | None:
    """Load verified weights into ``model``; return the checkpoint's ``meta``, or None if refused."""
    _check_name(name)
    directory = Path(directory)
    path = directory / name
    payload = None
    problem, expected = _file_problem(directory, name)
    if problem is None:
        try:  # weights_only: a file that smuggles code in is refused here, never run
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - truncated zip, foreign pickle: all mean "unusable"
            first_line = (str(err).splitlines() or [""])[0][:120]
            problem = f"{path} cannot be read ({type(err).__name__}: {first_line})"
        else:
            problem = _fit_problem(model, payload, name)
    if problem:
        if verbose:
            print(f"checkpoint not used: {problem}; the model keeps the weights it has (train it instead)")
        return None
    model.load_state_dict(payload["state_dict"])
    if verbose:
        print(f"loaded {name} (sha256 {expected[:12]}…)")
    return payload.get("meta", {})


def save_result(name: str, tensors: dict, meta: dict | None = None, directory: Path | str = CHECKPOINT_DIR) -> str:
    """Save the tensors a script measured (and plain-data ``meta``) as ``name``; record its sha256.

    For measurements too slow for a notebook (many trainings): the notebook loads them with
    :func:`load_result`, re-measures a part live and checks that it agrees."""
    _check_name(name)
    if not isinstance(tensors, dict) or not tensors or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()):
        raise TypeError("tensors must be a non-empty dict of name -> torch.Tensor")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    _check_meta(meta or {})
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"tensors": {k: v.detach().cpu() for k, v in tensors.items()}, "meta": meta or {}}, directory / name)
    return _register(directory, name)


def load_result(name: str, directory: Path | str = CHECKPOINT_DIR, verbose: bool = True) -> tuple[dict, dict] | None:
    """``(tensors, meta)`` of a verified :func:`save_result` file, or None (with the reason) if refused."""
    _check_name(name)
    directory = Path(directory)
    problem, expected = _file_problem(directory, name)
    payload = None
    if problem is None:
        try:
            payload = torch.load(directory / name, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - any unreadable file means "unusable"
            problem = f"{directory / name} cannot be read ({type(err).__name__})"
        else:
            if not isinstance(payload, dict) or not isinstance(payload.get("tensors"), dict):
                problem = f"{name} is not a course result file (a dict with 'tensors' and 'meta')"
    if problem:
        if verbose:
            print(f"result not used: {problem}")
        return None
    if verbose:
        print(f"loaded {name} (sha256 {expected[:12]}…)")
    return payload["tensors"], payload.get("meta", {})


def _file_problem(directory: Path, name: str) -> tuple[str | None, str | None]:
    """``(why the file cannot be trusted or None, its listed sha256)``."""
    path = directory / name
    try:
        expected = _manifest(directory).get(name)
    except ValueError as err:
        return str(err), None
    if not path.exists():
        return f"{path} is missing", expected
    if expected is None:
        return f"{name} is not listed in {directory / MANIFEST}", None
    if sha256_of(path) != expected:
        return f"{path} is corrupt: its sha256 differs from {directory / MANIFEST}", expected
    return None, expected


def _fit_problem(model: torch.nn.Module, payload, name: str) -> str | None:
    """Why ``payload`` cannot be loaded into ``model`` (checked before loading: a failed
    ``load_state_dict`` would leave the model half-overwritten), or None."""
    if (not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict)
            or not isinstance(payload.get("meta", {}), dict)):
        return f"{name} is not a course checkpoint (a dict with 'state_dict' and a dict 'meta')"
    state, own = payload["state_dict"], model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        return (f"{name} does not fit this model: missing {missing[:3]}{'…' if len(missing) > 3 else ''}, "
                f"unexpected {unexpected[:3]}{'…' if len(unexpected) > 3 else ''}")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.shape != own[key].shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            return f"{name} does not fit this model: {key} is {shape}, the model has {tuple(own[key].shape)}"
        if value.is_floating_point() and not torch.isfinite(value).all():  # a diverged run, saved anyway
            return f"{name} holds NaN or infinite weights ({key})"
    return None
