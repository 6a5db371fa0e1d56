#!/usr/bin/env python3
"""Export the encoder and the two encoder-decoders (seq2seq_models.py) to ONNX with their manifests, tokenizers
and PyTorch reference outputs, like export.py does for the language models.

    python3 export_seq2seq.py [encoder] [t5] [bahdanau] [--checkpoint auto|latest|final] [--no-install]

Weights are rounded to float16 and stored so (onnx_half.py); the held-out figures are measured on the rounded
weights (float32 figures are kept beside them). The Bahdanau model is exported with hand-written GRU cells (both
encoder directions and the decoder, whose loop is a torch.jit.script function, i.e. an ONNX Loop), so the
alignment alpha(i, j), the context vectors, the decoder's gates and states are graph outputs.
Tokenizer: the base byte-level BPE with <pad>, <mask>, <extra_id_0>, <extra_id_1> appended (ids 4096-4099).
"""
import argparse
import json
import os
import sys
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import export  # noqa: E402
import export_family  # noqa: E402
import model_card  # noqa: E402
import onnx_half  # noqa: E402
import seq2seq_models as sm  # noqa: E402
import seq2seq_specs as specs  # noqa: E402
import train  # noqa: E402
import train_seq2seq as ts  # noqa: E402

MODELS = ["encoder", "t5", "bahdanau"]


# ---------------------------------------------------------------------------------------------------------
# Export forms

class EncoderExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        return self.lm(input_ids, need_internals=True)


class T5Export(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, decoder_input_ids):
        return self.lm(input_ids, decoder_input_ids, need_internals=True)


@torch.jit.script
def bahdanau_decoder(y: Tensor, h: Tensor, uh: Tensor, s: Tensor, w_att_t: Tensor, v: Tensor, w_ih_t: Tensor,
                     b_ih: Tensor, w_hh_t: Tensor, b_hh: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """y [B,T,E] target embeddings, h [B,S,2He] encoder states, uh [B,S,A] = U h + b, s [B,Hd] = s_0.
    Returns alpha [B,T,S], context [B,T,2He], gates [B,T,3,Hd] (r, z, n), states [B,T,Hd]."""
    alphas: List[Tensor] = []
    contexts: List[Tensor] = []
    gates: List[Tensor] = []
    states: List[Tensor] = []
    for i in range(y.size(1)):
        e = torch.matmul(torch.tanh(torch.matmul(s, w_att_t).unsqueeze(1) + uh), v)  # [B,S]
        alpha = torch.softmax(e, dim=1)
        c = torch.matmul(alpha.unsqueeze(1), h).squeeze(1)
        xr, xz, xn = (torch.matmul(torch.cat([y[:, i], c], 1), w_ih_t) + b_ih).chunk(3, 1)
        hr, hz, hn = (torch.matmul(s, w_hh_t) + b_hh).chunk(3, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        s = (1.0 - z) * n + z * s
        alphas.append(alpha)
        contexts.append(c)
        gates.append(torch.stack([r, z, n], 1))
        states.append(s)
    return torch.stack(alphas, 1), torch.stack(contexts, 1), torch.stack(gates, 1), torch.stack(states, 1)


class BahdanauExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def encoder_direction(self, x, suffix: str):
        rnn = self.lm.encoder
        xp = torch.matmul(x, getattr(rnn, "weight_ih_l0" + suffix).t()) + getattr(rnn, "bias_ih_l0" + suffix)
        h0 = torch.zeros(x.shape[0], self.lm.cfg["encoder_hidden"])
        _, hidden, _ = export.gru_layer(xp, h0, getattr(rnn, "weight_hh_l0" + suffix).t(),
                                        getattr(rnn, "bias_hh_l0" + suffix))
        return hidden

    def forward(self, input_ids, decoder_input_ids):
        lm = self.lm
        x = lm.emb(input_ids)
        forward = self.encoder_direction(x, "")
        backward = torch.flip(self.encoder_direction(torch.flip(x, [1]), "_reverse"), [1])
        h = torch.cat([forward, backward], -1)  # [B,S,2He]
        s0 = torch.tanh(lm.init_state(backward[:, 0]))
        y = lm.emb(decoder_input_ids)
        alpha, context, gates, states = bahdanau_decoder(
            y, h, lm.att_U(h), s0, lm.att_W.weight.t(), lm.att_v.weight[0], lm.cell.weight_ih.t(), lm.cell.bias_ih,
            lm.cell.weight_hh.t(), lm.cell.bias_hh)
        logits = F.linear(lm.readout(torch.cat([states, context, y], -1)), lm.emb.weight, lm.out_bias)
        return (logits, alpha.unsqueeze(0), h.unsqueeze(0), states.unsqueeze(0), gates.unsqueeze(0),
                context.unsqueeze(0))


FORMS = {"encoder": EncoderExport, "t5": T5Export, "bahdanau": BahdanauExport}


# ---------------------------------------------------------------------------------------------------------

def write_tokenizer(path):
    """The base tokenizer.json with the four special tokens added after its vocabulary (special: true)."""
    with open(os.path.join(HERE, "out", "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    assert len(tj["model"]["vocab"]) == sm.BASE_VOCAB
    for i, content in sm.SPECIAL_TOKENS:
        tj["added_tokens"].append({"id": i, "content": content, "single_word": False, "lstrip": False,
                                   "rstrip": False, "normalized": False, "special": True})
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(tj, f, ensure_ascii=False)


def reference_inputs(mid, tok):
    """Per reference text: (full-text ids, the ids fed per sequence)."""
    out = []
    for name, text in export.REFERENCE_TEXTS:
        ids = tok.encode(text)
        if mid == "encoder":  # every 6th token masked, starting at the 3rd
            fed = {"tokens": [sm.MASK if i % 6 == 2 else t for i, t in enumerate(ids)]}
        else:  # a fixed hole of 5 tokens in the middle
            at, n = len(ids) // 2, 5
            fed = {"source": ids[:at] + [sm.EXTRA0] + ids[at + n:],
                   "target": [sm.PAD, sm.EXTRA0] + ids[at:at + n] + [sm.EXTRA1]}
        out.append((name, text, ids, fed))
    return out


def flat(t):
    """8 significant digits (export.py keeps 6): an encoder's residual stream reaches about 100, where 6 digits
    alone would round by up to 5e-4, more than the 1e-4 the tests allow."""
    return export.flat(t, 8)


def token_str(tok, i):
    return dict((k, v) for k, v in sm.SPECIAL_TOKENS).get(i) or tok.token_str(i)


def write_reference(mid, exp, tok, outputs_spec, path, meta):
    texts = []
    for n_text, (name, text, ids, fed) in enumerate(reference_inputs(mid, tok)):
        feeds = [torch.tensor([v], dtype=torch.int64) for v in fed.values()]
        with torch.no_grad():
            outs = exp(*feeds)
        entry = {"name": name, "text": text, "inputIds": ids, "tokens": [token_str(tok, i) for i in ids],
                 "sequences": fed, "inputs": {}, "outputs": {}, "omitted": []}
        for spec, value in zip(outputs_spec, outs):
            if spec["name"] == "logits":
                k = 64
                entry["outputs"]["logits"] = {
                    "shape": list(value.shape), "vocabSlice": [0, k], "sliceShape": list(value[..., :k].shape),
                    "data": flat(value[..., :k]), "argmax": value[0].argmax(-1).tolist(),
                    "logsumexp": flat(torch.logsumexp(value[0], -1))}
            elif n_text > 0 and spec.get("bulky"):
                entry["omitted"].append(spec["name"])
            else:
                entry["outputs"][spec["name"]] = {"shape": list(value.shape), "data": flat(value)}
        texts.append(entry)
    ref = {"schemaVersion": 1, "model": mid, **meta,
           "note": "PyTorch outputs of the exported model form for fixed texts, batch 1. 'inputIds' is the whole "
                   "text tokenized; 'sequences' holds the ids fed per sequence of the manifest (the encoder: every "
                   "6th token from the 3rd replaced by <mask>; the encoder-decoders: the source with a 5-token hole "
                   "in the middle replaced by <extra_id_0>, the target <pad> <extra_id_0> span <extra_id_1>). Float "
                   "arrays are flat, row-major over 'shape', rounded to 8 significant digits; 'logits' holds vocabulary "
                   "ids [vocabSlice[0], vocabSlice[1]) of every position plus argmax and logsumexp over the full "
                   "vocabulary; 'omitted' lists outputs a text leaves out (size).",
           "texts": texts}
    export.write_json(path, ref, compact=True)


def check_form(mid, model, exp):
    g = torch.Generator().manual_seed(0)
    src = torch.randint(0, sm.VOCAB, (2, 37), generator=g)
    tgt = torch.randint(0, sm.VOCAB, (2, 9), generator=g)
    with torch.no_grad():
        if mid == "encoder":
            return float((exp(src)[0] - model(src)).abs().max())
        return float((exp(src, tgt)[0] - model(src, tgt)).abs().max())


def load(mid, which):
    ckdir = os.path.join(train.CKPT, mid)
    final, latest = os.path.join(ckdir, "final.pt"), os.path.join(ckdir, "latest.pt")
    path = {"final": final, "latest": latest}.get(which) or (final if os.path.exists(final) else latest)
    if not os.path.exists(path):
        raise SystemExit("no checkpoint for %s (run train_seq2seq.py %s first)" % (mid, mid))
    ck = torch.load(path)
    model = sm.build(mid)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def declare_shapes(m, tensor_specs):
    """Writes each graph input's and output's shape as the spec declares it. The exporter's shape inference
    through the hand-written decoder loop names some feature dimensions after a sequence length ("S"), which
    the extension rightly refuses (a dimension called S must be the source's length)."""
    shapes = {s["name"]: s["shape"] for s in tensor_specs}
    for value in list(m.graph.input) + list(m.graph.output):
        if value.name not in shapes:
            continue
        dims = value.type.tensor_type.shape.dim
        del dims[:]
        for size in shapes[value.name]:
            dim = dims.add()
            if isinstance(size, str):
                dim.dim_param = size
            else:
                dim.dim_value = size
    return m


def export_one(mid, which, install, tok):
    torch.manual_seed(0)
    model, ck = load(mid, which)
    s = ck["schedule"]
    heldout = train.load_stream("heldout")
    boundary = ts.boundary_tables()
    float32 = ts.evaluate(model, heldout, s, boundary)
    export_family.round_to_half(model)
    metrics = ts.evaluate(model, heldout, s, boundary)
    model.eval()
    print("%s: step %d/%d, float16 %s, float32 %s" % (mid, ck["step"], s["steps"], metrics, float32), flush=True)
    exp = FORMS[mid](model)
    exp.eval()
    diff = check_form(mid, model, exp)
    print("%s: export form vs training module max abs diff %.2e" % (mid, diff), flush=True)
    assert diff < 1e-4, diff

    out_dir = os.path.join(HERE, "out", "models", mid)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    inputs_spec, outputs_spec = specs.io_specs(mid, model.cfg)
    example = [torch.tensor([v], dtype=torch.int64) for v in reference_inputs(mid, tok)[0][3].values()]
    with torch.no_grad():
        torch.onnx.export(exp, tuple(example), onnx_path, opset_version=export.OPSET, do_constant_folding=False,
                          input_names=[i["name"] for i in inputs_spec],
                          output_names=[o["name"] for o in outputs_spec],
                          dynamic_axes=export.dynamic_axes(inputs_spec, outputs_spec))
    import onnx
    m = onnx_half.to_half(declare_shapes(onnx.load(onnx_path), inputs_spec + outputs_spec))
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)
    ops = sorted({n.op_type for n in m.graph.node})
    print("%s: ONNX ok, %.2f MB, ops %s" % (mid, os.path.getsize(onnx_path) / 1e6, ", ".join(ops)), flush=True)

    tok_path = os.path.join(out_dir, "tokenizer.json")
    write_tokenizer(tok_path)
    manifest = specs.manifest(mid, model, ck, inputs_spec, outputs_spec, metrics, float32, onnx_path, tok_path)
    if "readout" in manifest:  # the exporter merges initialisers of equal value (e.g. untrained LayerNorms)
        names = {i.name for i in m.graph.initializer}
        ro = manifest["readout"]
        wanted = [ro["norm"]["weight"], ro["norm"]["bias"], ro["unembedding"]["weight"], ro["unembedding"]["bias"]]
        missing = [n for n in wanted if n not in names]
        assert not missing, "%s: readout initialisers missing from the graph: %s" % (mid, missing)
    export.write_json(os.path.join(out_dir, "manifest.json"), manifest)
    ref_dir = os.path.join(HERE, "out", "reference")
    os.makedirs(ref_dir, exist_ok=True)
    ref_path = os.path.join(ref_dir, mid + ".json")
    write_reference(mid, exp, tok, outputs_spec, ref_path,
                    {"checkpointStep": ck["step"], "onnxSha256": manifest["onnx"]["sha256"]})
    print("%s: reference %.2f MB" % (mid, os.path.getsize(ref_path) / 1e6), flush=True)
    if install:
        export.install_model(mid, out_dir, ref_path)
    return manifest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=MODELS)
    ap.add_argument("--checkpoint", choices=["auto", "latest", "final"], default="auto")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = bpe.Tokenizer.load(os.path.join(HERE, "out", "tokenizer.json"))
    for mid in args.models:
        export_one(mid, args.checkpoint, not args.no_install, tok)
    model_card.write_results_and_card()
    print("wrote MODELS.md and results/")


if __name__ == "__main__":
    main()
