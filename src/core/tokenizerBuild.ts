// Why: building a tokenizer from its tokenizer.json is one long task for a real vocabulary. For a GPT-2-sized
// one (50,257 tokens, 50,000 merges), LensTokenizer's construction took 168–262 ms in Node, apart from parsing the
// JSON. On a webview's main thread in a cold window that is a frozen panel, and the engine builds the page's own
// tokenizer while the model loads. Written here as steps (src/core/timeSlices.ts): the tokenizer worker and the
// tests build it at once, the page in slices. The library's own construction stays one step.

import { Tokenizer } from '@huggingface/tokenizers';
import { LensError } from './errors';
import { type NormalizerLike, type Spelling, atomsOf } from './tokenAlignment';
import { type Contents, type ModelType, byFirstUnit, nodes, prepare } from './tokenizerConfig';
import type { AddedTokenConfig } from './tokenizerConfig';

/** The library's parts the tokenizer drives directly (public fields of its Tokenizer). */
export interface Pipeline {
  normalizer: NormalizerLike | null;
  pre_tokenizer: ((text: string, options: { section_index: number }) => string[]) | null;
  model: ((pieces: string[]) => string[]) & { unk_token_id?: number };
}

/** Everything LensTokenizer holds, computed from a tokenizer.json. */
export interface TokenizerParts {
  /** The library's tokenizer; undefined when left until first used (libraryWhenUsed): then `libraryConfig` gives what builds it. */
  lib: Tokenizer | undefined;
  /** The library's configuration, as prepared from the file, while its tokenizer is left until used. */
  libraryConfig: (() => Record<string, unknown>) | undefined;
  type: ModelType;
  ids: Map<string, number>;
  tokens: string[];
  specialIds: Set<number>;
  addedByContent: Map<string, AddedTokenConfig>;
  rawAdded: Contents;
  normalizedAdded: Contents;
  spelling: Spelling;
  wordPiecePrefix: string | null;
  unkToken: string | null;
  suffixes: string[];
  byteFallback: boolean;
  hasNormalizer: boolean;
  /** Byte-level vocabularies: every token's bytes. */
  tokenBytes: Uint8Array[] | null;
}

/** Vocabulary entries handled between two steps: about 1 ms of work each in Node. */
export const TOKENS_PER_STEP = 4096;

/** The library's tokenizer of a prepared configuration; a LensError names the file and the field it cannot load. */
export function libraryTokenizer(config: Record<string, unknown>, file: string): Tokenizer {
  try {
    return new Tokenizer(config, {});
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const field = /PreTokenizer/.test(message) ? 'pre_tokenizer' : /Normalizer/.test(message) ? 'normalizer' : /PostProcessor/.test(message) ? 'post_processor' : /Decoder/.test(message) ? 'decoder' : 'model';
    throw new LensError('model-invalid', `${file}: "${field}" could not be loaded by the tokenizer library: ${message}`);
  }
}

/**
 * Builds a tokenizer's parts from its parsed tokenizer.json, in steps; a LensError names the file and field it
 * cannot load. libraryWhenUsed: leave the library's tokenizer (the one long step) until something needs it
 * (encoding, decoding, placing tokens), when the file has no normalizer; with one, the added tokens' normalized
 * forms need the library at once. A page that tokenizes in its worker then never builds it.
 */
export function* tokenizerSteps(json: unknown, file: string, libraryWhenUsed = false): Generator<void, TokenizerParts> {
  const { config, model, type, added } = prepare(json, file);
  yield;
  const lib = libraryWhenUsed && config.normalizer === null ? undefined : libraryTokenizer(config, file);
  yield;
  const pipe = lib as unknown as Pipeline | undefined;
  const ids = new Map<string, number>();
  const tokens: string[] = [];
  const setToken = (piece: string, id: number) => {
    ids.set(piece, id);
    tokens[id] = piece;
  };
  let count = 0;
  if (type === 'Unigram') {
    for (const [piece] of model.vocab as Array<[string, number]>) {
      setToken(piece, count);
      if (++count % TOKENS_PER_STEP === 0) yield;
    }
  } else {
    const vocab = model.vocab as Record<string, number>;
    for (const piece in vocab) {
      setToken(piece, vocab[piece]);
      if (++count % TOKENS_PER_STEP === 0) yield;
    }
  }
  yield;
  const specialIds = new Set<number>();
  const addedByContent = new Map<string, AddedTokenConfig>();
  const raw: string[] = [];
  const normalized: string[] = [];
  for (const t of added) {
    setToken(t.content, t.id);
    if (t.special) specialIds.add(t.id);
    addedByContent.set(t.content, t);
    if ((t.normalized ?? !t.special) && pipe?.normalizer) {
      const content = pipe.normalizer.normalize(t.content);
      normalized.push(content);
      addedByContent.set(content, t);
    } else raw.push(t.content);
  }
  const pre = nodes(config.pre_tokenizer);
  const byteLevel = pre.find((n) => n.type === 'ByteLevel');
  const metaspace = pre.find((n) => n.type === 'Metaspace');
  const spelling: Spelling = { byteLevel: !!byteLevel, meta: metaspace ? String(metaspace.replacement ?? '▁') : null, prefixSpace: byteLevel?.add_prefix_space === true };
  let tokenBytes: Uint8Array[] | null = null;
  if (byteLevel) {
    yield;
    tokenBytes = [];
    const encoder = new TextEncoder();
    for (let id = 0; id < tokens.length; id++) {
      const piece = tokens[id];
      if (piece !== undefined) tokenBytes[id] = addedByContent.has(piece) ? encoder.encode(piece) : Uint8Array.from(atomsOf(piece, spelling));
      if ((id + 1) % TOKENS_PER_STEP === 0) yield;
    }
  }
  return {
    lib,
    libraryConfig: lib ? undefined : () => config,
    type,
    ids,
    tokens,
    specialIds,
    addedByContent,
    rawAdded: byFirstUnit(raw),
    normalizedAdded: byFirstUnit(normalized),
    spelling,
    wordPiecePrefix: type === 'WordPiece' ? String(model.continuing_subword_prefix) : null,
    unkToken: type === 'Unigram' ? null : typeof model.unk_token === 'string' ? model.unk_token : null,
    suffixes: [model.end_of_word_suffix, model.continuing_subword_suffix].filter((s): s is string => typeof s === 'string' && s.length > 0),
    byteFallback: model.byte_fallback === true,
    hasNormalizer: config.normalizer !== null,
    tokenBytes,
  };
}
