// One analysis of a selection with one model, the same shape for every architecture: the token sequences
// the model reads (one, or a source and a target), each token with its exact document range (special tokens
// with none), every named output of the model, and surprisal and top-k predictions from the logits when the
// model has them. Pure: used by the webview and by Node tests alike. roleData.ts reads the outputs by role.

import { type Tensor, surprisal } from './analysis';
import type { ModelRunner, RunOutputs, SequenceIds } from './engine';
import { LensError } from './errors';
import type { ModelManifest } from './manifest';
import { type ModelStructure, canonicalTensor } from './modelStructure';
import { isBlank } from './text';
import { type PredictRows, localPredictRows } from './rowPredictions';
import type { SliceOptions } from './timeSlices';
import type { LensTokenizer, TokenSpan, TokenizeOptions } from './tokenizer';

/** A token as shown to the user; offsets are UTF-16 units in the document. */
export interface AnalysedToken {
  id: number;
  /** Display text, whitespace made visible. */
  text: string;
  start: number;
  end: number;
  /** Begins or ends inside a multi-byte character. */
  partial: boolean;
  /** A special token ([CLS], </s>, a decoder start token): shown, but it stands for no text (start === end). */
  special: boolean;
}

/** One token sequence the model read. */
export interface AnalysedSequence {
  id: string;
  label: string;
  tokens: AnalysedToken[];
}

export interface NextToken {
  id: number;
  text: string;
  probability: number;
}

export interface AnalysisTimings {
  tokenizeMs: number;
  runMs: number;
  analyseMs: number;
}

export interface Analysis {
  model: { id: string; displayName: string; architecture: string };
  manifest: ModelManifest;
  structure: ModelStructure;
  /** Document offset of the first analysed character. */
  startOffset: number;
  /** The analysed text (the selection, or its first part when truncated). */
  text: string;
  /** The tokens of the primary sequence (the one the logits score). */
  tokens: AnalysedToken[];
  /** Every sequence the model read, in manifest order (the primary one included). */
  sequences: AnalysedSequence[];
  /** Set when the selection had more tokens than the limit (counted without special tokens). */
  truncated: { totalTokens: number; keptTokens: number } | null;
  /** Every model output by name, batch axis removed, in the model's own axis order. */
  outputs: RunOutputs;
  /** Bits per token of the primary sequence; NaN where nothing predicts it (the first token, special tokens). */
  surprisal: Float32Array;
  /** Top predictions at each token: of the next token, or of the token itself for a masked language model. */
  predictions: NextToken[][];
  timings: AnalysisTimings;
}

export interface AnalyseOptions {
  maxTokens: number;
  topK?: number;
  signal?: AbortSignal;
  now?: () => number;
  /**
   * Lets other work run between slices of the predictions (a browser's main thread: at 2,048 tokens the
   * log-sum-exp and top-k over a 4,096-word vocabulary take hundreds of ms); the results do not change.
   */
  yieldControl?: () => Promise<void>;
  /** The time between two yieldControl calls in the predictions (default PREDICTIONS_SLICE_MS). */
  sliceMs?: number;
  /**
   * Computes the rows' log-sum-exp and top k elsewhere (the webview's logits worker), the logits moved there and
   * back; default this thread, in slices through yieldControl.
   */
  predictRows?: PredictRows;
  /**
   * Tokenizes as the tokenizer would, elsewhere (the webview's tokenizer worker: 70–130 ms at 2,000 tokens is
   * too long a task for its main thread); default the tokenizer itself.
   */
  tokenize?: (text: string, options: TokenizeOptions) => Promise<TokenSpan[]>;
}

/**
 * Main-thread time per slice of the predictions: under the 50 ms of a long task, and long enough that a warm
 * analysis of a few hundred tokens (about 30 ms) is not cut up. With 8 ms slices, a warm command of 234 tokens
 * took 309–845 ms against 236–311 ms, the workbench's tasks running between the slices (bench:vscode, load 4–7).
 */
export const PREDICTIONS_SLICE_MS = 40;

/** Tokenizes the text for every sequence, runs the model and derives the shared views. */
export async function analyse(tokenizer: LensTokenizer, runner: ModelRunner, text: string, startOffset: number, options: AnalyseOptions): Promise<Analysis> {
  const now = options.now ?? (() => Date.now());
  if (isBlank(text)) throw new LensError('empty-selection', 'The selection is empty or only whitespace: select some text or code to analyse.');
  const structure = runner.structure;
  const t0 = now();
  const tokenize = options.tokenize ?? ((t: string, o: TokenizeOptions) => Promise.resolve(tokenizer.tokenize(t, o)));
  let plain = await tokenize(text, {});
  checkCancelled(options.signal);
  const totalTokens = plain.length;
  let analysedText = text;
  if (plain.length > options.maxTokens) {
    const cut = truncationEnd(text, plain, options.maxTokens);
    plain = plain.slice(0, options.maxTokens).map((s) => (s.end <= cut ? s : { ...s, start: Math.min(s.start, cut), end: cut }));
    analysedText = text.slice(0, cut);
  }
  const sequences: AnalysedSequence[] = [];
  for (const s of structure.sequences) {
    const spans: TokenSpan[] = s.addSpecialTokens || s.prefix.length ? await tokenize(analysedText, { addSpecialTokens: s.addSpecialTokens, prefix: s.prefix }) : plain;
    sequences.push({
      id: s.id,
      label: s.label,
      tokens: spans.map((sp) => ({ id: sp.id, text: tokenizer.display(sp.id), start: startOffset + sp.start, end: startOffset + sp.end, partial: sp.partial, special: sp.special })),
    });
  }
  const tokenizeMs = now() - t0;
  await options.yieldControl?.(); // tokenizing 2,000 tokens and preparing the run are two tasks, not one
  return analyseTokens(tokenizer, runner, { text: analysedText, startOffset, sequences, truncated: totalTokens > plain.length ? { totalTokens, keptTokens: plain.length } : null }, { ...options, tokenizeMs });
}

/** Token sequences already made (with document ranges), for analyseTokens. */
export interface SequenceTokens {
  /** The analysed text and its document offset: every token's range lies inside it. */
  text: string;
  startOffset: number;
  /** One per sequence of the model, in manifest order. */
  sequences: AnalysedSequence[];
  truncated: Analysis['truncated'];
}

/**
 * Runs the model on explicit token sequences and derives the shared views: what analyse() does after
 * tokenizing, for callers that build the sequences themselves (infill.ts: code with a hole, a span as target).
 */
export async function analyseTokens(tokenizer: LensTokenizer, runner: ModelRunner, input: SequenceTokens, options: Omit<AnalyseOptions, 'maxTokens'> & { tokenizeMs?: number }): Promise<Analysis> {
  const now = options.now ?? (() => Date.now());
  const structure = runner.structure;
  const manifest = runner.manifest;
  const { sequences } = input;
  const ids: SequenceIds = Object.fromEntries(sequences.map((s) => [s.id, s.tokens.map((t) => t.id)]));
  const t1 = now();
  checkCancelled(options.signal);
  const outputs = await runner.run(ids, { signal: options.signal, yieldControl: options.yieldControl });
  const t2 = now();
  checkCancelled(options.signal);
  const primary = sequences.find((s) => s.id === structure.primary);
  if (!primary) throw new LensError('internal', `No tokens given for sequence "${structure.primary}", the one the model's logits score.`);
  const slicing = options.yieldControl && { pause: options.yieldControl, sliceMs: options.sliceMs ?? PREDICTIONS_SLICE_MS };
  const { surprisal: bits, predictions } = await predictionsOf(structure, outputs, primary.tokens, options.topK ?? 5, tokenizer, options.predictRows ?? localPredictRows(slicing), slicing);
  const result: Analysis = {
    model: { id: manifest.id, displayName: manifest.displayName, architecture: manifest.architecture },
    manifest,
    structure,
    startOffset: input.startOffset,
    text: input.text,
    tokens: primary.tokens,
    sequences,
    truncated: input.truncated,
    outputs,
    surprisal: bits,
    predictions,
    timings: { tokenizeMs: options.tokenizeMs ?? 0, runMs: t2 - t1, analyseMs: 0 },
  };
  result.timings.analyseMs = now() - t2;
  return result;
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LensError('cancelled', 'The analysis was cancelled by a newer one.');
}

/**
 * Surprisal and top-k from the logits (next-token or same-position), NaN and none without logits. When
 * predictRows moved the logits elsewhere and back, the outputs hold the array it returned.
 */
async function predictionsOf(
  structure: ModelStructure,
  outputs: RunOutputs,
  tokens: AnalysedToken[],
  topK: number,
  tokenizer: LensTokenizer,
  predictRows: PredictRows,
  slicing?: SliceOptions,
): Promise<{ surprisal: Float32Array; predictions: NextToken[][] }> {
  const T = tokens.length;
  const spec = structure.logits;
  if (!spec) return { surprisal: new Float32Array(T).fill(NaN), predictions: tokens.map(() => []) };
  const output = outputs[spec.name];
  const canonical: Tensor = canonicalTensor(spec, output);
  const ids = tokens.map((t) => t.id);
  const V = canonical.dims[canonical.dims.length - 1];
  // The log-sum-exp of each row is shared by surprisal and the predictions (the same values as rowLogSumExp and
  // topPredictions over the whole tensor).
  const { lse, top, logits: data } = await predictRows(canonical.data, canonical.data.length / V, V, topK);
  if (canonical.data === output.data && data !== output.data) outputs[spec.name] = { dims: output.dims, data };
  const logits: Tensor = { dims: canonical.dims, data };
  // The surprisal and the predictions' labels in a task of their own: after the last slice's 40 ms, the task
  // took 65 ms (bench:vscode, the cold command's analysis step).
  if (slicing) await slicing.pause();
  let bits: Float32Array;
  if (structure.predictsNext) {
    bits = surprisal(logits, ids, lse);
  } else {
    bits = new Float32Array(T);
    for (let t = 0; t < T; t++) bits[t] = (lse[t] - logits.data[t * V + ids[t]]) / Math.LN2;
  }
  tokens.forEach((t, i) => t.special && (bits[i] = NaN));
  const predictions = top.map((row) => row.map((p) => ({ ...p, text: tokenizer.display(p.id) })));
  return { surprisal: bits, predictions };
}

/**
 * Where the analysed text ends when only the first `kept` tokens are kept: after the last kept token's
 * range, unless the first dropped token holds the rest of the character that range ends with (it is partial
 * with an empty range there: the kept tokens hold only that character's first bytes, e.g. "Å" as two byte
 * tokens). Then the text ends before that character, since the kept tokens do not hold all of it.
 */
export function truncationEnd(text: string, spans: readonly TokenSpan[], kept: number): number {
  const end = kept > 0 ? spans[kept - 1].end : 0;
  const next = spans[kept];
  if (!next || !next.partial || next.start !== end || next.end !== end || end === 0) return end;
  const pair = end >= 2 && (text.charCodeAt(end - 1) & 0xfc00) === 0xdc00 && (text.charCodeAt(end - 2) & 0xfc00) === 0xd800;
  return end - (pair ? 2 : 1);
}
