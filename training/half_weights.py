#!/usr/bin/env python3
"""Stores the weights of bundled models exported with float32 weights (the Transformer, the LSTM, the GRU) as
float16, cast back to float32 at load (onnx_half.py), from the weights in their shipped model.onnx: no checkpoint,
corpus or training is needed. The file is half the size, so a window reads half the bytes before its first
analysis. For each model it:
- loads the ONNX initialisers ("lm.<parameter>") into the training module, and checks that the export form gives
  the shipped reference's logits (test/fixtures/reference/<id>.json: the first text's, vocabulary ids 0-63, which
  is what the reference holds of them);
- evaluates the held-out text (test/fixtures/heldout-tokens.json: the held-out split as token ids) as train.py does:
  with the float32 weights it must give the manifest's figures, then with the weights rounded to float16, whose
  bits per byte must stay within 1e-4 of the float32 figure;
- exports the rounded weights (export.write_onnx), whose graph inputs and outputs must be the manifest's, by name
  and in order;
- rewrites media/models/<id>/model.onnx, the manifest's description, onnx and metrics fields (the float32
  bits per byte kept as heldOutBitsPerByteFloat32, as the other float16 models have it; everything else stays),
  and test/fixtures/reference/<id>.json (same texts and checkpoint step): each is written beside its file first, and
  the three replace theirs only once all are written. A model already stored in float16 is left alone.

    python3 half_weights.py transformer lstm gru
"""
import json
import math
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import export  # noqa: E402
import export_family  # noqa: E402
import train  # noqa: E402
from reexport_from_onnx import load_from_onnx, shipped_logits_diff  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
EXPORTS = {"transformer": export.TransformerExport, "lstm": export.LSTMExport, "gru": export.GRUExport}


def held_out(model, cfg, tokenizer_path):
    with open(os.path.join(ROOT, "test", "fixtures", "heldout-tokens.json"), encoding="utf-8") as f:
        stream = torch.tensor(json.load(f)["joinedIds"], dtype=torch.int64)
    token_bytes, special_from = train.token_byte_lengths(cfg["vocab_size"], tokenizer_path)
    nats, bpb, ntok, nbytes = train.evaluate(model, stream, token_bytes, special_from)
    model.eval()
    return nats, bpb, ntok, nbytes


def halve(mid):
    folder = os.path.join(ROOT, "media", "models", mid)
    onnx_path = os.path.join(folder, "model.onnx")
    manifest_path = os.path.join(folder, "manifest.json")
    ref_path = os.path.join(ROOT, "test", "fixtures", "reference", mid + ".json")
    tokenizer_path = os.path.join(folder, "tokenizer.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(ref_path, encoding="utf-8") as f:
        reference = json.load(f)
    if mid not in EXPORTS or mid not in export.HALF:
        raise SystemExit("%s: not a model this script halves (%s)" % (mid, ", ".join(EXPORTS)))
    if any(i.data_type == onnx.TensorProto.FLOAT16 for i in onnx.load(onnx_path).graph.initializer):
        print("%s: %s already stores float16 weights; left alone" % (mid, onnx_path), flush=True)
        return
    model = load_from_onnx(mid, onnx_path)
    cfg = model.cfg
    tok = bpe.Tokenizer.load(tokenizer_path)

    first = reference["texts"][0]
    exp = EXPORTS[mid](model)
    exp.eval()
    assert shipped_logits_diff(cfg, exp, first) < 1e-4, "the export form does not reproduce the shipped logits"

    nats, bpb, ntok, nbytes = held_out(model, cfg, tokenizer_path)
    metrics = manifest["metrics"]
    print("%s: float32 weights: held-out %.5f nats/token, %.5f bits/byte" % (mid, nats, bpb), flush=True)
    if (round(nats, 5), round(bpb, 5), ntok, nbytes) != (metrics["heldOutLossNats"], metrics["heldOutBitsPerByte"],
                                                         metrics["heldOutTokens"], metrics["heldOutBytes"]):
        raise SystemExit("%s: the held-out figures differ from the manifest's %s" % (mid, metrics))
    full_precision_bpb = bpb

    export_family.round_to_half(model)
    nats, bpb, ntok, nbytes = held_out(model, cfg, tokenizer_path)
    print("%s: float16 weights: held-out %.5f nats/token, %.5f bits/byte (float32: %.5f)" % (
        mid, nats, bpb, full_precision_bpb), flush=True)
    if abs(bpb - full_precision_bpb) >= 1e-4:
        raise SystemExit("%s: float16 weights cost %.5f bits/byte on the held-out text; nothing written" % (
            mid, bpb - full_precision_bpb))
    exp = EXPORTS[mid](model)
    exp.eval()
    diff = export.check_against_training_module(model, exp, cfg)
    print("%s: export form vs training module max abs diff %.2e" % (mid, diff), flush=True)
    assert diff < 1e-4, diff
    drift = shipped_logits_diff(cfg, exp, first)
    print("%s: the first reference text's logits moved by at most %.2e" % (mid, drift), flush=True)

    written = {path: path + ".new" for path in (onnx_path, manifest_path, ref_path)}
    try:
        inputs_spec, outputs_spec = export.write_onnx(mid, cfg, exp, tok, written[onnx_path])
        graph = onnx.load(written[onnx_path]).graph
        names = ([i.name for i in graph.input], [o.name for o in graph.output])
        if names != ([i["name"] for i in manifest["inputs"]], [o["name"] for o in manifest["outputs"]]):
            raise SystemExit("%s: the exported graph's inputs and outputs %s are not the manifest's" % (mid, names))
        declared = ([export.schema2_tensor(i, False) for i in inputs_spec],
                    [export.schema2_tensor(o, True) for o in outputs_spec])
        if declared != (manifest["inputs"], manifest["outputs"]):
            raise SystemExit("%s: the export form's inputs and outputs are not described as the manifest's" % mid)
        manifest["description"] = export.DESCRIPTION[mid]
        manifest["onnx"].update(sha256=export.sha256_file(written[onnx_path]), bytes=os.path.getsize(written[onnx_path]))
        manifest["metrics"] = {
            **metrics,
            "heldOutLossNats": round(nats, 5),
            "heldOutBitsPerByte": round(bpb, 5),
            "heldOutPerplexity": round(math.exp(nats), 3),
            "heldOutTokens": ntok,
            "heldOutBytes": nbytes,
            "heldOutBitsPerByteFloat32": round(full_precision_bpb, 5),
        }
        export.write_json(written[manifest_path], manifest)
        export.write_reference(mid, cfg, exp, tok, inputs_spec, outputs_spec, written[ref_path],
                               {"checkpointStep": reference["checkpointStep"], "onnxSha256": manifest["onnx"]["sha256"]})
        for path, new in written.items():  # every check passed and every file is written: they replace the shipped ones
            os.replace(new, path)
    finally:
        for new in written.values():
            if os.path.exists(new):
                os.remove(new)
    print("%s: %.2f MB, reference %.2f MB" % (mid, os.path.getsize(onnx_path) / 1e6, os.path.getsize(ref_path) / 1e6))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for mid in sys.argv[1:]:
        halve(mid)
