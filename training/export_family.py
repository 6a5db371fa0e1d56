"""Export forms and schema-2 tensor specs of the family-tree models (Elman RNN, linear attention, sliding-window
Transformer, selective state-space model), used by export.py.

Each export form returns its outputs in the order of its spec list; specs carry their schema-2 axes directly
("axes") and the export shape ("shape", strings are dynamic). Large per-token internals that are recomputed and
checked from smaller outputs in the tests (linear attention's state S_t, the state-space model's h_t and decay)
are left out of the reference texts ("omitFromReference").
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor



def axes_of(names, shape):
    return [{"name": n} if d == "B" else {"name": n, "size": d} for n, d in zip(names, shape)]


def spec(name, role, names, shape, description, **extra):
    # Per-token internals of the scan and of linear attention are written for the first reference text only.
    if role in ("mixing_parts", "selective_scan") and "position" in names:
        extra.setdefault("bulky", True)
    return {"name": name, "role": role, "dtype": "float32", "shape": shape, "axes": axes_of(names, shape),
            "description": description, **extra}


def logits_spec(cfg):
    return spec("logits", "logits", ["batch", "position", "vocab"], ["B", "T", cfg["vocab_size"]],
                "Next-token logits (unnormalised) at every position.")


def ids_spec():
    return {"name": "input_ids", "role": "input_ids", "dtype": "int64", "shape": ["B", "T"],
            "axes": [{"name": "batch"}, {"name": "position", "size": "T"}]}


def hidden_spec(cfg, norm):
    L, d = cfg["n_layers"], cfg["d_model"]
    return spec("hidden_states", "hidden_states", ["layer", "batch", "position", "feature"], [L + 1, "B", "T", d],
                "Residual stream: index 0 is the token embedding, index l the output of block l (before the final "
                "%s)." % norm)


# ---------------------------------------------------------------------------------------------------------
# Elman RNN

@torch.jit.script
def elman_layer(xp: Tensor, h: Tensor, w_hh_t: Tensor) -> Tuple[Tensor, Tensor]:
    """xp [B,T,H] = x W_ih^T + b_ih + b_hh. Returns hidden [B,T,H] and h_n [B,H]."""
    hiddens: List[Tensor] = []
    for t in range(xp.size(1)):
        h = torch.tanh(xp[:, t] + torch.matmul(h, w_hh_t))
        hiddens.append(h)
    return torch.stack(hiddens, 1), h


class ElmanExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, h0):
        x = self.lm.emb(input_ids)
        hiddens, hn = [], []
        for layer in range(self.lm.cfg["n_layers"]):
            w_ih = getattr(self.lm.rnn, "weight_ih_l%d" % layer)
            w_hh = getattr(self.lm.rnn, "weight_hh_l%d" % layer)
            b = getattr(self.lm.rnn, "bias_ih_l%d" % layer) + getattr(self.lm.rnn, "bias_hh_l%d" % layer)
            h_seq, h_last = elman_layer(torch.matmul(x, w_ih.t()) + b, h0[layer], w_hh.t())
            hiddens.append(h_seq)
            hn.append(h_last)
            x = h_seq
        return F.linear(self.lm.proj(x), self.lm.emb.weight), torch.stack(hiddens), torch.stack(hn)


def elman_specs(cfg):
    L, H = cfg["n_layers"], cfg["hidden"]
    inputs = [ids_spec(), spec("h0", "initial_state", ["layer", "batch", "unit"], [L, "B", H],
                               "Initial hidden state per layer (zeros for a fresh start; h_n of the previous chunk "
                               "to continue a long text).", state="h")]
    outputs = [logits_spec(cfg),
               spec("hidden", "state", ["layer", "batch", "position", "unit"], [L, "B", "T", H],
                    "Hidden state h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) per layer after each token.",
                    state="h", label="hidden state h", range=[-1, 1], bulky=True),
               spec("h_n", "final_state", ["layer", "batch", "unit"], [L, "B", H],
                    "Hidden state after the last token (feed as h0 of the next chunk).", state="h")]
    return inputs, outputs


def elman_check(model, exp, ids):
    ref, state = model(ids)
    z = torch.zeros(model.cfg["n_layers"], ids.shape[0], model.cfg["hidden"])
    out = exp(ids, z)
    diff = max(float((out[0] - ref).abs().max()), float((out[2] - state).abs().max()))
    a = exp(ids[:, :20], z)
    b = exp(ids[:, 20:], a[2])
    return max(diff, float((torch.cat([a[0], b[0]], 1) - ref).abs().max()))


# ---------------------------------------------------------------------------------------------------------
# Linear attention

class LinearExport(nn.Module):
    """The parallel form, started from the recurrent form's state (S_0, z_0) of earlier tokens: zeros in every
    ordinary run, which then computes exactly the training module's outputs; the state after the tokens before a
    replaced one lets occlusion (src/core/occlusionPrefix.ts) run only the tokens from it on. With a state,
    out_t = (S_0^T phi(q_t) + sum_(k<=t) phi(q_t).phi(k_k) v_k) / (z_0.phi(q_t) + sum_(k<=t) phi(q_t).phi(k_k))."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, initial_S, initial_z):
        logits, parts, hidden = self.lm(input_ids, need_internals=True, initial=(initial_S, initial_z))
        att, q, k, v, mixed = (torch.stack(list(p)) for p in zip(*parts))  # each [L,B,H,T,*]
        state = initial_S.unsqueeze(3) + torch.cumsum(k.unsqueeze(-1) * v.unsqueeze(-2), dim=3)  # [L,B,H,T,dk,dv]
        norm = initial_z.unsqueeze(3) + torch.cumsum(k, dim=3)  # [L,B,H,T,dk]
        return (logits, att, q, k, v, mixed, state.permute(0, 1, 3, 2, 4, 5), norm.permute(0, 1, 3, 2, 4), hidden,
                state[:, :, :, -1], norm[:, :, :, -1])


def linear_specs(cfg):
    L, H, d = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
    hd = d // H
    part_axes = ["layer", "batch", "head", "position", "feature"]
    part_shape = [L, "B", H, "T", hd]
    outputs = [
        logits_spec(cfg),
        spec("attention", "mixing", ["layer", "batch", "head", "query", "key"], [L, "B", H, "T", "T"],
             "Causal linear attention per layer and head: W(t, k) = phi(q_t).phi(k_k) / sum_(m<=t) phi(q_t).phi(k_m), "
             "phi(x) = elu(x) + 1 (0 for k > t).", structure="causal", normalised=True, label="linear attention"),
        spec("phi_q", "mixing_parts", part_axes, part_shape, "phi(q_t) per layer, head and token.", part="query"),
        spec("phi_k", "mixing_parts", part_axes, part_shape, "phi(k_t) per layer, head and token.", part="key"),
        spec("values", "mixing_parts", part_axes, part_shape, "v_t per layer, head and token.", part="value"),
        spec("mixed", "mixing_parts", part_axes, part_shape,
             "Each head's output sum_k W(t, k) v_k (before the output projection).", part="output"),
        spec("state_S", "state", ["layer", "batch", "position", "head", "state", "feature"], [L, "B", "T", H, hd, hd],
             "The recurrent form's state S_t = S_(t-1) + phi(k_t) v_t^T per layer and head: the whole memory of the "
             "context, the same size at every token.", state="S", label="state S", omitFromReference=True),
        spec("state_z", "state", ["layer", "batch", "position", "head", "state"], [L, "B", "T", H, hd],
             "The normaliser z_t = z_(t-1) + phi(k_t); the output is S_t^T phi(q_t) / (z_t . phi(q_t)).",
             state="z", label="normaliser z", omitFromReference=True),
        hidden_spec(cfg, "LayerNorm"),
        # Sums over every token (hundreds): six significant digits in a reference text cannot hold them to 1e-4;
        # the tests compare them with state_S and state_z at the last token, and continue a text from them.
        spec("final_S", "final_state", ["layer", "batch", "head", "state", "feature"], [L, "B", H, hd, hd],
             "S after the last token (feed as initial_S to continue the text).", state="S", omitFromReference=True),
        spec("final_z", "final_state", ["layer", "batch", "head", "state"], [L, "B", H, hd],
             "z after the last token (feed as initial_z to continue the text).", state="z", omitFromReference=True),
    ]
    inputs = [ids_spec(),
              spec("initial_S", "initial_state", ["layer", "batch", "head", "state", "feature"], [L, "B", H, hd, hd],
                   "The recurrent form's state S_0 of earlier tokens (zeros: the text starts here). The weights W "
                   "then cover only this input's tokens, and each row's normaliser includes z_0.", state="S"),
              spec("initial_z", "initial_state", ["layer", "batch", "head", "state"], [L, "B", H, hd],
                   "The normaliser z_0 of earlier tokens (zeros: the text starts here).", state="z")]
    return inputs, outputs


def state_check(model, exp, ids):
    """An export form that starts from a state (its last two outputs are the state after the last token): from
    zeros it must give the training module's logits, and the text's first 20 tokens then the rest, continued from
    their state, must too."""
    ref = model(ids)
    diff = float((exp(*example_inputs(model.cfg, ids))[0] - ref).abs().max())
    first = exp(*example_inputs(model.cfg, ids[:, :20]))
    rest = exp(ids[:, 20:], first[-2], first[-1])
    return max(diff, float((torch.cat([first[0], rest[0]], 1) - ref).abs().max()))


# ---------------------------------------------------------------------------------------------------------
# Sliding-window Transformer

class WindowExport(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, past_keys, past_values):
        return self.lm(input_ids, True, past_keys, past_values)


def cache_specs(cfg):
    """A softmax-attention model's key/value cache: inputs fed empty in every ordinary run, and the keys and values
    of every token as outputs. Occlusion (src/core/occlusionPrefix.ts) feeds the first k of them back to run only
    the tokens from a replaced token k on. In ONNX the outputs' token axis is P + T ("PT")."""
    L, H, d = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
    hd = d // H
    inputs, outputs = [], []
    for what in ("keys", "values"):
        inputs.append({"name": "past_" + what, "role": "empty_cache", "dtype": "float32", "shape": [L, "B", H, "P", hd],
                       "axes": [{"name": "layer", "size": L}, {"name": "batch"}, {"name": "head", "size": H},
                                {"name": "past", "size": 0}, {"name": "feature", "size": hd}],
                       "state": what, "description": "The %s of earlier tokens per layer and head (a cache); fed empty: "
                                                     "the model sees only the analysed text." % what})
        outputs.append({"name": "present_" + what, "role": "cache", "dtype": "float32",
                        "shape": [L, "B", H, "T", hd], "onnxShape": [L, "B", H, "PT", hd],
                        "axes": [{"name": "layer", "size": L}, {"name": "batch"}, {"name": "head", "size": H},
                                 {"name": "position", "size": "T"}, {"name": "feature", "size": hd}],
                        "state": what, "omitFromReference": True,
                        "description": "The %s of every token per layer and head (the cache after the text)." % what})
    return inputs, outputs


def with_cache(cfg, inputs, outputs):
    """Adds the cache to a softmax-attention model's specs; its attention's key axis is P + T in ONNX."""
    cache_in, cache_out = cache_specs(cfg)
    for o in outputs:
        if o["name"] == "attention":
            o["onnxShape"] = o["shape"][:-1] + ["PT"]
    return inputs + cache_in, outputs + cache_out


def empty_cache(cfg, B, P=0):
    L, H, d = cfg["n_layers"], cfg["n_heads"], cfg["d_model"]
    return torch.zeros(L, B, H, P, d // H), torch.zeros(L, B, H, P, d // H)


def cache_check(model, exp, ids):
    """The export with an empty cache reproduces the training module, and a run of the last tokens from the cache of
    the first ones reproduces the whole run's logits there."""
    with torch.no_grad():
        out = exp(ids, *empty_cache(model.cfg, ids.shape[0]))
        diff = float((out[0] - model(ids)).abs().max())
        for cut in (1, 20):
            rest = exp(ids[:, cut:], out[3][:, :, :, :cut], out[4][:, :, :, :cut])
            diff = max(diff, float((rest[0] - out[0][:, cut:]).abs().max()))
        return diff


def window_specs(cfg):
    L, H = cfg["n_layers"], cfg["n_heads"]
    outputs = [
        logits_spec(cfg),
        spec("attention", "mixing", ["layer", "batch", "head", "query", "key"], [L, "B", H, "T", "T"],
             "Softmax attention per layer and head over a sliding window of %d keys (the query itself included) "
             "plus the first %d token(s), which every query sees (attention sink); 0 elsewhere."
             % (cfg["window"], cfg["global_tokens"]),
             structure="windowed", window=cfg["window"], globalTokens=cfg["global_tokens"], normalised=True,
             label="sliding-window attention"),
        hidden_spec(cfg, "LayerNorm"),
    ]
    return with_cache(cfg, [ids_spec()], outputs)


# ---------------------------------------------------------------------------------------------------------
# Selective state-space model

@torch.jit.script
def selective_scan(decay: Tensor, write: Tensor, c: Tensor, h: Tensor) -> Tuple[Tensor, Tensor]:
    """decay, write [B,T,D,N]; c [B,T,N]; h [B,D,N] the state before the first token. h_t = decay_t * h_(t-1) +
    write_t; returns h [B,T,D,N] and y_t = sum_n C_t[n] h_t[:, n] [B,T,D]."""
    hs: List[Tensor] = []
    for t in range(decay.size(1)):
        h = decay[:, t] * h + write[:, t]
        hs.append(h)
    states = torch.stack(hs, 1)
    return states, (states * c.unsqueeze(2)).sum(-1)


class MambaExport(nn.Module):
    """The training module's blocks, started from the state of earlier tokens: the scan's h_0 and the causal
    convolution's last d_conv - 1 inputs (zeros in every ordinary run, which then computes exactly the training
    module's outputs; the state after the tokens before a replaced one lets occlusion run only the tokens from it
    on). Both are outputs after every token too."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, initial_h, initial_conv):
        h = self.lm.emb(input_ids)
        hidden = [h]
        parts: List[List[Tensor]] = [[] for _ in range(10)]
        for layer, b in enumerate(self.lm.blocks):
            T = h.shape[1]
            width = b.conv.weight.shape[-1] - 1
            xin, z = b.in_proj(b.norm(h)).chunk(2, dim=-1)
            window = torch.cat([initial_conv[layer], xin.transpose(1, 2)], dim=2)  # [B,D,width+T]
            x = F.silu(F.conv1d(window, b.conv.weight, b.conv.bias, groups=b.d_inner).transpose(1, 2))
            # The convolution's state after token t: its last `width` inputs, oldest first.
            conv_state = torch.stack([window[:, :, j + 1:j + 1 + T] for j in range(width)], -1)  # [B,D,T,width]
            dt, Bm, Cm = b.x_proj(x).split([b.dt_rank, b.d_state, b.d_state], dim=-1)
            delta = F.softplus(b.dt_proj(dt))
            A = -torch.exp(b.A_log)
            decay = torch.exp(delta.unsqueeze(-1) * A)
            write = (delta * x).unsqueeze(-1) * Bm.unsqueeze(2)
            states, y = selective_scan(decay, write, Cm, initial_h[layer])
            y = y + b.D * x
            h = h + b.out_proj(y * F.silu(z))
            hidden.append(h)
            for i, t in enumerate((x, delta, Bm, Cm, A, b.D, y, decay, states, conv_state.transpose(1, 2))):
                parts[i].append(t)
        logits = F.linear(self.lm.norm_f(h), self.lm.emb.weight)
        stacked = [torch.stack(p) for p in parts]
        return (logits, *stacked[:9], torch.stack(hidden), stacked[9], stacked[8][:, :, -1], stacked[9][:, :, -1])


def mamba_specs(cfg):
    L, D, N, K = cfg["n_layers"], cfg["d_inner"], cfg["d_state"], cfg["d_conv"]
    tok = ["layer", "batch", "position", "unit"]
    outputs = [
        logits_spec(cfg),
        spec("ssm_x", "selective_scan", tok, [L, "B", "T", D],
             "The scan's input x_t per channel (after the causal convolution and SiLU).", part="x"),
        spec("ssm_delta", "selective_scan", tok, [L, "B", "T", D],
             "The input-dependent step delta_t = softplus(W_dt x_t + b_dt) per channel.", part="delta"),
        spec("ssm_B", "selective_scan", ["layer", "batch", "position", "state"], [L, "B", "T", N],
             "The input-dependent input matrix B_t.", part="B"),
        spec("ssm_C", "selective_scan", ["layer", "batch", "position", "state"], [L, "B", "T", N],
             "The input-dependent output matrix C_t.", part="C"),
        spec("ssm_A", "selective_scan", ["layer", "unit", "state"], [L, D, N],
             "The diagonal state matrix A = -exp(A_log) (negative).", part="A"),
        spec("ssm_D", "selective_scan", ["layer", "unit"], [L, D], "The skip connection D per channel.", part="D"),
        spec("ssm_y", "selective_scan", tok, [L, "B", "T", D],
             "The scan's output y_t = C_t h_t + D x_t (before the SiLU gate).", part="y"),
        spec("ssm_decay", "decay", ["layer", "batch", "position", "unit", "state"], [L, "B", "T", D, N],
             "exp(delta_t A): the share of each state entry kept from one token to the next.",
             label="state decay exp(delta A)", omitFromReference=True),
        spec("ssm_state", "state", ["layer", "batch", "position", "unit", "state"], [L, "B", "T", D, N],
             "The state h_t = exp(delta_t A) h_(t-1) + delta_t x_t B_t per channel and state dimension.",
             state="h", label="state h", omitFromReference=True),
        hidden_spec(cfg, "RMSNorm"),
        spec("ssm_conv_state", "state", ["layer", "batch", "position", "unit", "state"], [L, "B", "T", D, K - 1],
             "The causal convolution's state after each token: its last %d inputs per channel, oldest first." % (K - 1),
             state="conv", label="convolution window", omitFromReference=True),
        spec("final_h", "final_state", ["layer", "batch", "unit", "state"], [L, "B", D, N],
             "The state h after the last token (feed as initial_h to continue the text).", state="h"),
        spec("final_conv", "final_state", ["layer", "batch", "unit", "state"], [L, "B", D, K - 1],
             "The convolution's last inputs after the last token (feed as initial_conv to continue the text).",
             state="conv"),
    ]
    inputs = [ids_spec(),
              spec("initial_h", "initial_state", ["layer", "batch", "unit", "state"], [L, "B", D, N],
                   "The scan's state h_0 of earlier tokens (zeros: the text starts here).", state="h"),
              spec("initial_conv", "initial_state", ["layer", "batch", "unit", "state"], [L, "B", D, K - 1],
                   "The causal convolution's last %d inputs before this input's first token, oldest first (zeros: "
                   "the text starts here)." % (K - 1), state="conv")]
    return inputs, outputs


# ---------------------------------------------------------------------------------------------------------

def forms(arch):
    """(export class, spec function, training-module check or None) of a family-tree architecture."""
    return {
        "elman": (ElmanExport, elman_specs, elman_check),
        "linear-attention": (LinearExport, linear_specs, state_check),
        "sliding-window-transformer": (WindowExport, window_specs, cache_check),
        "mamba": (MambaExport, mamba_specs, state_check),
    }[arch]


def example_inputs(cfg, ids):
    if cfg["architecture"] == "elman":
        return (ids, torch.zeros(cfg["n_layers"], ids.shape[0], cfg["hidden"]))
    if cfg["architecture"] == "sliding-window-transformer":
        return (ids, *empty_cache(cfg, ids.shape[0]))
    B = ids.shape[0]
    if cfg["architecture"] == "linear-attention":
        L, H = cfg["n_layers"], cfg["n_heads"]
        hd = cfg["d_model"] // H
        return (ids, torch.zeros(L, B, H, hd, hd), torch.zeros(L, B, H, hd))
    if cfg["architecture"] == "mamba":
        L, D = cfg["n_layers"], cfg["d_inner"]
        return (ids, torch.zeros(L, B, D, cfg["d_state"]), torch.zeros(L, B, D, cfg["d_conv"] - 1))
    return (ids,)


def check(model, exp, ids):
    """Max abs difference between the export form's logits and the training module's (plus the carried state)."""
    with torch.no_grad():
        c = forms(model.cfg["architecture"])[2]
        if c:
            return c(model, exp, ids)
        return float((exp(*example_inputs(model.cfg, ids))[0] - model(ids)).abs().max())


def readout(cfg):
    """The manifest's readout: the final norm and the tied unembedding, by ONNX initialiser name."""
    if cfg["architecture"] == "elman":
        return None
    if cfg["architecture"] == "mamba":
        norm = {"kind": "rmsnorm", "weight": "lm.norm_f.weight", "epsilon": 1e-5}
    else:
        norm = {"kind": "layernorm", "weight": "lm.ln_f.weight", "bias": "lm.ln_f.bias", "epsilon": 1e-5}
    return {"norm": norm, "unembedding": {"weight": "lm.emb.weight", "layout": "vocab_feature"}}


def round_to_half(model):
    """Rounds every parameter to the nearest float16 value (the file stores float16 and casts at load)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    return model
