"""Run every notebook on this machine's GPU and compare its numbers with the CPU run (``make gpu-check``).

    python scripts/gpu_check.py [--notebooks 02 05]

Needs a CUDA or Apple-MPS device (``lecture_utils.runtime.get_device``). Each notebook runs with
the default profile and all its checks, its metrics going to ``build/gpu/metrics``; the CPU
reference is ``build/metrics`` from the last ``make test`` (or ``make notebooks``). Printed: every
notebook's CPU and GPU time, its failures, and the results that moved beyond the tolerance
(5 % relative or 0.02 absolute; timings are not compared). The same table is written to
``build/gpu/report.md``. cuDNN and CPU kernels round differently, so small moves are expected.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lecture_utils.execution import NOTEBOOKS, compare_metrics, execute  # noqa: E402
from lecture_utils.runtime import BUILD_DIR, get_device, load_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="*", default=[], help="number prefixes, e.g. 02 05 (default: all)")
    args = parser.parse_args()
    device = get_device()
    if device.type == "cpu":
        raise SystemExit("no GPU on this machine: make test proves the device path by emulation instead")
    paths = [p for p in NOTEBOOKS if not args.notebooks or p.name[:2] in args.notebooks]
    out = BUILD_DIR / "gpu"
    os.environ["LECTURE_METRICS_DIR"] = str(out / "metrics")
    cpu = load_metrics(BUILD_DIR / "metrics")
    rows = ["| notebook | CPU s | GPU s | failures | results beyond tolerance (CPU → GPU) |", "|---|---|---|---|---|"]
    for path in paths:
        run = execute(path, "gpu", out_dir=out / "executed")
        gpu = load_metrics(out / "metrics").get(path.stem, {})
        ref = cpu.get(path.stem, {})
        moved = compare_metrics(ref, gpu) if ref else []
        shown = ", ".join(f"{n}: {a} → {b}" for n, a, b in moved) or ("-" if ref else "no CPU reference")
        rows.append(f"| `{path.stem}` | {ref.get('runtime_s', '-')} | {gpu.get('runtime_s', round(run.seconds, 1))} "
                    f"| {len(run.failures)} | {shown} |")
        print(rows[-1], flush=True)
        for failure in run.failures:
            print(failure[-2000:], flush=True)
    report = "\n".join([f"GPU check on {device} ({get_device_name(device)})", "", *rows])
    (out / "report.md").write_text(report + "\n")
    print("\n" + report)


def get_device_name(device) -> str:
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


if __name__ == "__main__":
    main()
