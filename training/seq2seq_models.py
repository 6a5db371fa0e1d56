"""The three bundled models that read a whole sequence rather than a prefix (training form, also the export form
apart from the Bahdanau decoder's hand-written loop in export_seq2seq.py).

* EncoderMLM: encoder-only Transformer (BERT recipe, masked-language modelling), pre-LayerNorm, bidirectional
  attention with T5 relative position buckets (one table shared by all layers, as in T5), tied embeddings.
* T5Like: encoder-decoder Transformer in the style of T5 (relative position buckets: bidirectional in the
  encoder, causal in the decoder; cross-attention without position bias), trained on span infilling.
* BahdanauSeq2Seq: bidirectional GRU encoder, GRU decoder with additive attention (Bahdanau et al. 2015):
  e_ij = v^T tanh(W s_(i-1) + U h_j), alpha_i = softmax_j(e_i), c_i = sum_j alpha_ij h_j, decoder input
  [embedding(y_(i-1)); c_i].

All share the byte-level BPE of the other bundled models plus four special tokens appended after it.
Position biases are looked up in a table indexed by the clamped relative distance (the T5 bucket of every
distance up to max_distance is precomputed), so the exported graph has no float-to-int rounding that could put a
distance into a different bucket than PyTorch does.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BASE_VOCAB = 4096
EOT = 4095
PAD, MASK, EXTRA0, EXTRA1 = 4096, 4097, 4098, 4099
SPECIAL_TOKENS = [(PAD, "<pad>"), (MASK, "<mask>"), (EXTRA0, "<extra_id_0>"), (EXTRA1, "<extra_id_1>")]
VOCAB = 4100

CONFIGS = {
    "encoder": {"architecture": "encoder-transformer", "vocab_size": VOCAB, "d_model": 128, "n_layers": 4,
                "n_heads": 4, "d_ff": 512, "num_buckets": 32, "max_distance": 128},
    "t5": {"architecture": "encoder-decoder-transformer", "vocab_size": VOCAB, "d_model": 128,
           "encoder_layers": 2, "decoder_layers": 2, "n_heads": 4, "d_ff": 512, "num_buckets": 32,
           "max_distance": 128},
    "bahdanau": {"architecture": "rnn-encoder-decoder-attention", "vocab_size": VOCAB, "d_emb": 128,
                 "encoder_hidden": 128, "decoder_hidden": 256, "attention_dim": 128},
}


def t5_bucket(rel, bidirectional, num_buckets, max_distance):
    """T5's relative_position_bucket (Raffel et al. 2020; rel = key - query) for integer distances."""
    bucket = 0
    if bidirectional:
        num_buckets //= 2
        bucket = num_buckets if rel > 0 else 0
        n = abs(rel)
    else:
        n = max(-rel, 0)
    max_exact = num_buckets // 2
    if n < max_exact:
        return bucket + n
    large = max_exact + int(math.log(n / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact))
    return bucket + min(large, num_buckets - 1)


class RelativeBias(nn.Module):
    """Learned bias per head and T5 bucket; bias(T) -> [H, T, T] (causal: -inf above the diagonal)."""

    def __init__(self, n_heads, bidirectional, num_buckets, max_distance):
        super().__init__()
        self.bidirectional = bidirectional
        self.max_distance = max_distance
        self.table = nn.Embedding(num_buckets, n_heads)
        lut = [t5_bucket(r, bidirectional, num_buckets, max_distance) for r in range(-max_distance, max_distance + 1)]
        self.register_buffer("bucket_of", torch.tensor(lut, dtype=torch.int64), persistent=False)

    def forward(self, T):
        pos = torch.arange(T, device=self.bucket_of.device)
        rel = pos.view(1, -1) - pos.view(-1, 1)  # key - query
        idx = rel.clamp(-self.max_distance, self.max_distance) + self.max_distance
        bias = self.table(self.bucket_of[idx]).permute(2, 0, 1)  # [H, T, T]
        if not self.bidirectional:
            bias = bias.masked_fill(rel.unsqueeze(0) > 0, float("-inf"))
        return bias


class Attention(nn.Module):
    """Multi-head attention whose softmax probabilities are returned. kv=None: self-attention."""

    def __init__(self, d, h):
        super().__init__()
        self.h, self.d, self.hd = h, d, d // h
        self.scale = 1.0 / math.sqrt(d // h)
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x, kv, bias):
        B, T, S = x.shape[0], x.shape[1], kv.shape[1]
        q = self.q(x).reshape(B, T, self.h, self.hd).transpose(1, 2)
        k, v = self.kv(kv).split(self.d, dim=-1)
        k = k.reshape(B, S, self.h, self.hd).transpose(1, 2)
        v = v.reshape(B, S, self.h, self.hd).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if bias is not None:
            scores = scores + bias
        att = torch.softmax(scores, dim=-1)  # [B, H, T, S]
        return self.proj(torch.matmul(att, v).transpose(1, 2).reshape(B, T, self.d)), att


class Layer(nn.Module):
    """Pre-LayerNorm block: self-attention, optional cross-attention, feed-forward."""

    def __init__(self, d, h, d_ff, cross=False):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.att = Attention(d, h)
        if cross:
            self.ln_x = nn.LayerNorm(d)
            self.cross = Attention(d, h)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)

    def forward(self, x, bias, memory=None):
        y = self.ln1(x)
        a, att = self.att(y, y, bias)
        x = x + a
        cross = None
        if memory is not None:
            a, cross = self.cross(self.ln_x(x), memory, None)
            x = x + a
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x, att, cross


def gpt_init(module, n_layers):
    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
    module.apply(init)
    for m in module.modules():  # GPT-2 style scaled init of the residual projections
        if isinstance(m, Layer):
            for lin in (m.att.proj, m.fc2) + ((m.cross.proj,) if hasattr(m, "cross") else ()):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * n_layers))


class EncoderMLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.emb = nn.Embedding(cfg["vocab_size"], d)
        self.rel = RelativeBias(cfg["n_heads"], True, cfg["num_buckets"], cfg["max_distance"])
        self.blocks = nn.ModuleList([Layer(d, cfg["n_heads"], cfg["d_ff"]) for _ in range(cfg["n_layers"])])
        self.ln_f = nn.LayerNorm(d)
        self.out_bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
        gpt_init(self, cfg["n_layers"])

    def forward(self, ids, need_internals=False):
        x = self.emb(ids)
        bias = self.rel(ids.shape[1])
        hidden, atts = [x], []
        for b in self.blocks:
            x, att, _ = b(x, bias)
            hidden.append(x)
            atts.append(att)
        logits = F.linear(self.ln_f(x), self.emb.weight, self.out_bias)
        if need_internals:
            return logits, torch.stack(atts), torch.stack(hidden)
        return logits


class T5Like(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, h = cfg["d_model"], cfg["n_heads"]
        self.emb = nn.Embedding(cfg["vocab_size"], d)
        self.enc_rel = RelativeBias(h, True, cfg["num_buckets"], cfg["max_distance"])
        self.dec_rel = RelativeBias(h, False, cfg["num_buckets"], cfg["max_distance"])
        self.encoder = nn.ModuleList([Layer(d, h, cfg["d_ff"]) for _ in range(cfg["encoder_layers"])])
        self.decoder = nn.ModuleList([Layer(d, h, cfg["d_ff"], cross=True) for _ in range(cfg["decoder_layers"])])
        self.ln_enc = nn.LayerNorm(d)
        self.ln_f = nn.LayerNorm(d)
        self.out_bias = nn.Parameter(torch.zeros(cfg["vocab_size"]))
        gpt_init(self, cfg["encoder_layers"] + cfg["decoder_layers"])

    def encode(self, src):
        x = self.emb(src)
        bias = self.enc_rel(src.shape[1])
        atts, hidden = [], [x]
        for b in self.encoder:
            x, att, _ = b(x, bias)
            atts.append(att)
            hidden.append(x)
        return self.ln_enc(x), atts, hidden

    def decode(self, memory, tgt):
        y = self.emb(tgt)
        bias = self.dec_rel(tgt.shape[1])
        selfs, crosses, hidden = [], [], [y]
        for b in self.decoder:
            y, att, cross = b(y, bias, memory)
            selfs.append(att)
            crosses.append(cross)
            hidden.append(y)
        return F.linear(self.ln_f(y), self.emb.weight, self.out_bias), selfs, crosses, hidden

    def memory(self, src):
        return self.encode(src)[0]

    def decode_logits(self, memory, tgt):
        return self.decode(memory, tgt)[0]

    def forward(self, src, tgt, need_internals=False):
        memory, enc_atts, enc_hidden = self.encode(src)
        logits, selfs, crosses, dec_hidden = self.decode(memory, tgt)
        if need_internals:
            return (logits, torch.stack(enc_atts), torch.stack(selfs), torch.stack(crosses),
                    torch.stack(enc_hidden), torch.stack(dec_hidden))
        return logits


class BahdanauSeq2Seq(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        V, E, He, Hd, A = (cfg["vocab_size"], cfg["d_emb"], cfg["encoder_hidden"], cfg["decoder_hidden"],
                           cfg["attention_dim"])
        self.emb = nn.Embedding(V, E)
        self.encoder = nn.GRU(E, He, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(He, Hd)  # s_0 = tanh(W_s h_1 backward), as in Bahdanau et al.
        self.att_W = nn.Linear(Hd, A, bias=False)
        self.att_U = nn.Linear(2 * He, A)
        self.att_v = nn.Linear(A, 1, bias=False)
        self.cell = nn.GRUCell(E + 2 * He, Hd)
        self.readout = nn.Linear(Hd + 2 * He + E, E)
        self.out_bias = nn.Parameter(torch.zeros(V))
        # N(0, 0.1): with the tied output N(0, 0.02) the bundled RNN LMs sat on a unigram plateau.
        nn.init.normal_(self.emb.weight, std=0.1)

    def encode(self, src):
        h, _ = self.encoder(self.emb(src))  # [B, S, 2He]: forward and backward states concatenated
        He = self.cfg["encoder_hidden"]
        s0 = torch.tanh(self.init_state(h[:, 0, He:]))
        return h, s0

    def attend(self, s_prev, h, Uh):
        e = self.att_v(torch.tanh(self.att_W(s_prev).unsqueeze(1) + Uh)).squeeze(-1)  # [B, S]
        alpha = torch.softmax(e, dim=-1)
        return alpha, torch.bmm(alpha.unsqueeze(1), h).squeeze(1)

    def memory(self, src):
        return self.encode(src)

    def decode_logits(self, memory, tgt):
        h, s = memory
        Uh = self.att_U(h)
        y = self.emb(tgt)
        outs = []
        for i in range(tgt.shape[1]):
            _, c = self.attend(s, h, Uh)
            s = self.cell(torch.cat([y[:, i], c], -1), s)
            outs.append(torch.cat([s, c, y[:, i]], -1))
        o = self.readout(torch.stack(outs, 1))
        return F.linear(o, self.emb.weight, self.out_bias)

    def forward(self, src, tgt):
        return self.decode_logits(self.encode(src), tgt)


def build(model_id):
    cfg = dict(CONFIGS[model_id])
    kinds = {"encoder-transformer": EncoderMLM, "encoder-decoder-transformer": T5Like,
             "rnn-encoder-decoder-attention": BahdanauSeq2Seq}
    return kinds[cfg["architecture"]](cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())
