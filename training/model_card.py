"""MODELS.md, the model card, generated from the bundled models' manifests (those exported in this checkout from
training/out/models, the others from media/models), with the records export.py copies into results/ (corpus and
token counts, training logs, the last output of npm run bench:circuits).

    python3 export.py --card-only
"""
import json
import os
import shutil

import model_card_seq2seq
import train

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUNDLED = ["transformer", "lstm", "gru", "elman", "linear", "window", "mamba"]

TARGET_BPB = {"transformer": 1.9, "lstm": 2.0, "gru": 2.0}


def circuits_record():
    path = os.path.join(train.RESULTS, "circuits.txt")
    if not os.path.exists(path):
        return "(not recorded yet: run npm run bench:circuits > training/results/circuits.txt)"
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def write_results_and_card():
    """Copies the small, commit-worthy records into results/ and regenerates MODELS.md from the manifests."""
    os.makedirs(train.RESULTS, exist_ok=True)
    for name in ("corpus.json", "tokens.json"):
        shutil.copyfile(os.path.join(train.DATA, name), os.path.join(train.RESULTS, name))
    rows, details = [], []
    lead = "the largest model saw a few million tokens"
    for mid in BUNDLED:
        # A model not re-exported in this checkout is described from its installed manifest.
        mpath = os.path.join(HERE, "out", "models", mid, "manifest.json")
        exported = os.path.exists(mpath)
        if not exported:
            mpath = os.path.join(ROOT, "media", "models", mid, "manifest.json")
        if not os.path.exists(mpath):
            continue
        m = json.load(open(mpath))
        t, x = m["training"], m["metrics"]
        if exported and t["final"] and os.path.exists(os.path.join(HERE, "logs", mid + ".log")):
            shutil.copyfile(os.path.join(HERE, "logs", mid + ".log"), os.path.join(train.RESULTS, mid + ".log"))
        bpb = x["heldOutBitsPerByte"]
        stages = t.get("stages", [{"tokensSeen": t["tokensSeen"], "wallTimeSeconds": t["wallTimeSeconds"]}])
        tokens_total = sum(st["tokensSeen"] for st in stages)
        wall_total = sum(st["wallTimeSeconds"] for st in stages)
        if mid == "transformer":
            lead = "the Transformer saw %.1fM tokens in %d stages" % (tokens_total / 1e6, len(stages))
        target = TARGET_BPB.get(mid)
        half = (" (float32: %.4f)" % x["heldOutBitsPerByteFloat32"]) if "heldOutBitsPerByteFloat32" in x else ""
        rows.append("| %s | %s | %s | %d / %d | %.1f M | %.0f min | %.4f | %.4f%s | %.1f | %s |" % (
            mid, "final" if t["final"] else "**provisional**", "{:,}".format(m["parameters"]), t["steps"],
            t["plannedSteps"], tokens_total / 1e6, wall_total / 60, x["heldOutLossNats"], bpb, half,
            x["heldOutPerplexity"], ("<= %.1f: %s" % (target, "met" if bpb <= target else "not met")) if target else "-"))
        if len(stages) > 1:
            details_stage = "; ".join("%s: %d steps, %s tokens, %d s" % (st["id"], st["steps"], "{:,}".format(st["tokensSeen"]),
                                                                         st["wallTimeSeconds"]) for st in stages)
        else:
            details_stage = ""
        dims = ", ".join("%s %s" % (k, v) for k, v in m["dimensions"].items())
        outs = "; ".join("`%s` %s" % (o["name"], "[" + ", ".join(str(a.get("size", "B")) for a in o["axes"]) + "]")
                         for o in m["outputs"])
        ins = "; ".join("`%s` %s" % (i["name"], "[" + ", ".join(str(a.get("size", "B")) for a in i["axes"]) + "]")
                        for i in m["inputs"])
        details.append("### %s\n\n%s\n\n- Dimensions: %s\n- Inputs: %s\n- Outputs: %s\n- Training: %d steps of "
                       "%d x %d tokens (%s tokens), seed %d, %s, %d s of training wall time.\n- ONNX: opset %d, "
                       "%.2f MB, sha256 `%s`\n" % (
                           m["displayName"], m["description"], dims, ins, outs, t["steps"], t["batchSize"],
                           t["sequenceLength"], "{:,}".format(t["tokensSeen"]), t["seed"], t["machine"],
                           t["wallTimeSeconds"], m["onnx"]["opset"], m["onnx"]["bytes"] / 1e6, m["onnx"]["sha256"])
                       + ("- Stages (the later starts from the earlier's weights): %s\n" % details_stage if details_stage else ""))
    corpus = json.load(open(os.path.join(train.DATA, "corpus.json")))
    tokens = json.load(open(os.path.join(train.DATA, "tokens.json")))
    text = MODEL_CARD.format(
        table="\n".join(rows), details="\n".join(details), corpus_sha=corpus["sha256"],
        corpus_mb=corpus["bytes"] / 1e6, docs=corpus["documents"], train_tokens="{:,}".format(tokens["train"]["tokens"]),
        heldout_docs=corpus["splits"]["heldout"]["files"], heldout_bytes="{:,}".format(corpus["splits"]["heldout"]["bytes"]),
        heldout_tokens="{:,}".format(tokens["heldout"]["tokens"]), bpt=tokens["train"]["bytesPerToken"],
        eval_len=train.EVAL_LEN, tok_sha=tokens["tokenizerSha256"], circuits=circuits_record(), lead=lead,
        seq2seq=model_card_seq2seq.section(train.RESULTS))
    with open(os.path.join(HERE, "MODELS.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


MODEL_CARD = """# Bundled models: model card

Ten small models ship with Attention Lens in `media/models/<id>/` (`model.onnx`, `manifest.json`,
`tokenizer.json`). They exist to be *looked into*: the same text goes through a Transformer, an LSTM, a GRU, an
Elman RNN, a linear-attention Transformer, a sliding-window Transformer and a selective state-space model (seven
causal language models), a masked-LM encoder and two encoder–decoders that fill a hole in code (a T5-style
Transformer and an RNN with Bahdanau attention), and the extension shows the W(t, k) each of them computes. They are far too small to be useful
as code assistants. This file is generated by `training/export.py` from the manifests; `bash training/run.sh`
rebuilds everything (see README.md).

| model | status | parameters | steps (done / planned) | tokens seen | training wall time | held-out loss (nats/token) | bits/byte | perplexity | target bits/byte |
|---|---|---|---|---|---|---|---|---|---|
{table}

Machine: CPU only, each model trained single-threaded (`torch.set_num_threads(1)`, `OPENBLAS_NUM_THREADS=1`),
three to five models at a time on a 2-core machine shared with other work (tests, builds), so wall times depend on
the load. Tokens seen and wall time of a model that started from another's weights (schedule "init": the second
stage of the Transformer, linear attention and the sliding window, from the first Transformer) include that
model's. Every model stores float16 weights (the Transformer, the LSTM and the GRU shipped float32 ones first, until
`half_weights.py` rounded them: half the bytes for a window to read); the float32 held-out figure is in brackets
(rounding the weights to float16 changed none of them in the fourth decimal).

## Data and tokenizer

- Corpus: {docs} documents, {corpus_mb:.1f} MB of permissively licensed TypeScript, JavaScript, Python and English
  (reStructuredText) text; sources, versions and licences in `CORPUS.md`. sha256 of `data/corpus.jsonl`:
  `{corpus_sha}`.
- Held-out split: {heldout_docs} documents ({heldout_bytes} bytes, {heldout_tokens} tokens) chosen by a hash of the path
  (about 1% of files); never trained on. Training split: {train_tokens} tokens.
- Tokenizer: byte-level BPE, 4096 tokens (256 bytes, 3839 merges, `<|endoftext|>` = 4095, the document separator),
  GPT-4-style pre-tokenizer regex; {bpt:.2f} bytes per token on the training split. sha256 of `tokenizer.json`:
  `{tok_sha}`.

## Evaluation

The held-out stream (every document preceded by `<|endoftext|>`) is cut into non-overlapping windows of {eval_len}
tokens, each run from a fresh context (zero state for the RNNs). Every token after the first is a target except
`<|endoftext|>`. Loss = mean negative log-likelihood in nats per target token; bits per byte = total nats / ln 2 /
UTF-8 bytes of the held-out text; perplexity = exp(loss).

## Models

{details}
{seq2seq}
## Circuits and code outside the corpus

`npm run bench:circuits` prints each attention model's best induction and previous-token head by the Heads view's
own probe (8 blocks of 50 random ordinary tokens, each repeated), and every causal language model's bits per byte
on code from outside the corpus (`test/fixtures/outside-code`, files named in its README) next to `xz -9e` on the
same files. Its last recorded output (`training/results/circuits.txt`):

```
{circuits}
```

## Intended use and limitations

- For visualising and comparing the internals of sequence models on short code and prose in the editor.
- Trained from scratch on about 14 MB of text ({lead}): predictions are weak, vocabulary and style follow the corpus
  (TypeScript declaration files, Python standard library, Python documentation). No safety tuning; do not use
  for generation.
- Licence of the model weights: MIT. The training data licences are listed in `CORPUS.md`.
"""
