// One analysis of a selection with one model, the same shape for every architecture: tokens with exact
// document ranges, every named output of the model, surprisal and top-k next-token predictions, and the
// attention rollout when the model has attention. Pure: used by the webview and by Node tests alike.

import { Tensor, rollout, rowLogSumExp, surprisal, topPredictions } from './analysis';
import type { ModelRunner, RunOutputs } from './engine';
import { LensError } from './errors';
import { type Architecture, type ModelManifest, type OutputRole, outputByRole } from './manifest';
import type { LensTokenizer } from './tokenizer';

/** A token as shown to the user; offsets are UTF-16 units in the document. */
export interface AnalysedToken {
  id: number;
  /** Display text, whitespace made visible. */
  text: string;
  start: number;
  end: number;
  /** Begins or ends inside a multi-byte character. */
  partial: boolean;
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
  model: { id: string; displayName: string; architecture: Architecture };
  manifest: ModelManifest;
  /** Document offset of the first analysed character. */
  startOffset: number;
  /** The analysed text (the selection, or its first part when truncated). */
  text: string;
  tokens: AnalysedToken[];
  /** Set when the selection had more tokens than the limit. */
  truncated: { totalTokens: number; keptTokens: number } | null;
  /** Every model output by name, batch axis removed. */
  outputs: RunOutputs;
  /** Bits; NaN for the first token. */
  surprisal: Float32Array;
  /** Top next-token predictions after each token. */
  predictions: NextToken[][];
  timings: AnalysisTimings;
}

export interface AnalyseOptions {
  maxTokens: number;
  topK?: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** Tokenizes the text, runs the model and derives the shared views. */
export async function analyse(tokenizer: LensTokenizer, runner: ModelRunner, text: string, startOffset: number, options: AnalyseOptions): Promise<Analysis> {
  const now = options.now ?? (() => Date.now());
  const checkCancelled = () => {
    if (options.signal?.aborted) throw new LensError('cancelled', 'The analysis was cancelled by a newer one.');
  };
  if (text.trim().length === 0) {
    throw new LensError('empty-selection', 'The selection is empty or only whitespace: select some text or code to analyse.');
  }
  const t0 = now();
  let spans = tokenizer.tokenize(text);
  const totalTokens = spans.length;
  let analysedText = text;
  if (spans.length > options.maxTokens) {
    spans = spans.slice(0, options.maxTokens);
    analysedText = text.slice(0, spans[spans.length - 1].end);
  }
  const ids = spans.map((s) => s.id);
  const t1 = now();
  checkCancelled();
  const outputs = await runner.run(ids, { signal: options.signal });
  const t2 = now();
  checkCancelled();
  const manifest = runner.manifest;
  const logits = outputs[outputByRole(manifest, 'logits')!.name];
  const lse = rowLogSumExp(logits); // shared by surprisal and the predictions
  const predictions = topPredictions(logits, options.topK ?? 5, lse).map((row) => row.map((p) => ({ ...p, text: tokenizer.display(p.id) })));
  const result: Analysis = {
    model: { id: manifest.id, displayName: manifest.displayName, architecture: manifest.architecture },
    manifest,
    startOffset,
    text: analysedText,
    tokens: spans.map((s) => ({ id: s.id, text: tokenizer.display(s.id), start: startOffset + s.start, end: startOffset + s.end, partial: s.partial })),
    truncated: totalTokens > spans.length ? { totalTokens, keptTokens: spans.length } : null,
    outputs,
    surprisal: surprisal(logits, ids, lse),
    predictions,
    timings: { tokenizeMs: t1 - t0, runMs: t2 - t1, analyseMs: 0 },
  };
  result.timings.analyseMs = now() - t2;
  return result;
}

/** The first output with a role, if the model has one. */
export function outputOf(analysis: Analysis, role: OutputRole): Tensor | undefined {
  const spec = outputByRole(analysis.manifest, role);
  return spec ? analysis.outputs[spec.name] : undefined;
}

const rollouts = new WeakMap<Analysis, Float32Array>();

/** Attention rollout [T, T], computed on first use (it costs O(L·T³/6)); null without attention. */
export function rolloutOf(analysis: Analysis): Float32Array | null {
  const attention = outputOf(analysis, 'attention');
  if (!attention) return null;
  let r = rollouts.get(analysis);
  if (!r) {
    r = rollout(attention);
    rollouts.set(analysis, r);
  }
  return r;
}
