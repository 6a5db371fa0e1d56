#!/usr/bin/env bash
# Train the bundled models concurrently (single-threaded jobs share the cores).
# Each job is single-threaded (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1) and niced. Re-running resumes
# every model from its latest checkpoint; finished models are skipped. Stage 1 of the Transformer
# ("transformer-base") comes first: the Transformer's stage 2, linear attention and the sliding window start
# from its weights.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p logs
train() { nice -n 15 "$PY" train.py "$1" >>"logs/$1.log" 2>&1; }
finished() { [ -f "checkpoints/$1/final.pt" ] && [ -f "results/$1.json" ]; }
run_all() {
  local pids=() rc=0
  for m in "$@"; do
    ( finished "$m" || train "$m" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}
if ! run_all transformer-base lstm gru elman mamba || ! run_all transformer linear window; then
  echo "training failed: see training/logs/" >&2
  exit 1
fi
echo "training done"
