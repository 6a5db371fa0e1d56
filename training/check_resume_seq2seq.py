#!/usr/bin/env python3
"""Check that an interrupted run of train_seq2seq.py resumes exactly (check_resume.py for the encoder and the
encoder-decoders): a short schedule run straight through must give bit-identical weights and held-out figures to
the same schedule stopped twice and resumed. Uses a temporary checkpoint folder.

    python3 check_resume_seq2seq.py [encoder|t5|bahdanau ...]
"""
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_resume  # noqa: E402
import train  # noqa: E402
import train_seq2seq as ts  # noqa: E402

SMALL = {"batch": 2, "steps": 9, "warmup": 3, "ckpt_every": 2, "eval_every": 100}


def final_state(mid, root, stops):
    return check_resume.final_state(mid, root, stops, run=ts.main)


def main():
    ids = sys.argv[1:] or ["encoder", "t5", "bahdanau"]
    ok = True
    ts.EVAL_HOLES = 20
    for mid in ids:
        ts.SCHEDULES[mid] = dict(ts.SCHEDULES[mid], **SMALL, **({"seq_len": 32} if mid == "encoder" else {}))
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            straight = final_state(mid, a, [])
            resumed = final_state(mid, b, [3, 2])
        same = all(torch.equal(straight["model"][k], resumed["model"][k]) for k in straight["model"])
        same = same and straight["history"][-1] == resumed["history"][-1]
        print("%s: resumed run %s the uninterrupted run" % (mid, "EQUALS" if same else "DIFFERS FROM"))
        ok = ok and same
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
