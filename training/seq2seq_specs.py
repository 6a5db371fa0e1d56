"""Graph inputs/outputs (schema-2 axes) and manifests of the encoder and the two encoder-decoders, used by
export_seq2seq.py. Conventions follow the toy fixtures of test/fixtures/models (toy-encoder,
toy-encoder-decoder): sequences "source"/"target", the target read after <pad>, self-attention as role mixing
with a structure and a group, cross-attention as cross_mixing, masked-LM logits predicting the current token.
"""
import json
import math
import os

import export
import seq2seq_models as sm
import train
from export_family import spec

DISPLAY = {
    "encoder": "Tiny encoder (masked LM, 4 layers x 4 heads, T5 relative positions)",
    "t5": "Tiny T5-style encoder\u2013decoder",
    "bahdanau": "Tiny RNN encoder\u2013decoder with Bahdanau attention",
}
SHORT_NAME = {"encoder": "Encoder (MLM)", "t5": "T5-style", "bahdanau": "Bahdanau RNN"}
ORDER = {"encoder": 8, "t5": 9, "bahdanau": 10}
ARCHITECTURE = {"encoder": "bidirectional Transformer encoder (masked LM)",
                "t5": "encoder-decoder Transformer (T5-style)",
                "bahdanau": "RNN encoder-decoder with additive attention (Bahdanau et al. 2015)"}
COMMON = ("Trained from scratch on the permissively licensed TypeScript, JavaScript, Python and English text of the "
          "other bundled models, with their byte-level BPE (exact bytes and indentation kept; the same token "
          "boundaries, so views line up) plus <pad>, <mask>, <extra_id_0> and <extra_id_1> (ids 4096-4099). ")
INFILL_TASK = ("Task: span infilling (T5's objective with one span): a hole of 1-24 tokens, starting and where "
               "possible ending at whitespace or punctuation, is cut from the text; the source is up to 200 tokens "
               "before it, <extra_id_0>, up to 100 tokens after it; the target, read after <pad>, is <extra_id_0> "
               "span <extra_id_1>. ")
DESCRIPTION = {
    "encoder": "Encoder-only Transformer trained with masked-language modelling (BERT's recipe: 15% of the tokens "
               "chosen, 80% of them replaced by <mask>, 10% by a random token, 10% kept; the loss is on the chosen "
               "tokens). Pre-LayerNorm, 4 layers x 4 heads, d 128, tied embeddings. Positions: T5 relative position "
               "buckets (bidirectional; one learned bias per head and bucket shared by all layers): exact for "
               "distances below 8, logarithmic up to 128 and constant beyond, so there is no length limit and, "
               "unlike symmetric ALiBi, a head can prefer the token just before or just after a query (the "
               "bucket table is not forced to decay with distance). " + COMMON +
               "Exposes the softmax attention of every layer and head (full: every token sees every other) and "
               "the residual stream; the logits at position t score token t.",
    "t5": "Encoder-decoder Transformer in the style of T5: 2 encoder + 2 decoder layers x 4 heads, d 128, pre-"
          "LayerNorm, tied embeddings, relative position buckets (bidirectional in the encoder, causal in the "
          "decoder, a table per stack; cross-attention has none). " + INFILL_TASK + COMMON +
          "Exposes the encoder self-attention, the decoder's causal self-attention and the cross-attention of every "
          "layer and head, and both residual streams.",
    "bahdanau": "RNN encoder-decoder with additive attention (Bahdanau, Cho & Bengio 2015): a bidirectional GRU "
                "encoder (128 units per direction) gives h_j = [forward; backward]; the GRU decoder (256 units) "
                "starts from s_0 = tanh(W_s h_1 backward) and at every target step i scores every source token, "
                "e_ij = v^T tanh(W s_(i-1) + U h_j), alpha_ij = softmax_j(e_ij), reads the context "
                "c_i = sum_j alpha_ij h_j and takes [embedding(y_(i-1)); c_i] as input; the logits come from "
                "[s_i; c_i; embedding(y_(i-1))]. " + INFILL_TASK + COMMON +
                "Exposes the alignment alpha(i, j), the encoder states, the decoder's gates and states and the "
                "context vectors.",
}
BAHDANAU_GATES = [{"name": "r", "meaning": "reset", "label": "reset gate"},
                  {"name": "z", "meaning": "keep", "label": "update gate", "complementWrites": True},
                  {"name": "n", "meaning": "candidate", "label": "candidate state"}]


def ids_input(name, length):
    return {"name": name, "role": "input_ids", "dtype": "int64", "shape": ["B", length],
            "axes": [{"name": "batch"}, {"name": "position", "size": length}]}


def logits(cfg, length, predicts, description):
    return spec("logits", "logits", ["batch", "position", "vocab"], ["B", length, cfg["vocab_size"]], description,
                predicts=predicts)


def attention(name, L, H, q, k, description, **extra):
    role = "mixing" if q == k else "cross_mixing"
    return spec(name, role, ["layer", "batch", "head", "query", "key"], [L, "B", H, q, k], description,
                normalised=True, **extra)


def hidden(name, L, length, d, description, **extra):
    return spec(name, "hidden_states", ["layer", "batch", "position", "feature"], [L + 1, "B", length, d],
                description, **extra)


def io_specs(mid, cfg):
    if mid == "encoder":
        L, H, d = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
        return [ids_input("input_ids", "T")], [
            logits(cfg, "T", "current", "Masked-LM logits: position t scores token t (what a <mask> there stands for)."),
            attention("attention", L, H, "T", "T", "Softmax attention probabilities per layer and head; [l, b, h, t, k] "
                      "is the weight query t gives key k (every key, before and after t).",
                      structure="bidirectional", label="attention"),
            hidden("hidden_states", L, "T", d, "Residual stream: index 0 is the token embedding, index l the output of "
                   "block l (before the final LayerNorm)."),
        ]
    source, target = ids_input("input_ids", "S"), ids_input("decoder_input_ids", "T")
    if mid == "t5":
        Le, Ld, H, d = cfg["encoder_layers"], cfg["decoder_layers"], cfg["n_heads"], cfg["d_model"]
        return [source, target], [
            logits(cfg, "T", "next", "Decoder logits: target position t scores target token t + 1."),
            attention("encoder_attentions", Le, H, "S", "S", "Encoder self-attention per layer and head (full).",
                      structure="bidirectional", group="encoder", label="encoder self-attention"),
            attention("decoder_attentions", Ld, H, "T", "T", "Decoder self-attention per layer and head (0 for k > t).",
                      structure="causal", group="decoder", label="decoder self-attention"),
            attention("cross_attentions", Ld, H, "T", "S", "Cross-attention per decoder layer and head: the weight "
                      "target position t gives source token k.", label="cross-attention"),
            hidden("encoder_hidden_states", Le, "S", d, "Encoder residual stream: index 0 is the embedding, index l "
                   "the output of encoder layer l (the decoder reads the last one after a LayerNorm).",
                   group="encoder", label="encoder hidden states"),
            hidden("decoder_hidden_states", Ld, "T", d, "Decoder residual stream: index 0 is the embedding, index l "
                   "the output of decoder layer l (before the final LayerNorm).",
                   group="decoder", label="decoder hidden states"),
        ]
    He2, Hd = 2 * cfg["encoder_hidden"], cfg["decoder_hidden"]
    return [source, target], [
        logits(cfg, "T", "next", "Decoder logits: target position i scores target token i + 1."),
        spec("alignment", "cross_mixing", ["layer", "batch", "query", "key"], [1, "B", "T", "S"],
             "alpha(i, j) = softmax_j(v^T tanh(W s_(i-1) + U h_j)): the weight target step i gives source token j "
             "when it reads the context c_i (rows sum to 1).", normalised=True,
             label="alignment (Bahdanau attention)"),
        spec("encoder_states", "hidden_states", ["layer", "batch", "position", "feature"], [1, "B", "S", He2],
             "Encoder state h_j = [forward GRU state; backward GRU state] at source token j (features 0-127 "
             "forward, 128-255 backward): the vectors the alignment mixes into c_i.", group="encoder",
             label="encoder states h_j"),
        spec("decoder_states", "state", ["layer", "batch", "position", "unit"], [1, "B", "T", Hd],
             "Decoder state s_i after target step i: s_i = (1 - z_i) * n_i + z_i * s_(i-1), s_0 = tanh(W_s h_1 "
             "backward).", state="s", label="decoder state s_i", range=[-1, 1]),
        spec("gates", "gates", ["layer", "batch", "position", "gate", "unit"], [1, "B", "T", 3, Hd],
             "Decoder GRU per target step and unit: reset gate r = sigmoid, update gate z = sigmoid, candidate "
             "n = tanh(W_in x + b_in + r * (W_hn s + b_hn)) with input x = [embedding(y_(i-1)); c_i]. "
             "s_i = (1 - z_i) * n_i + z_i * s_(i-1).", gates=BAHDANAU_GATES, state="s"),
        spec("context", "state", ["layer", "batch", "position", "unit"], [1, "B", "T", He2],
             "Context vector c_i = sum_j alpha(i, j) h_j that target step i reads (not a recurrent state: a mix of "
             "encoder states).", state="context", label="context vector c_i"),
    ]


def manifest_tensor(s):
    keep = {k: v for k, v in s.items() if k not in ("shape", "bulky", "omitFromReference")}
    return keep


def dimensions(mid, cfg):
    if mid == "encoder":
        return {"layers": cfg["n_layers"], "heads": cfg["n_heads"], "dModel": cfg["d_model"],
                "headDim": cfg["d_model"] // cfg["n_heads"], "dFeedForward": cfg["d_ff"],
                "relativeBuckets": cfg["num_buckets"], "maxDistance": cfg["max_distance"],
                "vocabSize": cfg["vocab_size"]}
    if mid == "t5":
        return {"encoderLayers": cfg["encoder_layers"], "decoderLayers": cfg["decoder_layers"],
                "heads": cfg["n_heads"], "dModel": cfg["d_model"], "headDim": cfg["d_model"] // cfg["n_heads"],
                "dFeedForward": cfg["d_ff"], "relativeBuckets": cfg["num_buckets"],
                "maxDistance": cfg["max_distance"], "vocabSize": cfg["vocab_size"]}
    return {"embedding": cfg["d_emb"], "encoderHidden": cfg["encoder_hidden"], "decoderHidden": cfg["decoder_hidden"],
            "attention": cfg["attention_dim"], "vocabSize": cfg["vocab_size"]}


def rounded(metrics, suffix=""):
    return {k + suffix: (round(v, 5) if isinstance(v, float) else v) for k, v in metrics.items()}


def manifest(mid, model, ck, inputs_spec, outputs_spec, metrics, float32, onnx_path, tok_path):
    cfg, s, step = model.cfg, ck["schedule"], ck["step"]
    final = step >= s["steps"]
    corpus = json.load(open(os.path.join(train.DATA, "corpus.json")))
    if mid == "encoder":
        sequences = {"tokens": {"length": "T", "label": "Tokens"}}
        special = {"endOfText": "<|endoftext|>", "pad": "<pad>", "mask": "<mask>"}
        shown = dict(metrics, heldOutMaskedPerplexity=math.exp(metrics["heldOutMaskedLossNats"]))
        keys32 = ("heldOutMaskedLossNats", "heldOutMaskedAccuracy")
    else:
        sequences = {"source": {"length": "S", "label": "Source"},
                     "target": {"length": "T", "label": "Target", "prefix": ["<pad>"]}}
        special = {"endOfText": "<|endoftext|>", "pad": "<pad>"}
        shown = dict(metrics)
        keys32 = ("heldOutInfillLossNats", "heldOutInfillTokenAccuracy", "heldOutInfillExactMatch")
    shown.update(rounded({k: float32[k] for k in keys32}, "Float32"))
    training = {
        "corpus": "Permissively licensed TypeScript, JavaScript, Python and English text (%d documents, %.1f MB); see "
                  "training/CORPUS.md" % (corpus["documents"], corpus["bytes"] / 1e6),
        "corpusSha256": corpus["sha256"],
        "objective": "masked language modelling (BERT)" if mid == "encoder" else "span infilling, one span (T5)",
        "tokensSeen": ck["tokens_seen"], "steps": step, "plannedSteps": s["steps"], "final": final,
        "batchSize": s["batch"], "wallTimeSeconds": round(ck["wall_time"]), "machine": export.machine_description(),
        "seed": s["seed"],
    }
    if mid == "encoder":
        training["sequenceLength"] = s["seq_len"]
    else:
        training.update({"contextBefore": s["before"], "contextAfter": s["after"], "spanTokens": s["span"]})
    m = {
        "schemaVersion": 2, "id": mid, "displayName": DISPLAY[mid], "shortName": SHORT_NAME[mid], "order": ORDER[mid],
        "architecture": ARCHITECTURE[mid],
        "description": DESCRIPTION[mid] + " Weights stored in float16." + (
            "" if final else " PROVISIONAL: exported from an intermediate training checkpoint."),
        "parameters": sm.n_params(model), "dimensions": dimensions(mid, cfg), "sequences": sequences,
        "inputs": [manifest_tensor(i) for i in inputs_spec], "outputs": [manifest_tensor(o) for o in outputs_spec],
        "tokenizer": {"file": "tokenizer.json", "type": "byte-level-bpe", "specialTokens": special,
                      "sha256": export.sha256_file(tok_path)},
        "model": "model.onnx",
        "onnx": {"file": "model.onnx", "opset": export.OPSET, "sha256": export.sha256_file(onnx_path),
                 "bytes": os.path.getsize(onnx_path)},
        "training": training,
        "metrics": rounded(shown),
        "license": "MIT",
    }
    if mid == "encoder":
        m["occlusionToken"] = "<mask>"
    if mid != "bahdanau":
        m["positional"] = "t5-relative-buckets"
        m["readout"] = {"norm": {"kind": "layernorm", "weight": "lm.ln_f.weight", "bias": "lm.ln_f.bias",
                                 "epsilon": 1e-5},
                        "unembedding": {"weight": "lm.emb.weight", "layout": "vocab_feature", "bias": "lm.out_bias"}}
    if mid != "encoder":
        m["infilling"] = {"source": "source", "target": "target", "hole": "<extra_id_0>", "begin": ["<extra_id_0>"],
                          "end": "<extra_id_1>"}
    return m
