"""Tables of the proxy runs for RESULTS.md, read only from ``research/dino/runs/*.jsonl|json``.

    PYTHONPATH=. python research/dino/summarise.py > research/dino/ablations.md
"""

from __future__ import annotations

import json
from pathlib import Path

RUNS = Path(__file__).resolve().parent / "runs"
#: the flags each variant changes against the baseline (everything else is proxy.py's default)
KEYS = ("mode", "p_jitter", "jitter", "p_hue", "hue_max", "p_grey", "n_local", "local_scale", "lr", "momentum",
        "wd_end", "teacher_temp", "teacher_temp_end")


def change(config: dict, default: dict) -> str:
    """The flags that differ from proxy.py's defaults, as ``key=value``."""
    diff = [f"{k}={config[k]}" for k in KEYS if config.get(k) != default.get(k)]
    return ", ".join(diff) or "baseline (shipped recipe)"


def main() -> None:
    from proxy import parse  # proxy.py's defaults are the baseline

    default = vars(parse([]))
    default["local_scale"] = list(default["local_scale"])
    rows, curves = [], []
    for path in sorted(RUNS.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if not lines:  # a run that has not logged yet
            continue
        config = lines[0]["config"]
        evals = [r for r in lines[1:] if "step" in r]
        name = path.stem
        curve = " → ".join(f"{r['jaccard']:.3f}/{r['mass_ratio']:.2f}/{r['auroc']:.2f}" for r in evals)
        curves.append(f"| {name} | {config['seed']} | {curve} |")
        summary = RUNS / f"{name}.json"
        if not summary.exists():
            rows.append(f"| {name} | {change(config, default)} | {config['seed']} | {evals[-1]['step'] if evals else 0} "
                        f"| (running or stopped) | | | | | | | | | |")
            continue
        f = json.loads(summary.read_text())["final"]
        h = f["best_head"]
        rows.append(
            f"| {name} | {change(config, default)} | {config['seed']} | {config['steps']} | {f['train_seconds'] / 60:.1f} | "
            f"{h} | {f['jaccard_60_report_half'][h]:.3f} | {f['mass_ratio'][h]:.2f} (max {max(f['mass_ratio']):.2f}) | "
            f"{f['auroc'][h]:.3f} | {f['jaccard_best_mass_report_half'][h]:.3f} | "
            f"{f.get('jaccard_best_fraction_report_half', [float('nan')] * 4)[h]:.3f} | {f['uniform_60']:.3f} | "
            f"{f['probe_colour_r2']:.3f} | {f['probe_shape']['auroc']:.3f} |")
    print("Final teacher (supervised: the net), 400 validation scenes (seed 1): best head chosen on half A "
          "(scenes 0–199) by the 60%-mass Jaccard, numbers on half B (200–399) except mass ratio and AUROC (all 400).\n")
    print("| run | change | seed | steps | CPU min | head | J@60% (B) | mass ratio | AUROC | J@best mass (B) | "
          "J@best top-k (B) | uniform J@60% | colour R² | shape AUROC |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nDuring training (100 validation scenes, best head on the same scenes, every 100 steps): "
          "Jaccard@60% / mass ratio / AUROC of the best head.\n")
    print("| run | seed | step 100 → … → final |")
    print("|---|---|---|")
    print("\n".join(curves))


if __name__ == "__main__":
    main()
