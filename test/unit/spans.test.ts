// Unit tests for token-to-editor offset mapping (src/core/tokenizer.ts spansFromByteLengths): for hard
// strings and random strings, cut at every kind of byte boundary, the token ranges tile the text exactly.

import * as assert from 'assert';
import { TokenSpan, spansFromByteLengths, utf8ByteOffsets, visibleWhitespace } from '../../src/core/tokenizer';

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

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
