"""The three bundled model architectures (training form).

* TransformerLM: decoder-only, pre-LayerNorm, ALiBi position biases, hand-written attention (the softmax
  probabilities can be returned), tied input/output embeddings.
* RNNLM: embedding -> nn.LSTM / nn.GRU (fused, fast to train) -> linear projection to the embedding width ->
  tied output embedding. export.py rebuilds the recurrence with hand-written cells that expose the gates.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "transformer": {"architecture": "transformer", "vocab_size": 4096, "d_model": 128, "n_layers": 4,
                    "n_heads": 4, "d_ff": 512},
    "lstm": {"architecture": "lstm", "vocab_size": 4096, "d_emb": 128, "hidden": 256, "n_layers": 2},
    "gru": {"architecture": "gru", "vocab_size": 4096, "d_emb": 128, "hidden": 256, "n_layers": 2},
    "elman": {"architecture": "elman", "vocab_size": 4096, "d_emb": 128, "hidden": 256, "n_layers": 2},
    "linear": {"architecture": "linear-attention", "vocab_size": 4096, "d_model": 128, "n_layers": 4,
               "n_heads": 4, "d_ff": 512},
    "window": {"architecture": "sliding-window-transformer", "vocab_size": 4096, "d_model": 128, "n_layers": 4,
               "n_heads": 4, "d_ff": 512, "window": 64, "global_tokens": 1},
    "mamba": {"architecture": "mamba", "vocab_size": 4096, "d_model": 128, "n_layers": 4, "d_inner": 256,
              "d_state": 8, "dt_rank": 8, "d_conv": 4},
}
# Stage 2 of the Transformer continues stage 1 ("transformer-base", the first bundled model) with a data mix
# that adds repeated spans of real code, the pattern induction heads copy.
CONFIGS["transformer-base"] = dict(CONFIGS["transformer"])
# Stage 2 learns its ALiBi slopes (log-parametrised, initialised at Press et al.'s values): with the fixed
# slopes (at most 1/4 per token) no head can put more than about a fifth of its weight on the previous token.
CONFIGS["transformer"]["learned_slopes"] = True
# Stage 3 (the bundled Transformer) adds a learned bias per layer and head for the nearest distances 0..3 on
# top of ALiBi, initialised at 0 (stage 2's function unchanged). ALiBi alone always favours distance 0 over 1, so a
# head can single out the previous token only through content; with this table it can do so by position,
# the previous-token head that an induction head composes with (Olsson et al. 2022). T5's relative position
# buckets give the nearest distances their own bias the same way.
CONFIGS["transformer-stage2"] = dict(CONFIGS["transformer"])
CONFIGS["transformer"]["near_bias"] = 4


def alibi_slopes(n_heads):
    """Press et al. 2022: geometric sequence starting at 2^(-8/n)."""
    def pow2(n):
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]
    if math.log2(n_heads).is_integer():
        return pow2(n_heads)
    m = 2 ** math.floor(math.log2(n_heads))
    return pow2(m) + alibi_slopes(2 * m)[0::2][: n_heads - m]


class Block(nn.Module):
    def __init__(self, d, h, d_ff):
        super().__init__()
        self.h = h
        self.d = d
        self.hd = d // h
        self.scale = 1.0 / math.sqrt(d // h)
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, d_ff)
        self.fc2 = nn.Linear(d_ff, d)

    def forward(self, x, bias, past_k=None, past_v=None):
        # x [B,T,d]; bias [H,T,P+T] (ALiBi distance penalty, -inf after the query); past_k, past_v [B,H,P,hd]:
        # the keys and values of P earlier tokens (a cache), which the queries see before the T new keys.
        B, T = x.shape[0], x.shape[1]
        d, hd = self.d, self.hd
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.reshape(B, T, self.h, hd).transpose(1, 2)
        k = k.reshape(B, T, self.h, hd).transpose(1, 2)
        v = v.reshape(B, T, self.h, hd).transpose(1, 2)
        if past_k is not None:
            k = torch.cat([past_k, k], 2)
            v = torch.cat([past_v, v], 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale + bias
        att = torch.softmax(scores, dim=-1)  # [B,H,T,T]
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, d)
        x = x + self.proj(y)
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x, att, k, v


class TransformerLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.emb = nn.Embedding(cfg["vocab_size"], d)
        self.blocks = nn.ModuleList([Block(d, cfg["n_heads"], cfg["d_ff"]) for _ in range(cfg["n_layers"])])
        self.ln_f = nn.LayerNorm(d)
        slopes = torch.tensor(alibi_slopes(cfg["n_heads"]), dtype=torch.float32)
        if cfg.get("learned_slopes"):
            # The first head starts at slope 1 (a quarter of the weight per token of distance is too gentle to
            # single out the previous token); the others keep Press et al.'s values.
            self.slope_log = nn.Parameter(torch.log(slopes).index_fill(0, torch.tensor([0]), 0.0))
        else:
            self.register_buffer("fixed_slopes", slopes, persistent=False)
        if cfg.get("near_bias"):
            self.near_bias = nn.Parameter(torch.zeros(cfg["n_layers"], cfg["n_heads"], cfg["near_bias"]))
        self.apply(self._init)
        for b in self.blocks:  # GPT-2 style scaled init of the residual projections
            nn.init.normal_(b.proj.weight, std=0.02 / math.sqrt(2 * cfg["n_layers"]))
            nn.init.normal_(b.fc2.weight, std=0.02 / math.sqrt(2 * cfg["n_layers"]))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    @property
    def slopes(self):
        return torch.exp(self.slope_log) if self.cfg.get("learned_slopes") else self.fixed_slopes

    def alibi_bias(self, T, device, P=0):
        """The bias of T queries at positions P..P+T-1 over the P+T keys 0..P+T-1 (P cached ones first)."""
        keys = torch.arange(P + T, device=device)
        queries = keys[P:]
        rel = (keys.view(1, -1) - queries.view(-1, 1)).to(torch.float32)  # k - q: 0 on the diagonal, < 0 in the past
        bias = self.slopes.view(-1, 1, 1) * rel.unsqueeze(0)
        return bias.masked_fill(rel.unsqueeze(0) > 0, float("-inf")), rel

    def layer_bias(self, base, rel, layer):
        """ALiBi plus, when configured, this layer's learned bias of each head for the distances 0..n-1."""
        if not self.cfg.get("near_bias"):
            return base
        n = self.cfg["near_bias"]
        table = self.near_bias[layer]
        table = torch.cat([table, torch.zeros_like(table[:, :1])], 1)  # [H, n + 1]
        dist = (-rel).clamp(0, n).to(torch.int64)  # distances >= n read the last column, 0
        return base + table[:, dist]

    def forward(self, ids, need_internals=False, past_keys=None, past_values=None):
        """past_keys, past_values [L,B,H,P,hd]: a cache of P earlier tokens (the export's occlusion runs only the
        tokens after a replaced one); with need_internals the keys and values of all P+T tokens come back too."""
        x = self.emb(ids)
        P = 0 if past_keys is None else past_keys.shape[3]
        base, rel = self.alibi_bias(ids.shape[1], ids.device, P)
        hidden = [x]
        atts, keys, values = [], [], []
        for i, b in enumerate(self.blocks):
            past = (None, None) if past_keys is None else (past_keys[i], past_values[i])
            x, att, k, v = b(x, self.layer_bias(base, rel, i), *past)
            if need_internals:
                hidden.append(x)
                atts.append(att)
                keys.append(k)
                values.append(v)
        logits = F.linear(self.ln_f(x), self.emb.weight)
        if need_internals:
            return logits, torch.stack(atts), torch.stack(hidden), torch.stack(keys), torch.stack(values)
        return logits


class RNNLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        V, E, H, L = cfg["vocab_size"], cfg["d_emb"], cfg["hidden"], cfg["n_layers"]
        self.emb = nn.Embedding(V, E)
        rnn = nn.LSTM if cfg["architecture"] == "lstm" else nn.GRU
        self.rnn = rnn(E, H, num_layers=L, batch_first=True)
        self.proj = nn.Linear(H, E)
        # N(0, 0.1): with the tied output N(0, 0.02) sat on a unigram plateau for 140+ steps.
        nn.init.normal_(self.emb.weight, std=0.1)

    def forward(self, ids, state=None):
        y, state = self.rnn(self.emb(ids), state)
        return F.linear(self.proj(y), self.emb.weight), state


def build(model_id):
    import family_models
    cfg = dict(CONFIGS[model_id])
    kinds = {"transformer": TransformerLM, "lstm": RNNLM, "gru": RNNLM, "elman": family_models.ElmanLM,
             "linear-attention": family_models.LinearAttentionLM,
             "sliding-window-transformer": family_models.WindowedTransformerLM, "mamba": family_models.MambaLM}
    return kinds[cfg["architecture"]](cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())
