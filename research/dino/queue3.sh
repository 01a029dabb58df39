#!/usr/bin/env bash
# Third batch, after queue 2 (pid 12187). Planned first: geometry seed 1; replaced (before it started)
# by the second seed of DINO's own colour jitter, whose seed-0 run reached validation Jaccard 0.30 at
# step 200 (baseline 0.235): a possible win must be repeated before it is claimed. Only one 500-step
# run fits before the 05:20 deadline, so the baseline's second seed is NOT run (see RESULTS.md).
set -u
while kill -0 12187 2>/dev/null; do sleep 5; done
research/dino/queue.sh colour_dino_s1 "--seed 1 --p-jitter 0.8 --jitter 0.4 --p-hue 0.8 --hue-max 0.1 --p-grey 0.2"
echo "$(date -u +%FT%TZ) queue 3 done"
