#!/usr/bin/env python3
"""Export trained (or partly trained) models to ONNX, write reference outputs and manifests, install them.

    python3 export.py [transformer] [lstm] [gru] [--checkpoint auto|latest|final] [--no-install]

For each model: loads checkpoints/<id>/final.pt (or latest.pt while training is still running; `auto`
takes final when it exists), evaluates it on the held-out split, builds the export form (Transformer:
attention probabilities and hidden states as outputs; LSTM/GRU: hand-written cells with the trained weights
whose gates and states are outputs), checks it against the training module, exports ONNX opset 17 with dynamic
batch and sequence axes, checks the file with onnx.checker, writes out/reference/<id>.json (PyTorch outputs
for three fixed texts) and out/models/<id>/{model.onnx,manifest.json (schema 2),tokenizer.json}, and installs them into
media/models/<id>/ and test/fixtures/reference/<id>.json (unless --no-install).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import sys
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bpe  # noqa: E402
import export_family  # noqa: E402
import model_card  # noqa: E402
import models  # noqa: E402
import onnx_half  # noqa: E402
import train  # noqa: E402

OPSET = 17
DISPLAY = {
    "transformer": "Tiny Transformer (4 layers x 4 heads, ALiBi)",
    "lstm": "Tiny LSTM (2 x 256)",
    "gru": "Tiny GRU (2 x 256)",
    "elman": "Tiny Elman RNN (2 x 256)",
    "linear": "Tiny linear-attention Transformer (4 layers x 4 heads)",
    "window": "Tiny sliding-window Transformer (window 64 + 1 sink)",
    "mamba": "Tiny selective state-space model (4 layers, Mamba-style)",
}
# The models whose files store float16 weights (cast to float32 at load). The Transformer, the LSTM and the GRU were
# exported with float32 weights first; half_weights.py rounded the shipped ones.
HALF = {"transformer", "lstm", "gru", "elman", "linear", "window", "mamba"}
FAMILY = {"elman", "linear-attention", "sliding-window-transformer", "mamba"}
# shortName (for sentences) and order (position in model menus) of the bundled manifests.
SHORT_NAME = {"transformer": "Transformer", "lstm": "LSTM", "gru": "GRU", "elman": "Elman RNN",
              "linear": "Linear attention", "window": "Sliding window", "mamba": "SSM"}
ORDER = {"transformer": 1, "lstm": 2, "gru": 3, "elman": 4, "linear": 5, "window": 6, "mamba": 7}
DESCRIPTION = {
    "transformer": "Decoder-only Transformer trained from scratch on permissively licensed TypeScript, JavaScript, "
                   "Python and English text. Pre-LayerNorm blocks, ALiBi position biases with learned slopes plus a "
                   "learned bias per head for distances 0-3 (no position embeddings, so no fixed length limit), tied "
                   "input/output embeddings. Trained in three stages: the second continues the first with half of its "
                   "rows repeating a span of real code and learns the slopes; the third adds the near-distance biases, "
                   "with which a head can attend to the previous token by position (the previous-token head that "
                   "induction heads build on). "
                   "Exposes the softmax attention probabilities of every layer and head and the residual stream "
                   "after every block. Weights stored in float16.",
    "lstm": "Two-layer LSTM language model trained from scratch on the same corpus and tokenizer as the "
            "Transformer. Exposes the input, forget, cell-candidate and output gate activations, the cell state "
            "and the hidden state of every layer at every token. Weights stored in float16.",
    "gru": "Two-layer GRU language model (PyTorch convention h_t = (1 - z_t) * n_t + z_t * h_(t-1)) trained "
           "from scratch on the same corpus and tokenizer as the Transformer. Exposes the reset and update gates, "
           "the candidate state and the hidden state of every layer at every token. Weights stored in float16.",
    "elman": "Two-layer Elman (simple tanh) RNN language model, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), "
             "trained from scratch on the same corpus and tokenizer as the Transformer. Exposes the hidden state of "
             "every layer at every token; it has no gates, so what it keeps is read by occlusion. Weights stored in "
             "float16.",
    "linear": "Causal linear-attention Transformer (Katharopoulos et al. 2020, phi(x) = elu(x) + 1), 4 layers x 4 "
              "heads, no position encoding; initialised from the first Transformer's weights and fine-tuned with "
              "linear attention. Exposes W(t, k) per layer and head, phi(q), phi(k), v and each head's output, and "
              "the recurrent form's state S_t and normaliser z_t, so both forms can be checked against each other. "
              "A run can start from the state of earlier tokens (initial_S, initial_z; zeros otherwise), so "
              "occlusion runs only the tokens from a replaced one on. Weights stored in float16.",
    "window": "The Transformer with sliding-window attention: every query sees the 64 most recent keys (itself "
              "included) and the first token (an attention sink); initialised from the first Transformer's weights "
              "and fine-tuned with the window. Its key/value memory is O(window) per layer; the receptive field "
              "grows with depth (rollout). Weights stored in float16.",
    "mamba": "Selective state-space language model in the style of Mamba (S6: input-dependent delta, B and C, "
             "diagonal A, causal depthwise convolution, SiLU gate), 4 layers, 256 channels x 8 states, trained from "
             "scratch. Exposes x, delta, A, B, C, D and y of every scan, so its hidden attention "
             "alpha_d(t, k) = C_t . exp(A_d sum_(s=k+1..t) delta_s) delta_k B_k can be computed exactly, its decay "
             "exp(delta A) and its state h_t. A run can start from the state of earlier tokens (the scan's h and "
             "the convolution's last inputs; zeros otherwise), so occlusion runs only the tokens from a replaced one "
             "on. Weights stored in float16.",
}
# Per-token RNN internals are written for the first reference text only (size); the others keep the logits
# and the final states, which depend on every step of the recurrence.
RNN_BULKY_ROLES = {"gates", "cell_state", "hidden_state"}
# Fixed reference texts (about 40-60 tokens each).
REFERENCE_TEXTS = [
    ("typescript", "export function sum(values: number[]): number {\n"
                   "  let total = 0;\n  for (const v of values) {\n    total += v;\n  }\n  return total;\n}\n"),
    ("python", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n"
               "    for _ in range(n):\n        a, b = b, a + b\n    return a\n"),
    ("english", "The quick brown fox jumps over the lazy dog, and then it runs back into the forest "
                "before anyone notices that it was ever there."),
]


# ----------------------------------------------------------------------------------------------------------
# Export forms

class TransformerExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, past_keys, past_values):
        return self.lm(input_ids, True, past_keys, past_values)


@torch.jit.script
def lstm_layer(xp: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """xp [B,T,4H] = x W_ih^T + b_ih + b_hh. Returns gates [B,T,4,H] (i,f,g,o activations), cell [B,T,H],
    hidden [B,T,H], h_n [B,H], c_n [B,H]."""
    gates: List[Tensor] = []
    cells: List[Tensor] = []
    hiddens: List[Tensor] = []
    for t in range(xp.size(1)):
        z = xp[:, t] + torch.matmul(h, w_hh_t)
        zi, zf, zg, zo = z.chunk(4, 1)
        i = torch.sigmoid(zi)
        f = torch.sigmoid(zf)
        g = torch.tanh(zg)
        o = torch.sigmoid(zo)
        c = f * c + i * g
        h = o * torch.tanh(c)
        gates.append(torch.stack([i, f, g, o], 1))
        cells.append(c)
        hiddens.append(h)
    return torch.stack(gates, 1), torch.stack(cells, 1), torch.stack(hiddens, 1), h, c


@torch.jit.script
def gru_layer(xp: Tensor, h: Tensor, w_hh_t: Tensor, b_hh: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """xp [B,T,3H] = x W_ih^T + b_ih. Returns gates [B,T,3,H] (r, z, n), hidden [B,T,H], h_n [B,H]."""
    gates: List[Tensor] = []
    hiddens: List[Tensor] = []
    for t in range(xp.size(1)):
        xr, xz, xn = xp[:, t].chunk(3, 1)
        hr, hz, hn = (torch.matmul(h, w_hh_t) + b_hh).chunk(3, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1.0 - z) * n + z * h
        gates.append(torch.stack([r, z, n], 1))
        hiddens.append(h)
    return torch.stack(gates, 1), torch.stack(hiddens, 1), h


class LSTMExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm
        self.n_layers = lm.cfg["n_layers"]

    def forward(self, input_ids, h0, c0):
        x = self.lm.emb(input_ids)
        gates, cells, hiddens, hn, cn = [], [], [], [], []
        for layer in range(self.n_layers):
            w_ih = getattr(self.lm.rnn, "weight_ih_l%d" % layer)
            w_hh = getattr(self.lm.rnn, "weight_hh_l%d" % layer)
            b = getattr(self.lm.rnn, "bias_ih_l%d" % layer) + getattr(self.lm.rnn, "bias_hh_l%d" % layer)
            xp = torch.matmul(x, w_ih.t()) + b
            g, c_seq, h_seq, h_last, c_last = lstm_layer(xp, h0[layer], c0[layer], w_hh.t())
            gates.append(g)
            cells.append(c_seq)
            hiddens.append(h_seq)
            hn.append(h_last)
            cn.append(c_last)
            x = h_seq
        logits = F.linear(self.lm.proj(x), self.lm.emb.weight)
        return (logits, torch.stack(gates), torch.stack(cells), torch.stack(hiddens), torch.stack(hn),
                torch.stack(cn))


class GRUExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm
        self.n_layers = lm.cfg["n_layers"]

    def forward(self, input_ids, h0):
        x = self.lm.emb(input_ids)
        gates, hiddens, hn = [], [], []
        for layer in range(self.n_layers):
            w_ih = getattr(self.lm.rnn, "weight_ih_l%d" % layer)
            w_hh = getattr(self.lm.rnn, "weight_hh_l%d" % layer)
            xp = torch.matmul(x, w_ih.t()) + getattr(self.lm.rnn, "bias_ih_l%d" % layer)
            g, h_seq, h_last = gru_layer(xp, h0[layer], w_hh.t(), getattr(self.lm.rnn, "bias_hh_l%d" % layer))
            gates.append(g)
            hiddens.append(h_seq)
            hn.append(h_last)
            x = h_seq
        logits = F.linear(self.lm.proj(x), self.lm.emb.weight)
        return logits, torch.stack(gates), torch.stack(hiddens), torch.stack(hn)


# ----------------------------------------------------------------------------------------------------------
# Input/output specifications (shapes for the export; schema2_tensor turns them into the manifest's)

def io_spec(mid, cfg):
    if cfg["architecture"] == "transformer":
        L, H, d = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
        inputs = [{"name": "input_ids", "role": "input_ids", "dtype": "int64", "shape": ["B", "T"]}]
        outputs = [
            {"name": "logits", "role": "logits", "dtype": "float32", "shape": ["B", "T", cfg["vocab_size"]],
             "description": "Next-token logits (unnormalised) at every position."},
            {"name": "attention", "role": "attention", "dtype": "float32", "shape": [L, "B", H, "T", "T"],
             "description": "Softmax attention probabilities per layer and head; [l, b, h, t, k] is the weight "
                            "query position t gives key position k (0 for k > t)."},
            {"name": "hidden_states", "role": "hidden_states", "dtype": "float32",
             "shape": [L + 1, "B", "T", d],
             "description": "Residual stream: index 0 is the token embedding, index l the output of block l "
                            "(before the final LayerNorm)."},
        ]
        return export_family.with_cache(cfg, inputs, outputs)
    L, Hd = cfg["n_layers"], cfg["hidden"]
    inputs = [{"name": "input_ids", "role": "input_ids", "dtype": "int64", "shape": ["B", "T"]},
              {"name": "h0", "role": "initial_state", "dtype": "float32", "shape": [L, "B", Hd], "stateOf": "h",
               "description": "Initial hidden state per layer (zeros for a fresh start; h_n of the previous "
                              "chunk to continue a long text)."}]
    if cfg["architecture"] == "lstm":
        inputs.append({"name": "c0", "role": "initial_state", "dtype": "float32", "shape": [L, "B", Hd],
                       "stateOf": "c", "description": "Initial cell state per layer (zeros, or c_n of the "
                                                      "previous chunk)."})
        outputs = [
            {"name": "logits", "role": "logits", "dtype": "float32", "shape": ["B", "T", cfg["vocab_size"]],
             "description": "Next-token logits (unnormalised) at every position."},
            {"name": "gates", "role": "gates", "dtype": "float32", "shape": [L, "B", "T", 4, Hd],
             "gateOrder": ["i", "f", "g", "o"],
             "description": "Gate activations per layer, token and unit: input gate i = sigmoid, forget gate "
                            "f = sigmoid, cell candidate g = tanh, output gate o = sigmoid. "
                            "c_t = f_t * c_(t-1) + i_t * g_t, h_t = o_t * tanh(c_t)."},
            {"name": "cell", "role": "cell_state", "dtype": "float32", "shape": [L, "B", "T", Hd],
             "description": "Cell state c_t per layer after each token."},
            {"name": "hidden", "role": "hidden_state", "dtype": "float32", "shape": [L, "B", "T", Hd],
             "description": "Hidden state h_t per layer after each token."},
            {"name": "h_n", "role": "final_state", "dtype": "float32", "shape": [L, "B", Hd], "stateOf": "h",
             "description": "Hidden state after the last token (feed as h0 of the next chunk)."},
            {"name": "c_n", "role": "final_state", "dtype": "float32", "shape": [L, "B", Hd], "stateOf": "c",
             "description": "Cell state after the last token (feed as c0 of the next chunk)."},
        ]
    else:
        outputs = [
            {"name": "logits", "role": "logits", "dtype": "float32", "shape": ["B", "T", cfg["vocab_size"]],
             "description": "Next-token logits (unnormalised) at every position."},
            {"name": "gates", "role": "gates", "dtype": "float32", "shape": [L, "B", "T", 3, Hd],
             "gateOrder": ["r", "z", "n"],
             "description": "Per layer, token and unit: reset gate r = sigmoid, update gate z = sigmoid, "
                            "candidate n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). "
                            "h_t = (1 - z_t) * n_t + z_t * h_(t-1)."},
            {"name": "hidden", "role": "hidden_state", "dtype": "float32", "shape": [L, "B", "T", Hd],
             "description": "Hidden state h_t per layer after each token."},
            {"name": "h_n", "role": "final_state", "dtype": "float32", "shape": [L, "B", Hd], "stateOf": "h",
             "description": "Hidden state after the last token (feed as h0 of the next chunk)."},
        ]
    return inputs, outputs


# Manifest schema 2 (src/core/manifest.ts): io_spec's shapes become named axes and its roles the schema-2
# roles with their meanings, by the same mapping as training/migrate_manifests.mjs, so that a re-export
# writes exactly what the migration wrote.
SCHEMA2_AXES = {
    "input_ids": ["batch", "position"],
    "initial_state": ["layer", "batch", "unit"],
    "logits": ["batch", "position", "vocab"],
    "attention": ["layer", "batch", "head", "query", "key"],
    "hidden_states": ["layer", "batch", "position", "feature"],
    "gates": ["layer", "batch", "position", "gate", "unit"],
    "cell_state": ["layer", "batch", "position", "unit"],
    "hidden_state": ["layer", "batch", "position", "unit"],
    "final_state": ["layer", "batch", "unit"],
}
SCHEMA2_GATES = {
    "i": {"meaning": "write", "label": "input gate"},
    "f": {"meaning": "keep", "label": "forget gate"},
    "g": {"meaning": "candidate", "label": "cell candidate"},
    "o": {"meaning": "output", "label": "output gate"},
    "r": {"meaning": "reset", "label": "reset gate"},
    "z": {"meaning": "keep", "label": "update gate", "complementWrites": True},
    "n": {"meaning": "candidate", "label": "candidate state"},
}


def schema2_tensor(spec, is_output):
    if "axes" in spec:  # family-tree specs are written in schema 2 already
        return {k: v for k, v in spec.items() if k not in ("shape", "onnxShape", "bulky", "omitFromReference")}
    t = {k: v for k, v in spec.items() if k not in ("shape", "onnxShape", "stateOf", "gateOrder")}
    t["axes"] = [{"name": n} if d == "B" else {"name": n, "size": d} for n, d in zip(SCHEMA2_AXES[spec["role"]], spec["shape"])]
    role = spec["role"]
    if not is_output:
        if spec.get("stateOf"):
            t["state"] = spec["stateOf"]
    elif role == "attention":
        t.update(role="mixing", structure="causal", normalised=True, label="attention")
    elif role in ("cell_state", "hidden_state"):
        t.update(role="state", state=role[0], label=role.replace("_", " "))
    elif role == "final_state":
        t["state"] = spec["stateOf"]
    elif role == "gates":
        t["gates"] = [{"name": n, **SCHEMA2_GATES[n]} for n in spec["gateOrder"]]
        t["state"] = "c" if "f" in spec["gateOrder"] else "h"
    return t


def dynamic_axes(inputs, outputs):
    axes = {}
    for spec in inputs + outputs:
        d = {i: s for i, s in enumerate(spec.get("onnxShape", spec["shape"])) if isinstance(s, str)}
        if d:
            axes[spec["name"]] = d
    return axes


# ----------------------------------------------------------------------------------------------------------

def machine_description():
    try:
        osname = platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        osname = platform.system()
    return "CPU only, 1 thread per model (%s, %s, PyTorch %s)" % (platform.machine(), osname, torch.__version__)


def load_checkpoint(mid, which, allow_init=False):
    ckdir = os.path.join(train.CKPT, mid)
    final, latest = os.path.join(ckdir, "final.pt"), os.path.join(ckdir, "latest.pt")
    path = {"final": final, "latest": latest}.get(which) or (final if os.path.exists(final) else latest)
    if not os.path.exists(path) and allow_init:
        torch.manual_seed(train.SCHEDULES[mid]["seed"])
        model = models.build(mid)
        model.eval()
        print("%s: no checkpoint yet, exporting the untrained initial weights (step 0)" % mid, flush=True)
        return model, {"schedule": train.SCHEDULES[mid], "step": 0, "wall_time": 0.0}, "initial weights"
    if not os.path.exists(path):
        raise SystemExit("no checkpoint for %s at %s (run train.py %s first)" % (mid, os.path.relpath(path), mid))
    ck = torch.load(path)
    model = models.build(mid)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck, os.path.basename(path)


def example_inputs(cfg, ids):
    if cfg["architecture"] in FAMILY:
        return export_family.example_inputs(cfg, ids)
    if cfg["architecture"] == "transformer":
        return (ids, *export_family.empty_cache(cfg, ids.shape[0]))
    B = ids.shape[0]
    z = torch.zeros(cfg["n_layers"], B, cfg["hidden"])
    return (ids, z) if cfg["architecture"] == "gru" else (ids, z, z.clone())


def check_against_training_module(model, exp, cfg):
    """The export form must reproduce the training module (fused nn.LSTM/nn.GRU) and carry state exactly."""
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg["vocab_size"], (2, 37), generator=g)
    if cfg["architecture"] in FAMILY:
        return export_family.check(model, exp, ids)
    with torch.no_grad():
        if cfg["architecture"] == "transformer":
            return export_family.cache_check(model, exp, ids)
        ref, (state) = model(ids)
        inputs = example_inputs(cfg, ids)
        out = exp(*inputs)
        diff = float((out[0] - ref).abs().max())
        if cfg["architecture"] == "lstm":
            diff = max(diff, float((out[4] - state[0]).abs().max()), float((out[5] - state[1]).abs().max()))
            diff = max(diff, float((out[3][-1] - model.rnn(model.emb(ids))[0]).abs().max()))
            # chunked run: two halves with the state carried over equal one pass
            a = exp(ids[:, :20], inputs[1], inputs[2])
            b = exp(ids[:, 20:], a[4], a[5])
            diff = max(diff, float((torch.cat([a[0], b[0]], 1) - ref).abs().max()))
        else:
            diff = max(diff, float((out[3] - state).abs().max()))
            a = exp(ids[:, :20], inputs[1])
            b = exp(ids[:, 20:], a[3])
            diff = max(diff, float((torch.cat([a[0], b[0]], 1) - ref).abs().max()))
        return diff


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def flat(t, digits=6):
    """A tensor's values as a flat list, rounded to `digits` significant digits (references stay small)."""
    return [float("%.*g" % (digits, v)) for v in t.detach().reshape(-1).tolist()]


def write_json(path, obj, compact=False):
    """JSON with a final newline: compact for references, indented for manifests people read."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def install_model(mid, out_dir, ref_path):
    """Copies an exported model into media/models/<mid> and its reference into test/fixtures/reference."""
    dest = os.path.join(ROOT, "media", "models", mid)
    os.makedirs(dest, exist_ok=True)
    for name in ("model.onnx", "tokenizer.json", "manifest.json"):
        shutil.copyfile(os.path.join(out_dir, name), os.path.join(dest, name))
    fixtures = os.path.join(ROOT, "test", "fixtures", "reference")
    os.makedirs(fixtures, exist_ok=True)
    shutil.copyfile(ref_path, os.path.join(fixtures, mid + ".json"))
    print("%s: installed into media/models/%s and test/fixtures/reference/%s.json" % (mid, mid, mid))


def write_reference(mid, cfg, exp, tok, inputs_spec, outputs_spec, path, meta):
    texts = []
    for n_text, (name, text) in enumerate(REFERENCE_TEXTS):
        ids = tok.encode(text)
        x = torch.tensor([ids], dtype=torch.int64)
        inputs = example_inputs(cfg, x)
        with torch.no_grad():
            outs = exp(*inputs)
        entry = {"name": name, "text": text, "inputIds": ids, "tokens": [tok.token_str(i) for i in ids],
                 "inputs": {}, "outputs": {}, "omitted": []}
        for spec, value in zip(inputs_spec[1:], inputs[1:]):
            entry["inputs"][spec["name"]] = {"shape": list(value.shape), "zeros": True}
        for spec, value in zip(outputs_spec, outs):
            if spec["name"] == "logits":
                k = 64
                entry["outputs"]["logits"] = {
                    "shape": list(value.shape), "vocabSlice": [0, k],
                    "sliceShape": list(value[..., :k].shape), "data": flat(value[..., :k]),
                    "argmax": value[0].argmax(-1).tolist(),
                    "logsumexp": flat(torch.logsumexp(value[0], -1)),
                }
            elif spec.get("omitFromReference") or (n_text > 0 and (spec["role"] in RNN_BULKY_ROLES or spec.get("bulky"))):
                entry["omitted"].append(spec["name"])  # keeps the file small; the final state covers them
            else:
                entry["outputs"][spec["name"]] = {"shape": list(value.shape), "data": flat(value)}
        texts.append(entry)
    ref = {"schemaVersion": 1, "model": mid, **meta,
           "note": "PyTorch outputs of the exported model form for fixed texts, batch 1. Float arrays are flat, "
                   "row-major (C order) over 'shape', rounded to 6 significant digits. 'logits' holds only "
                   "vocabulary ids [vocabSlice[0], vocabSlice[1]) of every position (sliceShape) plus the argmax "
                   "and logsumexp over the full vocabulary per position. RNN initial states are zeros. For RNNs the per-token "
                   "gates/cell/hidden are given for the first text only; large per-token states that the tests "
                   "recompute from smaller outputs (linear attention's S_t and z_t, a state-space model's h_t and "
                   "decay) are left out; 'omitted' lists what a text leaves out.",
           "texts": texts}
    write_json(path, ref, compact=True)


def training_history(mid, ck):
    """Earlier stages a model started from (schedule "init", followed back to the first): their steps, tokens and
    wall time count too."""
    init = ck["schedule"].get("init")
    if not init:
        return {}
    stages = []
    source = init
    while source:
        with open(os.path.join(train.RESULTS, source + ".json")) as f:
            base = json.load(f)
        stage = {"id": source, "steps": base["steps"], "tokensSeen": base["tokensSeen"],
                 "wallTimeSeconds": base["wallTimeSeconds"]}
        if "repeat_frac" in base["schedule"]:
            stage["repeatFraction"] = base["schedule"]["repeat_frac"]
        stages.insert(0, stage)
        source = base["schedule"].get("init")
    s = ck["schedule"]
    return {"initialisedFrom": init, "stages": stages + [
        {"id": mid, "steps": ck["step"], "tokensSeen": ck["step"] * s["batch"] * s["seq_len"],
         "wallTimeSeconds": round(ck["wall_time"]), **({"repeatFraction": s["repeat_frac"]} if "repeat_frac" in s else {})}]}


def write_onnx(mid, cfg, exp, tok, onnx_path):
    """Exports the export form to onnx_path (float16 weights for a model in HALF: round them first) and checks the
    file; returns the (inputs, outputs) specs it was exported with."""
    inputs_spec, outputs_spec = (export_family.forms(cfg["architecture"])[1](cfg) if cfg["architecture"] in FAMILY
                                 else io_spec(mid, cfg))
    example = example_inputs(cfg, torch.tensor([tok.encode(REFERENCE_TEXTS[0][1])], dtype=torch.int64))
    if any(i["role"] == "empty_cache" for i in inputs_spec):
        # Traced with a cache of 2 tokens, so that nothing in the graph takes the past length for 0.
        with torch.no_grad():
            full = exp(example[0], *example[1:])
        example = (example[0][:, 2:], full[3][:, :, :, :2].contiguous(), full[4][:, :, :, :2].contiguous())
    with torch.no_grad():
        torch.onnx.export(exp, example, onnx_path, opset_version=OPSET, do_constant_folding=False,
                          input_names=[i["name"] for i in inputs_spec],
                          output_names=[o["name"] for o in outputs_spec],
                          dynamic_axes=dynamic_axes(inputs_spec, outputs_spec))
    import onnx
    m = onnx.load(onnx_path)
    if mid in HALF:
        m = onnx_half.to_half(m)
        onnx.save(m, onnx_path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print("%s: ONNX ok, %.2f MB, ops %s" % (mid, os.path.getsize(onnx_path) / 1e6, ", ".join(ops)), flush=True)
    return inputs_spec, outputs_spec


def export_one(mid, which, install, tok, allow_init=False):
    torch.manual_seed(0)
    model, ck, ckname = load_checkpoint(mid, which, allow_init)
    cfg = model.cfg
    s = ck["schedule"]
    step = ck["step"]
    token_bytes, special_from = train.token_byte_lengths(cfg["vocab_size"])
    heldout = train.load_stream("heldout")
    nats, bpb, ntok, nbytes = train.evaluate(model, heldout, token_bytes, special_from)
    model.eval()
    print("%s: %s step %d/%d, held-out %.4f nats/token, %.4f bits/byte" % (mid, ckname, step, s["steps"],
                                                                         nats, bpb), flush=True)
    full_precision_bpb = None
    if mid in HALF:
        full_precision_bpb = bpb
        export_family.round_to_half(model)
        nats, bpb, ntok, nbytes = train.evaluate(model, heldout, token_bytes, special_from)
        model.eval()
        print("%s: float16 weights: held-out %.4f nats/token, %.4f bits/byte (float32: %.4f)" % (
            mid, nats, bpb, full_precision_bpb), flush=True)
    if cfg["architecture"] in FAMILY:
        exp = export_family.forms(cfg["architecture"])[0](model)
    else:
        exp = {"transformer": TransformerExport, "lstm": LSTMExport, "gru": GRUExport}[cfg["architecture"]](model)
    exp.eval()
    diff = check_against_training_module(model, exp, cfg)
    print("%s: export form vs training module max abs diff %.2e" % (mid, diff), flush=True)
    assert diff < 1e-4, diff

    out_dir = os.path.join(HERE, "out", "models", mid)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    inputs_spec, outputs_spec = write_onnx(mid, cfg, exp, tok, onnx_path)

    tok_path = os.path.join(HERE, "out", "tokenizer.json")
    shutil.copyfile(tok_path, os.path.join(out_dir, "tokenizer.json"))
    corpus = json.load(open(os.path.join(train.DATA, "corpus.json")))
    tokens_per_step = s["batch"] * s["seq_len"]
    final = step >= s["steps"]
    dims = {"layers": cfg["n_layers"], "vocabSize": cfg["vocab_size"]}
    if "n_heads" in cfg:
        dims.update({"heads": cfg["n_heads"], "dModel": cfg["d_model"], "headDim": cfg["d_model"] // cfg["n_heads"],
                     "dFeedForward": cfg["d_ff"]})
        if "window" in cfg:
            dims.update({"window": cfg["window"], "globalTokens": cfg["global_tokens"]})
    elif "d_inner" in cfg:
        dims.update({"dModel": cfg["d_model"], "channels": cfg["d_inner"], "stateSize": cfg["d_state"],
                     "convolution": cfg["d_conv"]})
    else:
        dims.update({"hidden": cfg["hidden"], "embedding": cfg["d_emb"]})
    manifest = {
        "schemaVersion": 2,
        "id": mid,
        "displayName": DISPLAY[mid],
        "shortName": SHORT_NAME[mid],
        "order": ORDER[mid],
        "architecture": cfg["architecture"],
        "description": DESCRIPTION[mid] + ("" if final else " PROVISIONAL: exported from an intermediate "
                                                             "training checkpoint."),
        "parameters": models.n_params(model),
        "dimensions": dims,
        "sequences": {"tokens": {"length": "T", "label": "Tokens"}},
        "inputs": [schema2_tensor(i, False) for i in inputs_spec],
        "outputs": [schema2_tensor(o, True) for o in outputs_spec],
        "tokenizer": {"file": "tokenizer.json", "type": "byte-level-bpe",
                      "specialTokens": {"endOfText": bpe.EOT},
                      "sha256": sha256_file(tok_path)},
        "training": {
            "corpus": "Permissively licensed TypeScript, JavaScript, Python and English text (%d documents, "
                      "%.1f MB); see training/CORPUS.md" % (corpus["documents"], corpus["bytes"] / 1e6),
            "corpusSha256": corpus["sha256"],
            "tokensSeen": step * tokens_per_step,
            "steps": step,
            "plannedSteps": s["steps"],
            "final": final,
            "batchSize": s["batch"],
            "sequenceLength": s["seq_len"],
            "wallTimeSeconds": round(ck["wall_time"]),
            "machine": machine_description(),
            "seed": s["seed"],
            **training_history(mid, ck),
        },
        "metrics": {
            "heldOutLossNats": round(nats, 5),
            "heldOutBitsPerByte": round(bpb, 5),
            "heldOutPerplexity": round(math.exp(nats), 3),
            "heldOutTokens": ntok,
            "heldOutBytes": nbytes,
            "evalWindow": train.EVAL_LEN,
            **({"heldOutBitsPerByteFloat32": round(full_precision_bpb, 5)} if full_precision_bpb is not None else {}),
        },
        "model": "model.onnx",
        "onnx": {"file": "model.onnx", "opset": OPSET, "sha256": sha256_file(onnx_path),
                 "bytes": os.path.getsize(onnx_path)},
        "license": "MIT",
    }
    if cfg["architecture"] in ("transformer", "sliding-window-transformer"):
        manifest["positional"] = "alibi"
    ro = export_family.readout(cfg) if cfg["architecture"] in FAMILY else export_family.readout({"architecture": "transformer"})
    if ro and "n_layers" in cfg and cfg["architecture"] not in ("lstm", "gru"):
        manifest["readout"] = ro
    write_json(os.path.join(out_dir, "manifest.json"), manifest)

    ref_dir = os.path.join(HERE, "out", "reference")
    os.makedirs(ref_dir, exist_ok=True)
    ref_path = os.path.join(ref_dir, mid + ".json")
    write_reference(mid, cfg, exp, tok, inputs_spec, outputs_spec, ref_path,
                    {"checkpointStep": step, "onnxSha256": manifest["onnx"]["sha256"]})
    print("%s: reference %.2f MB" % (mid, os.path.getsize(ref_path) / 1e6), flush=True)

    if install:
        install_model(mid, out_dir, ref_path)
    return manifest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*", default=model_card.BUNDLED)
    ap.add_argument("--checkpoint", choices=["auto", "latest", "final"], default="auto")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--allow-init", action="store_true",
                    help="export the untrained initial weights of a model that has no checkpoint yet")
    ap.add_argument("--card-only", action="store_true", help="only regenerate MODELS.md and results/")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tok = bpe.Tokenizer.load(os.path.join(HERE, "out", "tokenizer.json"))
    for mid in ([] if args.card_only else args.models):
        export_one(mid, args.checkpoint, not args.no_install, tok, args.allow_init)
    model_card.write_results_and_card()
    print("wrote MODELS.md and results/")


if __name__ == "__main__":
    main()
