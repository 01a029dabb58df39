"""How much each recorded number moves with the CPU thread count and with the seed of the run.

    python scripts/measure_spread.py [--notebooks 02 05] [--configs 2:0 1:0 2:1]

Runs the chosen notebooks on the CPU once per ``threads:seed`` configuration (``LECTURE_THREADS``,
``LECTURE_SEED``: the seed of model initialisations and of everything not seeded explicitly),
every cell even after a failed check, each into ``build/spread/<threads>_<seed>/``. Prints, for
every recorded result, its value in each configuration and the largest move against the first
one, and the checks that failed in any configuration; writes the table to
``build/spread/report.md``. A check whose margin is below these moves is fragile.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lecture_utils.execution import NOTEBOOKS, compare_metrics, execute  # noqa: E402
from lecture_utils.runtime import BUILD_DIR, load_metrics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="*", default=[], help="number prefixes (default: all)")
    parser.add_argument("--configs", nargs="*", default=["2:0", "1:0", "2:1"], help="threads:seed, first = reference")
    parser.add_argument("--reference", default=None,
                        help="metrics folder of an existing 2-thread seed-0 run (e.g. build/metrics) instead of running it")
    parser.add_argument("--report-only", action="store_true", help="tabulate the runs already in build/spread")
    args = parser.parse_args()
    paths = [p for p in NOTEBOOKS if not args.notebooks or p.name[:2] in args.notebooks]
    out = BUILD_DIR / "spread"
    failed = {}
    if args.reference:
        args.configs = ["reference", *[c for c in args.configs if c != "2:0"]]
    for config in [] if args.report_only else args.configs:
        if config == "reference":
            continue
        threads, seed = config.split(":")
        where = out / f"{threads}_{seed}"
        os.environ.update(LECTURE_THREADS=threads, LECTURE_SEED=seed, LECTURE_METRICS_DIR=str(where / "metrics"))
        for path in paths:
            run = execute(path, "cpu", out_dir=where / "executed", strict=False)
            failed[config, path.stem] = run.waived + run.failures
            print(f"{path.stem} threads={threads} seed={seed}: {run.seconds:.0f} s, "
                  f"failed checks: {run.waived or '-'}; errors: {len(run.failures)}", flush=True)
    metrics = {c: load_metrics(Path(args.reference) if c == "reference" else out / c.replace(":", "_") / "metrics")
               for c in args.configs}
    ref = args.configs[0]
    rows = [f"| notebook | result | {' | '.join(args.configs)} | largest move |", "|---|---|" + "---|" * (len(args.configs) + 1)]
    for path in paths:
        base = metrics[ref].get(path.stem, {})
        moved = {}
        for c in args.configs[1:]:
            for name, a, b in compare_metrics(base, metrics[c].get(path.stem, {}), rel=0.0, abs_=0.0):
                moved.setdefault(name, []).append(abs(b - a) if isinstance(a, int | float) and isinstance(b, int | float)
                                                  and not isinstance(a, bool) else float("inf"))
        for name in sorted(moved):
            values = " | ".join(str(metrics[c].get(path.stem, {}).get(name, "-")) for c in args.configs)
            rows.append(f"| `{path.stem}` | {name} | {values} | {max(moved[name]):.4g} |")
    for (config, notebook), errors in failed.items():
        for error in errors:
            rows.append(f"| `{notebook}` | FAILED under {config}: {error[:160]} | |" + " |" * len(args.configs))
    (out / "report.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
