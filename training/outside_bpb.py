#!/usr/bin/env python3
"""Bits per byte of a checkpoint on the code outside the corpus (test/fixtures/outside-code), next to xz -9e.
Each file is scored alone: the first window of 1024 tokens from a fresh context, then windows that advance by
512 tokens and score only their last 512 (every token sees at least 512 tokens of context when the file has them).

    python3 outside_bpb.py <model id> [--checkpoint latest|final]
"""
import argparse
import math
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import export  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "..", "test", "fixtures", "outside-code")
WINDOW, STRIDE = 1024, 512


def file_bits(model, ids):
    bits = 0.0
    start = 0
    scored_to = 1  # token 0 has no prediction
    while True:
        window = ids[start:start + WINDOW]
        x = torch.tensor([window])
        with torch.no_grad():
            out = model(x)
        logits = out[0] if isinstance(out, tuple) else out
        logp = F.log_softmax(logits[0, :-1], -1)
        for i in range(max(scored_to, start + 1), start + len(window)):
            bits -= logp[i - 1 - start, window[i - start]].item() / math.log(2)
        scored_to = start + len(window)
        if start + WINDOW >= len(ids):
            return bits
        start += STRIDE


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--checkpoint", default="auto")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck, name = export.load_checkpoint(args.model, args.checkpoint)
    tok = bpe.Tokenizer.load(os.path.join(HERE, "out", "tokenizer.json"))
    tb, tx, tn = 0.0, 0, 0
    for f in sorted(os.listdir(FILES)):
        if f == "README.md":
            continue
        data = open(os.path.join(FILES, f), "rb").read()
        ids = tok.encode(data.decode("utf-8"))
        bits = file_bits(model, ids) + 0  # the first token is not predicted: counted as 12 bits (log2 4096)
        bits += math.log2(4096)
        xz = len(subprocess.run(["xz", "-9e", "-c"], input=data, capture_output=True, check=True).stdout)
        print("%-22s %7d bytes  model %.3f  xz %.3f bits/byte" % (f, len(data), bits / len(data), xz * 8 / len(data)))
        tb, tx, tn = tb + bits, tx + xz * 8, tn + len(data)
    print("%s %s step %d: all %d bytes  model %.3f  xz -9e %.3f bits/byte" % (args.model, name, ck["step"], tn, tb / tn, tx / tn))


if __name__ == "__main__":
    main()
