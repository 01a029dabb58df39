import time

import pytest
import torch

from lecture_utils import timing
from lecture_utils.emulation import emulate


def test_seconds_per_call_is_the_best_of_the_repeats_after_warmup(monkeypatch):
    monkeypatch.delenv("LECTURE_SMOKE", raising=False)
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.02 if len(calls) == 2 else 0.005)  # the first timed call is the slow one

    best = timing.seconds_per_call(fn, repeats=3, warmup=1)
    assert len(calls) == 4 and 0.004 < best < 0.015


def test_timed_synchronises_a_real_gpu(monkeypatch):
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: waited.append(device))
    with timing.timed(torch.device("cuda", 0)) as t:
        pass
    assert len(waited) == 2 and t["seconds"] >= 0  # before and after
    with timing.timed("cpu"), emulate("cuda") as device:
        timing.synchronize(device)  # nothing to wait for on an emulated device
    assert len(waited) == 2


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="fn"):
        timing.seconds_per_call(3)
    with pytest.raises(ValueError, match="repeats"):
        timing.seconds_per_call(lambda: None, repeats=0)


def test_threads_apply_while_timing_and_are_restored(monkeypatch):
    monkeypatch.delenv("LECTURE_SMOKE", raising=False)
    before, seen = torch.get_num_threads(), []
    timing.seconds_per_call(lambda: seen.append(torch.get_num_threads()), repeats=2, warmup=1, threads=1)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before

    def boom():
        raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match="inside"):
        timing.seconds_per_call(boom, threads=1)
    assert torch.get_num_threads() == before  # restored even when the timed code fails
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            timing.seconds_per_call(lambda: None, threads=bad)
