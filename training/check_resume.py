#!/usr/bin/env python3
"""Check that an interrupted training run resumes exactly: a short schedule run straight through must give
bit-identical weights to the same schedule stopped twice and resumed. Uses a temporary checkpoint folder.

    python3 check_resume.py [transformer|lstm|gru ...]
"""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402

SMALL = {"batch": 2, "seq_len": 32, "steps": 9, "warmup": 3, "ckpt_every": 2, "eval_every": 100}


def final_state(mid, root, stops, run=None):
    """Trains mid into root, stopping after each step count in stops and resuming, then to the end; the final
    checkpoint. run: the trainer's main (train.main; check_resume_seq2seq.py passes train_seq2seq.main)."""
    run = run or train.main
    train.CKPT = os.path.join(root, "checkpoints")
    train.RESULTS = os.path.join(root, "results")
    for n in stops:
        run([mid, "--stop-after", str(n)])
    run([mid])
    return torch.load(os.path.join(train.CKPT, mid, "final.pt"))


def main():
    ids = sys.argv[1:] or ["transformer", "lstm", "gru"]
    ok = True
    for mid in ids:
        train.SCHEDULES[mid] = dict(train.SCHEDULES[mid], **SMALL)
        train.EVAL_LEN = 64
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            straight = final_state(mid, a, [])
            resumed = final_state(mid, b, [3, 2])
        same = all(torch.equal(straight["model"][k], resumed["model"][k]) for k in straight["model"])
        same = same and straight["history"][-1]["heldOutLossNats"] == resumed["history"][-1]["heldOutLossNats"]
        print("%s: resumed run %s the uninterrupted run" % (mid, "EQUALS" if same else "DIFFERS FROM"))
        ok = ok and same
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
