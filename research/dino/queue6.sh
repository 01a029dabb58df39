#!/usr/bin/env bash
# Session 5: the seed-0 baseline and supervised proxies again (their training states of session 3 were
# deleted), so that the patch-probe segmentation of every proxy has three seeds. Same arguments as
# base_s0 / supervised_s0; the re-runs' own J@60 is compared with the originals (determinism check).
# Two queues side by side, one CPU thread each; run from the repository root.
set -u
research/dino/queue.sh base_s0_rerun "--seed 0" > research/dino/runs/queue6_a.log 2>&1 &
research/dino/queue.sh supervised_s0_rerun "--seed 0 --mode supervised" > research/dino/runs/queue6_b.log 2>&1 &
wait
