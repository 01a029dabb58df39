"""Execute a course notebook in a fresh kernel and report its errors, cell by cell.

``make test`` runs every notebook three times: on the CPU with the default profile (every check
must pass; the executed copy, outputs included, is kept in ``build/executed/cpu/`` for the slide
decks), and under emulated CUDA and emulated MPS (``lecture_utils.emulation``) with the smoke
profile, which runs every cell — so every code path that touches the device — with loops cut to a
twentieth. There the models are barely trained, so a notebook's own quality ``assert`` (an
``AssertionError`` raised by the cell's code itself, not from inside a library function) is
waived and counted; every other error, and every device error in particular, fails the run.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .runtime import BUILD_DIR, REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXECUTED = BUILD_DIR / "executed"
MODES = ("cpu", "cuda", "mps")  # what make test runs; "gpu" (the real device) is make gpu-check's
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Run:
    notebook: str
    mode: str
    seconds: float = 0.0
    cell_seconds: list[tuple[int, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    waived: list[str] = field(default_factory=list)


def run_env(mode: str) -> dict:
    """The kernel's environment for ``mode``: offline always; emulation and smoke for devices."""
    if mode not in (*MODES, "gpu"):
        raise ValueError(f"mode must be one of {(*MODES, 'gpu')}, got {mode!r}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LECTURE_")}
    env.update(LECTURE_ALLOW_DOWNLOAD="0", HF_HUB_OFFLINE="1", PYTHONHASHSEED="0")
    for name in ("LECTURE_BUILD_DIR", "LECTURE_THREADS", "LECTURE_SEED", "LECTURE_METRICS_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.pop("MPLBACKEND", None)  # the kept copy carries its figures, for the decks
    if mode == "cpu":
        env["LECTURE_DEVICE"] = "cpu"
    elif mode in ("cuda", "mps"):
        env.update(LECTURE_EMULATE=mode, LECTURE_SMOKE="1", MPLBACKEND="Agg",
                   LECTURE_METRICS_DIR=str(EXECUTED / mode / "metrics"))
    return env


def own_assert(output) -> bool:
    """An ``AssertionError`` raised by the cell's own code: every traceback frame is the cell's."""
    if output.get("ename") != "AssertionError":
        return False
    frames = [_ANSI.sub("", line) for line in output.get("traceback", [])]
    return not any(line.lstrip().startswith("File ") for line in frames)


def execute(path: Path, mode: str, timeout: int = 600, out_dir: Path | None = None,
            strict: bool | None = None) -> Run:
    """Run ``path`` top to bottom in a new kernel under ``mode``; keep the executed copy.

    ``strict`` (default: on the CPU and the GPU) stops at the first error; otherwise every cell
    runs, the cells' own failed asserts are listed in ``waived`` and other errors in ``failures``.
    """
    nb = nbformat.read(path, as_version=4)
    run = Run(path.stem, mode)
    strict = mode in ("cpu", "gpu") if strict is None else strict
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=not strict,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute(env=run_env(mode))
    except Exception as error:  # the first failing cell on the CPU; nbclient names it
        run.failures.append(_ANSI.sub("", str(error))[-3000:])
    run.seconds = time.perf_counter() - t0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("execution", {})
        if "iopub.execute_input" in meta and "shell.execute_reply" in meta:
            run.cell_seconds.append((i, _seconds(meta["iopub.execute_input"], meta["shell.execute_reply"])))
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            where = f"cell {i}: {out.get('ename')}: {out.get('evalue', '')[:300]}"
            if not strict and own_assert(out):
                run.waived.append(where)
            elif not strict:
                tb = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
                run.failures.append(f"{where}\n{tb[-2500:]}")
    out_dir = out_dir or EXECUTED / mode
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    summary = {"seconds": round(run.seconds, 1), "failures": len(run.failures), "waived": run.waived,
               "slowest_cells": sorted(run.cell_seconds, key=lambda c: -c[1])[:3]}
    (out_dir / f"{path.stem}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return run


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    def parse(s):
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    return round((parse(end) - parse(start)).total_seconds(), 2)


# Timings are expected to differ between devices; everything else is a result that should not.
_TIMING_WORDS = ("seconds", "_s_per", "_ms", "ms_", "per_s", "speedup", "runtime", "minutes")
_PROVENANCE = {"device", "device_name", "torch_threads", "torch_version", "seed"}


def compare_metrics(reference: dict, other: dict, rel: float = 0.05, abs_: float = 0.02) -> list[tuple]:
    """``(name, reference, other)`` for every shared result that moved beyond ``max(abs_, rel*|ref|)``
    (numbers) or changed (strings, booleans); timings and provenance are left out."""
    moved = []
    for name in sorted(set(reference) & set(other)):
        if name in _PROVENANCE or any(w in name for w in _TIMING_WORDS):
            continue
        a, b = reference[name], other[name]
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or not isinstance(b, int | float):
            if a != b:
                moved.append((name, a, b))
        elif abs(a - b) > max(abs_, rel * abs(a)):
            moved.append((name, a, b))
    return moved
