"""Why: the graph surgery that exposes attention (src/core/onnxSurgery.ts) must be tested on the shapes real
exports take, beyond the GPT-2 and BERT fixtures: an encoder-decoder in one graph, a decoder exported alone
(its encoder's output as an input, as Optimum writes decoder_model.onnx), weights in an external data file,
nodes out of topological order, contrib ops without their opset import, fused attention, a beam-search
operator, and a merged decoder whose attention lives inside If branches. Each plain model has an "-attn" twin exported from the same module with
Optimum's output names, so the tensors the surgery exposes can be compared with what the model returns.
Writes test/fixtures/onnx/surgery-*.onnx (and one .onnx.data; 1-150 kB each) with Debian's /usr/bin/python3 (torch, onnx, numpy):
  /usr/bin/python3 training/surgery_fixtures.py"""

import math
import os
import random

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "onnx")
D, H, FF, VOCAB, LAYERS = 16, 2, 32, 40, 2


class Attention(nn.Module):
    """Hugging Face's eager attention: softmax(QK^T / sqrt(d) + mask) @ V, the probabilities returned."""

    def __init__(self, causal):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.causal = causal
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, memory=None):
        src = x if memory is None else memory
        b, t, s = x.shape[0], x.shape[1], src.shape[1]
        split = lambda y, n: y.view(b, n, H, D // H).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x), t), split(self.k(src), s), split(self.v(src), s)
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // H)
        if self.causal:
            pos = torch.arange(t, device=x.device)
            scores = scores + (pos[None, :] > pos[:, None]).to(scores.dtype) * -1e9
        probs = self.dropout(torch.softmax(scores, dim=-1))
        return self.o((probs @ v).transpose(1, 2).reshape(b, t, D)), probs


class Block(nn.Module):
    def __init__(self, causal, cross):
        super().__init__()
        self.SelfAttention = Attention(causal)
        self.EncDecAttention = Attention(False) if cross else None
        self.ln = nn.ModuleList(nn.LayerNorm(D) for _ in range(3 if cross else 2))
        self.ff = nn.Sequential(nn.Linear(D, FF), nn.GELU(), nn.Linear(FF, D))

    def forward(self, x, memory=None):
        y, self_probs = self.SelfAttention(self.ln[0](x))
        x = x + y
        cross_probs = None
        if self.EncDecAttention is not None:
            y, cross_probs = self.EncDecAttention(self.ln[1](x), memory)
            x = x + y
        return x + self.ff(self.ln[-1](x)), self_probs, cross_probs


class Stack(nn.Module):
    def __init__(self, causal, cross):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.block = nn.ModuleList(Block(causal, cross) for _ in range(LAYERS))
        self.final_layer_norm = nn.LayerNorm(D)

    def forward(self, ids, memory=None):
        x, selfs, crosses = self.embed(ids), [], []
        for block in self.block:
            x, p, c = block(x, memory)
            selfs.append(p)
            crosses.append(c)
        return self.final_layer_norm(x), selfs, crosses


class Seq2Seq(nn.Module):
    """T5-shaped: bidirectional encoder, causal decoder with cross-attention, tied-free LM head."""

    def __init__(self, attentions):
        super().__init__()
        self.encoder, self.decoder = Stack(False, False), Stack(True, True)
        self.lm_head = nn.Linear(D, VOCAB, bias=False)
        self.attentions = attentions

    def forward(self, input_ids, decoder_input_ids):
        memory, enc, _ = self.encoder(input_ids)
        x, dec, cross = self.decoder(decoder_input_ids, memory)
        logits = self.lm_head(x)
        return (logits, *enc, *dec, *cross) if self.attentions else logits


class DecoderOnly(nn.Module):
    """Optimum's decoder_model.onnx: the decoder alone, the encoder's output an input."""

    def __init__(self, seq2seq, attentions):
        super().__init__()
        self.decoder, self.lm_head, self.attentions = seq2seq.decoder, seq2seq.lm_head, attentions

    def forward(self, input_ids, encoder_hidden_states):
        x, dec, cross = self.decoder(input_ids, encoder_hidden_states)
        logits = self.lm_head(x)
        return (logits, *dec, *cross) if self.attentions else logits


def export(module, args, input_names, dynamic, output_names, name):
    path = os.path.join(OUT, name + ".onnx")
    axes = {n: dynamic[n] for n in input_names}
    for n in output_names:
        axes[n] = {0: "batch_size", 1: "sequence_length"} if n == "logits" else {0: "batch_size"}
    torch.onnx.export(module.eval(), args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=axes, opset_version=14, do_constant_folding=True)
    return path


def attention_names(prefixes):
    return [f"{p}attentions.{i}" for p in prefixes for i in range(LAYERS)]


def seq2seq_fixtures():
    torch.manual_seed(13)
    plain = Seq2Seq(False)
    twin = Seq2Seq(True)
    twin.load_state_dict(plain.state_dict())
    ids, dec_ids = torch.randint(0, VOCAB, (1, 7)), torch.randint(0, VOCAB, (1, 5))
    inputs = ["input_ids", "decoder_input_ids"]
    dyn = {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
           "decoder_input_ids": {0: "batch_size", 1: "decoder_sequence_length"}}
    export(plain, (ids, dec_ids), inputs, dyn, ["logits"], "surgery-seq2seq")
    export(twin, (ids, dec_ids), inputs, dyn,
           ["logits"] + attention_names(["encoder_", "decoder_", "cross_"]), "surgery-seq2seq-attn")

    # The same graph with its nodes shuffled and unnamed: no order and no name hints to lean on.
    model = onnx.load(os.path.join(OUT, "surgery-seq2seq.onnx"))
    nodes = list(model.graph.node)
    random.Random(13).shuffle(nodes)
    for n in nodes:
        n.name = ""
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, os.path.join(OUT, "surgery-seq2seq-shuffled.onnx"))

    memory = torch.randn(1, 7, D)
    inputs = ["input_ids", "encoder_hidden_states"]
    dyn = {"input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
           "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"}}
    export(DecoderOnly(plain, False), (dec_ids, memory), inputs, dyn, ["logits"], "surgery-decoder")
    export(DecoderOnly(twin, True), (dec_ids, memory), inputs, dyn,
           ["logits"] + attention_names(["decoder_", "cross_"]), "surgery-decoder-attn")

    # The same decoder with its weights in an external data file (as exports over 2 GB must be).
    model = onnx.load(os.path.join(OUT, "surgery-decoder.onnx"))
    data = os.path.join(OUT, "surgery-external.onnx.data")
    if os.path.exists(data):
        os.remove(data)  # onnx appends to an existing data file
    onnx.save_model(model, os.path.join(OUT, "surgery-external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="surgery-external.onnx.data", size_threshold=0)


def save(graph, name, opsets, check=True):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                              producer_name="attention-lens-fixtures")
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


def tiny_attention_nodes(prefix, x, out):
    """One causal-free attention head in ONNX nodes: softmax(x x^T) x, the shape of every attention."""
    return [
        helper.make_node("Transpose", [x], [prefix + "kt"], perm=[0, 2, 1], name=prefix + "Transpose"),
        helper.make_node("MatMul", [x, prefix + "kt"], [prefix + "scores"], name=prefix + "MatMul"),
        helper.make_node("Softmax", [prefix + "scores"], [prefix + "probs"], axis=-1, name=prefix + "Softmax"),
        helper.make_node("MatMul", [prefix + "probs", x], [out], name=prefix + "MatMul_1"),
    ]


def quirk_fixtures():
    rng = np.random.default_rng(13)
    f = lambda *s: rng.normal(0, 0.5, size=s).astype(np.float32)  # noqa: E731
    x_in = helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch_size", "sequence_length", D])
    y_out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", D])

    # Contrib ops (com.microsoft Gelu, FastGelu) with only the default domain imported: onnx.checker rejects the
    # model, onnxruntime supplies the missing import. The attention between them is plain.
    nodes = [helper.make_node("Gelu", ["hidden"], ["g"], domain="com.microsoft", name="/h/Gelu")]
    nodes += tiny_attention_nodes("/h/attn/", "g", "mixed")
    nodes += [helper.make_node("FastGelu", ["mixed", "bias"], ["logits"], domain="com.microsoft", name="/h/FastGelu")]
    graph = helper.make_graph(nodes, "contrib-without-import", [x_in], [y_out], [numpy_helper.from_array(f(D), "bias")])
    save(graph, "surgery-contrib-no-import", [("", 14)], check=False)

    # Fused attention: onnxruntime's Attention contrib op, no probabilities in the graph.
    nodes = [helper.make_node("Attention", ["hidden", "qkv_weight", "qkv_bias"], ["logits"], domain="com.microsoft",
                              num_heads=H, name="/encoder/layer.0/attention/Attention")]
    graph = helper.make_graph(nodes, "fused", [x_in], [y_out],
                              [numpy_helper.from_array(f(D, 3 * D), "qkv_weight"), numpy_helper.from_array(f(3 * D), "qkv_bias")])
    save(graph, "surgery-fused", [("", 14), ("com.microsoft", 1)])

    # One BeamSearch op wrapping the decoder, whose attention lives in the subgraph attribute.
    dec = helper.make_graph(tiny_attention_nodes("/decoder/", "h", "y"), "decoder",
                            [helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 4, D])],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, D])])
    scalar = lambda n, t: helper.make_tensor_value_info(n, t, [1])  # noqa: E731
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT32, ["batch_size", "sequence_length"]),
              scalar("max_length", TensorProto.INT32), scalar("min_length", TensorProto.INT32),
              scalar("num_beams", TensorProto.INT32), scalar("num_return_sequences", TensorProto.INT32),
              scalar("length_penalty", TensorProto.FLOAT), scalar("repetition_penalty", TensorProto.FLOAT)]
    nodes = [helper.make_node("BeamSearch", [i.name for i in inputs], ["sequences"], domain="com.microsoft",
                              decoder=dec, eos_token_id=2, pad_token_id=0, model_type=0, name="BeamSearch_gpt2")]
    graph = helper.make_graph(nodes, "beam-search", inputs,
                              [helper.make_tensor_value_info("sequences", TensorProto.INT32, ["batch_size", "beams", "max_length"])])
    save(graph, "surgery-beamsearch", [("", 14), ("com.microsoft", 1)], check=False)

    # A merged decoder (with and without cache) as Optimum writes decoder_model_merged.onnx: attention inside If.
    branch = lambda tag: helper.make_graph(tiny_attention_nodes(f"/{tag}/decoder/", "hidden", f"{tag}_out"), tag, [],  # noqa: E731
                                           [helper.make_tensor_value_info(f"{tag}_out", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("If", ["use_cache_branch"], ["logits"], then_branch=branch("with_past"),
                              else_branch=branch("without_past"), name="optimum::if")]
    graph = helper.make_graph(nodes, "merged", [x_in, helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])], [y_out])
    save(graph, "surgery-if-merged", [("", 14)], check=False)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    seq2seq_fixtures()
    quirk_fixtures()
    print("wrote", sorted(n for n in os.listdir(OUT) if n.startswith("surgery-")))
