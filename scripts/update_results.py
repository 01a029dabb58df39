"""Build the README's results table from the numbers the notebooks recorded.

Every notebook calls ``lecture_utils.runtime.record(name, value)`` for what it measures;
the values land in ``build/metrics/<notebook>.json``. This script turns them into a
Markdown table, so the README never carries a hand-typed number.

    python scripts/update_results.py            # print the table, write build/results.md
    python scripts/update_results.py --readme   # also replace the table in README.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lecture_utils.runtime import BUILD_DIR, load_metrics  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(metrics: dict) -> str:
    if not metrics:
        return "_No numbers yet: run `make test` (or `make html`) first._"
    lines = ["| notebook | device, threads, torch | CPU/GPU run time, s | measured |", "|---|---|---|---|"]
    for notebook, numbers in metrics.items():
        numbers = dict(numbers)
        device = numbers.pop("device", "?")
        name = numbers.pop("device_name", device)
        device = f"{device}{f' ({name})' if name not in device else ''}, " \
                 f"{numbers.pop('torch_threads', '?')}, {numbers.pop('torch_version', '?')}"
        numbers.pop("seed", None)
        runtime = numbers.pop("runtime_s", None)
        shown = ", ".join(f"{k} = {fmt(v)}" for k, v in numbers.items())
        lines.append(f"| `{notebook}` | {device} | {fmt(runtime) if runtime is not None else '-'} | {shown} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="replace the table in README.md")
    args = parser.parse_args()
    text = table(load_metrics())
    out = BUILD_DIR / "results.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(text)
    if args.readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        if not pattern.search(content):
            raise SystemExit(f"README.md has no {START} ... {END} block")
        readme.write_text(pattern.sub(f"{START}\n{text}\n{END}", content))
        print("README.md updated")


if __name__ == "__main__":
    main()
