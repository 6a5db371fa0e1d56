"""Byte-level BPE tokenizer: training, encoding and export to a Hugging Face tokenizer.json.

Pure Python (plus the `regex` module for \\p{L}/\\p{N}). Token ids 0-255 are the raw bytes, ids 256.. are the
merges in the order they were learnt, and the special tokens come last. The saved tokenizer.json uses the
GPT-2 byte-to-unicode alphabet, a Split(regex, isolated) + ByteLevel(use_regex=false) pre-tokenizer and a
ByteLevel decoder, so `@huggingface/tokenizers` (JS) and `tokenizers` (Rust/Python) reproduce these ids.
"""
import heapq
import json
from collections import Counter

import regex

# GPT-4-style pre-tokenizer without case-insensitive groups (so it is also a valid JavaScript `u` regex).
PATTERN = (r"'(?:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
           r"|\s*[\r\n]+|\s+(?!\S)|\s+")
EOT = "<|endoftext|>"
SPECIAL_TOKENS = [EOT]

_pat = regex.compile(PATTERN)


def bytes_to_unicode():
    """GPT-2's reversible mapping of the 256 byte values to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_UNICODE = bytes_to_unicode()


def pretokenize(text):
    return _pat.findall(text)


def train(texts, vocab_size, log=print):
    """Learn vocab_size - 256 - len(SPECIAL_TOKENS) merges. Deterministic: the most frequent pair wins,
    ties go to the pair with the smallest (left id, right id)."""
    n_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    counts = Counter()
    for t in texts:
        counts.update(pretokenize(t))
    words = []
    freqs = []
    for w, c in sorted(counts.items()):
        words.append(list(w.encode("utf-8")))
        freqs.append(c)
    log("bpe: %d unique pre-tokens" % len(words))

    pair_counts = Counter()
    where = {}
    for i, (w, f) in enumerate(zip(words, freqs)):
        for p in zip(w, w[1:]):
            pair_counts[p] += f
            where.setdefault(p, set()).add(i)
    heap = [(-c, p) for p, c in pair_counts.items()]
    heapq.heapify(heap)

    merges = []
    next_id = 256
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        cur = pair_counts.get(pair, 0)
        if cur <= 0:
            continue
        if -negc != cur:
            heapq.heappush(heap, (-cur, pair))
            continue
        a, b = pair
        new = next_id
        next_id += 1
        merges.append(pair)
        changed = Counter()
        for i in where.pop(pair, ()):
            w = words[i]
            f = freqs[i]
            # remove this word's old pair counts
            for p in zip(w, w[1:]):
                changed[p] -= f
            j = 0
            out = []
            n = len(w)
            while j < n:
                if j < n - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                changed[p] += f
                if p[0] == new or p[1] == new:
                    where.setdefault(p, set()).add(i)
        for p, d in changed.items():
            if d == 0:
                continue
            c = pair_counts[p] + d
            if c > 0:
                pair_counts[p] = c
                heapq.heappush(heap, (-c, p))
            else:
                pair_counts.pop(p, None)
        pair_counts.pop(pair, None)
        if len(merges) % 500 == 0:
            log("bpe: %d merges" % len(merges))
    return merges


class Tokenizer:
    def __init__(self, merges):
        self.merges = [tuple(m) for m in merges]
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.token_bytes = [bytes([i]) for i in range(256)]
        self.pair_to_id = {}
        for i, (a, b) in enumerate(self.merges):
            self.pair_to_id[(a, b)] = 256 + i
            self.token_bytes.append(self.token_bytes[a] + self.token_bytes[b])
        self.special = {s: len(self.token_bytes) + k for k, s in enumerate(SPECIAL_TOKENS)}
        self.vocab_size = len(self.token_bytes) + len(SPECIAL_TOKENS)
        self.eot_id = self.special[EOT]
        self._cache = {}
        self._special_pat = regex.compile("|".join(regex.escape(s) for s in SPECIAL_TOKENS))

    def _bpe(self, piece):
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        ids = list(piece.encode("utf-8"))
        ranks = self.ranks
        while len(ids) > 1:
            best = None
            best_rank = None
            for p in zip(ids, ids[1:]):
                r = ranks.get(p)
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = p, r
            if best is None:
                break
            new = 256 + best_rank
            out = []
            j = 0
            n = len(ids)
            while j < n:
                if j < n - 1 and ids[j] == best[0] and ids[j + 1] == best[1]:
                    out.append(new)
                    j += 2
                else:
                    out.append(ids[j])
                    j += 1
            ids = out
        if len(self._cache) < 500_000:
            self._cache[piece] = ids
        return ids

    def encode_ordinary(self, text):
        out = []
        for piece in _pat.findall(text):
            out.extend(self._bpe(piece))
        return out

    def encode(self, text):
        """Encode, recognising special tokens in the text (as the tokenizer.json added_tokens do)."""
        out = []
        pos = 0
        for m in self._special_pat.finditer(text):
            out.extend(self.encode_ordinary(text[pos:m.start()]))
            out.append(self.special[m.group(0)])
            pos = m.end()
        out.extend(self.encode_ordinary(text[pos:]))
        return out

    def token_str(self, i):
        if i >= len(self.token_bytes):
            return SPECIAL_TOKENS[i - len(self.token_bytes)]
        return "".join(BYTE_TO_UNICODE[b] for b in self.token_bytes[i])

    def decode_bytes(self, ids):
        return b"".join(self.token_bytes[i] if i < len(self.token_bytes)
                        else SPECIAL_TOKENS[i - len(self.token_bytes)].encode("utf-8") for i in ids)

    def to_hf_json(self):
        vocab = {self.token_str(i): i for i in range(self.vocab_size)}
        assert len(vocab) == self.vocab_size, "duplicate token strings"
        merges = ["%s %s" % (self.token_str(a), self.token_str(b)) for a, b in self.merges]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {"id": self.special[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True}
                for s in SPECIAL_TOKENS
            ],
            "normalizer": None,
            "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                    {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated", "invert": False},
                    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
                ],
            },
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE",
                "dropout": None,
                "unk_token": None,
                "continuing_subword_prefix": None,
                "end_of_word_suffix": None,
                "fuse_unk": False,
                "byte_fallback": False,
                "ignore_merges": False,
                "vocab": vocab,
                "merges": merges,
            },
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            j = json.load(f)
        vocab = j["model"]["vocab"]
        merges = []
        for m in j["model"]["merges"]:
            a, b = m.split(" ") if isinstance(m, str) else m
            merges.append((vocab[a], vocab[b]))
        tok = cls(merges)
        for i in range(256):
            assert vocab[BYTE_TO_UNICODE[i]] == i
        return tok
