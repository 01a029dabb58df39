#!/usr/bin/env bash
# Second batch, started when queue 1 (pid 31558) ends: the diagnostics again (they gained the top-k
# columns after base_s0 had started), base_s0's final report with them (resuming a finished run
# only redoes the final report), then DINO's own colour-jitter strength (hue +-0.1 turn).
set -u
while kill -0 31558 2>/dev/null; do sleep 5; done
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD:$PWD/research/dino"
PY="$(git rev-parse --show-toplevel)/.venv/bin/python"
echo "$(date -u +%FT%TZ) start diagnostics"
$PY research/dino/diagnostics.py > research/dino/diagnostics.log 2>&1
echo "$(date -u +%FT%TZ) start base_s0 final report"
$PY research/dino/proxy.py --name base_s0 --steps 500 --seed 0 > research/dino/runs/base_s0_final_redo.log 2>&1
research/dino/queue.sh colour_dino_s0 "--seed 0 --p-jitter 0.8 --jitter 0.4 --p-hue 0.8 --hue-max 0.1 --p-grey 0.2"
echo "$(date -u +%FT%TZ) queue 2 done"
