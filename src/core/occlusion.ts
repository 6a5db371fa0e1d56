// Occlusion influence, the same for every architecture and mixing structure: replace token k of one input
// sequence by a fixed replacement token and measure how much the next-token (or per-position) distribution
// of the observed sequence changes at position t, as the KL divergence KL(p_t ‖ p'_t) in bits. The model is
// only a function from a batch of inputs to logits, so a decoder, an encoder or an encoder-decoder (occlude
// the source, observe the target) all fit. The perturbed inputs are batched into as few runs as memory allows.

import type { Tensor } from './analysis';
import { LensError } from './errors';
import { type KlBatch, type KlSums, localKlSums } from './klSums';

/** One model input: every sequence it takes, by name (e.g. { input_ids } or { source, target }). */
export type SequenceIds = Record<string, readonly number[]>;

/** Runs a batch of inputs (each a full set of sequences, equal lengths) and returns the logits [B, T_obs, V]. */
export type BatchLogits = (batch: SequenceIds[]) => Promise<Tensor>;

export interface OcclusionOptions {
  /** Token that replaces each occluded token (the bundled models use the single-space token). */
  replacementId: number;
  /** Upper bound on the bytes of one batch's logits (default 256 MB), estimated from the baseline run's. */
  maxBatchBytes?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of occluded positions done, of those to do (skipped ones excluded). */
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each batch, so a UI thread can paint and handle input between batches. */
  pause?: () => Promise<void>;
  /** Positions of the occluded sequence to leave alone (e.g. [CLS], [SEP]); their column stays 0. */
  skip?: (k: number) => boolean;
  /** Where the KL sums run, one KlSums per occlusion (klSums.ts); default: this thread, in slices through `pause`. */
  klSums?: () => KlSums;
  /**
   * Told how the runs are made, at most once, before the first batch: by runnerOcclusion (occlusionPrefix.ts)
   * for a model that declares a cache or state to start from, whether it is used or why not; never for others.
   */
  onMethod?: (method: OcclusionMethod) => void;
}

/** How an occlusion's runs are made. */
export interface OcclusionMethod {
  /** What each run starts from: the unchanged prefix's key/value cache or recurrent state; null: whole copies. */
  reused: 'cache' | 'state' | null;
  /** Why whole copies run although the model declares a cache or state to start from. */
  refused?: string;
  /** Tokens the runs of replaced tokens process in all, and what whole copies would. */
  tokens: number;
  wholeTokens: number;
}

export interface OcclusionTarget {
  /** The sequence whose tokens are replaced, one at a time. */
  occluded: string;
  /** The sequence the logits belong to. */
  observed: string;
  /**
   * A causal model observing the sequence it occludes: replacing token k cannot change positions t < k, so
   * only t ≥ k is computed (zeros above the diagonal). False for an encoder, or when occluding a source
   * sequence that every target position sees.
   */
  causal: boolean;
}

/** [B, T, V] of logits for a batch of B, checked. */
export function logitsDims(logits: Tensor, B: number, T: number): number {
  const d = logits.dims;
  if (d.length !== 3 || d[0] !== B || d[1] !== T || logits.data.length !== B * T * d[2]) {
    throw new LensError('model-invalid', `Occlusion expects logits [${B}, ${T}, V], got [${d.join(', ')}].`);
  }
  return d[2];
}

/**
 * Occlusion matrix O [T_obs, T_occ] (row-major): O[t, k] = KL(p_t ‖ p_t with token k of `occluded` replaced)
 * in bits, p_t read from the logits of `observed`. With `causal` and occluded === observed, only t ≥ k is
 * computed; otherwise every t. Runs one perturbed copy of the input per occluded position, in batches sized
 * by maxBatchBytes; cancellable before each batch (LensError 'cancelled').
 */
export async function occlusion(runBatch: BatchLogits, ids: SequenceIds, options: OcclusionOptions & OcclusionTarget): Promise<Float32Array> {
  const source = ids[options.occluded];
  const observed = ids[options.observed];
  if (!source) throw new LensError('model-invalid', `Occlusion: no sequence "${options.occluded}" to occlude.`);
  if (!observed) throw new LensError('model-invalid', `Occlusion: no sequence "${options.observed}" to observe.`);
  const cancelled = () => {
    if (options.signal?.aborted) throw new LensError('cancelled', 'Occlusion was cancelled.');
  };
  const T = observed.length;
  const K = source.length;
  const triangular = options.causal && options.occluded === options.observed;
  const positions = Array.from({ length: K }, (_, k) => k).filter((k) => !options.skip?.(k));
  const out = new Float32Array(T * K);
  if (!positions.length) return out;
  cancelled();
  const baseline = await runBatch([ids]);
  const V = logitsDims(baseline, 1, T);
  const perInput = Math.max(1, baseline.data.byteLength);
  const batchSize = Math.max(1, Math.min(positions.length, Math.floor((options.maxBatchBytes ?? 256 * 2 ** 20) / perInput)));
  const batches: number[][] = [];
  for (let first = 0; first < positions.length; first += batchSize) batches.push(positions.slice(first, first + batchSize));
  let done = 0;
  await withKlSums(options, cancelled, async (sums) => {
    // Not awaited here: the worker starts (its first occlusion) and keeps the baseline while the first batch runs.
    const baselineKept = sums.baseline(baseline.data.slice(0, T * V), T, V);
    baselineKept.catch(() => undefined); // awaited before the first batch's sums
    await pipelinedBatches(
      batches,
      (ks) => runBatch(ks.map((k) => ({ ...ids, [options.occluded]: source.map((id, j) => (j === k ? options.replacementId : id)) }))),
      async (ks, logits) => {
        logitsDims(logits, ks.length, T);
        const first = ks.map((k) => (triangular ? k : 0));
        const batch = { first, rowStart: ks.map((_, b) => b * T + first[b]) };
        await baselineKept;
        writeColumns(out, K, ks, batch, T, await sums.columns(batch, logits.data));
        options.onProgress?.((done += ks.length), positions.length);
      },
      options,
      cancelled,
    );
  });
  return out;
}

/**
 * Runs the batches in order, starting each before the one before it is consumed: where runs happen elsewhere
 * (the webview's worker), consuming a batch (its KL sums, 11–22% of the time at 256 tokens in Node) overlaps the next
 * run instead of following it. So two batches' logits are alive at once. `pause` is awaited and cancellation
 * checked before each run starts; a run started when a later step fails is left to finish, its result unread.
 */
export async function pipelinedBatches<B>(
  batches: readonly B[],
  run: (batch: B) => Promise<Tensor>,
  consume: (batch: B, logits: Tensor) => Promise<void>,
  options: Pick<OcclusionOptions, 'pause'>,
  cancelled: () => void,
): Promise<void> {
  // Resolves once run i is under way (not done): a worker's request goes out a few microtasks after the call,
  // so one macrotask passes before the caller's synchronous sums hold the thread.
  const begin = async (i: number): Promise<{ logits: Promise<Tensor> }> => {
    await options.pause?.();
    cancelled();
    const logits = run(batches[i]);
    logits.catch(() => undefined); // awaited below; unread when a later step fails
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    return { logits };
  };
  let next = batches.length ? await begin(0) : undefined;
  for (let i = 0; i < batches.length; i++) {
    const logits = await next!.logits;
    next = i + 1 < batches.length ? await begin(i + 1) : undefined;
    await consume(batches[i], logits);
  }
}

/** Runs body with an occlusion's KL sums where the options say, disposed of however it ends. */
export async function withKlSums<R>(options: Pick<OcclusionOptions, 'klSums' | 'pause'>, cancelled: () => void, body: (sums: KlSums) => Promise<R>): Promise<R> {
  const sums = options.klSums?.() ?? localKlSums(options.pause, cancelled);
  try {
    return await body(sums);
  } finally {
    sums.dispose();
  }
}

/** Writes a batch's KL values (KlSums.columns' order) into out, row-major and `columns` wide, at columns ks. */
export function writeColumns(out: Float32Array, columns: number, ks: readonly number[], batch: KlBatch, T: number, values: Float32Array): void {
  let i = 0;
  for (const [b, k] of ks.entries()) for (let t = batch.first[b]; t < T; t++) out[t * columns + k] = values[i++];
}
