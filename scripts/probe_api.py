"""Feed the public API the bad and edge inputs of tests/api_probe.py and count how each fares.

    python scripts/probe_api.py                  # this checkout
    python scripts/probe_api.py --repo ../old    # another checkout of the course (e.g. a git worktree)

Bad inputs: ``clear`` (ValueError/TypeError naming the argument), ``unclear`` (another error, or
a message that does not say what was wrong), ``silent`` (a value came back: possibly wrong).
Edge inputs: ``ok`` (the defined result), ``wrong`` (another result), ``error`` (it raised).
A case whose function does not exist in that checkout counts as ``missing``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=HERE, help="checkout whose lecture_utils is probed")
    parser.add_argument("--list", action="store_true", help="name every case that is not clear/ok")
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo.resolve()))
    sys.path.insert(1, str(HERE / "tests"))
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("LECTURE_METRICS_DIR", tempfile.mkdtemp())  # record() cases write nowhere real
    from api_probe import CASES, outcome

    import lecture_utils

    print(f"probing {Path(lecture_utils.__file__).parent}")
    counts: dict[str, collections.Counter] = {"bad": collections.Counter(), "edge": collections.Counter()}
    failures = []
    for case in CASES:
        kind = "bad" if type(case).__name__ == "Bad" else "edge"
        try:
            result = outcome(case)
        except (ImportError, AttributeError):
            result = "missing"
        # a function that is absent raises AttributeError inside the call: count it as missing
        if result in ("unclear", "error"):
            try:
                case.call()
            except (ImportError, AttributeError) as err:
                if "lecture_utils" in str(err) or "has no attribute" in str(err):
                    result = "missing"
            except Exception:  # noqa: BLE001
                pass
        counts[kind][result] += 1
        if result not in ("clear", "ok"):
            failures.append((result, case.name))
    print(f"{len(CASES)} cases")
    print("bad inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["bad"].items())))
    print("edge inputs: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["edge"].items())))
    if args.list:
        for result, name in sorted(failures):
            print(f"  {result:8s} {name}")


if __name__ == "__main__":
    main()
