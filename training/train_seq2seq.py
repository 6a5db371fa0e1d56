#!/usr/bin/env python3
"""Train the encoder (masked-language modelling) and the two encoder-decoders (span infilling) with train.py's
machinery: fixed seed and step count, step-based LR schedule, batches drawn from a generator seeded by
(seed, step), checkpoints every `ckpt_every` steps to checkpoints/<id>/latest.pt, exact resume, a lock file.

    python3 train_seq2seq.py encoder|t5|bahdanau [--probe N] [--stop-after N]

Masked LM (BERT): 15% of the positions of a window are chosen; 80% of them become <mask>, 10% a random token,
10% stay; the loss is on the chosen positions only.
Span infilling (T5's objective with one span): a hole of 1-24 tokens is cut from the token stream; the source
is up to 200 tokens before it, <extra_id_0>, up to 100 tokens after it; the target is <extra_id_0> span
<extra_id_1>, read by the decoder after <pad>. Context lengths are drawn per batch (all rows of a batch share
them, so the source needs no padding); targets are padded at the end with <pad> and those positions carry no loss.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_models as sm  # noqa: E402
import train  # noqa: E402

SCHEDULES = {
    "encoder": {"seed": 2024, "batch": 16, "seq_len": 256, "steps": 1000, "lr": 2e-3, "min_lr_frac": 0.1,
                "warmup": 50, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 250,
                "task": "mlm", "mask_frac": 0.15},
    "t5": {"seed": 2024, "batch": 16, "steps": 5000, "lr": 2e-3, "min_lr_frac": 0.1, "warmup": 50,
           "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 1250, "task": "infill",
           "before": [8, 200], "after": [0, 100], "span": [1, 24]},
    "bahdanau": {"seed": 2024, "batch": 16, "steps": 6000, "lr": 3e-3, "min_lr_frac": 0.1, "warmup": 50,
                 "weight_decay": 0.0, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 2000, "task": "infill",
                 "before": [8, 200], "after": [0, 100], "span": [1, 24]},
}
EVAL_HOLES = 500
EVAL_SEED = 99
MLM_EVAL_SEED = 7


# ---------------------------------------------------------------------------------------------------------
# Batches

def boundary_tables():
    """Per token id: does its text start with whitespace/punctuation, does it end with it (byte-level strings)."""
    with open(os.path.join(train.HERE, "out", "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    import bpe
    u2b = {u: b for b, u in bpe.BYTE_TO_UNICODE.items()}
    starts = np.zeros(sm.BASE_VOCAB, dtype=bool)
    ends = np.zeros(sm.BASE_VOCAB, dtype=bool)
    for s, i in vocab.items():
        if i >= sm.BASE_VOCAB or not all(c in u2b for c in s):
            continue
        raw = bytes(u2b[c] for c in s)
        starts[i] = not (chr(raw[0]).isalnum() or raw[0] == ord("_") or raw[0] >= 128)
        ends[i] = not (chr(raw[-1]).isalnum() or raw[-1] == ord("_") or raw[-1] >= 128)
    starts[sm.EOT] = ends[sm.EOT] = True
    return starts, ends


def mlm_batch(stream, step, s, rows=None):
    """Returns (corrupted ids [B,T], original ids [B,T], chosen bool [B,T])."""
    g = torch.Generator().manual_seed(s["seed"] * 1_000_003 + step)
    if rows is None:
        starts = torch.randint(0, stream.numel() - s["seq_len"], (s["batch"],), generator=g)
        rows = stream[starts.view(-1, 1) + torch.arange(s["seq_len"]).view(1, -1)]
    chosen = torch.rand(rows.shape, generator=g) < s["mask_frac"]
    how = torch.rand(rows.shape, generator=g)
    random_ids = torch.randint(0, sm.BASE_VOCAB, rows.shape, generator=g)
    x = rows.clone()
    x[chosen & (how < 0.8)] = sm.MASK
    swap = chosen & (how >= 0.8) & (how < 0.9)
    x[swap] = random_ids[swap]
    return x, rows, chosen


def draw_hole(stream, rng, span_range, boundary):
    """A span start after a whitespace/punctuation boundary (searched forward from a random point) and length."""
    starts_ok, ends_ok = boundary
    n = stream.shape[0]
    while True:
        p = int(rng.integers(1, n - 64))
        for q in range(p, p + 16):
            if ends_ok[stream[q - 1]] or starts_ok[stream[q]]:
                p = q
                break
        lo, hi = span_range
        length = lo + int((hi - lo + 1) * rng.random() ** 2)  # skewed towards short spans
        while length < hi and not (ends_ok[stream[p + length - 1]] or starts_ok[stream[p + length]]):
            length += 1  # end at a boundary too, when one comes before the longest span
        span = stream[p:p + length]
        if (span == sm.EOT).any():
            continue
        return p, length


def infill_batch(stream, step, s, boundary, seed=None, batch=None):
    """Returns (source [B,S], decoder input [B,T], labels [B,T] with -100 on padding, spans list)."""
    rng = np.random.default_rng((s["seed"] if seed is None else seed) * 1_000_003 + step)
    B = batch or s["batch"]
    n_before = int(rng.integers(s["before"][0], s["before"][1] + 1))
    n_after = int(rng.integers(s["after"][0], s["after"][1] + 1))
    srcs, spans = [], []
    for _ in range(B):
        while True:
            p, length = draw_hole(stream, rng, s["span"], boundary)
            if p - n_before >= 0 and p + length + n_after <= stream.shape[0]:
                break
        srcs.append(np.concatenate([stream[p - n_before:p], [sm.EXTRA0], stream[p + length:p + length + n_after]]))
        spans.append(stream[p:p + length].tolist())
    T = 2 + max(len(sp) for sp in spans)
    dec = np.full((B, T), sm.PAD, dtype=np.int64)
    lab = np.full((B, T), -100, dtype=np.int64)
    for r, sp in enumerate(spans):
        full = [sm.EXTRA0] + sp + [sm.EXTRA1]
        dec[r, 1:len(full)] = full[:-1]
        lab[r, :len(full)] = full
    return (torch.from_numpy(np.stack(srcs).astype(np.int64)), torch.from_numpy(dec), torch.from_numpy(lab), spans)


def loss_of(model, s, stream, step, boundary):
    if s["task"] == "mlm":
        x, y, chosen = mlm_batch(stream, step, s)
        logits = model(x)
        return F.cross_entropy(logits[chosen], y[chosen]), int(x.numel())
    src, dec, lab, _ = infill_batch(stream.numpy(), step, s, boundary)
    logits = model(src, dec)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-100), \
        int(src.numel() + dec.numel())


# ---------------------------------------------------------------------------------------------------------
# Held-out evaluation

@torch.no_grad()
def evaluate_mlm(model, heldout, s):
    """Masked-LM loss and accuracy on every 256-token window of the held-out split, masked with a fixed seed."""
    model.eval()
    T = s["seq_len"]
    n = (heldout.numel() // T) * T
    rows = heldout[:n].view(-1, T)
    nats, correct, count = 0.0, 0, 0
    es = dict(s, seed=MLM_EVAL_SEED)
    for lo in range(0, rows.shape[0], 16):
        x, y, chosen = mlm_batch(None, lo, es, rows=rows[lo:lo + 16])
        logits = model(x)[chosen]
        nats += F.cross_entropy(logits, y[chosen], reduction="sum").item()
        correct += int((logits.argmax(-1) == y[chosen]).sum())
        count += int(chosen.sum())
    model.train()
    return {"heldOutMaskedLossNats": nats / count, "heldOutMaskedAccuracy": correct / count,
            "heldOutMaskedTokens": count, "evalWindow": T}


def eval_batches(heldout, s, boundary):
    hs = dict(s, before=[s["before"][1], s["before"][1]], after=[s["after"][1], s["after"][1]])
    out = []
    for b in range(EVAL_HOLES // 20):
        # full context where the held-out split allows it; shorter near its ends is not needed: 55k tokens
        out.append(infill_batch(heldout, b, hs, boundary, seed=EVAL_SEED, batch=20))
    return out


@torch.no_grad()
def greedy_fill(model, src, max_len):
    """Greedy decoding from <pad> <extra_id_0> until <extra_id_1>: the span tokens of every row."""
    B = src.shape[0]
    dec = torch.tensor([[sm.PAD, sm.EXTRA0]] * B, dtype=torch.int64)
    done = torch.zeros(B, dtype=torch.bool)
    memory = model.memory(src)
    for _ in range(max_len):
        nxt = model.decode_logits(memory, dec)[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, sm.EXTRA1), nxt)
        dec = torch.cat([dec, nxt.view(-1, 1)], 1)
        done |= nxt == sm.EXTRA1
        if bool(done.all()):
            break
    fills = []
    for row in dec[:, 2:].tolist():
        fills.append(row[:row.index(sm.EXTRA1)] if sm.EXTRA1 in row else None)
    return fills


@torch.no_grad()
def evaluate_infill(model, heldout, s, boundary):
    """On EVAL_HOLES fixed held-out holes: teacher-forced loss and token accuracy over the span and <extra_id_1>
    (the first target <extra_id_0> is given by the format and not scored), and exact match of greedy fillings."""
    model.eval()
    nats, correct, count, exact = 0.0, 0, 0, 0
    for src, dec, lab, spans in eval_batches(heldout.numpy(), s, boundary):
        logits = model(src, dec)
        lab = lab.clone()
        lab[:, 0] = -100
        keep = lab != -100
        nats += F.cross_entropy(logits[keep], lab[keep], reduction="sum").item()
        correct += int((logits[keep].argmax(-1) == lab[keep]).sum())
        count += int(keep.sum())
        fills = greedy_fill(model, src, s["span"][1] + 2)
        exact += sum(1 for f, sp in zip(fills, spans) if f == sp)
    model.train()
    return {"heldOutInfillLossNats": nats / count, "heldOutInfillTokenAccuracy": correct / count,
            "heldOutInfillExactMatch": exact / EVAL_HOLES, "heldOutHoles": EVAL_HOLES, "heldOutScoredTokens": count,
            "contextBefore": s["before"][1], "contextAfter": s["after"][1]}


def evaluate(model, heldout, s, boundary):
    return evaluate_mlm(model, heldout, s) if s["task"] == "mlm" else evaluate_infill(model, heldout, s, boundary)


# ---------------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(SCHEDULES))
    ap.add_argument("--probe", type=int, default=0, help="run N steps for timing only, no checkpoints")
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N steps, right after a checkpoint")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    mid, s = args.model, SCHEDULES[args.model]

    def log(msg):
        print("[%s] %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg), flush=True)

    torch.manual_seed(s["seed"])
    random.seed(s["seed"])
    np.random.seed(s["seed"])
    model = sm.build(mid)
    opt = train.make_optimizer(model, s)
    stream = train.load_stream("train")
    heldout = train.load_stream("heldout")
    boundary = boundary_tables()
    ckdir, latest, _lock = train.claim_checkpoints(mid, args.probe)
    step, wall, tokens, history = 0, 0.0, 0, []
    if not args.probe and os.path.exists(latest):
        ck = torch.load(latest)
        assert ck["schedule"] == s, "schedule changed since the checkpoint was written"
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        step, wall, tokens, history = ck["step"], ck["wall_time"], ck["tokens_seen"], ck["history"]
        log("resumed %s at step %d (%.0f s of training so far)" % (mid, step, wall))
    else:
        log("start %s: %d parameters, schedule %s" % (mid, sm.n_params(model), json.dumps(s)))

    def checkpoint(path):
        train.save_atomic({"model_id": mid, "config": model.cfg, "schedule": s, "model": model.state_dict(),
                           "optimizer": opt.state_dict(), "step": step, "wall_time": wall, "tokens_seen": tokens,
                           "history": history,
                           "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                                   "python": random.getstate()}}, path)

    end = min(s["steps"], step + args.probe) if args.probe else s["steps"]
    stop_at = step + args.stop_after if args.stop_after else None
    t_last = time.time()
    model.train()
    loss_acc, n_acc, tok_acc, wall_mark, wall_start = 0.0, 0, 0, wall, wall
    while step < end:
        for grp in opt.param_groups:
            grp["lr"] = train.lr_at(step, s) * grp.get("lr_scale", 1.0)
        loss, n_tok = loss_of(model, s, stream, step, boundary)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s["grad_clip"])
        opt.step()
        step += 1
        tokens += n_tok
        loss_acc, n_acc, tok_acc = loss_acc + loss.item(), n_acc + 1, tok_acc + n_tok
        now = time.time()
        wall += now - t_last
        t_last = now
        if step % 10 == 0 or step == end:
            log("step %d/%d loss %.4f lr %.2e tok/s %.0f wall %.0f s" % (
                step, s["steps"], loss_acc / n_acc, train.lr_at(step - 1, s), tok_acc / max(wall - wall_mark, 1e-9),
                wall))
            loss_acc, n_acc, tok_acc, wall_mark = 0.0, 0, 0, wall
        if args.probe:
            continue
        if step % s["eval_every"] == 0 or step == s["steps"]:
            t0 = time.time()
            metrics = evaluate(model, heldout, s, boundary)
            history.append({"step": step, "tokensSeen": tokens, **metrics})
            log("eval step %d %s (%.0f s)" % (step, json.dumps(metrics), time.time() - t0))
            t_last = time.time()  # evaluation time is not training wall time
        if step % s["ckpt_every"] == 0 or step == s["steps"]:
            checkpoint(latest)
            if stop_at is not None and step >= stop_at and step < s["steps"]:
                log("stopping at step %d as asked (--stop-after)" % step)
                return
    if args.probe:
        log("probe done: %.0f tokens/s, %.2f s/step" % (tokens / (wall - wall_start), (wall - wall_start) / args.probe))
        return
    final = os.path.join(ckdir, "final.pt")
    if not os.path.exists(final):
        checkpoint(final)
    os.makedirs(train.RESULTS, exist_ok=True)
    with open(os.path.join(train.RESULTS, mid + ".json"), "w") as f:
        json.dump({"id": mid, "parameters": sm.n_params(model), "config": model.cfg, "schedule": s, "steps": step,
                   "tokensSeen": tokens, "wallTimeSeconds": round(wall), "threads": 1, **history[-1],
                   "history": history}, f, indent=1)
    log("done %s" % mid)


if __name__ == "__main__":
    main()
