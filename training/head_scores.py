#!/usr/bin/env python3
"""Head-role scores of an attention model's checkpoint on the standard probe: 8 sequences of 50 random ordinary
tokens (seeded; special tokens excluded), each repeated twice (T = 100). Per layer and head:
  previous-token = mean over t >= 1 of W(t, t - 1)
  induction      = mean over t in the second copy of W(t, t - 49)  (the token after the earlier occurrence)
  duplicate      = mean over t in the second copy of W(t, t - 50)  (the earlier occurrence itself)
The same formulas as the extension's Heads view (src/core/headRoles.ts).

    python3 head_scores.py <model id> [--checkpoint latest|final] [--json]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402


def probe_ids(vocab_ordinary, n=50, seqs=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    block = torch.randint(0, vocab_ordinary, (seqs, n), generator=g)
    return torch.cat([block, block], 1)


def scores(att, n=50):
    """att [L, B, H, T, T] -> dict of [L, H] lists."""
    T = att.shape[-1]
    t = torch.arange(1, T)
    prev = att[..., t, t - 1].mean(-1).mean(1)
    second = torch.arange(n, T)
    ind = att[..., second, second - n + 1].mean(-1).mean(1)
    dup = att[..., second, second - n].mean(-1).mean(1)
    return {"previousToken": prev.tolist(), "induction": ind.tolist(), "duplicate": dup.tolist()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--checkpoint", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, ck, name = export.load_checkpoint(args.model, args.checkpoint)
    ids = probe_ids(model.cfg["vocab_size"] - 1)  # the last id is <|endoftext|>
    with torch.no_grad():
        att = model(ids, need_internals=True)[1]
    if isinstance(att, list):
        att = torch.stack([p[0] for p in att])
    s = scores(att)
    if args.json:
        print(json.dumps({"model": args.model, "checkpoint": name, "step": ck["step"], **s}))
        return
    print("%s %s step %d" % (args.model, name, ck["step"]))
    for key, grid in s.items():
        best = max((v, l, h) for l, row in enumerate(grid) for h, v in enumerate(row))
        print("%-14s best %.3f (layer %d head %d)  %s" % (key, best[0], best[1], best[2],
                                                          " | ".join(" ".join("%.2f" % v for v in row) for row in grid)))


if __name__ == "__main__":
    main()
