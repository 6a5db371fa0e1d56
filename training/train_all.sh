#!/usr/bin/env bash
# Train the three bundled models concurrently (three single-threaded jobs share the cores).
# Each job is single-threaded (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1) and niced. Re-running resumes
# every model from its latest checkpoint; finished models are skipped.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p logs
train() { nice -n 15 "$PY" train.py "$1" >>"logs/$1.log" 2>&1; }
finished() { [ -f "checkpoints/$1/final.pt" ] && [ -f "results/$1.json" ]; }
pids=()
for m in transformer lstm gru; do
  ( finished "$m" || train "$m" ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
if [ $rc -ne 0 ]; then echo "training failed: see training/logs/" >&2; exit 1; fi
echo "training done"
