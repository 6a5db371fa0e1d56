// Why: the page needs its own copy of a model's tokenizer (token texts, bytes, special flags), and the tokenizer
// worker builds the same tokenizer from the same file. Parsing a real tokenizer.json on the page was one long
// task (60–152 ms for GPT-2's 50,257 tokens in cold commands, bench:profile), before any building. So the
// worker sends the page what it built: the large tables packed into one string and a few typed arrays (one copy,
// moved), the small ones as they are; the page unpacks them in steps (src/core/timeSlices.ts).

import { LensError } from './errors';
import { TOKENS_PER_STEP, type TokenizerParts } from './tokenizerBuild';
import { prepare } from './tokenizerConfig';

/** A tokenizer's parts as the worker sends them (everything but the library's tokenizer): the small ones as they are. */
export type PackedTokenizer = Omit<TokenizerParts, 'lib' | 'libraryConfig' | 'tokens' | 'ids' | 'tokenBytes'> & {
  /** Every token's text, in id order, joined; pieceEnds[id]: where token id's text ends; present[id]: 1 when id has a token. */
  pieces: string;
  pieceEnds: Uint32Array;
  present: Uint8Array;
  /** The ids by text that differ from "the highest id with that text" (an added token that took another's id or text). */
  idsBesides: Array<[string, number]>;
  /** Byte-level vocabularies: every token's bytes, in id order, joined, and where each token's end. */
  tokenBytes: { bytes: Uint8Array; ends: Uint32Array } | null;
};

/** Packs a tokenizer's parts (the worker's side); packedBuffers says what to move rather than copy. */
export function packTokenizer(parts: TokenizerParts): PackedTokenizer {
  const { tokens, ids, tokenBytes } = parts;
  const count = tokens.length;
  const pieceEnds = new Uint32Array(count);
  const present = new Uint8Array(count);
  const texts: string[] = [];
  const highest = new Map<string, number>();
  let end = 0;
  for (let id = 0; id < count; id++) {
    const piece = tokens[id];
    if (piece !== undefined) {
      present[id] = 1;
      texts.push(piece);
      end += piece.length;
      highest.set(piece, id);
    }
    pieceEnds[id] = end;
  }
  const idsBesides: Array<[string, number]> = [];
  for (const [piece, id] of ids) if (highest.get(piece) !== id) idsBesides.push([piece, id]);
  let packedBytes: PackedTokenizer['tokenBytes'] = null;
  if (tokenBytes) {
    const ends = new Uint32Array(count);
    let total = 0;
    for (let id = 0; id < count; id++) ends[id] = total += tokenBytes[id]?.length ?? 0;
    const bytes = new Uint8Array(total);
    for (let id = 0; id < count; id++) if (tokenBytes[id]) bytes.set(tokenBytes[id], ends[id] - tokenBytes[id].length);
    packedBytes = { bytes, ends };
  }
  const { lib: _lib, libraryConfig: _config, tokens: _tokens, ids: _ids, tokenBytes: _bytes, ...small } = parts;
  return { ...small, pieces: texts.join(''), pieceEnds, present, idsBesides, tokenBytes: packedBytes };
}

/** The buffers of a packed tokenizer's large tables: each its own, so they can move to another thread. */
export function packedBuffers(packed: PackedTokenizer): ArrayBuffer[] {
  const { pieceEnds, present, tokenBytes } = packed;
  const views = [pieceEnds, present, ...(tokenBytes ? [tokenBytes.bytes, tokenBytes.ends] : [])];
  return views.map((v) => v.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

/**
 * The parts again from a packed tokenizer (the page's side), in steps of TOKENS_PER_STEP tokens; the library's
 * tokenizer is left until used, when its configuration comes from json() (the parsed file).
 */
export function* unpackedSteps(packed: PackedTokenizer, file: string, json: () => unknown): Generator<void, TokenizerParts> {
  const { pieces, pieceEnds, present, idsBesides, tokenBytes: packedBytes } = packed;
  const count = pieceEnds.length;
  if (present.length !== count || (count > 0 && pieceEnds[count - 1] !== pieces.length)) throw new LensError('internal', 'The tokenizer worker sent a tokenizer whose tables disagree in length.');
  const tokens: string[] = [];
  const ids = new Map<string, number>();
  let start = 0;
  for (let id = 0; id < count; id++) {
    const end = pieceEnds[id];
    if (present[id]) {
      const piece = pieces.slice(start, end);
      tokens[id] = piece;
      ids.set(piece, id);
    }
    start = end;
    if ((id + 1) % TOKENS_PER_STEP === 0) yield;
  }
  tokens.length = count;
  for (const [piece, id] of idsBesides) ids.set(piece, id);
  let tokenBytes: Uint8Array[] | null = null;
  if (packedBytes) {
    yield;
    tokenBytes = [];
    let from = 0;
    for (let id = 0; id < count; id++) {
      const to = packedBytes.ends[id];
      if (present[id]) tokenBytes[id] = packedBytes.bytes.subarray(from, to);
      from = to;
      if ((id + 1) % TOKENS_PER_STEP === 0) yield;
    }
    tokenBytes.length = count;
  }
  const { type, specialIds, addedByContent, rawAdded, normalizedAdded, spelling, wordPiecePrefix, unkToken, suffixes, byteFallback, hasNormalizer } = packed;
  return { lib: undefined, libraryConfig: () => prepare(json(), file).config, type, ids, tokens, specialIds, addedByContent, rawAdded, normalizedAdded, spelling, wordPiecePrefix, unkToken, suffixes, byteFallback, hasNormalizer, tokenBytes };
}
