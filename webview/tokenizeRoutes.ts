// Why: a model's text is tokenized in the tokenizer worker (tokenizerClient.ts) when the model is loaded there,
// on the page otherwise or when the worker fails: the same spans either way. The selection's tokens are kept,
// since the panel counts them before the analysis tokenizes them again; a probe (a warm-up text, the memory
// check's "a", occlusion's space) goes aside, so that it neither replaces them nor makes the page build its
// tokenizer library (src/core/tokenizerBuild.ts). The page's own copy of the tokenizer comes from the worker's
// parts, or from the file when the worker cannot give them (pageTokenizer).

import type { ModelDescriptor } from '../src/core/protocol';
import type { SliceOptions } from '../src/core/timeSlices';
import { type TokenSpan, type TokenizeOptions, LensTokenizer } from '../src/core/tokenizer';
import type { PackedTokenizer } from '../src/core/tokenizerPacked';
import { cancelledError, untilAborted } from '../src/core/runQueue';
import { mark } from './marks';
import { type ModelFiles, parseTokenizerFile } from './modelFetcher';

/** Tokenizes a text as a model's tokenizer does, off the page's main thread when it can. */
export type Tokenize = (text: string, options: TokenizeOptions) => Promise<TokenSpan[]>;

/**
 * Tokenizers in a worker (tokenizerClient.ts), loaded from a model's tokenizer.json bytes under a key: the
 * engine tokenizes analysed text there, and with its own tokenizer when the worker fails.
 */
export interface OffThreadTokenizers {
  /** Resolves, when asked to pack, with the tokenizer the worker built, packed for the page's own copy (pageTokenizer). */
  load(key: string, file: string, bytes: Uint8Array, pack: boolean): Promise<PackedTokenizer | null>;
  tokenize(key: string, text: string, options: TokenizeOptions): Promise<TokenSpan[]>;
  unload(key: string): void;
}

/** What the routes read of a model's engine slot. */
export interface TokenizeSlot {
  /** The tokenizer is loaded in the worker (under the model's id). */
  offThread?: boolean;
  /** The last text tokenized off the thread, with its options (the selection). */
  tokenized?: { text: string; options: string; spans: Promise<TokenSpan[]> };
}

/** Tokenizes in the worker; when it fails (it stopped, it timed out), says so and tokenizes on the page. */
async function inWorker(worker: OffThreadTokenizers, id: string, tokenizer: LensTokenizer, text: string, options: TokenizeOptions): Promise<TokenSpan[]> {
  try {
    return await worker.tokenize(id, text, options);
  } catch (err) {
    // The page's own tokenizer says what is wrong, if anything is.
    console.warn(`Tokenizing on the page: the tokenizer worker failed (${err instanceof Error ? err.message : String(err)}).`);
    return tokenizer.tokenize(text, options);
  }
}

/**
 * The selection's route: the worker when the slot says the model is there, else (or when the worker fails) the
 * page's tokenizer; the last text's spans are kept in the slot.
 */
export function tokenizeSelection(id: string, tokenizer: LensTokenizer, worker: OffThreadTokenizers | undefined, slot: () => TokenizeSlot | undefined): Tokenize {
  const offThread = async (text: string, options: TokenizeOptions) => {
    const spans = await inWorker(worker!, id, tokenizer, text, options);
    mark('tokenized');
    return spans;
  };
  return (text, options) => {
    const current = slot();
    if (!worker || !current?.offThread) return Promise.resolve(tokenizer.tokenize(text, options));
    const key = JSON.stringify(options);
    const last = current.tokenized;
    if (last && last.text === text && last.options === key) return last.spans;
    const spans = offThread(text, options);
    current.tokenized = { text, options: key, spans };
    return spans;
  };
}

/** A probe's route: the worker when the model is there (nothing kept), else or on its failure the page's tokenizer. */
export function tokenizeAside(id: string, tokenizer: LensTokenizer, worker: OffThreadTokenizers | undefined, slot: () => TokenizeSlot | undefined): Tokenize {
  return async (text, options) => (worker && slot()?.offThread ? inWorker(worker, id, tokenizer, text, options) : tokenizer.tokenize(text, options));
}

/**
 * The page's own copy of a model's tokenizer. From the worker's packed parts when given (the panel, which
 * tokenizes only in the worker): the page then parses no JSON, and builds the library's tokenizer from the file only
 * should the worker fail. Else, or when the worker did not load the file, from the file (parsed as it arrived, or
 * now), in slices (libraryWhenUsed: LensTokenizer.inSlices). A cancelled load (signal) stops waiting for the worker.
 */
export async function pageTokenizer(model: ModelDescriptor, files: Pick<ModelFiles, 'tokenizerBytes' | 'tokenizerJson'>, packed: Promise<PackedTokenizer | null> | undefined, libraryWhenUsed: boolean, slices: SliceOptions, signal: AbortSignal): Promise<LensTokenizer> {
  const file = model.manifest.tokenizer.file;
  // Only these two: the page's tokenizer keeps `parsed` until its library is built, and must not keep the model's bytes.
  const { tokenizerBytes, tokenizerJson } = files;
  const parsed = () => tokenizerJson ?? parseTokenizerFile(model, tokenizerBytes);
  if (packed) {
    let parts: PackedTokenizer | null = null;
    try {
      parts = await untilAborted(packed, signal);
    } catch (err) {
      if (signal.aborted) throw cancelledError('exclusive');
      // The file's own parse and build say what is wrong with it, if anything is.
      console.warn(`Building the page's tokenizer from the file: the tokenizer worker did not load it (${err instanceof Error ? err.message : String(err)}).`);
    }
    if (parts) {
      const tokenizer = await LensTokenizer.fromPacked(parts, file, parsed, slices);
      mark('packed');
      return tokenizer;
    }
  }
  return LensTokenizer.inSlices(parsed(), file, { ...slices, libraryWhenUsed });
}
