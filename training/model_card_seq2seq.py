"""The model card's section on the encoder and the two encoder-decoders (MODELS.md, written by model_card.py), from
their manifests (training/out/models when exported in this checkout, else media/models). Their held-out figures
are not next-token losses, so they get their own table: masked-LM loss and accuracy for the encoder; teacher-
forced loss and token accuracy and exact match of greedy fillings on fixed held-out holes for the encoder-decoders.
Copies each finished model's training log into results/.
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["encoder", "t5", "bahdanau"]


def manifest_of(mid):
    for path in (os.path.join(HERE, "out", "models", mid, "manifest.json"),
                 os.path.join(ROOT, "media", "models", mid, "manifest.json")):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f), path.startswith(os.path.join(HERE, "out"))
    return None, False


def axes(t):
    return "[" + ", ".join(str(a.get("size", "B")) for a in t["axes"]) + "]"


def section(results_dir):
    rows, details = [], []
    for mid in MODELS:
        m, exported = manifest_of(mid)
        if m is None:
            continue
        t, x = m["training"], m["metrics"]
        log = os.path.join(HERE, "logs", mid + ".log")
        if exported and t["final"] and os.path.exists(log):
            shutil.copyfile(log, os.path.join(results_dir, mid + ".log"))
        if mid == "encoder":
            figures = "masked-LM loss %.4f nats (perplexity %.1f), accuracy %.1f%% on %s masked tokens" % (
                x["heldOutMaskedLossNats"], x["heldOutMaskedPerplexity"], 100 * x["heldOutMaskedAccuracy"],
                "{:,}".format(x["heldOutMaskedTokens"]))
        else:
            figures = ("exact match %.1f%%, token accuracy %.1f%%, loss %.4f nats on %d holes (%d scored tokens)" % (
                100 * x["heldOutInfillExactMatch"], 100 * x["heldOutInfillTokenAccuracy"], x["heldOutInfillLossNats"],
                x["heldOutHoles"], x["heldOutScoredTokens"]))
        rows.append("| %s | %s | %s | %s | %d / %d | %.2f M | %.0f min | %s |" % (
            mid, "final" if t["final"] else "**provisional**", t["objective"], "{:,}".format(m["parameters"]),
            t["steps"], t["plannedSteps"], t["tokensSeen"] / 1e6, t["wallTimeSeconds"] / 60, figures))
        dims = ", ".join("%s %s" % (k, v) for k, v in m["dimensions"].items())
        counted = ("windows of %d tokens" % t["sequenceLength"] if "sequenceLength" in t
                   else "source and target, target padding included")
        details.append("### %s\n\n%s\n\n- Dimensions: %s\n- Inputs: %s\n- Outputs: %s\n- Training: %d steps, batch %d, "
                       "%s tokens (%s), seed %d, %s, %d s of training wall time.\n"
                       "- Held-out (float16 weights as shipped): %s.\n- ONNX: opset %d, %.2f MB, sha256 `%s`\n" % (
                           m["displayName"], m["description"], dims,
                           "; ".join("`%s` %s" % (i["name"], axes(i)) for i in m["inputs"]),
                           "; ".join("`%s` %s" % (o["name"], axes(o)) for o in m["outputs"]),
                           t["steps"], t["batchSize"], "{:,}".format(t["tokensSeen"]), counted, t["seed"], t["machine"],
                           t["wallTimeSeconds"], figures, m["onnx"]["opset"], m["onnx"]["bytes"] / 1e6,
                           m["onnx"]["sha256"]))
    if not rows:
        return ""
    return SECTION.format(table="\n".join(rows), details="\n".join(details))


SECTION = """## Encoder and encoder\u2013decoders

Three models read a whole sequence rather than a prefix, so the views can show bidirectional and cross-attention:
an encoder trained with masked-language modelling, and two encoder\u2013decoders trained to fill a hole in code
(T5's span infilling with one span). They share the corpus and the byte-level BPE above, plus four special
tokens appended after it: `<pad>` = 4096, `<mask>` = 4097, `<extra_id_0>` = 4098, `<extra_id_1>` = 4099
(`training/train_seq2seq.py`, `seq2seq_models.py`, `export_seq2seq.py`).

| model | status | objective | parameters | steps (done / planned) | tokens seen | training wall time | held-out |
|---|---|---|---|---|---|---|---|
{table}

Held-out figures. Encoder: every 256-token window of the held-out stream, masked by BERT's recipe with a fixed
seed; loss and accuracy (argmax = original token) over the chosen positions. Encoder\u2013decoders: 500 holes drawn
with a fixed seed from the held-out stream, each with the full context (200 tokens before, 100 after), the span
1-24 tokens starting (and where possible ending) at whitespace or punctuation; teacher-forced loss and token
accuracy over the span's tokens and `<extra_id_1>`; exact match = the greedy filling (from `<pad> <extra_id_0>`
until `<extra_id_1>`, at most 26 tokens) equals the span.

{details}
"""
