#!/usr/bin/env bash
# Train the three bundled models on two cores: the Transformer then the GRU on one, the LSTM on the other.
# Each job is single-threaded (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1) and niced. Re-running resumes
# every model from its latest checkpoint; finished models are skipped.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p logs
train() { nice -n 15 "$PY" train.py "$1" >>"logs/$1.log" 2>&1; }
finished() { [ -f "checkpoints/$1/final.pt" ] && [ -f "results/$1.json" ]; }
( { finished transformer || train transformer; } && { finished gru || train gru; } ) &
a=$!
( finished lstm || train lstm ) &
b=$!
rc=0
wait $a || rc=1
wait $b || rc=1
if [ $rc -ne 0 ]; then echo "training failed: see training/logs/" >&2; exit 1; fi
echo "training done"
