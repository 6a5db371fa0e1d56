#!/usr/bin/env python3
"""Train one bundled model with a fixed seed, step count and step-based LR schedule.

    python3 train.py <model id> [--probe N]

A schedule may start from another model's final weights ("init": id; parameters of the same name and shape
are copied) and may mix in rows that repeat a span of real code ("repeat_frac"), the pattern induction heads copy.

Checkpoints (model, optimizer, RNG states, step, accumulated wall time) are written every `ckpt_every`
steps to checkpoints/<id>/latest.pt (git-ignored). Re-running the command resumes from the latest
checkpoint; because each step's batch is drawn from a generator seeded by (seed, step) and the schedule is a
function of the step, an interrupted run continues exactly as an uninterrupted one (single-threaded CPU).
When the last step is done, checkpoints/<id>/final.pt and results/<id>.json are written.
--probe N runs N steps without touching checkpoints and prints the throughput.
"""
import argparse
import fcntl
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
import models  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CKPT = os.path.join(HERE, "checkpoints")
RESULTS = os.path.join(HERE, "results")

# Fixed training schedules. tokens/step = batch * seq_len.
SCHEDULES = {
    "transformer": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 1000, "lr": 3e-3, "min_lr_frac": 0.1,
                    "warmup": 100, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 250},
    "lstm": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 2200, "lr": 5e-3, "min_lr_frac": 0.1,
             "warmup": 50, "weight_decay": 0.0, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 250},
    "gru": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 2400, "lr": 5e-3, "min_lr_frac": 0.1,
            "warmup": 50, "weight_decay": 0.0, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 250},
}
SCHEDULES["transformer-base"] = SCHEDULES.pop("transformer")
# Stage 2: continue the first bundled Transformer with repeated spans of real code in half of the rows.
SCHEDULES["transformer-stage2"] = {"seed": 4321, "batch": 16, "seq_len": 256, "steps": 1000, "lr": 3e-3, "min_lr_frac": 0.1,
                            "warmup": 30, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25,
                            "eval_every": 200, "init": "transformer-base", "repeat_frac": 0.5}
# Stage 3 (the bundled Transformer): stage 2 plus a learned bias for distances 0..3 (models.py), same data mix.
SCHEDULES["transformer"] = {"seed": 777, "batch": 16, "seq_len": 256, "steps": 1500, "lr": 2e-3, "min_lr_frac": 0.1,
                            "warmup": 30, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25,
                            "eval_every": 250, "init": "transformer-stage2", "repeat_frac": 0.5}
SCHEDULES.update({
    "elman": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 2000, "lr": 2e-3, "min_lr_frac": 0.1,
              "warmup": 50, "weight_decay": 0.0, "grad_clip": 0.5, "ckpt_every": 25, "eval_every": 250},
    # Linear attention and the sliding window start from the first Transformer's weights and are fine-tuned
    # with their own mixing (Kasai et al. 2021 fine-tune Transformers into linear-attention RNNs this way).
    "linear": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 800, "lr": 1e-3, "min_lr_frac": 0.1,
               "warmup": 30, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 250,
               "init": "transformer-base"},
    "window": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 400, "lr": 1e-3, "min_lr_frac": 0.1,
               "warmup": 30, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 150,
               "init": "transformer-base"},
    "mamba": {"seed": 1234, "batch": 16, "seq_len": 256, "steps": 1200, "lr": 3e-3, "min_lr_frac": 0.1,
              "warmup": 50, "weight_decay": 0.05, "grad_clip": 1.0, "ckpt_every": 25, "eval_every": 200},
})
EVAL_LEN = 512


def lr_at(step, s):
    if step < s["warmup"]:
        return s["lr"] * (step + 1) / s["warmup"]
    p = (step - s["warmup"]) / max(1, s["steps"] - s["warmup"])
    return s["lr"] * (s["min_lr_frac"] + (1 - s["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def load_stream(split):
    return torch.from_numpy(np.fromfile(os.path.join(DATA, split + ".bin"), dtype=np.uint16).astype(np.int64))


def get_batch(stream, step, s):
    g = torch.Generator().manual_seed(s["seed"] * 1_000_003 + step)
    starts = torch.randint(0, stream.numel() - s["seq_len"] - 1, (s["batch"],), generator=g)
    idx = starts.view(-1, 1) + torch.arange(s["seq_len"] + 1).view(1, -1)
    chunk = stream[idx]
    n_repeat = int(round(s.get("repeat_frac", 0) * s["batch"]))
    for row in range(n_repeat):
        chunk[row] = repeated_row(stream, g, s["seq_len"] + 1)
    return chunk[:, :-1], chunk[:, 1:]


def repeated_row(stream, g, n):
    """Real text, then a span of real code, a gap of real text and the same span again, then more text:
    copying the span's continuation from its first occurrence is what an induction head does."""
    def draw(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def text(length):
        at = draw(0, stream.numel() - length - 1)
        return stream[at:at + length]
    span = text(draw(24, 96))
    row = torch.cat([text(draw(0, 64)), span, text(draw(0, 48)), span, text(n)])
    return row[:n]


def forward_logits(model, x):
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


@torch.no_grad()
def evaluate(model, stream, token_bytes, special_from):
    """Held-out loss over non-overlapping windows of EVAL_LEN tokens, each starting from a fresh context/state.
    Every token after the first is a target; <|endoftext|> targets are excluded (they are not text).
    Returns (mean nats per scored token, bits per byte of the held-out text, scored tokens, bytes)."""
    model.eval()
    n = stream.numel()
    starts = list(range(0, n - 1, EVAL_LEN))
    total_nats, total_tokens, total_bytes = 0.0, 0, 0
    for lo in range(0, len(starts), 16):
        group = starts[lo:lo + 16]
        width = min(EVAL_LEN, n - 1 - group[0])
        same = [i for i in group if min(EVAL_LEN, n - 1 - i) == width]
        batches = [same] + [[i] for i in group if i not in same]
        for b in batches:
            w = min(EVAL_LEN, n - 1 - b[0])
            x = torch.stack([stream[i:i + w] for i in b])
            y = torch.stack([stream[i + 1:i + 1 + w] for i in b])
            logits = forward_logits(model, x)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
            keep = y.reshape(-1) < special_from
            total_nats += nll[keep].double().sum().item()
            total_tokens += int(keep.sum())
            total_bytes += int(token_bytes[y.reshape(-1)[keep]].sum())
    model.train()
    return total_nats / total_tokens, total_nats / math.log(2) / total_bytes, total_tokens, total_bytes


def token_byte_lengths(vocab_size, tokenizer_path=None):
    with open(tokenizer_path or os.path.join(HERE, "out", "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    import bpe
    u2b = {u: b for b, u in bpe.BYTE_TO_UNICODE.items()}
    lengths = torch.zeros(vocab_size, dtype=torch.int64)
    special = {t["id"] for t in tj["added_tokens"]}
    for tokstr, i in tj["model"]["vocab"].items():
        if i not in special:
            lengths[i] = len(tokstr)  # one unicode char per byte in the byte-level alphabet
            assert all(c in u2b for c in tokstr)
    return lengths, min(special)


def make_optimizer(model, s):
    def position(n):  # learned ALiBi slopes and near-distance biases
        return "slope" in n or "near_bias" in n
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n and not position(n)]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n) and not position(n)]
    groups = [{"params": decay, "weight_decay": s["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    positional = [p for n, p in model.named_parameters() if position(n)]
    if positional:  # they move at 10x the learning rate
        groups.append({"params": positional, "weight_decay": 0.0, "lr_scale": 10.0})
    return torch.optim.AdamW(groups, lr=s["lr"], betas=(0.9, 0.95))


def init_from(model, source, log):
    """Copies every parameter of the same name and shape from another model's final checkpoint."""
    path = os.path.join(CKPT, source, "final.pt")
    if not os.path.exists(path):
        sys.exit("%s must be trained first (no %s)" % (source, os.path.relpath(path, HERE)))
    theirs = torch.load(path)["model"]
    mine = model.state_dict()
    copied = [k for k in mine if k in theirs and theirs[k].shape == mine[k].shape]
    mine.update({k: theirs[k] for k in copied})
    model.load_state_dict(mine)
    log("initialised %d of %d tensors from %s" % (len(copied), len(mine), os.path.relpath(path, HERE)))


def claim_checkpoints(mid, probe):
    """The model's checkpoint folder and its latest.pt path, and (unless probing) an exclusive lock on the folder,
    held while the returned file stays open: two trainings of one model would overwrite each other's checkpoints."""
    ckdir = os.path.join(CKPT, mid)
    os.makedirs(ckdir, exist_ok=True)
    lock = None
    if not probe:
        lock = open(os.path.join(ckdir, "lock"), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            sys.exit("%s is already being trained by another process (checkpoints/%s/lock)" % (mid, mid))
    return ckdir, os.path.join(ckdir, "latest.pt"), lock


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(SCHEDULES))
    ap.add_argument("--probe", type=int, default=0, help="run N steps for timing only, no checkpoints")
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after N steps of this invocation, right after a checkpoint (simulates an interruption)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    mid = args.model
    s = SCHEDULES[mid]
    log_lines = []

    def log(msg):
        line = "[%s] %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), msg)
        print(line, flush=True)
        log_lines.append(line)

    torch.manual_seed(s["seed"])
    random.seed(s["seed"])
    np.random.seed(s["seed"])
    model = models.build(mid)
    opt = make_optimizer(model, s)
    train = load_stream("train")
    heldout = load_stream("heldout")
    token_bytes, special_from = token_byte_lengths(model.cfg["vocab_size"])
    ckdir, latest, _lock = claim_checkpoints(mid, args.probe)
    step, wall, history = 0, 0.0, []
    if "init" in s and not os.path.exists(latest):
        init_from(model, s["init"], log)
    if not args.probe and os.path.exists(latest):
        ck = torch.load(latest)
        assert ck["schedule"] == s, "schedule changed since the checkpoint was written"
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        step, wall, history = ck["step"], ck["wall_time"], ck["history"]
        log("resumed %s at step %d (%.0f s of training so far)" % (mid, step, wall))
    else:
        log("start %s: %d parameters, schedule %s" % (mid, models.n_params(model), json.dumps(s)))

    def checkpoint(path):
        save_atomic({"model_id": mid, "config": model.cfg, "schedule": s, "model": model.state_dict(),
                     "optimizer": opt.state_dict(), "step": step, "wall_time": wall, "history": history,
                     "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                             "python": random.getstate()}}, path)

    tokens_per_step = s["batch"] * s["seq_len"]
    end = min(s["steps"], step + args.probe) if args.probe else s["steps"]
    stop_at = step + args.stop_after if args.stop_after else None
    t_last = time.time()
    model.train()
    loss_acc, n_acc, wall_mark = 0.0, 0, wall
    wall_start = wall
    while step < end:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, s) * g.get("lr_scale", 1.0)
        x, y = get_batch(train, step, s)
        logits = forward_logits(model, x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s["grad_clip"])
        opt.step()
        step += 1
        loss_acc += loss.item()
        n_acc += 1
        now = time.time()
        wall += now - t_last
        t_last = now
        if step % 10 == 0 or step == end:
            log("step %d/%d loss %.4f lr %.2e tok/s %.0f wall %.0f s" % (
                step, s["steps"], loss_acc / n_acc, lr_at(step - 1, s),
                tokens_per_step * n_acc / max(wall - wall_mark, 1e-9), wall))
            loss_acc, n_acc, wall_mark = 0.0, 0, wall
        if args.probe:
            continue
        if step % s["eval_every"] == 0 or step == s["steps"]:
            t0 = time.time()
            nats, bpb, ntok, nbytes = evaluate(model, heldout, token_bytes, special_from)
            history.append({"step": step, "tokensSeen": step * tokens_per_step, "heldOutLossNats": nats,
                            "heldOutBitsPerByte": bpb})
            log("eval step %d heldout loss %.4f nats/token, %.4f bits/byte, ppl %.1f (%d tokens, %d bytes, %.0f s)"
                % (step, nats, bpb, math.exp(nats), ntok, nbytes, time.time() - t0))
            t_last = time.time()  # evaluation time is not training wall time
        if step % s["ckpt_every"] == 0 or step == s["steps"]:
            checkpoint(latest)
            if stop_at is not None and step >= stop_at and step < s["steps"]:
                log("stopping at step %d as asked (--stop-after)" % step)
                return
    if args.probe:
        log("probe done: %.0f tokens/s" % (tokens_per_step * args.probe / (wall - wall_start)))
        return
    final = os.path.join(ckdir, "final.pt")
    if not os.path.exists(final):
        checkpoint(final)
    last = history[-1]
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, mid + ".json"), "w") as f:
        json.dump({"id": mid, "parameters": models.n_params(model), "config": model.cfg, "schedule": s,
                   "steps": step, "tokensSeen": step * tokens_per_step, "wallTimeSeconds": round(wall),
                   "threads": 1, "heldOutLossNats": last["heldOutLossNats"],
                   "heldOutBitsPerByte": last["heldOutBitsPerByte"],
                   "heldOutPerplexity": math.exp(last["heldOutLossNats"]), "history": history}, f, indent=1)
    log("done %s" % mid)


if __name__ == "__main__":
    main()
