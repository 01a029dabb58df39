#!/usr/bin/env bash
# Run proxy.py variants one after another on ONE thread (the machine's other core is a teammate's).
# Usage: research/dino/queue.sh NAME "ARGS" [NAME "ARGS" ...]   (from the repository root)
set -u
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH="$PWD:$PWD/research/dino"
PY="$(git rev-parse --show-toplevel)/.venv/bin/python"
while [ $# -ge 2 ]; do
  name=$1; extra=$2; shift 2
  echo "$(date -u +%FT%TZ) start $name: $extra"
  # shellcheck disable=SC2086
  $PY research/dino/proxy.py --name "$name" --steps 500 $extra > "research/dino/runs/$name.log" 2>&1
  echo "$(date -u +%FT%TZ) end $name rc=$?"
done
