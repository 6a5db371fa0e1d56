#!/usr/bin/env python3
"""Train the byte-level BPE tokenizer on the training split and encode the corpus.

Inputs:  data/corpus.jsonl (build_corpus.py)
Outputs: out/tokenizer.json            Hugging Face tokenizer (shipped with every bundled model)
         out/heldout_ids.json          held-out documents with their ids, for the TypeScript tokenizer test
         data/train.bin, heldout.bin   uint16 token streams, each document preceded by <|endoftext|>
         data/tokens.json              token counts
"""
import hashlib
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
OUT = os.path.join(HERE, "out")
VOCAB_SIZE = 4096


def main():
    docs = []
    with open(os.path.join(DATA, "corpus.jsonl"), encoding="utf-8") as f:
        for line in f:
            docs.append(json.loads(line))
    os.makedirs(OUT, exist_ok=True)
    tok_path = os.path.join(OUT, "tokenizer.json")
    t0 = time.time()
    merges = bpe.train([d["text"] for d in docs if d["split"] == "train"], VOCAB_SIZE)
    tok = bpe.Tokenizer(merges)
    assert tok.vocab_size == VOCAB_SIZE
    tok.save(tok_path)
    print("tokenizer trained in %.1f s" % (time.time() - t0), flush=True)

    t0 = time.time()
    streams = {"train": [], "heldout": []}
    heldout = []
    for d in docs:
        ids = tok.encode_ordinary(d["text"])
        assert tok.decode_bytes(ids) == d["text"].encode("utf-8")
        streams[d["split"]].append(tok.eot_id)
        streams[d["split"]].extend(ids)
        if d["split"] == "heldout":
            heldout.append({"path": d["path"], "text": d["text"], "ids": ids})
    print("corpus encoded in %.1f s" % (time.time() - t0), flush=True)
    stats = {}
    for split, ids in streams.items():
        arr = np.array(ids, dtype=np.uint16)
        arr.tofile(os.path.join(DATA, split + ".bin"))
        nbytes = sum(len(d["text"].encode("utf-8")) for d in docs if d["split"] == split)
        stats[split] = {"tokens": int(arr.size), "bytes": nbytes, "bytesPerToken": nbytes / arr.size}
    with open(tok_path, "rb") as f:
        tok_sha = hashlib.sha256(f.read()).hexdigest()
    stats["tokenizerSha256"] = tok_sha
    with open(os.path.join(DATA, "corpus.json"), encoding="utf-8") as f:
        stats["corpusSha256"] = json.load(f)["sha256"]
    with open(os.path.join(DATA, "tokens.json"), "w") as f:
        json.dump(stats, f, indent=1)
    # Held-out ids for the TypeScript test: ids of each document encoded on its own (no special tokens added),
    # plus the ids of all documents joined with <|endoftext|> (checks special-token handling).
    joined_text = "".join(bpe.EOT + h["text"] for h in heldout)
    joined_ids = tok.encode(joined_text)
    assert joined_ids == streams["heldout"]
    with open(os.path.join(OUT, "heldout_ids.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({
            "tokenizer": "tokenizer.json",
            "tokenizerSha256": tok_sha,
            "vocabSize": VOCAB_SIZE,
            "endOfText": {"token": bpe.EOT, "id": tok.eot_id},
            "note": "ids = encode(text) with no special tokens added; joined = every document prefixed with "
                    "<|endoftext|> and concatenated, joinedIds = encode(joined) with special tokens recognised",
            "documents": heldout,
            "joinedIds": joined_ids,
        }, f, ensure_ascii=False)
        f.write("\n")
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
