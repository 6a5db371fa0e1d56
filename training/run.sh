#!/usr/bin/env bash
# Attention Lens model pipeline: one command from a clean Debian 12 machine to the bundled models.
#
#   bash training/run.sh
#
# 1. installs the Debian packages it needs (skipped when present)
# 2. installs the pinned npm corpus packages (training/corpus/package-lock.json) and builds the corpus
# 3. trains the byte-level BPE tokenizer and encodes the corpus (skipped when the corpus is unchanged)
# 4. trains every bundled model (resumes from checkpoints; finished models are skipped): see train_all.sh
# 5. exports ONNX + manifests + reference outputs and installs them into media/models/ and test/fixtures/
#    (with the held-out token ids the TypeScript tokenizer test compares against)
# Every step is idempotent: re-running after an interruption continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3

step() { printf '\n== %s\n' "$*"; }

step "Debian packages"
pkgs=(python3 python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread python3.11-doc)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${missing[@]}"
else
  echo "all present: ${pkgs[*]}"
fi

step "Corpus"
if [ ! -f corpus/node_modules/.package-lock.json ] || ! cmp -s corpus/package-lock.json corpus/node_modules/.package-lock.json.src 2>/dev/null; then
  (cd corpus && npm ci --ignore-scripts --no-audit --no-fund && cp package-lock.json node_modules/.package-lock.json.src)
fi
"$PY" build_corpus.py

step "Tokenizer"
corpus_sha=$("$PY" -c 'import json;print(json.load(open("data/corpus.json"))["sha256"])')
if [ -f out/tokenizer.json ] && [ -f data/train.bin ] && grep -q "$corpus_sha" data/tokens.json 2>/dev/null; then
  echo "up to date for corpus $corpus_sha"
else
  "$PY" tokenize_corpus.py
fi

step "Training (logs: training/logs/)"
bash train_all.sh

step "Export and install"
"$PY" export.py --checkpoint final
"$PY" export_seq2seq.py --checkpoint final
# The TypeScript tokenizer test compares against the Python ids of the held-out split.
cp out/heldout_ids.json ../test/fixtures/heldout-tokens.json
echo
echo "done: media/models/<id> for every bundled model, test/fixtures/reference/, training/MODELS.md, training/results/"
