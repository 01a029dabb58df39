"""Timing that is right on every device: wait for the device before reading the clock.

CUDA and MPS run kernels asynchronously: without a synchronisation a timer measures how fast
Python *launches* the work, not how long it takes. Every ms/img and speed-up the course records
goes through these helpers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import torch

from .runtime import smoke_profile

__all__ = ["synchronize", "timed", "seconds_per_call"]


def synchronize(device: torch.device | str | None = None) -> None:
    """Block until ``device`` has finished its queued work (nothing to wait for on the CPU)."""
    from .emulation import emulated_device
    from .runtime import as_device

    device = as_device(device) if device is not None else None
    if device is None or device.type == "cpu" or device == emulated_device():
        return
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextlib.contextmanager
def timed(device: torch.device | str | None = None):
    """``with timed(device) as t: ...`` then ``t["seconds"]``: one synchronised wall-clock measurement."""
    result = {"seconds": float("nan")}
    synchronize(device)
    t0 = time.perf_counter()
    try:
        yield result
    finally:
        synchronize(device)
        result["seconds"] = time.perf_counter() - t0


def seconds_per_call(fn: Callable[[], object], *, device: torch.device | str | None = None,
                     repeats: int = 3, warmup: int = 1, threads: int | None = None) -> float:
    """The best of ``repeats`` synchronised timings of ``fn()``, after ``warmup`` untimed calls.

    The warm-up absorbs one-off costs (cuDNN's algorithm search, the allocator, lazy imports);
    the minimum is the least disturbed run, the usual choice for short benchmarks (``timeit``).
    ``threads`` times the CPU work on that many threads and restores the setting afterwards: two
    methods compared on one thread each are compared fairly even when another process holds a core
    (with more threads than free cores, small operators wait on each other and the ranking can flip).
    Under the smoke profile (the emulated-device tests) one call is timed, without warm-up.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(repeats, int) or repeats < 1 or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats!r}, {warmup!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    if smoke_profile():  # the emulated-device runs need the code path, not a good number
        repeats, warmup = 1, 0
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            fn()
        best = float("inf")
        for _ in range(repeats):
            with timed(device) as t:
                fn()
            best = min(best, t["seconds"])
    finally:
        torch.set_num_threads(before)
    return best
