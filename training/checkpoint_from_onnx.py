#!/usr/bin/env python3
"""Rebuilds checkpoints/transformer-base/final.pt (stage 1 of the Transformer) from the weights in a shipped
model.onnx, so that later stages can start without re-running stage 1 (about an hour on 2 cores). The ONNX
initialisers carry the export wrapper's prefix "lm."; everything else (schedule, step, history) comes from
results/transformer-base.json. `bash run.sh` trains stage 1 from scratch instead when this file is absent.

    python3 checkpoint_from_onnx.py [path/to/model.onnx]
"""
import json
import os
import sys

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import train  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "media", "models", "transformer", "model.onnx")
    mid = "transformer-base"
    model = models.build(mid)
    weights = {i.name[len("lm."):]: torch.from_numpy(numpy_helper.to_array(i).copy())
               for i in onnx.load(src).graph.initializer if i.name.startswith("lm.")}
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        sys.exit("%s lacks %s" % (src, ", ".join(missing)))
    model.load_state_dict({k: weights[k] for k in state})
    with open(os.path.join(train.RESULTS, mid + ".json")) as f:
        res = json.load(f)
    out = os.path.join(train.CKPT, mid)
    os.makedirs(out, exist_ok=True)
    train.save_atomic({"model_id": mid, "config": model.cfg, "schedule": train.SCHEDULES[mid], "model": model.state_dict(),
                       "step": res["steps"], "wall_time": res["wallTimeSeconds"], "history": res["history"],
                       "recovered_from": os.path.basename(src)}, os.path.join(out, "final.pt"))
    print("wrote %s from %s (%d tensors)" % (os.path.relpath(os.path.join(out, "final.pt"), HERE), src, len(state)))


if __name__ == "__main__":
    main()
