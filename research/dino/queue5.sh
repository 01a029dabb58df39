#!/usr/bin/env bash
# Session 4: (1) the supervised baseline retrained at DINO's budget (3000 steps x 64 scenes, as vit_dino.pt),
# (2) the 500-step proxies' missing seeds, so every proxy number compared has three seeds.
# One CPU thread; run from the repository root.
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD:$PWD/research/dino"
PY="$(git rev-parse --show-toplevel)/.venv/bin/python"
echo "$(date -u +%FT%TZ) start supervised 3000"
$PY scripts/train_dino.py --mode supervised --steps 3000 --threads 1 > research/dino/runs/train_supervised_3000.log 2>&1
echo "$(date -u +%FT%TZ) end supervised 3000 rc=$?"
research/dino/queue.sh base_s1 "--seed 1" supervised_s1 "--seed 1 --mode supervised" \
  base_s2 "--seed 2" supervised_s2 "--seed 2 --mode supervised" \
  colour_dino_s2 "--seed 2 --p-jitter 0.8 --jitter 0.4 --p-hue 0.8 --hue-max 0.1 --p-grey 0.2"
