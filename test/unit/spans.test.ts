// Why: every editor range comes from this mapping, so it is checked on hard and random text. Byte lengths
// (spansFromByteLengths) must tile the text at every kind of byte boundary; the normalizer alignment must say
// where each normalized unit came from; and every real tokenizer.json (bundled byte-level BPE, WordPiece,
// Unigram, byte-fallback BPE) must give, on random Unicode, disjoint increasing ranges whose text normalizes
// to the token, leaving uncovered only what the tokenizer drops (the invariant in src/core/tokenizer.ts).

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { LowercaseNormalizer, NFKCNormalizer, SequenceNormalizer, Tokenizer } from '@huggingface/tokenizers';
import { LensTokenizer, TokenSpan, spansFromByteLengths, utf8ByteOffsets, utf8Length, visibleWhitespace } from '../../src/core/tokenizer';
import { NormalizerLike, alignNormalizer, identity } from '../../src/core/tokenAlignment';
import { seededRandom as rng } from './seeded';

const HARD_STRINGS = [
  'plain ascii',
  'emoji 😀👍🏽 family 👨‍👩‍👧',
  '中文字符和日本語のテキスト',
  'CRLF\r\nline\r\n\r\nend',
  'tabs\tand\t\tmore',
  'combining e\u0301 and a\u0308\u0304',
  'lone high \ud800 surrogate',
  'lone low \udc00 surrogate',
  'surrogate at end \ud83d',
  '\u0000nul and \u007f del',
  'Ω≈ç√∫ RTL עברית العربية',
  '',
];

/** Checks the tiling invariants and returns the spans. */
function assertTiles(text: string, spans: TokenSpan[]): void {
  let unit = 0;
  let byte = 0;
  for (const span of spans) {
    assert.strictEqual(span.start, unit, `gap or overlap at unit ${unit} in ${JSON.stringify(text)}`);
    assert.ok(span.end >= span.start);
    assert.strictEqual(span.byteStart, byte);
    unit = span.end;
    byte = span.byteEnd;
  }
  assert.strictEqual(unit, text.length, 'the spans must cover the whole text');
  assert.strictEqual(byte, utf8ByteOffsets(text)[text.length]);
  // No span may cut a surrogate pair.
  for (const span of spans) {
    const low = text.charCodeAt(span.start);
    const high = text.charCodeAt(span.start - 1);
    assert.ok(!(span.start > 0 && (low & 0xfc00) === 0xdc00 && (high & 0xfc00) === 0xd800), 'a span starts inside a surrogate pair');
  }
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Splits n bytes into random positive lengths. */
function randomCuts(n: number, rand: () => number, maxLen = 5): number[] {
  const lengths: number[] = [];
  let left = n;
  while (left > 0) {
    const len = Math.min(left, 1 + Math.floor(rand() * maxLen));
    lengths.push(len);
    left -= len;
  }
  return lengths;
}

describe('token spans tile the text', () => {
  it('computes UTF-8 offsets the way TextEncoder encodes', () => {
    for (const text of HARD_STRINGS) {
      assert.strictEqual(utf8ByteOffsets(text)[text.length], byteLength(text), JSON.stringify(text));
    }
  });

  for (const text of HARD_STRINGS) {
    it(`one byte per token: ${JSON.stringify(text)}`, () => {
      const n = byteLength(text);
      const spans = spansFromByteLengths(text, new Array(n).fill(0), new Array(n).fill(1));
      assertTiles(text, spans);
      // Exactly one token per character owns it; the rest are empty and marked partial.
      const owners = spans.filter((s) => s.end > s.start).length;
      assert.strictEqual(owners, [...text].length);
      assert.ok(spans.filter((s) => s.end === s.start).every((s) => s.partial));
    });
  }

  it('splits a 4-byte emoji 1+3 and 3+1: the first byte owns the character', () => {
    const a = spansFromByteLengths('😀', [1, 2], [1, 3]);
    assert.deepStrictEqual(a.map((s) => [s.start, s.end, s.partial]), [[0, 2, true], [2, 2, true]]);
    const b = spansFromByteLengths('x😀', [1, 2], [4, 1]);
    assert.deepStrictEqual(b.map((s) => [s.start, s.end, s.partial]), [[0, 3, true], [3, 3, true]]);
  });

  it('keeps clean tokens unmarked', () => {
    const spans = spansFromByteLengths('ab中', [1, 2], [2, 3]);
    assert.deepStrictEqual(spans.map((s) => [s.start, s.end, s.partial]), [[0, 2, false], [2, 3, false]]);
  });

  it('tiles 500 random strings cut at random byte boundaries', () => {
    const rand = rng(42);
    const alphabet = ['a', ' ', '\t', '\r\n', '\n', 'é', 'e\u0301', '中', '😀', '👍🏽', '\ud800', '\udc00', 'ß', '{', '}', '\u200d'];
    for (let i = 0; i < 500; i++) {
      let text = '';
      const len = Math.floor(rand() * 40);
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const cuts = randomCuts(byteLength(text), rand);
      assertTiles(text, spansFromByteLengths(text, cuts.map((_, k) => k), cuts));
    }
  });

  it('rejects tokens that do not add up to the text', () => {
    assert.throws(() => spansFromByteLengths('abc', [1], [2]), /hold 2 bytes but the text has 3/);
  });

  it('shows whitespace visibly', () => {
    assert.strictEqual(visibleWhitespace(' a\tb\r\nc\rd\n'), '·a→b↵c␍d↵');
  });
});

describe('normalizer alignment', () => {
  /** Each normalized unit as [unit, original slice]. */
  const align = (norm: unknown, text: string) => {
    const d = alignNormalizer(norm as NormalizerLike, identity(text, 0));
    assert.strictEqual(d.text, (norm as NormalizerLike).normalize(text));
    return [...d.text].length === d.text.length ? [...d.text].map((ch, u) => [ch, text.slice(d.lo[u], d.hi[u])]) : Array.from(d.text, (ch, u) => [ch, text.slice(d.lo[u], d.hi[u])]);
  };

  it('maps NFKC expansions and compositions to their original characters', () => {
    assert.deepStrictEqual(align(new NFKCNormalizer({ type: 'NFKC' }), 'ﬁx e\u0301'), [['f', 'ﬁ'], ['i', 'ﬁ'], ['x', 'x'], [' ', ' '], ['é', 'e\u0301']]);
  });

  it('follows context-dependent lowercasing (Greek final sigma) without losing its place', () => {
    assert.deepStrictEqual(align(new LowercaseNormalizer({ type: 'Lowercase' }), 'ΑΣ Σ'), [['α', 'Α'], ['ς', 'Σ'], [' ', ' '], ['σ', 'Σ']]);
  });

  it('places prepended text before the first character, and drops stripped text', () => {
    const seq = new SequenceNormalizer({
      type: 'Sequence',
      normalizers: [
        { type: 'Strip', strip_left: true, strip_right: true },
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    } as never);
    const d = alignNormalizer(seq as unknown as NormalizerLike, identity('  a b ', 10));
    assert.strictEqual(d.text, '▁a▁b');
    assert.deepStrictEqual([...d.lo].map((lo, u) => [lo, d.hi[u]]), [[12, 12], [12, 13], [13, 14], [14, 15]]);
  });

  it('counts UTF-8 the way TextEncoder does', () => {
    for (const text of HARD_STRINGS) assert.strictEqual(utf8Length(text), byteLength(text), JSON.stringify(text));
  });
});

const root = path.join(__dirname, '../..');
/** A tokenizer.json as plain JSON, for tests that edit it (typed loosely on purpose). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const readJson = (file: string): Json => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const fixture = (name: string) => readJson(`test/fixtures/tokenizers/${name}`);
const untyped = (name: string) => {
  const json = fixture(name);
  delete json.model.type;
  return json;
};
const oldMetaspace = () => {
  const json = fixture('unigram.json');
  json.pre_tokenizer.pretokenizers[1] = { type: 'Metaspace', replacement: '▁', add_prefix_space: true };
  return json;
};

const bundled = () => readJson('media/models/transformer/tokenizer.json');
/** Byte-level BPE as RoBERTa has it (a space added before the text) and with a normalizer before it. */
const prefixSpace = () => {
  const json = bundled();
  json.pre_tokenizer.pretokenizers[1].add_prefix_space = true;
  return json;
};
const normalized = () => ({ ...bundled(), normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] } });

/** How a token's text relates to its range's text. */
type Kind = 'byte-level' | 'byte-level-changed' | 'wordpiece' | 'metaspace' | 'byte-fallback';
const TOKENIZERS: Array<[string, () => Json, Kind]> = [
  ['bundled byte-level BPE', bundled, 'byte-level'],
  ['bundled byte-level BPE with add_prefix_space', prefixSpace, 'byte-level-changed'],
  ['bundled byte-level BPE after NFKC and lowercasing', normalized, 'byte-level-changed'],
  ['wordpiece.json', () => fixture('wordpiece.json'), 'wordpiece'],
  ['wordpiece.json without model.type', () => untyped('wordpiece.json'), 'wordpiece'],
  ['unigram.json', () => fixture('unigram.json'), 'metaspace'],
  ['unigram.json without model.type', () => untyped('unigram.json'), 'metaspace'],
  ['unigram.json with add_prefix_space', oldMetaspace, 'metaspace'],
  ['bpe-byte-fallback.json', () => fixture('bpe-byte-fallback.json'), 'byte-fallback'],
  ['bpe-byte-fallback.json without model.type', () => untyped('bpe-byte-fallback.json'), 'byte-fallback'],
];

const PIECES = ['a', 'Z', 'x', ' ', '  ', '\t', '\r\n', '\n', 'é', 'É', 'e\u0301', 'Å', 'ß', 'İ', 'Ça', '中', '日本', '한국', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '\u200d', '\ud800', '\udc00', 'ﬁ', 'Ａ', '①', '½', 'ω', '{', '}', '(', ')', '_', '.', ':', 'def', 'return', 'the', 'ing', 'Hello', '\u00a0', '\u3000', '\u0000', '\ufffd', '[SEP]', '</s>', '<unk>', '<0x0A>', '▁', '##'];

describe('token ranges on random Unicode text', () => {
  for (const [name, load, kind] of TOKENIZERS) {
    it(`${name}: ranges are disjoint and increasing, their text normalizes to the token, only dropped text is uncovered`, () => {
      const json = load();
      const tokenizer = new LensTokenizer(json, name);
      const library = new Tokenizer(json, {});
      const normalizer = library.normalizer as unknown as NormalizerLike | null;
      const normalize = (s: string) => (normalizer ? normalizer.normalize(s) : s);
      const tokenText = (id: number) => library.id_to_token(id) ?? '';
      const rand = rng(7);
      for (let n = 0; n < 150; n++) {
        let text = '';
        for (let j = Math.floor(rand() * 24); j > 0; j--) text += PIECES[Math.floor(rand() * PIECES.length)];
        const where = `${name} on ${JSON.stringify(text)}`;
        const spans = tokenizer.tokenize(text);
        assert.deepStrictEqual(spans.map((s) => s.id), tokenizer.encode(text), where);
        checkRanges(text, spans, where);
        if (kind === 'byte-level') assertTiles(text, spans);
        else checkUncovered(text, spans, (s) => (kind === 'byte-fallback' ? false : /^\s*$/.test(normalize(s))), where);
        checkSurfaces(tokenText, text, spans, kind, normalize, where);
      }
    });
  }
});

function checkRanges(text: string, spans: TokenSpan[], where: string): void {
  const offsets = utf8ByteOffsets(text);
  let last = 0;
  let lastByte = 0;
  for (const s of spans) {
    assert.ok(s.start >= last && s.end >= s.start && s.end <= text.length, `${where}: [${s.start}, ${s.end}) after ${last}`);
    assert.ok(s.byteStart <= s.byteEnd && s.byteStart >= lastByte && s.byteEnd <= offsets[text.length], where);
    if (!s.partial) assert.deepStrictEqual([s.byteStart, s.byteEnd], [offsets[s.start], offsets[s.end]], where);
    lastByte = s.byteEnd;
    assert.ok(s.start === text.length || startsChar(text, s.start), `${where}: ${s.start} cuts a surrogate pair`);
    assert.ok(s.end === text.length || startsChar(text, s.end), `${where}: ${s.end} cuts a surrogate pair`);
    last = s.end;
  }
}

const startsChar = (text: string, i: number) => !((text.charCodeAt(i) & 0xfc00) === 0xdc00 && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800);

/** Every uncovered character is whitespace or normalizes to nothing (or whitespace). */
function checkUncovered(text: string, spans: TokenSpan[], dropped: (s: string) => boolean, where: string): void {
  const covered = new Uint8Array(text.length);
  for (const s of spans) covered.fill(1, s.start, s.end);
  for (let u = 0; u < text.length; u++) {
    if (covered[u] || !startsChar(text, u)) continue;
    const ch = String.fromCodePoint(text.codePointAt(u)!);
    assert.ok(/^\s$/u.test(ch) || dropped(ch), `${where}: ${JSON.stringify(ch)} at ${u} is not covered`);
  }
}

/** Each token's text is its range's text, normalized (and spelled as the tokenizer spells it). */
function checkSurfaces(vocab: (id: number) => string, text: string, spans: TokenSpan[], kind: Kind, normalize: (s: string) => string, where: string): void {
  let bytes: number[] = [];
  let runStart = -1;
  spans.forEach((s, i) => {
    const token = vocab(s.id);
    const slice = text.slice(s.start, s.end);
    const at = `${where}: token ${i} ${JSON.stringify(token)} on ${JSON.stringify(slice)}`;
    if (kind === 'byte-fallback' && /^<0x[0-9A-F]{2}>$/.test(token) && !s.special) {
      if (runStart < 0) runStart = s.start;
      bytes.push(parseInt(token.slice(3, 5), 16));
      const next = spans[i + 1];
      if (!next || !/^<0x[0-9A-F]{2}>$/.test(vocab(next.id))) {
        assert.deepStrictEqual(bytes, [...new TextEncoder().encode(text.slice(runStart, s.end))], at);
        bytes = [];
        runStart = -1;
      }
      return;
    }
    if (s.special || s.partial || kind === 'byte-level' || kind === 'byte-level-changed') return;
    if (kind === 'wordpiece') {
      if (token === '[UNK]') assert.ok(slice.length > 0 && !/\s/.test(normalize(slice).trim()), at);
      else assert.strictEqual(normalize(slice).replace(/\s/g, ''), token.replace(/^##(?=.)/, ''), at);
    } else {
      // Llama's normalizer prepends ▁ to the whole text; a range's own text only has its spaces replaced.
      const norm = (kind === 'byte-fallback' ? slice : normalize(slice)).replace(/ /g, '▁');
      assert.ok(token === norm || token === '▁' + norm || (kind === 'metaspace' && s.id === 2 && slice.length > 0), `${at}: normalized ${JSON.stringify(norm)}`);
    }
  });
}

it('WordPiece ranges point at the original accented capitals', () => {
  const tokenizer = new LensTokenizer(fixture('wordpiece.json'));
  const text = 'ÉCOLE Straße ΑΣ';
  const spans = tokenizer.tokenize(text);
  assert.strictEqual(text.slice(spans[0].start, spans[0].end)[0], 'É');
  assert.strictEqual(tokenizer.display(spans[0].id)[0], 'e');
  checkRanges(text, spans, text);
});

it('an unfamiliar pre-tokenizer (one that rewrites text) still gives the ids and disjoint ranges in order', () => {
  const json = fixture('wordpiece.json');
  json.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Replace', pattern: { String: 'q' }, content: 'k' }, { type: 'BertPreTokenizer' }] };
  const tokenizer = new LensTokenizer(json);
  for (const text of ['quick quiet queue', 'a q b', '']) {
    const spans = tokenizer.tokenize(text);
    assert.deepStrictEqual(spans.map((s) => s.id), tokenizer.encode(text));
    checkRanges(text, spans, text);
  }
});
