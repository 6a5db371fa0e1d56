// Why: the lens shows model internals per token beside the editor, so every token needs its exact range in the
// analysed text, whatever tokenizer.json the model ships (byte-level BPE, WordPiece, SentencePiece Unigram,
// byte-fallback BPE). @huggingface/tokenizers loads the file and gives the ids but no offsets; this file
// replays its pipeline piece by piece (src/core/tokenAlignment.ts) to place every token in the original text.
//
// Range invariant (tokenize): ranges are disjoint, in order, and inside the text; every UTF-16 unit that no
// range covers was removed by the normalizer (control characters, combining accents under strip_accents),
// dropped by the pre-tokenizer (whitespace, for WordPiece, Whitespace and WhitespaceSplit) or stripped by an
// added token's lstrip/rstrip (whitespace); byte-level BPE ranges tile the text exactly. A range's text,
// normalized, is the token's text: "É" → "e" for a lowercasing, accent-stripping WordPiece; a Metaspace "▁"
// takes the space before its word where the text has one and nothing where the pre-tokenizer inserted it.
// An original character belongs to the first token holding any of its bytes or normalized units; a later
// token holding only the rest of it (a byte token of a multi-byte character, the "i" of "ﬁ" → "fi") gets an
// empty range right after it, and both are partial. Special tokens that the post-processor or a prefix
// inserts have empty ranges where they stand (leading ones at 0, trailing ones at text.length); special
// tokens written in the text (e.g. "<|endoftext|>", "[SEP]") cover their text. Should the replay ever
// disagree with the library's ids, each token is looked up in turn: ids and order stay right, coverage may not.

import type { Tokenizer } from '@huggingface/tokenizers';
import { LensError } from './errors';
import { type SliceOptions, finish, finishInSlices } from './timeSlices';
import { Derived, Placed, Spelling, atomsOf, alignNormalizer, byteText, findPiece, identity, rangesOf, utf8ByteOffsets } from './tokenAlignment';
import { type Pipeline, type TokenizerParts, libraryTokenizer, tokenizerSteps } from './tokenizerBuild';
import { Contents, ModelType, splitAtTokens, stripAround } from './tokenizerConfig';
import { type PackedTokenizer, unpackedSteps } from './tokenizerPacked';
import type { AddedTokenConfig } from './tokenizerConfig';

export { utf8ByteOffsets } from './tokenAlignment';

/** One token of an analysed text. Offsets are UTF-16 code units relative to the text's start. */
export interface TokenSpan {
  id: number;
  /** Start and end in UTF-16 units; end === start for an inserted special token or a token holding only part of a character another token holds. */
  start: number;
  end: number;
  /** Start and end in the text's UTF-8 bytes (byte-level tokenizers: the token's own bytes; others: the range's). */
  byteStart: number;
  byteEnd: number;
  /** True when the token begins or ends inside an original character. */
  partial: boolean;
  /** A special token (added token marked special, or one the post-processor or a prefix inserts). */
  special: boolean;
}

/** What tokenize() adds around a text's own tokens. */
export interface TokenizeOptions {
  addSpecialTokens?: boolean;
  prefix?: readonly string[];
}

/** UTF-8 length of a string, lone surrogates as 3 bytes (U+FFFD, as an encoder writes them). */
export function utf8Length(text: string): number {
  return utf8ByteOffsets(text)[text.length];
}

/** Is UTF-16 unit i the start of a character (not the low half of a pair)? */
function startsCharacter(text: string, i: number): boolean {
  return !((text.charCodeAt(i) & 0xfc00) === 0xdc00 && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800);
}

/**
 * Maps token byte lengths onto the text. A character belongs to the token that holds its first byte,
 * so the ranges are contiguous, never overlap, and together cover the text exactly.
 */
export function spansFromByteLengths(text: string, ids: readonly number[], byteLengths: readonly number[]): TokenSpan[] {
  const offsets = utf8ByteOffsets(text);
  const totalBytes = offsets[text.length];
  const sum = byteLengths.reduce((a, b) => a + b, 0);
  if (sum !== totalBytes) {
    throw new LensError('model-invalid', `The tokenizer's tokens hold ${sum} bytes but the text has ${totalBytes}: the tokenizer changed the text (a normalizer?), so tokens cannot be mapped to the editor.`);
  }
  const spans: TokenSpan[] = [];
  let unit = 0; // first UTF-16 unit not yet assigned
  let byte = 0;
  for (let t = 0; t < ids.length; t++) {
    const byteStart = byte;
    const byteEnd = byte + byteLengths[t];
    const start = unit;
    while (unit < text.length && offsets[unit] < byteEnd) {
      unit++;
      while (unit < text.length && !startsCharacter(text, unit)) unit++;
    }
    const startsClean = start < text.length ? offsets[start] === byteStart : byteStart === totalBytes;
    const endsClean = unit < text.length ? offsets[unit] === byteEnd : byteEnd === totalBytes;
    spans.push({ id: ids[t], start, end: unit, byteStart, byteEnd, partial: !startsClean || !endsClean || start === unit, special: false });
    byte = byteEnd;
  }
  return spans;
}

/** Makes whitespace visible for display: · for space, → for tab, ↵ for a line break (␍ for a lone CR). */
export function visibleWhitespace(text: string): string {
  return text.replace(/\r\n|\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '→').replace(/ /g, '·');
}

const BYTE_TOKEN = /^<0x([0-9A-F]{2})>$/;
/** Texts from this many UTF-16 units have their ids kept (encode); KEPT_ENCODINGS of them, the latest. */
const KEEP_ENCODED_FROM = 1024;
const KEPT_ENCODINGS = 2;

/** A loaded tokenizer.json with exact token ranges. */
export class LensTokenizer {
  /** The library's tokenizer, built when first needed if it was left (see library()). */
  private lib: Tokenizer | undefined;
  /** What gives the library's configuration while its tokenizer is left until used (then dropped: it holds the whole file). */
  private libraryConfig: (() => Record<string, unknown>) | undefined;
  private readonly type: ModelType;
  private readonly ids: Map<string, number>;
  private readonly tokens: string[];
  private readonly specialIds: Set<number>;
  private readonly addedByContent: Map<string, AddedTokenConfig>;
  private readonly rawAdded: Contents;
  private readonly normalizedAdded: Contents;
  private readonly spelling: Spelling;
  private readonly wordPiecePrefix: string | null;
  private readonly unkToken: string | null;
  /** The ids of the last long texts encoded, the latest first. */
  private readonly encoded: Array<{ text: string; addSpecialTokens: boolean; ids: number[] }> = [];
  /** display() per id, once computed. */
  private readonly displayed: string[] = [];
  private readonly suffixes: string[];
  private readonly byteFallback: boolean;
  private readonly hasNormalizer: boolean;
  /** Byte-level vocabularies: every token's bytes. */
  private readonly tokenBytes: Uint8Array[] | null;

  /** Builds the tokenizer of a parsed tokenizer.json at once; `parts` when they were built already (inSlices). */
  constructor(json: unknown, private readonly file = 'tokenizer.json', parts: TokenizerParts = finish(tokenizerSteps(json, file))) {
    ({
      lib: this.lib,
      libraryConfig: this.libraryConfig,
      type: this.type,
      ids: this.ids,
      tokens: this.tokens,
      specialIds: this.specialIds,
      addedByContent: this.addedByContent,
      rawAdded: this.rawAdded,
      normalizedAdded: this.normalizedAdded,
      spelling: this.spelling,
      wordPiecePrefix: this.wordPiecePrefix,
      unkToken: this.unkToken,
      suffixes: this.suffixes,
      byteFallback: this.byteFallback,
      hasNormalizer: this.hasNormalizer,
      tokenBytes: this.tokenBytes,
    } = parts);
    if (this.lib) this.libraryConfig = undefined;
  }

  /**
   * Builds the tokenizer in slices (tokenizerBuild.ts says why): the page's thread draws in between. With
   * libraryWhenUsed, the library's own tokenizer waits for the first encode, decode or tokenize, when the file has
   * no normalizer (token texts, ids and bytes do not need it).
   */
  static async inSlices(json: unknown, file: string, options: SliceOptions & { libraryWhenUsed?: boolean }): Promise<LensTokenizer> {
    return new LensTokenizer(json, file, await finishInSlices(tokenizerSteps(json, file, options.libraryWhenUsed), options));
  }

  /**
   * Builds the tokenizer in slices from the parts the tokenizer worker packed (tokenizerPacked.ts): no JSON to
   * parse on the page. The library's tokenizer waits for the first encode, decode or tokenize, when json() (the
   * parsed file) gives its configuration.
   */
  static async fromPacked(packed: PackedTokenizer, file: string, json: () => unknown, options: SliceOptions): Promise<LensTokenizer> {
    return new LensTokenizer(undefined, file, await finishInSlices(unpackedSteps(packed, file, json), options));
  }

  /** Whether the library's tokenizer exists (it may be left until used: inSlices' libraryWhenUsed). */
  get libraryBuilt(): boolean {
    return this.lib !== undefined;
  }

  /** The library's tokenizer, built now if it was left until used. */
  private library(): Tokenizer {
    if (!this.lib) {
      this.lib = libraryTokenizer(this.libraryConfig!(), this.file);
      this.libraryConfig = undefined;
    }
    return this.lib;
  }

  /** The library's parts this class drives directly. */
  private get pipe(): Pipeline {
    return this.library() as unknown as Pipeline;
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  /**
   * Token ids of a text (special tokens of the post-processor only when asked). The ids of the last long texts
   * are kept: the panel counts a selection's tokens before it analyses them, and one call of the library on
   * 2,044 tokens was a 67 ms task (bench:profile).
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? false;
    if (text.length < KEEP_ENCODED_FROM) return this.library().encode(text, { add_special_tokens: addSpecialTokens }).ids;
    const kept = this.encoded.find((e) => e.addSpecialTokens === addSpecialTokens && e.text === text);
    if (kept) return kept.ids.slice();
    const ids = this.library().encode(text, { add_special_tokens: addSpecialTokens }).ids;
    this.encoded.unshift({ text, addSpecialTokens, ids: ids.slice() });
    this.encoded.length = Math.min(this.encoded.length, KEPT_ENCODINGS);
    return ids;
  }

  decode(ids: readonly number[]): string {
    if (!ids.length) return '';
    return this.library().decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The raw bytes of a token of a byte-level vocabulary (other vocabularies: its text's UTF-8). */
  bytesOf(id: number): Uint8Array {
    const bytes = this.tokenBytes?.[id] ?? (this.tokens[id] !== undefined ? new TextEncoder().encode(this.tokens[id]) : undefined);
    if (!bytes) throw new LensError('model-invalid', `${this.file}: token id ${id} is outside the tokenizer's vocabulary.`);
    return bytes;
  }

  /** The id of a token string (vocabulary or added token), or undefined. */
  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Display text of a token: real text with whitespace made visible; special tokens as they are. */
  display(id: number): string {
    // Kept per id: an analysis shows each token and five predictions per position (12,000 calls at 2,044 tokens).
    return (this.displayed[id] ??= this.displayOf(id));
  }

  private displayOf(id: number): string {
    const token = this.tokens[id];
    if (token === undefined) throw new LensError('model-invalid', `${this.file}: token id ${id} is outside the tokenizer's vocabulary.`);
    if (this.specialIds.has(id)) return token;
    if (this.tokenBytes) return visibleWhitespace(new TextDecoder('utf-8').decode(this.tokenBytes[id]));
    const byte = this.byteFallback ? BYTE_TOKEN.exec(token) : null;
    if (byte) {
      const b = parseInt(byte[1], 16);
      return b < 0x80 ? visibleWhitespace(String.fromCharCode(b)) : token;
    }
    let s = token;
    const prefix = this.wordPiecePrefix;
    if (prefix && s.startsWith(prefix) && s.length > prefix.length) s = s.slice(prefix.length);
    for (const suffix of this.suffixes) if (s.endsWith(suffix) && s.length > suffix.length) s = s.slice(0, -suffix.length);
    if (this.spelling.meta) s = s.split(this.spelling.meta).join(' ');
    return visibleWhitespace(s.replace(/\u2581/g, ' '));
  }

  /**
   * Tokenizes and gives every token its exact range (see the invariant at the top of this file).
   * addSpecialTokens runs the tokenizer's post-processor ([CLS] … [SEP], </s>); prefix puts these token strings
   * first (e.g. a decoder start token "<pad>"), as special tokens with empty ranges.
   */
  tokenize(text: string, options: TokenizeOptions = {}): TokenSpan[] {
    const ids = this.encode(text);
    let spans = this.placeByBytes(text, ids) ?? this.replay(text);
    if (!spans || spans.length !== ids.length || spans.some((s, i) => s.id !== ids[i])) spans = this.placeEach(text, ids);
    const total = utf8Length(text);
    const inserted = (id: number, at: number): TokenSpan => ({ id, start: at, end: at, byteStart: at ? total : 0, byteEnd: at ? total : 0, partial: false, special: true });
    const before: TokenSpan[] = (options.prefix ?? []).map((token) => {
      const id = this.ids.get(token);
      if (id === undefined) throw new LensError('model-invalid', `${this.file}: the prefix token ${JSON.stringify(token)} is not in the tokenizer's vocabulary.`);
      return inserted(id, 0);
    });
    const after: TokenSpan[] = [];
    if (options.addSpecialTokens) {
      const full = this.encode(text, { addSpecialTokens: true });
      let k = 0;
      while (k + ids.length <= full.length && ids.some((id, i) => full[k + i] !== id)) k++;
      if (k + ids.length > full.length) throw new LensError('model-invalid', `${this.file}: the post-processor changed the text's tokens, so the tokens it adds cannot be placed.`);
      before.push(...full.slice(0, k).map((id) => inserted(id, 0)));
      after.push(...full.slice(k + ids.length).map((id) => inserted(id, text.length)));
    }
    return [...before, ...spans, ...after];
  }

  /** Byte-level BPE without a normalizer: the tokens' bytes tile the text's bytes. */
  private placeByBytes(text: string, ids: number[]): TokenSpan[] | null {
    if (!this.tokenBytes || this.hasNormalizer || this.spelling.prefixSpace) return null;
    try {
      const spans = spansFromByteLengths(text, ids, ids.map((id) => this.bytesOf(id).length));
      for (const s of spans) s.special = !!this.addedByContent.get(this.tokens[s.id])?.special;
      return spans;
    } catch {
      return null;
    }
  }

  /** The atoms a token spells in its piece, or null when unknown (an unknown-token placeholder). */
  private atomsOfToken(token: string, first: boolean): number[] | null {
    if (this.type === 'Unigram') return atomsOf(token, this.spelling); // the library gives unknown text as is
    if (token === this.unkToken) return null;
    const byte = this.byteFallback ? BYTE_TOKEN.exec(token) : null;
    if (byte) return [parseInt(byte[1], 16)];
    let s = token;
    const prefix = this.wordPiecePrefix;
    if (prefix && !first && s.startsWith(prefix) && s.length > prefix.length) s = s.slice(prefix.length);
    for (const suffix of this.suffixes) if (s.endsWith(suffix) && s.length > suffix.length) s = s.slice(0, -suffix.length);
    return atomsOf(s, this.spelling);
  }

  /** Replays the library's pipeline (added tokens, normalizer, pre-tokenizer, model) and places every token. */
  private replay(text: string): TokenSpan[] | null {
    const offsets = utf8ByteOffsets(text);
    const spans: TokenSpan[] = [];
    let covered = 0;
    const push = (id: number, start: number, end: number, partial: boolean, special: boolean, bytes?: [number, number]) => {
      spans.push({ id, start, end, byteStart: bytes?.[0] ?? offsets[start], byteEnd: bytes?.[1] ?? offsets[end], partial, special });
      covered = end;
    };
    const sections = splitAtTokens(text, this.rawAdded);
    stripAround(text, sections, this.addedByContent);
    for (const [index, section] of sections.entries()) {
      const raw = text.slice(section.start, section.end);
      if (!raw) continue;
      const whole = this.addedByContent.get(raw);
      if (whole) {
        push(whole.id, section.start, section.end, false, !!whole.special);
        continue;
      }
      const d = alignNormalizer(this.pipe.normalizer, identity(raw, section.start));
      const subsections = splitAtTokens(d.text, this.normalizedAdded);
      stripAround(d.text, subsections, this.addedByContent);
      for (const sub of subsections) {
        if (sub.end <= sub.start) continue;
        const part: Derived = { text: d.text.slice(sub.start, sub.end), lo: d.lo.subarray(sub.start, sub.end), hi: d.hi.subarray(sub.start, sub.end), end: sub.end < d.text.length ? d.lo[sub.end] : d.end };
        const t = byteText(part.text);
        const tokens: string[] = [];
        const placed: Placed[] = [];
        const special = this.addedByContent.get(part.text);
        if (special) {
          tokens.push(special.content);
          placed.push({ b0: 0, b1: t.bytes.length });
        } else {
          let cursor = 0;
          const pieces = this.pipe.pre_tokenizer ? this.pipe.pre_tokenizer(part.text, { section_index: index }) : [part.text];
          for (const piece of pieces) {
            const atoms = atomsOf(piece, this.spelling);
            const match = findPiece(atoms, t, cursor, this.spelling);
            const pieceTokens = this.pipe.model([piece]);
            const spans = match && this.splitPiece(atoms, pieceTokens);
            if (!match || !spans) return null;
            const pieceEnd = atoms.length ? match.end[atoms.length - 1] : cursor;
            for (const [k0, k1] of spans) {
              const at = k0 < atoms.length ? match.start[k0] : pieceEnd;
              placed.push({ b0: at, b1: k1 > k0 ? match.end[k1 - 1] : at });
            }
            tokens.push(...pieceTokens);
            cursor = pieceEnd;
          }
        }
        const exactBytes = !this.hasNormalizer ? offsets[part.lo[0] ?? section.start] : -1;
        rangesOf(part, t, placed, covered).forEach((r, i) => {
          const id = this.ids.get(tokens[i]) ?? this.pipe.model.unk_token_id ?? -1;
          push(id, r.start, r.end, r.partial, !!special?.special, exactBytes >= 0 ? [exactBytes + placed[i].b0, exactBytes + placed[i].b1] : undefined);
        });
      }
    }
    return spans;
  }

  /** Splits a piece's atoms among the tokens the model made of it: [k0, k1) per token, or null. */
  private splitPiece(atoms: readonly number[], tokens: readonly string[]): Array<[number, number]> | null {
    const spelled = tokens.map((tok, j) => this.atomsOfToken(tok, j === 0));
    const out: Array<[number, number]> = [];
    let k = 0;
    for (let j = 0; j < tokens.length; j++) {
      const a = spelled[j];
      if (a) {
        if (a.some((x, i) => atoms[k + i] !== x)) return null;
        out.push([k, (k += a.length)]);
        continue;
      }
      // An unknown token: up to where the next known token matches, or what the known ones after it leave.
      const rest = spelled.slice(j + 1);
      let end: number;
      if (rest.every((r) => r)) end = atoms.length - rest.reduce((n, r) => n + r!.length, 0);
      else {
        const next = rest[0];
        end = k + 1;
        while (next && end < atoms.length && next.some((x, i) => atoms[end + i] !== x)) end++;
      }
      if (end < k) return null;
      out.push([k, (k = end)]);
    }
    return k === atoms.length ? out : null;
  }

  /** Fallback when the replay disagrees with the library: finds each token's text in turn. */
  private placeEach(text: string, ids: number[]): TokenSpan[] {
    const tokens = this.library().encode(text, { add_special_tokens: false }).tokens;
    const d = alignNormalizer(this.pipe.normalizer, identity(text, 0));
    const t = byteText(d.text);
    const placed: Placed[] = [];
    let cursor = 0;
    tokens.forEach((token, i) => {
      const atoms = this.addedByContent.has(token) ? atomsOf(token, { ...this.spelling, meta: null, byteLevel: false }) : this.atomsOfToken(token, i === 0);
      const match = atoms && findPiece(atoms, t, cursor, this.spelling);
      if (match && atoms.length) cursor = match.end[atoms.length - 1];
      placed.push(match && atoms.length ? { b0: match.start[0], b1: cursor } : { b0: cursor, b1: cursor });
    });
    const offsets = utf8ByteOffsets(text);
    return rangesOf(d, t, placed, 0).map((r, i) => ({ id: ids[i], start: r.start, end: r.end, byteStart: offsets[r.start], byteEnd: offsets[r.end], partial: r.partial, special: !!this.addedByContent.get(tokens[i])?.special }));
  }
}
