"""Why: "bring your own model" must work on real Hugging Face exports, and tests cannot depend on transformers or
optimum. So this builds GPT-2-, BERT- and T5-shaped models in plain PyTorch with Hugging Face's module structure,
parameter names (transformer.h.0.attn.c_attn.weight, bert.encoder.layer.0.attention.self.query.weight,
encoder.block.0.layer.0.SelfAttention.q.weight, ...) and config.json fields, and exports each twice to ONNX the
way Optimum names things: "-attn" with attention outputs (attentions.{i}, encoder_/decoder_/cross_attentions.{i}),
and "-plain" as Optimum exports by default (no attentions; GPT-2 with its key/value cache) for graph surgery.

Run with a python3 that has torch and onnx (no transformers needed): python3 training/hf_like_models.py
Writes test/fixtures/hf/<name>/{model.onnx, config.json, tokenizer.json} for gpt2-attn, gpt2-plain, bert-attn,
bert-plain, t5-attn, t5-plain, and test/fixtures/hf/reference.json (PyTorch outputs for one short text each).
Tiny (2 layers, 2 heads, width 32), weights from torch.manual_seed: every run writes the same numbers.
Tokenizers are copied: byte-level BPE (the bundled transformer's), WordPiece and Unigram (test fixtures)."""

import json
import math
import os
import re
import shutil

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "test", "fixtures", "hf")
TOKENIZERS = {
    "gpt2": os.path.join(ROOT, "media", "models", "transformer", "tokenizer.json"),
    "bert": os.path.join(ROOT, "test", "fixtures", "tokenizers", "wordpiece.json"),
    "t5": os.path.join(ROOT, "test", "fixtures", "tokenizers", "unigram.json"),
}
NEG = torch.finfo(torch.float32).min


def vocab_size(kind):
    with open(TOKENIZERS[kind], encoding="utf-8") as f:
        t = json.load(f)
    ids = list(t["model"]["vocab"].values()) if isinstance(t["model"]["vocab"], dict) else range(len(t["model"]["vocab"]))
    return max(max(ids), *(a["id"] for a in t.get("added_tokens") or [])) + 1


def gpt2_config():
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": vocab_size("gpt2"),
            "n_positions": 256, "n_embd": 32, "n_layer": 2, "n_head": 2, "n_inner": None,
            "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 4095, "eos_token_id": 4095,
            "tie_word_embeddings": True, "use_cache": True, "torch_dtype": "float32"}


def bert_config():
    return {"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": vocab_size("bert"),
            "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128,
            "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "pad_token_id": 0, "position_embedding_type": "absolute", "is_decoder": False, "torch_dtype": "float32"}


def t5_config():
    return {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "vocab_size": vocab_size("t5"),
            "d_model": 32, "d_kv": 16, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2, "num_heads": 2,
            "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-6,
            "feed_forward_proj": "relu", "is_encoder_decoder": True, "tie_word_embeddings": True,
            "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "torch_dtype": "float32"}


# --------------------------------------------------------------------------------------------------------
# The models: Box only names children, so parameters get Hugging Face's paths; the forward passes follow
# transformers' eager attention (softmax probabilities multiplied with the values, returned per layer).

class Box(nn.Module):
    """A module that holds named children (and parameters), e.g. Box(dense=nn.Linear(...), LayerNorm=...)."""
    def __init__(box, **children):  # noqa: N805 (BERT names a child "self")
        super().__init__()
        for name, child in children.items():
            setattr(box, name, child)


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out]."""
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(x.size()[:-1] + (self.nf,))


class T5LayerNorm(nn.Module):
    """RMS norm with a gain and no bias."""
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def split_heads(x, heads):
    return x.view(x.size()[:-1] + (heads, x.size(-1) // heads)).permute(0, 2, 1, 3)


def merge_heads(x):
    x = x.permute(0, 2, 1, 3).contiguous()
    return x.view(x.size()[:-2] + (x.size(-2) * x.size(-1),))


def extended_mask(mask):
    return (1.0 - mask[:, None, None, :].to(torch.float32)) * NEG


def attend(q, k, v, bias, scale):
    probs = F.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale + bias, dim=-1)
    return merge_heads(torch.matmul(probs, v)), probs


class GPT2LMHeadModel(nn.Module):
    """Pre-LayerNorm decoder, learnt positions, tied lm_head; `past` is a list of (key, value) per layer."""
    def __init__(self, c):
        super().__init__()
        d, self.heads = c["n_embd"], c["n_head"]
        ln = lambda: nn.LayerNorm(d, eps=c["layer_norm_epsilon"])  # noqa: E731
        block = lambda: Box(ln_1=ln(), attn=Box(c_attn=Conv1D(3 * d, d), c_proj=Conv1D(d, d)), ln_2=ln(),  # noqa: E731
                            mlp=Box(c_fc=Conv1D(4 * d, d), c_proj=Conv1D(d, 4 * d)))
        self.transformer = Box(wte=nn.Embedding(c["vocab_size"], d), wpe=nn.Embedding(c["n_positions"], d),
                               h=nn.ModuleList(block() for _ in range(c["n_layer"])), ln_f=ln())
        self.lm_head = nn.Linear(d, c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as tie_word_embeddings says

    def forward(self, input_ids, attention_mask, position_ids, past=None):
        t = self.transformer
        x = t.wte(input_ids) + t.wpe(position_ids)
        mask = extended_mask(attention_mask)
        presents, attentions = [], []
        for i, b in enumerate(t.h):
            q, k, v = (split_heads(y, self.heads) for y in b.attn.c_attn(b.ln_1(x)).split(x.size(-1), dim=2))
            if past is not None:
                k, v = torch.cat((past[i][0], k), dim=-2), torch.cat((past[i][1], v), dim=-2)
            q_len, k_len = q.size(-2), k.size(-2)
            causal = torch.arange(k_len)[None, :] <= (torch.arange(q_len) + (k_len - q_len))[:, None]
            a, probs = attend(q, k, v, torch.where(causal, torch.tensor(0.0), torch.tensor(NEG)) + mask, 1 / math.sqrt(v.size(-1)))
            x = x + b.attn.c_proj(a)
            x = x + b.mlp.c_proj(gelu_new(b.mlp.c_fc(b.ln_2(x))))
            presents.append((k, v))
            attentions.append(probs)
        return self.lm_head(t.ln_f(x)), presents, attentions


class BertForMaskedLM(nn.Module):
    """Post-LayerNorm encoder, learnt positions and segments, tied decoder with its own bias."""
    def __init__(self, c):
        super().__init__()
        d, ff, self.heads = c["hidden_size"], c["intermediate_size"], c["num_attention_heads"]
        ln = lambda: nn.LayerNorm(d, eps=c["layer_norm_eps"])  # noqa: E731
        layer = lambda: Box(  # noqa: E731
            attention=Box(self=Box(query=nn.Linear(d, d), key=nn.Linear(d, d), value=nn.Linear(d, d)),
                          output=Box(dense=nn.Linear(d, d), LayerNorm=ln())),
            intermediate=Box(dense=nn.Linear(d, ff)), output=Box(dense=nn.Linear(ff, d), LayerNorm=ln()))
        embeddings = Box(word_embeddings=nn.Embedding(c["vocab_size"], d, padding_idx=c["pad_token_id"]),
                         position_embeddings=nn.Embedding(c["max_position_embeddings"], d),
                         token_type_embeddings=nn.Embedding(c["type_vocab_size"], d), LayerNorm=ln())
        embeddings.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)), persistent=False)
        self.bert = Box(embeddings=embeddings, encoder=Box(layer=nn.ModuleList(layer() for _ in range(c["num_hidden_layers"]))))
        predictions = Box(transform=Box(dense=nn.Linear(d, d), LayerNorm=ln()), decoder=nn.Linear(d, c["vocab_size"], bias=False),
                          bias=nn.Parameter(torch.zeros(c["vocab_size"])))
        self.cls = Box(predictions=predictions)
        predictions.decoder.weight = embeddings.word_embeddings.weight  # tied

    def forward(self, input_ids, attention_mask, token_type_ids):
        e = self.bert.embeddings
        pos = e.position_ids[:, : input_ids.size(1)]
        x = e.LayerNorm(e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids) + e.position_embeddings(pos))
        mask = extended_mask(attention_mask)
        attentions = []
        for layer in self.bert.encoder.layer:
            s = layer.attention.self
            q, k, v = (split_heads(m(x), self.heads) for m in (s.query, s.key, s.value))
            a, probs = attend(q, k, v, mask, 1 / math.sqrt(q.size(-1)))
            x = layer.attention.output.LayerNorm(layer.attention.output.dense(a) + x)
            x = layer.output.LayerNorm(layer.output.dense(F.gelu(layer.intermediate.dense(x))) + x)
            attentions.append(probs)
        p = self.cls.predictions
        return p.decoder(p.transform.LayerNorm(F.gelu(p.transform.dense(x)))) + p.bias, x, attentions


def relative_position_bucket(rel, bidirectional, num_buckets, max_distance):
    """T5's buckets: exact for small distances, logarithmic up to max_distance; signed when bidirectional."""
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(rel < max_exact, rel, large)


class T5ForConditionalGeneration(nn.Module):
    """RMS norms, relative position buckets (first block of each stack), unscaled dot products, a decoder with
    causal self-attention and cross-attention, and a tied lm_head scaled by d_model^-0.5."""
    def __init__(self, c):
        super().__init__()
        self.c, d, inner = c, c["d_model"], c["num_heads"] * c["d_kv"]
        norm = lambda: T5LayerNorm(d, c["layer_norm_epsilon"])  # noqa: E731
        linear = lambda n_in, n_out: nn.Linear(n_in, n_out, bias=False)  # noqa: E731

        def attention(relative):
            a = Box(q=linear(d, inner), k=linear(d, inner), v=linear(d, inner), o=linear(inner, d))
            if relative:
                a.relative_attention_bias = nn.Embedding(c["relative_attention_num_buckets"], c["num_heads"])
            return a

        def stack(n, decoder):
            def block(i):
                parts = [Box(SelfAttention=attention(i == 0), layer_norm=norm())]
                parts += [Box(EncDecAttention=attention(False), layer_norm=norm())] if decoder else []
                return Box(layer=nn.ModuleList(parts + [Box(DenseReluDense=Box(wi=linear(d, c["d_ff"]), wo=linear(c["d_ff"], d)), layer_norm=norm())]))
            return Box(embed_tokens=self.shared, block=nn.ModuleList(block(i) for i in range(n)), final_layer_norm=norm())

        self.shared = nn.Embedding(c["vocab_size"], d)
        self.encoder = stack(c["num_layers"], False)
        self.decoder = stack(c["num_decoder_layers"], True)
        self.lm_head = linear(d, c["vocab_size"])
        self.lm_head.weight = self.shared.weight  # tied

    def run_stack(self, s, ids, mask, memory=None, memory_mask=None):
        heads, T, decoder = self.c["num_heads"], ids.size(1), memory is not None
        x = s.embed_tokens(ids)
        rel = torch.arange(T)[None, :] - torch.arange(T)[:, None]
        buckets = relative_position_bucket(rel, not decoder, self.c["relative_attention_num_buckets"], self.c["relative_attention_max_distance"])
        bias = s.block[0].layer[0].SelfAttention.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0) + extended_mask(mask)
        if decoder:
            bias = bias + (1.0 - (rel <= 0).to(torch.float32))[None, None] * NEG
        selfs, crosses = [], []
        for block in s.block:
            sa, ff = block.layer[0], block.layer[-1]
            h = sa.layer_norm(x)
            a, probs = attend(*(split_heads(m(h), heads) for m in (sa.SelfAttention.q, sa.SelfAttention.k, sa.SelfAttention.v)), bias, 1.0)
            x = x + sa.SelfAttention.o(a)
            selfs.append(probs)
            if decoder:
                ca = block.layer[1].EncDecAttention
                q = split_heads(ca.q(block.layer[1].layer_norm(x)), heads)
                a, probs = attend(q, split_heads(ca.k(memory), heads), split_heads(ca.v(memory), heads), extended_mask(memory_mask), 1.0)
                x = x + ca.o(a)
                crosses.append(probs)
            x = x + ff.DenseReluDense.wo(F.relu(ff.DenseReluDense.wi(ff.layer_norm(x))))
        return s.final_layer_norm(x), selfs, crosses

    def forward(self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask=None):
        memory, enc, _ = self.run_stack(self.encoder, input_ids, attention_mask)
        dmask = torch.ones_like(decoder_input_ids) if decoder_attention_mask is None else decoder_attention_mask
        out, dec, cross = self.run_stack(self.decoder, decoder_input_ids, dmask, memory, attention_mask)
        return self.lm_head(out * self.c["d_model"] ** -0.5), enc, dec, cross


# --------------------------------------------------------------------------------------------------------
# Weights, export, reference.

def init_weights(model, seed):
    """Seeded weights large enough that attention is not uniform; LayerNorm gains near 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("LayerNorm.weight") or ".ln_" in name or "layer_norm" in name or name.endswith("ln_f.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name or name.endswith(("wte.weight", "wpe.weight", "shared.weight", "relative_attention_bias.weight")):
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[0] if ".c_" in name else p.shape[1]  # Conv1D is [in, out], nn.Linear [out, in]
                p.copy_(torch.randn(p.shape, generator=g) * 1.5 / math.sqrt(fan_in))
    return model.eval()


def export(name, kind, config, model, forward, inputs, outputs):
    """Writes test/fixtures/hf/<name>/: `forward` exported as the model's forward (so weights keep their Hugging
    Face names), inputs {name: (dummy tensor, dynamic axes)}, outputs {name: dynamic axes}, config.json and the
    tokenizer. No constant folding, which would store a transposed copy of the tied embedding."""
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(TOKENIZERS[kind], os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    path = os.path.join(folder, "model.onnx")
    model.forward = forward
    try:
        torch.onnx.export(model, tuple(t for t, _ in inputs.values()), path, input_names=list(inputs), output_names=list(outputs),
                          dynamic_axes={**{n: ax for n, (_, ax) in inputs.items()}, **outputs}, opset_version=17, do_constant_folding=False)
    finally:
        del model.forward
    m = onnx.load(path)
    onnx.checker.check_model(m)
    wrong = [o.name for o in m.graph.output if o.type.tensor_type.elem_type != onnx.TensorProto.FLOAT]
    assert not wrong, f"{path}: outputs {wrong} are not float32"
    print(f"{name}: model.onnx {os.path.getsize(path) / 1024:.0f} KB")


def bpe_encode(text, path):
    """Byte-level BPE by merge rank, for ASCII text only (the pre-tokenizer's \\p{L}, \\p{N} as [A-Za-z], [0-9])."""
    with open(path, encoding="utf-8") as f:
        model = json.load(f)["model"]
    ranks = {tuple(m.split(" ") if isinstance(m, str) else m): i for i, m in enumerate(model["merges"])}
    pattern = r"'(?:[sdmt]|ll|ve|re)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    # GPT-2's byte-to-unicode map on ASCII: "!".."~" stand for themselves, bytes 0-32 become U+0100-U+0120, 127 U+0121.
    byte_char = {b: chr(b) if 33 <= b <= 126 else chr(256 + b if b <= 32 else 289) for b in range(128)}
    ids = []
    for piece in re.findall(pattern, text):
        parts = [byte_char[b] for b in piece.encode("ascii")]
        while len(parts) > 1:
            pairs = [(ranks.get((parts[i], parts[i + 1]), math.inf), i) for i in range(len(parts) - 1)]
            rank, i = min(pairs)
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [model["vocab"][p] for p in parts]
    return ids


def as_list(t, digits=6):
    return np.round(t.detach().numpy().astype(np.float64), digits).tolist()


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(ROOT, "test", "fixtures", "tokenizers", "reference.json"), encoding="utf-8") as f:
        tok_ref = json.load(f)["fixtures"]
    reference = {"note": "Written by training/hf_like_models.py: PyTorch outputs of the models in test/fixtures/hf "
                 "(logits: every position, the first 16 vocabulary entries; attentions: whole).", "models": {}}
    L = 2
    seq = {0: "batch_size", 1: "sequence_length"}
    att = {0: "batch_size", 2: "sequence_length", 3: "sequence_length"}

    # GPT-2: with attentions, and as Optimum's default text-generation-with-past decoder (caches in, presents out).
    c = gpt2_config()
    gpt2 = init_weights(GPT2LMHeadModel(c), 1)
    text = "def add(a, b):\n    return a + b\n"
    ids = torch.tensor([bpe_encode(text, TOKENIZERS["gpt2"])])
    T, hd = ids.size(1), c["n_embd"] // c["n_head"]
    mask, pos = torch.ones_like(ids), torch.arange(T)[None]
    with torch.no_grad():
        logits, _, attentions = gpt2(ids, mask, pos)
    export("gpt2-attn", "gpt2", c, gpt2, lambda i, m, p: (lambda o: (o[0], *o[2]))(GPT2LMHeadModel.forward(gpt2, i, m, p)),
           {"input_ids": (ids, seq), "attention_mask": (mask, seq), "position_ids": (pos, seq)},
           {"logits": seq, **{f"attentions.{i}": att for i in range(L)}})
    kv = [f"{i}.{k}" for i in range(L) for k in ("key", "value")]
    total = "past_sequence_length + sequence_length"
    export("gpt2-plain", "gpt2", c, gpt2,
           lambda i, m, p, *past: (lambda o: (o[0], *[t for pair in o[1] for t in pair]))(GPT2LMHeadModel.forward(gpt2, i, m, p, [past[2 * j: 2 * j + 2] for j in range(L)])),
           {"input_ids": (ids, seq), "attention_mask": (torch.ones(1, T + 3, dtype=torch.long), {0: "batch_size", 1: total}), "position_ids": (pos + 3, seq),
            **{f"past_key_values.{n}": (torch.zeros(1, c["n_head"], 3, hd), {0: "batch_size", 2: "past_sequence_length"}) for n in kv}},
           {"logits": seq, **{f"present.{n}": {0: "batch_size", 2: total} for n in kv}})
    ref = {"text": text, "inputs": {"input_ids": ids[0].tolist()}, "logits": as_list(logits[0, :, :16])}
    reference["models"]["gpt2-attn"] = {**ref, "outputs": {f"attentions.{i}": as_list(a[0]) for i, a in enumerate(attentions)}}
    reference["models"]["gpt2-plain"] = {**ref, "emptyCache": {f"past_key_values.{n}": [1, c["n_head"], 0, hd] for n in kv}}

    # BERT: with attentions and the last hidden state, and as Optimum's default fill-mask export (logits only).
    c = bert_config()
    bert = init_weights(BertForMaskedLM(c), 2)
    sample = tok_ref["wordpiece.json"][0]
    ids = torch.tensor([sample["idsWithSpecialTokens"]])
    inputs = {"input_ids": (ids, seq), "attention_mask": (torch.ones_like(ids), seq), "token_type_ids": (torch.zeros_like(ids), seq)}
    with torch.no_grad():
        logits, last, attentions = bert(*(t for t, _ in inputs.values()))
    export("bert-attn", "bert", c, bert, lambda *a: (lambda o: (o[0], *o[2], o[1]))(BertForMaskedLM.forward(bert, *a)), inputs,
           {"logits": seq, **{f"attentions.{i}": att for i in range(L)}, "last_hidden_state": seq})
    export("bert-plain", "bert", c, bert, lambda *a: BertForMaskedLM.forward(bert, *a)[0], inputs, {"logits": seq})
    ref = {"text": sample["text"], "inputs": {"input_ids": ids[0].tolist()}, "logits": as_list(logits[0, :, :16])}
    reference["models"]["bert-attn"] = {**ref, "outputs": {**{f"attentions.{i}": as_list(a[0]) for i, a in enumerate(attentions)}, "last_hidden_state": as_list(last[0])}}
    reference["models"]["bert-plain"] = ref

    # T5: Optimum splits a T5 export into encoder_model.onnx and decoder_model(_with_past).onnx, the decoder taking
    # encoder_hidden_states; that pair is more than these fixtures need, so both T5 exports here are single
    # seq2seq graphs (the layout of transformers.onnx's "seq2seq-lm"): the plain one has logits only.
    c = t5_config()
    t5 = init_weights(T5ForConditionalGeneration(c), 3)
    sample = tok_ref["unigram.json"][0]
    ids = torch.tensor([sample["idsWithSpecialTokens"]])
    dec = torch.tensor([[c["decoder_start_token_id"]] + sample["ids"]])
    S, D = {0: "batch_size", 1: "encoder_sequence_length"}, {0: "batch_size", 1: "decoder_sequence_length"}
    inputs = {"input_ids": (ids, S), "attention_mask": (torch.ones_like(ids), S), "decoder_input_ids": (dec, D)}
    with torch.no_grad():
        logits, enc_att, dec_att, cross_att = t5(ids, torch.ones_like(ids), dec)
    axes = {"encoder": (S[1], S[1]), "decoder": (D[1], D[1]), "cross": (D[1], S[1])}
    export("t5-attn", "t5", c, t5, lambda *a: (lambda o: (o[0], *o[1], *o[2], *o[3]))(T5ForConditionalGeneration.forward(t5, *a)), inputs,
           {"logits": D, **{f"{k}_attentions.{i}": {0: "batch_size", 2: q, 3: k_} for k, (q, k_) in axes.items() for i in range(L)}})
    export("t5-plain", "t5", c, t5, lambda *a: T5ForConditionalGeneration.forward(t5, *a)[0],
           {**inputs, "decoder_attention_mask": (torch.ones_like(dec), D)}, {"logits": D})
    ref = {"text": sample["text"], "inputs": {"input_ids": ids[0].tolist(), "decoder_input_ids": dec[0].tolist()}, "logits": as_list(logits[0, :, :16])}
    groups = (("encoder", enc_att), ("decoder", dec_att), ("cross", cross_att))
    reference["models"]["t5-attn"] = {**ref, "outputs": {f"{k}_attentions.{i}": as_list(a[0]) for k, group in groups for i, a in enumerate(group)}}
    reference["models"]["t5-plain"] = ref

    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(reference, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
