"""The rest of the seeds' family tree as causal language models (training form), on the bundled tokenizer:

* ElmanLM: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh), nn.RNN (fused) for training; export.py rebuilds
  the recurrence by hand so every hidden state is an output.
* LinearAttentionLM: Katharopoulos et al. 2020, phi(x) = elu(x) + 1, causal. Trained in the parallel form
  W(t, k) = phi(q_t).phi(k_k) / sum_(m<=t) phi(q_t).phi(k_m); the recurrent form (S_t, z_t) is exported too.
* WindowedTransformerLM: the bundled Transformer (ALiBi) with a sliding window of `window` keys and
  `global_tokens` attention sinks every query also sees.
* MambaLM: a selective state-space model (S6, Gu & Dao 2023): input-dependent delta, B, C; diagonal A; a causal
  depthwise convolution before the scan; y = (scan(x) + D x) * silu(z).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import Block, TransformerLM


class ElmanLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        V, E, H, L = cfg["vocab_size"], cfg["d_emb"], cfg["hidden"], cfg["n_layers"]
        self.emb = nn.Embedding(V, E)
        self.rnn = nn.RNN(E, H, num_layers=L, nonlinearity="tanh", batch_first=True)
        self.proj = nn.Linear(H, E)
        nn.init.normal_(self.emb.weight, std=0.1)

    def forward(self, ids, state=None):
        y, state = self.rnn(self.emb(ids), state)
        return F.linear(self.proj(y), self.emb.weight), state


def phi(x):
    return F.elu(x) + 1.0


class LinearBlock(Block):
    """A pre-LayerNorm block whose attention is causal linear attention (same parameters as Block)."""

    def forward(self, x, bias=None, need_internals=False, initial=None):
        """initial (export only): the recurrent form's state (S_0 [B,H,hd,hd], z_0 [B,H,hd]) of earlier tokens, which
        joins every row's sums: out_t = (S_0^T phi(q_t) + sum_k ...) / (z_0.phi(q_t) + sum_k ...)."""
        B, T = x.shape[0], x.shape[1]
        d, hd = self.d, self.hd
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = phi(q.reshape(B, T, self.h, hd).transpose(1, 2))  # [B,H,T,hd]
        k = phi(k.reshape(B, T, self.h, hd).transpose(1, 2))
        v = v.reshape(B, T, self.h, hd).transpose(1, 2)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        scores = torch.matmul(q, k.transpose(-1, -2)).masked_fill(~mask, 0.0)
        den = scores.sum(-1, keepdim=True)
        if initial is not None:
            den = den + torch.matmul(q, initial[1].unsqueeze(-1))
        att = scores / den
        mixed = torch.matmul(att, v)  # [B,H,T,hd]
        if initial is not None:
            mixed = mixed + torch.matmul(q, initial[0]) / den
        x = x + self.proj(mixed.transpose(1, 2).reshape(B, T, d))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        if need_internals:
            return x, (att, q, k, v, mixed)
        return x, att


class LinearAttentionLM(TransformerLM):
    def __init__(self, cfg):
        super().__init__(cfg)
        d = cfg["d_model"]
        blocks = [LinearBlock(d, cfg["n_heads"], cfg["d_ff"]) for _ in range(cfg["n_layers"])]
        for b, old in zip(blocks, self.blocks):
            b.load_state_dict(old.state_dict())
        self.blocks = nn.ModuleList(blocks)

    def forward(self, ids, need_internals=False, initial=None):
        """initial (export only): the recurrent form's state (S_0 [L,B,H,hd,hd], z_0 [L,B,H,hd]) of earlier tokens."""
        x = self.emb(ids)
        hidden, parts = [x], []
        for layer, b in enumerate(self.blocks):
            x, p = b(x, None, need_internals, None if initial is None else (initial[0][layer], initial[1][layer]))
            if need_internals:
                hidden.append(x)
                parts.append(p)
        logits = F.linear(self.ln_f(x), self.emb.weight)
        if need_internals:
            return logits, parts, torch.stack(hidden)
        return logits


class WindowedTransformerLM(TransformerLM):
    def alibi_bias(self, T, device, P=0):
        bias, rel = super().alibi_bias(T, device, P)
        keys = torch.arange(P + T, device=device)
        dist = keys[P:].view(-1, 1) - keys.view(1, -1)  # q - k
        outside = (dist >= self.cfg["window"]) & (keys.view(1, -1) >= self.cfg["global_tokens"])
        return bias.masked_fill(outside.unsqueeze(0), float("-inf")), rel


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class MambaBlock(nn.Module):
    def __init__(self, d, d_inner, d_state, dt_rank, d_conv):
        super().__init__()
        self.d_inner, self.d_state, self.dt_rank = d_inner, d_state, dt_rank
        self.norm = RMSNorm(d)
        self.in_proj = nn.Linear(d, 2 * d_inner, bias=False)
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner)
        # S4D-real initialisation A[d, n] = -(n + 1); delta in [1e-3, 1e-1] (Gu & Dao 2023).
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d, bias=False)
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))

    def ssm_inputs(self, h):
        """h [B,T,d] -> x [B,T,D] (after conv and SiLU), z [B,T,D], delta [B,T,D], Bm [B,T,N], Cm [B,T,N], A [D,N]."""
        T = h.shape[1]
        x, z = self.in_proj(self.norm(h)).chunk(2, dim=-1)
        x = F.silu(self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2))
        dbc = self.x_proj(x)
        dt, Bm, Cm = dbc.split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))
        return x, z, delta, Bm, Cm, -torch.exp(self.A_log)

    def forward(self, h):
        x, z, delta, Bm, Cm, A = self.ssm_inputs(h)
        B, T, D = x.shape
        s = torch.zeros(B, D, self.d_state, device=h.device)
        decay = torch.exp(delta.unsqueeze(-1) * A)  # [B,T,D,N]
        write = (delta * x).unsqueeze(-1) * Bm.unsqueeze(2)  # [B,T,D,N]
        ys = []
        # unbind, not indexing: the backward of x[:, t] allocates a full-size gradient at every step.
        for a_t, w_t, c_t in zip(decay.unbind(1), write.unbind(1), Cm.unbind(1)):
            s = a_t * s + w_t
            ys.append((s * c_t.unsqueeze(1)).sum(-1))
        y = torch.stack(ys, 1) + self.D * x
        return h + self.out_proj(y * F.silu(z))


class MambaLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.emb = nn.Embedding(cfg["vocab_size"], d)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.blocks = nn.ModuleList([MambaBlock(d, cfg["d_inner"], cfg["d_state"], cfg["dt_rank"], cfg["d_conv"])
                                     for _ in range(cfg["n_layers"])])
        self.norm_f = RMSNorm(d)
        for b in self.blocks:
            nn.init.normal_(b.out_proj.weight, std=0.02 / math.sqrt(2 * cfg["n_layers"]))

    def forward(self, ids):
        h = self.emb(ids)
        for b in self.blocks:
            h = b(h)
        return F.linear(self.norm_f(h), self.emb.weight)
