// Masked predictions of a masked language model (logits that score the token at their own position): run
// on the unmasked input, position i nearly copies token i, which says little. What such a model knows about
// token i is what it predicts there when token i is hidden: replace it by the mask token, read the softmax
// at i. Done once per ordinary token, this gives each token's top predictions, its own probability and rank,
// its pseudo-surprisal −log2 p(x_i | x without i) and, summed, the pseudo-log-likelihood (Salazar et al.
// 2020, "Masked Language Model Scoring"). The masked copies run in batches, as occlusion's do, with progress, a
// pause between batches and cancellation; each copy's run returns only the masked position's row of logits.

import { type Tensor, logSumExp, rowTopK } from './analysis';
import { LensError } from './errors';
import type { ModelManifest } from './manifest';
import type { ModelStructure } from './modelStructure';
import type { SequenceIds } from './occlusion';

/** One of the masked model's guesses for a hidden token. */
export interface MaskedGuess {
  id: number;
  /** Display text, whitespace made visible. */
  text: string;
  probability: number;
}

/** What the model predicts at one position when that position's token is masked. */
export interface MaskedToken {
  /** Position in the masked sequence. */
  index: number;
  /** The actual token. */
  id: number;
  /** The most likely tokens, most likely first. */
  top: MaskedGuess[];
  /** p(x_i | x without i): the actual token's probability. */
  probability: number;
  /** 1 + the number of tokens the model finds strictly more likely than the actual one. */
  rank: number;
  /** Pseudo-surprisal −log2 p(x_i | x without i), in bits. */
  bits: number;
}

export interface MaskedPredictions {
  /** The sequence whose tokens were masked (the one the logits score). */
  sequence: string;
  /** One entry per position of that sequence; null where the token was skipped (a special token). */
  tokens: Array<MaskedToken | null>;
  /** Size of the vocabulary the softmax runs over (the logits' last axis). */
  vocab: number;
  /** Tokens scored (the non-null entries). */
  scored: number;
  /** Σ_i ln p(x_i | x without i), in nats (Salazar et al.'s PLL); 0 when nothing was scored. */
  pseudoLogLikelihood: number;
  /** Σ_i of the pseudo-surprisal, in bits (−PLL / ln 2). */
  totalBits: number;
  /** exp(−PLL / scored); NaN when nothing was scored. */
  pseudoPerplexity: number;
}

/** Runs a batch of inputs and returns, for each item b, its logits at position rows[b]: [B, 1, V]. */
export type BatchLogitRows = (batch: SequenceIds[], rows: number[]) => Promise<Tensor>;

export interface MaskedOptions {
  /** The sequence whose tokens are masked one at a time and whose logits are read. */
  sequence: string;
  /** The mask token's id (see maskTokenId). */
  maskId: number;
  /** A token's display text. */
  display(id: number): string;
  /** Predictions kept per position (default 5). */
  topK?: number;
  /** Upper bound on the bytes of one batch's logits (default 256 MB); 0 runs one copy at a time. */
  maxBatchBytes?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of positions done, of those to do (skipped ones excluded). */
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each batch, so a UI thread can paint and handle input between batches. */
  pause?: () => Promise<void>;
  /** Positions to leave alone (e.g. [CLS], [SEP]): their entry is null and they count in no total. */
  skip?: (i: number) => boolean;
}

/** Whether an analysis's model offers masked predictions: logits that score the current token and a declared mask token. */
export function offersMaskedPredictions(manifest: ModelManifest, structure: ModelStructure): boolean {
  return structure.logits !== undefined && !structure.predictsNext && manifest.tokenizer.specialTokens?.mask !== undefined;
}

/** The mask token's id: the manifest's tokenizer.specialTokens.mask, looked up in the tokenizer; a LensError naming the field otherwise. */
export function maskTokenId(manifest: ModelManifest, tokenizer: { idOf(token: string): number | undefined }): number {
  const where = `${manifest.id}/manifest.json, field tokenizer.specialTokens.mask`;
  const token = manifest.tokenizer.specialTokens?.mask;
  if (token === undefined) {
    throw new LensError('model-invalid', `Masked predictions need the model's mask token: expected a token string in ${where}, found none.`);
  }
  const id = tokenizer.idOf(token);
  if (id === undefined) {
    throw new LensError('model-invalid', `Masked predictions need the model's mask token: ${where} names ${JSON.stringify(token)}, which the tokenizer (${manifest.tokenizer.file}) does not have.`);
  }
  return id;
}

/** The vocabulary size of logits [B, T, V] for a batch of B, checked. */
function logitsVocab(dims: readonly number[], length: number, B: number, T: number): number {
  if (dims.length !== 3 || dims[0] !== B || dims[1] !== T || length !== B * T * dims[2] || dims[2] < 1) {
    throw new LensError('model-invalid', `Masked predictions expect logits [${B}, ${T}, V], got [${dims.join(', ')}].`);
  }
  return dims[2];
}

/** The masked readout of one row of logits (the masked position's), for the actual token `id`. */
export function maskedRow(data: Float32Array, offset: number, V: number, index: number, id: number, topK: number, display: (id: number) => string): MaskedToken {
  if (id < 0 || id >= V) throw new LensError('model-invalid', `Masked predictions: token id ${id} at position ${index} is outside the logits' vocabulary of ${V}.`);
  const lse = logSumExp(data, offset, V);
  const actual = data[offset + id];
  let rank = 1;
  for (let v = 0; v < V; v++) if (data[offset + v] > actual) rank++;
  const logP = actual - lse;
  return {
    index,
    id,
    top: rowTopK(data, offset, V, Math.min(topK, V), lse).map((p) => ({ ...p, text: display(p.id) })),
    probability: Math.exp(logP),
    rank,
    bits: -logP / Math.LN2,
  };
}

/**
 * Masks each ordinary token of `options.sequence` in turn (the other sequences unchanged) and reads the
 * prediction at its position, the only row of a copy's logits asked for. Runs one masked copy per position in
 * batches whose whole logits [B, T, V], which each run still makes where it runs, fit maxBatchBytes (the first
 * batch holds one copy, which measures the vocabulary); cancellable before each batch (LensError 'cancelled').
 */
export async function maskedPredictions(runBatch: BatchLogitRows, ids: SequenceIds, options: MaskedOptions): Promise<MaskedPredictions> {
  const source = ids[options.sequence];
  if (!source) throw new LensError('model-invalid', `Masked predictions: no sequence "${options.sequence}" to mask.`);
  const cancelled = () => {
    if (options.signal?.aborted) throw new LensError('cancelled', 'Masked predictions were cancelled.');
  };
  const T = source.length;
  const topK = Math.max(1, Math.floor(options.topK ?? 5));
  const positions = Array.from({ length: T }, (_, i) => i).filter((i) => !options.skip?.(i));
  const tokens: Array<MaskedToken | null> = new Array<MaskedToken | null>(T).fill(null);
  const maxBytes = options.maxBatchBytes ?? 256 * 2 ** 20;
  let vocab = 0;
  let batchSize = 1;
  for (let first = 0; first < positions.length; ) {
    await options.pause?.();
    cancelled();
    const batch = positions.slice(first, first + batchSize);
    const logits = await runBatch(batch.map((i) => ({ ...ids, [options.sequence]: source.map((id, j) => (j === i ? options.maskId : id)) })), batch);
    const V = logitsVocab(logits.dims, logits.data.length, batch.length, 1);
    if (vocab && V !== vocab) throw new LensError('model-invalid', `Masked predictions: the logits' vocabulary changed from ${vocab} to ${V} between batches.`);
    vocab = V;
    batch.forEach((i, b) => (tokens[i] = maskedRow(logits.data, b * V, V, i, source[i], topK, options.display)));
    first += batch.length;
    options.onProgress?.(first, positions.length);
    batchSize = Math.max(1, Math.floor(maxBytes / (T * V * 4)));
  }
  return summarise(options.sequence, tokens, vocab);
}

/** The totals of a set of masked readouts. */
function summarise(sequence: string, tokens: Array<MaskedToken | null>, vocab: number): MaskedPredictions {
  let totalBits = 0;
  let scored = 0;
  for (const t of tokens) {
    if (!t) continue;
    totalBits += t.bits;
    scored++;
  }
  const pseudoLogLikelihood = scored ? -totalBits * Math.LN2 : 0;
  return { sequence, tokens, vocab, scored, pseudoLogLikelihood, totalBits, pseudoPerplexity: scored ? Math.exp(-pseudoLogLikelihood / scored) : NaN };
}
