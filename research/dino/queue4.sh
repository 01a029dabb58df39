#!/usr/bin/env bash
# Session 3: the long run RESULTS.md names — DINO's own colour jitter at the shipped 3000-step budget,
# seed 0 (one CPU thread), to compare with the shipped 3000-step DINO on the same validation halves.
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD:$PWD/research/dino"
PY="$(git rev-parse --show-toplevel)/.venv/bin/python"
name=colour_dino_3k_s0
echo "$(date -u +%FT%TZ) start $name"
$PY research/dino/proxy.py --name $name --steps 3000 --eval-every 500 --seed 0 \
    --p-jitter 0.8 --jitter 0.4 --p-hue 0.8 --hue-max 0.1 --p-grey 0.2 > "research/dino/runs/$name.log" 2>&1
echo "$(date -u +%FT%TZ) end $name rc=$?"
