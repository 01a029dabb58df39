"""Argument checks shared by the package: each returns the value or raises an error naming it.

The course promises that bad input never gives a silently wrong number. Two traps make that
promise easy to break, and both are handled here once:

* NaN passes every range test written as ``if x <= 0: raise`` (all comparisons with NaN are
  False), so :func:`number` tests ``low <= x`` and finiteness explicitly;
* ``bool`` is an ``int`` in Python and NumPy integers are not, so :func:`number` accepts
  ``np.integer`` for integer arguments and refuses ``True``.

``ValueError`` is raised for a value of the right kind outside its range, ``TypeError`` for the
wrong kind; every message starts with the argument's name.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

__all__ = ["number", "probability", "tensor", "class_ids", "widths", "decoding"]


def number(name: str, value, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, integer: bool = False):
    """``value`` as a finite int (``integer=True``) or float, in ``[low, high]`` (ends open if asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if integer:
        if not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and not (value > low if low_open else value >= low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and not (value < high if high_open else value <= high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def probability(name: str, value) -> float:
    """A number in ``[0, 1]``."""
    return number(name, value, low=0.0, high=1.0)


def tensor(name: str, value, *, ndim: int | tuple[int, ...] | None = None, floating: bool | None = None,
           finite: bool = False) -> Tensor:
    """``value`` as a tensor of the given rank; ``floating`` True/False asks for a float/an integer dtype."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if ranks is not None and value.ndim not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(value.shape)}")
    if floating is True and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if floating is False and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
        raise TypeError(f"{name} must hold integer ids, got dtype {value.dtype}")
    if finite and value.is_floating_point() and value.numel() and not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def class_ids(name: str, value, low: int, high: int | None = None) -> Tensor:
    """An integer tensor whose entries all lie in ``[low, high]`` (no upper end if ``high`` is None).

    A negative id would silently index from the end of a table, so it is refused, not wrapped."""
    value = torch.as_tensor(value)
    tensor(name, value, floating=False)
    if value.numel() and (int(value.min()) < low or (high is not None and int(value.max()) > high)):
        raise ValueError(f"{name} must lie in [{low}, {'...' if high is None else high}], got values in "
                         f"[{int(value.min())}, {int(value.max())}]")
    return value


def widths(name: str, value, min_len: int = 1) -> tuple[int, ...]:
    """A network's channel widths: a tuple of at least ``min_len`` positive ints."""
    if not isinstance(value, (tuple, list)) or len(value) < min_len:
        raise ValueError(f"{name} must be a tuple of at least {min_len} positive ints, got {value!r}")
    return tuple(number(f"{name}[{i}]", w, low=1, integer=True) for i, w in enumerate(value))


def decoding(score_thresh, nms_thresh, max_dets) -> None:
    """The knobs that turn a detector's scores into detections (R-CNN's and YOLO's decoders)."""
    number("score_thresh", score_thresh, low=0, high=1)
    number("nms_thresh", nms_thresh, low=0, high=1)
    number("max_dets", max_dets, low=1, integer=True)  # a negative one would slice off the last boxes
