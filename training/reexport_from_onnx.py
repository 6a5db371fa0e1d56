#!/usr/bin/env python3
"""Re-exports bundled models with the current export forms from the weights in their shipped model.onnx, for a
change of export form (inputs, outputs) that keeps the weights: no checkpoint, corpus or training is needed. For
each model it loads the ONNX initialisers (named "lm.<parameter>", float16 where export.py stored them so) into
the training module, checks the export form against it (export_family.check: the logits from zeros and, for a
form that starts from a state, a text continued from its state) and against the shipped reference's logits,
exports, stores the weights as float16 again,
and rewrites media/models/<id>/model.onnx, the manifest's description, inputs, outputs and onnx fields (everything
else, the metrics and training record included, stays), and test/fixtures/reference/<id>.json (same texts and checkpoint step).

    python3 reexport_from_onnx.py linear mamba
"""
import json
import os
import sys

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import export  # noqa: E402
import export_family  # noqa: E402
import models  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")


def load_from_onnx(mid, path):
    model = models.build(mid)
    weights = {i.name[len("lm."):]: torch.from_numpy(numpy_helper.to_array(i).astype("float32"))
               for i in onnx.load(path).graph.initializer if i.name.startswith("lm.")}
    state = model.state_dict()
    missing = sorted(set(state) - set(weights))
    if missing:
        raise SystemExit("%s: %s has no weights for %s" % (mid, path, ", ".join(missing)))
    wrong = ["%s %s (the module has %s)" % (k, list(weights[k].shape), list(state[k].shape)) for k in state if weights[k].shape != state[k].shape]
    if wrong:
        raise SystemExit("%s: %s holds weights of other shapes: %s" % (mid, path, "; ".join(wrong)))
    model.load_state_dict({k: weights[k] for k in state})
    model.eval()
    return model


def shipped_logits_diff(cfg, exp, first):
    """The largest difference between the export form's logits for a reference text (a text entry of
    test/fixtures/reference/<id>.json) and the shipped ones it holds (six significant digits, the first
    vocabSlice ids)."""
    with torch.no_grad():
        logits = exp(*export.example_inputs(cfg, torch.tensor([first["inputIds"]], dtype=torch.int64)))[0]
    shipped = torch.tensor(first["outputs"]["logits"]["data"]).reshape(first["outputs"]["logits"]["sliceShape"])
    k = first["outputs"]["logits"]["vocabSlice"][1]
    return float((logits[..., :k] - shipped).abs().max())


def reexport(mid):
    folder = os.path.join(ROOT, "media", "models", mid)
    onnx_path = os.path.join(folder, "model.onnx")
    manifest_path = os.path.join(folder, "manifest.json")
    ref_path = os.path.join(ROOT, "test", "fixtures", "reference", mid + ".json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(ref_path, encoding="utf-8") as f:
        step = json.load(f)["checkpointStep"]
    model = load_from_onnx(mid, onnx_path)
    cfg = model.cfg
    form = export_family.forms(cfg["architecture"])[0]
    exp = form(model)
    exp.eval()
    with torch.no_grad():
        diff = export.check_against_training_module(model, exp, cfg)
    print("%s: export form vs training module max abs diff %.2e" % (mid, diff), flush=True)
    assert diff < 1e-4, diff
    tok = bpe.Tokenizer.load(os.path.join(folder, "tokenizer.json"))
    # The same weights must give the same logits as the shipped file's reference texts (six significant digits).
    with open(ref_path, encoding="utf-8") as f:
        first = json.load(f)["texts"][0]
    assert shipped_logits_diff(cfg, exp, first) < 1e-4, "the export form does not reproduce the shipped logits"
    written = onnx_path + ".new"
    inputs_spec, outputs_spec = export.write_onnx(mid, cfg, exp, tok, written)
    os.replace(written, onnx_path)  # only a file that passed the checks takes the shipped one's place
    manifest["description"] = export.DESCRIPTION[mid]
    manifest["inputs"] = [export.schema2_tensor(i, False) for i in inputs_spec]
    manifest["outputs"] = [export.schema2_tensor(o, True) for o in outputs_spec]
    manifest["onnx"].update(sha256=export.sha256_file(onnx_path), bytes=os.path.getsize(onnx_path))
    export.write_json(manifest_path, manifest)
    export.write_reference(mid, cfg, exp, tok, inputs_spec, outputs_spec, ref_path,
                           {"checkpointStep": step, "onnxSha256": manifest["onnx"]["sha256"]})
    print("%s: %.2f MB, reference %.2f MB" % (mid, os.path.getsize(onnx_path) / 1e6, os.path.getsize(ref_path) / 1e6))


if __name__ == "__main__":
    for mid in sys.argv[1:]:
        reexport(mid)
