#!/usr/bin/env bash
# Train the bundled models concurrently (single-threaded jobs share the cores).
# Each job is single-threaded (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1) and niced. Re-running resumes
# every model from its latest checkpoint; finished models are skipped. Stage 1 of the Transformer
# ("transformer-base") comes first: the Transformer's stage 2, linear attention and the sliding window start
# from its weights; stage 3 (the bundled "transformer") continues stage 2.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p logs
# The encoder (masked LM) and the encoder-decoders (span infilling) have their own loop: train_seq2seq.py.
train() {
  local script=train.py
  case "$1" in encoder|t5|bahdanau) script=train_seq2seq.py ;; esac
  nice -n 15 "$PY" "$script" "$1" >>"logs/$1.log" 2>&1
}
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
if ! run_all transformer-base lstm gru elman mamba || ! run_all transformer-stage2 linear window || ! run_all transformer encoder || ! run_all t5 bahdanau; then
  echo "training failed: see training/logs/" >&2
  exit 1
fi
echo "training done"
