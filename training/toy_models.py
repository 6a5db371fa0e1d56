"""Why: tests need tiny ONNX models whose structure is known exactly, with outputs computed independently.
Writes, with numpy + onnx.helper only (Debian's /usr/bin/python3 training/toy_models.py [occlusion] [<id>...]):
test/fixtures/onnx/current-token.onnx   logits[t] depend only on token t        (occlusion tests)
test/fixtures/onnx/previous-token.onnx  logits[t] depend only on token t-1      (position 0 sees a fixed row)
test/fixtures/models/<id>/{model.onnx, manifest.json (schema 2), tokenizer.json} for
  toy-encoder          bidirectional Transformer encoder (2 layers x 2 heads, d=16), masked-LM logits,
                       Hugging Face style per-layer attentions.0 / attentions.1
  toy-encoder-decoder  1 encoder + 1 decoder layer (causal self- and cross-attention), 2 heads, d=16
  toy-recurrent        2-layer gated RNN, hidden 8: h_t = retain * h_(t-1) + admit * draft
test/fixtures/toy-reference.json: inputs and every output by a float64 numpy reference (not onnxruntime).
Weights come from seeded numpy RNGs; token ids below were produced by the model folders' tokenizer.json."""

import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "test", "fixtures", "onnx")
MODELS = os.path.join(ROOT, "test", "fixtures", "models")
V = 8


def write_occlusion_fixtures():
    rng = np.random.default_rng(7)
    table = rng.normal(0, 2, size=(V, V)).astype(np.float32)

    def save(name, nodes, inits):
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "T"])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", V])],
            inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="attention-lens")
        model.ir_version = 8
        onnx.checker.check_model(model)
        os.makedirs(OUT, exist_ok=True)
        onnx.save(model, os.path.join(OUT, name + ".onnx"))

    # logits[b, t] = table[ids[b, t]]
    save("current-token", [helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0)],
         [numpy_helper.from_array(table, "table")])

    # logits[b, t] = table[ids[b, t-1]]; position 0 gets the fixed row table[0] of a padded id 0.
    save("previous-token", [
        helper.make_node("Pad", ["input_ids", "pads", "zero"], ["padded"], mode="constant"),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["t"], axis=0),
        helper.make_node("Slice", ["padded", "start", "t", "axis1"], ["shifted"]),
        helper.make_node("Gather", ["table", "shifted"], ["logits"], axis=0),
    ], [numpy_helper.from_array(table, "table")] + [numpy_helper.from_array(np.array(v, dtype=np.int64), n) for n, v in (
        ("pads", [0, 1, 0, 0]), ("zero", 0), ("one", [1]), ("start", [0]), ("axis1", [1]))])
    print("wrote", sorted(os.listdir(OUT)))


# ---------------------------------------------------------------------------------------------------------
# Graph building: op() appends a node and returns its output name; init() stores a weight or constant.

class Graph:
    def __init__(self, prefix=""):
        self.nodes, self.inits, self.count, self.prefix = [], [], 0, prefix

    def name(self, hint):
        self.count += 1
        return "%s%s_%d" % (self.prefix, hint, self.count)

    def init(self, array, hint="w"):
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def i64(self, v):
        return self.init(np.array(v, dtype=np.int64), "c")

    def f32(self, v):
        return self.init(np.array(v, dtype=np.float32), "c")

    def op(self, kind, *inputs, out=None, **attrs):
        name = out or self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [name], **attrs))
        return name


# ---------------------------------------------------------------------------------------------------------
# Transformer blocks, each as ONNX nodes (g_*) and as a float64 numpy reference (np_*; float32 weights
# promote to float64 in every product with a float64 activation).

D, H, DH, FF, EPS, NEG = 16, 2, 8, 32, 1e-5, -1e9
FREQ = (1.0 / 10000.0 ** (np.arange(D // 2) * 2.0 / D)).astype(np.float32)


def normal(rng, shape, scale):
    return rng.normal(0, scale, size=shape).astype(np.float32)


def linear_params(rng, n_in, n_out, scale=1.0):
    return normal(rng, (n_in, n_out), scale / np.sqrt(n_in)), normal(rng, (n_out,), 0.1)


def ln_params(rng):
    return 1.0 + normal(rng, (D,), 0.1), normal(rng, (D,), 0.1)


def block_params(rng, cross=False):
    attn = lambda: {k: linear_params(rng, D, D, 1.5 if k in "qk" else 1.0) for k in "qkvo"}  # noqa: E731
    p = {"self": attn(), "ln1": ln_params(rng), "ffn": (linear_params(rng, D, FF), linear_params(rng, FF, D)), "ln2": ln_params(rng)}
    return {**p, "cross": attn(), "ln3": ln_params(rng)} if cross else p


def n_params(p):
    items = p.values() if isinstance(p, dict) else p if isinstance(p, (tuple, list)) else None
    return int(np.asarray(p).size) if items is None else sum(n_params(v) for v in items)


def np_linear(x, p):
    return x @ p[0] + p[1]


def np_ln(x, p):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + EPS) * p[0] + p[1]


def np_attn(xq, xkv, p, keep):
    q, k, v = (np_linear(x, p[n]).reshape(x.shape[0], x.shape[1], H, DH).transpose(0, 2, 1, 3) for x, n in ((xq, "q"), (xkv, "k"), (xkv, "v")))
    e = np.where(keep, q @ k.transpose(0, 1, 3, 2) / np.sqrt(DH), NEG)
    e = np.exp(e - e.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    return np_linear((probs @ v).transpose(0, 2, 1, 3).reshape(xq.shape[0], xq.shape[1], D), p["o"]), probs


def np_block(x, p, keep, memory=None, memory_keep=None):
    a, self_probs = np_attn(x, x, p["self"], keep)
    x, cross_probs = np_ln(x + a, p["ln1"]), None
    if memory is not None:
        a, cross_probs = np_attn(x, memory, p["cross"], memory_keep)
        x = np_ln(x + a, p["ln3"])
    return np_ln(x + np_linear(np.maximum(np_linear(x, p["ffn"][0]), 0.0), p["ffn"][1]), p["ln2"]), self_probs, cross_probs


def np_embed(ids, emb, ln):
    t = np.arange(ids.shape[1], dtype=np.float64)[:, None] * FREQ[None, :]
    return np_ln(emb[ids].astype(np.float64) + np.concatenate([np.sin(t), np.cos(t)], -1)[None], ln)


def g_linear(g, x, p):
    return g.op("Add", g.op("MatMul", x, g.init(p[0])), g.init(p[1]))


def g_ln(g, x, p):
    return g.op("LayerNormalization", x, g.init(p[0]), g.init(p[1]), axis=-1, epsilon=EPS)


def g_attn(g, xq, xkv, p, keep, probs_name=None):
    q, k, v = (g.op("Transpose", g.op("Reshape", g_linear(g, x, p[n]), g.i64([0, 0, H, DH])), perm=[0, 2, 1, 3])
               for x, n in ((xq, "q"), (xkv, "k"), (xkv, "v")))
    s = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])), g.f32(DH ** -0.5))
    probs = g.op("Softmax", g.op("Where", keep, s, g.f32(NEG)), axis=-1, out=probs_name)
    o = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3]), g.i64([0, 0, D]))
    return g_linear(g, o, p["o"]), probs


def g_block(g, x, p, keep, memory=None, memory_keep=None, self_name=None):
    a, self_probs = g_attn(g, x, x, p["self"], keep, self_name)
    x, cross_probs = g_ln(g, g.op("Add", x, a), p["ln1"]), None
    if memory is not None:
        a, cross_probs = g_attn(g, x, memory, p["cross"], memory_keep)
        x = g_ln(g, g.op("Add", x, a), p["ln3"])
    ffn = g_linear(g, g.op("Relu", g_linear(g, x, p["ffn"][0])), p["ffn"][1])
    return g_ln(g, g.op("Add", x, ffn), p["ln2"]), self_probs, cross_probs


def g_positions(g, ids):
    """Range(0, T) of a [B, T] input: int64 [T]."""
    return g.op("Range", g.i64(0), g.op("Gather", g.op("Shape", ids), g.i64(1), axis=0), g.i64(1))


def g_embed(g, ids, emb_name, ln):
    """Token embedding + sinusoidal positions (no length limit), then LayerNorm."""
    t = g.op("Mul", g.op("Unsqueeze", g.op("Cast", g_positions(g, ids), to=TensorProto.FLOAT), g.i64([1])), g.init(FREQ[None]))
    pos = g.op("Concat", g.op("Sin", t), g.op("Cos", t), axis=-1)
    return g_ln(g, g.op("Add", g.op("Gather", emb_name, ids, axis=0), pos), ln)


def g_key_keep(g, mask):  # [B, S] -> bool [B, 1, 1, S]
    return g.op("Unsqueeze", g.op("Cast", mask, to=TensorProto.BOOL), g.i64([1, 2]))


def g_logits(g, x, emb_name, bias):
    return g.op("Add", g.op("MatMul", x, g.op("Transpose", emb_name, perm=[1, 0])), g.init(bias), out="logits")


# ---------------------------------------------------------------------------------------------------------
# Model folders: the hand-written manifest.json names every graph input and output with its axes; the
# graph's declared inputs/outputs are built from it, and the computed fields (parameters, vocabulary size,
# tokenizer sha256) are filled in.

def write_folder(mid, tokenizer_src, g, params, n_vocab):
    folder = os.path.join(MODELS, mid)
    path = os.path.join(folder, "manifest.json")
    with open(path, encoding="utf-8") as f:
        m = json.load(f)
    m["parameters"], m["dimensions"]["vocabSize"] = n_params(params), n_vocab
    for a in (a for t in m["outputs"] for a in t["axes"] if a["name"] == "vocab"):
        a["size"] = n_vocab
    shutil.copyfile(tokenizer_src, os.path.join(folder, "tokenizer.json"))
    with open(tokenizer_src, "rb") as f:
        m["tokenizer"]["sha256"] = hashlib.sha256(f.read()).hexdigest()

    def io(t):
        shape = [a.get("size", "B" if a["name"] == "batch" else a["name"]) for a in t["axes"]]
        return helper.make_tensor_value_info(t["name"], {"int64": TensorProto.INT64, "float32": TensorProto.FLOAT}[t["dtype"]], shape)
    graph = helper.make_graph(g.nodes, mid, [io(t) for t in m["inputs"]], [io(t) for t in m["outputs"]], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="attention-lens")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(m, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("%s: model.onnx %d bytes, %d parameters" % (mid, os.path.getsize(os.path.join(folder, "model.onnx")), m["parameters"]))


def tokenizer_vocab(path):
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab = tok["model"]["vocab"]
    pieces = dict(vocab) if isinstance(vocab, dict) else {p[0]: i for i, p in enumerate(vocab)}
    pieces.update({a["content"]: a["id"] for a in tok.get("added_tokens", [])})
    return max(pieces.values()) + 1, pieces


def padded(rows, pad_id):
    n = max(len(r) for r in rows)
    ids = np.array([r + [pad_id] * (n - len(r)) for r in rows], dtype=np.int64)
    return ids, np.array([[1] * len(r) + [0] * (n - len(r)) for r in rows], dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------
# The three models. Each builder writes its folder and returns its reference runs, computed by numpy.
# Token ids per text are what the folder's tokenizer.json gives (special tokens included, prefix excluded);
# test/unit/toyModels.test.ts checks that they still are.

TOKENIZERS = os.path.join(ROOT, "test", "fixtures", "tokenizers")
ENCODER_TEXTS = [("def main(argv): return argv", [2, 181, 742, 12, 252, 106, 13, 30, 152, 252, 106, 3]),
                 ("x = 1", [2, 66, 33, 21, 3])]
SEQ2SEQ_TEXTS = {"source": [("def main(argv): return argv", [25, 268, 78, 306, 73, 940, 598, 980, 12, 23, 871, 980, 1]),
                            ("return x + 1", [23, 193, 44, 84, 1])],
                 "target": [("the value is returned", [6, 30, 20, 320]), ("print(x)", [289, 129, 306, 98, 827, 11])]}
RNN_TEXTS = [("def add(a, b):\n    return a + b\n", [505, 877, 1478, 44, 294, 467, 259, 386, 265, 664, 294, 10]),
             ("The cat sat on the mat.", [1123, 274, 269, 299, 269, 588, 280, 2149, 46])]


def build_encoder():
    tok = os.path.join(TOKENIZERS, "wordpiece.json")
    n_vocab, pieces = tokenizer_vocab(tok)
    rng = np.random.default_rng(101)
    p = {"emb": normal(rng, (n_vocab, D), 0.3), "ln": ln_params(rng), "layers": [block_params(rng) for _ in range(2)],
         "bias": normal(rng, (n_vocab,), 0.1)}
    g = Graph()
    emb, keep = g.init(p["emb"], "embedding"), g_key_keep(g, "attention_mask")
    x = g_embed(g, "input_ids", emb, p["ln"])
    for i, lp in enumerate(p["layers"]):
        x, _, _ = g_block(g, x, lp, keep, self_name="attentions.%d" % i)
    g_logits(g, x, emb, p["bias"])
    g.op("Identity", x, out="last_hidden_state")
    write_folder("toy-encoder", tok, g, p, n_vocab)

    ids, mask = padded([t[1] for t in ENCODER_TEXTS], pieces["[PAD]"])
    x = np_embed(ids, p["emb"], p["ln"])
    outs = {}
    for i, lp in enumerate(p["layers"]):
        x, outs["attentions.%d" % i], _ = np_block(x, lp, (mask != 0)[:, None, None, :])
    outs = {"logits": x @ p["emb"].T + p["bias"], **outs, "last_hidden_state": x}
    return [{"name": "two texts, the shorter padded", "sequences": {"tokens": ENCODER_TEXTS},
             "inputs": {"input_ids": ids, "attention_mask": mask}, "outputs": outs}]


def build_encoder_decoder():
    tok = os.path.join(TOKENIZERS, "unigram.json")
    n_vocab, pieces = tokenizer_vocab(tok)
    rng = np.random.default_rng(202)
    p = {"emb": normal(rng, (n_vocab, D), 0.3), "ln_enc": ln_params(rng), "ln_dec": ln_params(rng),
         "enc": block_params(rng), "dec": block_params(rng, cross=True), "bias": normal(rng, (n_vocab,), 0.1)}
    g = Graph()
    emb, keep = g.init(p["emb"], "embedding"), g_key_keep(g, "attention_mask")
    e, ep, _ = g_block(g, g_embed(g, "input_ids", emb, p["ln_enc"]), p["enc"], keep)
    r = g_positions(g, "decoder_input_ids")  # causal: keep[q, k] = not (q < k)
    causal = g.op("Not", g.op("Less", g.op("Unsqueeze", r, g.i64([1])), g.op("Unsqueeze", r, g.i64([0]))))
    d, dp, cp = g_block(g, g_embed(g, "decoder_input_ids", emb, p["ln_dec"]), p["dec"], causal, e, keep)
    g_logits(g, d, emb, p["bias"])
    for probs, name in ((ep, "encoder_attentions"), (dp, "decoder_attentions"), (cp, "cross_attentions")):
        g.op("Unsqueeze", probs, g.i64([0]), out=name)
    write_folder("toy-encoder-decoder", tok, g, p, n_vocab)

    pad = pieces["<pad>"]
    src, mask = padded([t[1] for t in SEQ2SEQ_TEXTS["source"]], pad)
    tgt, _ = padded([[pad] + t[1] for t in SEQ2SEQ_TEXTS["target"]], pad)
    keep, causal = (mask != 0)[:, None, None, :], np.tril(np.ones((tgt.shape[1],) * 2, dtype=bool))
    e, ep, _ = np_block(np_embed(src, p["emb"], p["ln_enc"]), p["enc"], keep)
    d, dp, cp = np_block(np_embed(tgt, p["emb"], p["ln_dec"]), p["dec"], causal, e, keep)
    outs = {"logits": d @ p["emb"].T + p["bias"], "encoder_attentions": ep[None],
            "decoder_attentions": dp[None], "cross_attentions": cp[None]}
    return [{"name": "two pairs, the shorter padded", "sequences": SEQ2SEQ_TEXTS,
             "inputs": {"input_ids": src, "attention_mask": mask, "decoder_input_ids": tgt}, "outputs": outs}]


U, RNN_LAYERS = 8, 2


def g_recurrent_layer(g, layer, lp, x):
    """One Scan over positions; its body computes the gates and h from (h_(t-1), x_t)."""
    b = Graph("l%d_" % layer)
    hp, xt = b.name("h_prev"), b.name("x_t")
    z = b.op("Add", b.op("Add", b.op("MatMul", xt, b.init(lp["wx"])), b.op("MatMul", hp, b.init(lp["wh"]))), b.init(lp["b"]))
    pre = b.op("Reshape", z, b.i64([0, 3, U]))
    sig, tnh = b.op("Sigmoid", pre), b.op("Tanh", pre)
    retain, admit, draft = (b.op("Gather", src, b.i64(i), axis=1) for i, src in ((0, sig), (1, sig), (2, tnh)))
    h = b.op("Add", b.op("Mul", retain, hp), b.op("Mul", admit, draft))
    gates = b.op("Concat", *(b.op("Unsqueeze", v, b.i64([1])) for v in (retain, admit, draft)), axis=1)
    h_out = b.op("Identity", h)

    def vi(n, shape):
        return helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
    body = helper.make_graph(b.nodes, "layer%d" % layer, [vi(hp, ["B", U]), vi(xt, ["B", U])],
                             [vi(h, ["B", U]), vi(gates, ["B", 3, U]), vi(h_out, ["B", U])], b.inits)
    h0 = g.op("Gather", "h0", g.i64(layer), axis=0)
    outs = [g.name(n) for n in ("h_last", "gates", "hidden")]
    g.nodes.append(helper.make_node("Scan", [h0, x], outs, body=body, num_scan_inputs=1, scan_input_axes=[1],
                                    scan_output_axes=[1, 1]))
    return outs


def np_recurrent(p, ids, h0):
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    x, gates, hidden, finals = p["emb"][ids].astype(np.float64), [], [], []
    for layer, lp in enumerate(p["layers"]):
        h, gs, hs = h0[layer].astype(np.float64), [], []
        for t in range(ids.shape[1]):
            z = (x[:, t] @ lp["wx"] + h @ lp["wh"] + lp["b"]).reshape(-1, 3, U)
            retain, admit, draft = sigmoid(z[:, 0]), sigmoid(z[:, 1]), np.tanh(z[:, 2])
            h = retain * h + admit * draft
            gs.append(np.stack([retain, admit, draft], 1))
            hs.append(h)
        x = np.stack(hs, 1)
        gates, hidden, finals = gates + [np.stack(gs, 1)], hidden + [x], finals + [h]
    return {"logits": x @ p["emb"].T + p["bias"], "gates": np.stack(gates), "hidden": np.stack(hidden),
            "h_n": np.stack(finals)}


def build_recurrent():
    tok = os.path.join(ROOT, "media", "models", "transformer", "tokenizer.json")
    n_vocab, _ = tokenizer_vocab(tok)
    rng = np.random.default_rng(303)
    p = {"emb": normal(rng, (n_vocab, U), 0.6), "bias": normal(rng, (n_vocab,), 0.1),
         "layers": [{"wx": normal(rng, (U, 3 * U), 0.5), "wh": normal(rng, (U, 3 * U), 0.25),
                     "b": normal(rng, (3 * U,), 0.3)} for _ in range(RNN_LAYERS)]}
    g = Graph()
    emb = g.init(p["emb"], "embedding")
    x, per_layer = g.op("Gather", emb, "input_ids", axis=0), []
    for layer, lp in enumerate(p["layers"]):
        per_layer.append(g_recurrent_layer(g, layer, lp, x))
        x = per_layer[-1][2]
    g_logits(g, x, emb, p["bias"])
    for k, name in ((1, "gates"), (2, "hidden"), (0, "h_n")):
        g.op("Concat", *(g.op("Unsqueeze", outs[k], g.i64([0])) for outs in per_layer), axis=0, out=name)
    write_folder("toy-recurrent", tok, g, p, n_vocab)

    h0 = normal(np.random.default_rng(304), (RNN_LAYERS, 1, U), 0.5)
    runs = []
    for (text, ids), start in zip(RNN_TEXTS, (h0, np.zeros_like(h0))):
        arr = np.array([ids], dtype=np.int64)
        runs.append({"name": "%s, %s initial state" % (json.dumps(text), "random" if start is h0 else "zero"),
                     "sequences": {"tokens": [(text, ids)]}, "inputs": {"input_ids": arr, "h0": start},
                     "outputs": np_recurrent(p, arr, start)})
    return runs


# ---------------------------------------------------------------------------------------------------------
# Reference file: float arrays flat, row-major over dims, 9 significant digits. Logits keep vocabulary ids
# [0, 64) of every position plus argmax and logsumexp over the whole vocabulary.

REFERENCE = os.path.join(ROOT, "test", "fixtures", "toy-reference.json")
BUILDERS = {"toy-encoder": build_encoder, "toy-encoder-decoder": build_encoder_decoder, "toy-recurrent": build_recurrent}


def tensor_json(a, logits=False):
    a = np.asarray(a)
    rounded = lambda v: [int(x) if a.dtype.kind in "iu" else float("%.9g" % x) for x in np.asarray(v).reshape(-1)]  # noqa: E731
    if not logits:
        return {"dims": list(a.shape), "data": rounded(a)}
    m = a.max(-1, keepdims=True)
    return {"dims": list(a.shape), "vocabSlice": [0, 64], "data": rounded(a[..., :64]),
            "argmax": a.argmax(-1).reshape(-1).tolist(), "logsumexp": rounded(m[..., 0] + np.log(np.exp(a - m).sum(-1)))}


def main(wanted):
    wanted = wanted or ["occlusion", *BUILDERS]
    if "occlusion" in wanted:
        write_occlusion_fixtures()
    ref = {"models": {}}
    if os.path.exists(REFERENCE):
        with open(REFERENCE, encoding="utf-8") as f:
            ref = json.load(f)
    ref["note"] = ("Written by training/toy_models.py: inputs and float64 numpy outputs of the models in test/fixtures/models/. "
                   "Arrays are flat, row-major over dims; logits keep ids [vocabSlice[0], vocabSlice[1]) plus argmax and "
                   "logsumexp over the vocabulary; sequences: [text, ids with special tokens, without the prefix].")
    for mid in (m for m in BUILDERS if m in wanted):
        ref["models"][mid] = [{
            "name": run["name"], "sequences": {k: [[t, ids] for t, ids in v] for k, v in run["sequences"].items()},
            "inputs": {k: tensor_json(v) for k, v in run["inputs"].items()},
            "outputs": {k: tensor_json(v, k == "logits") for k, v in run["outputs"].items()},
        } for run in BUILDERS[mid]()]
    ref = {"note": ref["note"], "models": {k: ref["models"][k] for k in sorted(ref["models"])}}
    with open(REFERENCE, "w", encoding="utf-8", newline="\n") as f:
        json.dump(ref, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(REFERENCE, ROOT), os.path.getsize(REFERENCE), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
