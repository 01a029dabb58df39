"""Every notebook, executed: on the CPU (every check must hold), then under emulated CUDA and MPS.

The emulated runs use the smoke profile (see ``lecture_utils.execution``): they prove that no code path mixes
devices, uses float64 on MPS, hands a device tensor to NumPy or samples on the device with a CPU
generator. Their time is printed by ``-s`` and kept in ``build/executed/<mode>/<notebook>.json``.
"""

import pytest

from lecture_utils.execution import MODES, NOTEBOOKS, execute

CASES = [(mode, path) for mode in MODES for path in NOTEBOOKS]  # all CPU runs first, then the devices


@pytest.mark.parametrize(("mode", "path"), CASES, ids=[f"{m}-{p.stem}" for m, p in CASES])
def test_notebook_runs(mode, path):
    run = execute(path, mode)
    print(f"\n{path.stem} [{mode}] {run.seconds:.1f} s; waived quality checks: {len(run.waived)}")
    assert not run.failures, f"{path.name} under {mode}:\n" + "\n\n".join(run.failures)
