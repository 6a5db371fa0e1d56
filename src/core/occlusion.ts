// Occlusion influence, the same for every architecture and mixing structure: replace token k of one input
// sequence by a fixed replacement token and measure how much the next-token (or per-position) distribution
// of the observed sequence changes at position t, as the KL divergence KL(p_t ‖ p'_t) in bits. The model is
// only a function from a batch of inputs to logits, so a decoder, an encoder or an encoder-decoder (occlude
// the source, observe the target) all fit. The perturbed inputs are batched into as few runs as memory allows.

import type { Tensor } from './analysis';
import { LensError } from './errors';

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

// exp(x) for x ≤ 0 as 2^(n/32)·e^r, |r| ≤ ln2/64, with a degree-6 polynomial: within 1e-15 of Math.exp and
// about twice as fast; the KL sums below take V exponentials per (t, k), as much time as the model runs.
const EXP_STEPS = 32 / Math.LN2;
const LN2_HI_STEP = 0.6931471803691238 / 32;
const LN2_LO_STEP = 1.9082149292705877e-10 / 32;
const TWO_TO_STEP = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));
const TWO_TO = Float64Array.from({ length: 1023 }, (_, i) => 2 ** -i);

function expNonPositive(x: number): number {
  const n = Math.floor(x * EXP_STEPS + 0.5);
  if (n < -32 * 1022) return 0;
  const r = x - n * LN2_HI_STEP - n * LN2_LO_STEP;
  const e = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r / 720)))));
  return e * TWO_TO_STEP[n & 31] * TWO_TO[-(n >> 5)];
}

/** log Σ exp over V logits at `offset` of `data` (every row of one occlusion the same way). */
function rowLogSumExp(data: Float32Array, offset: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, data[offset + v]);
  return logSumExpBelow(data, offset, V, max);
}

/** rowLogSumExp given the row's maximum. */
function logSumExpBelow(data: Float32Array, offset: number, V: number, max: number): number {
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let v = 0; v < V; v++) sum += expNonPositive(data[offset + v] - max);
  return max + Math.log(sum);
}

/**
 * The unperturbed distributions p_t of one sequence, kept so that KL(p_t ‖ q) against any logits row x takes
 * one exponential per entry: with q = softmax(x) and p = softmax(x̄), KL = Σ p·(x̄ − x) + (lse(x) − lse(x̄))·Σ p.
 * That halves the exponentials of summing over log q, and an unchanged row gives exactly 0.
 */
export class BaselineRows {
  private readonly logits: Float32Array;
  private readonly p: Float32Array;
  private readonly lse: Float64Array;
  private readonly mass: Float64Array;

  /** From logits [T, V] at `offset` of `data`. */
  constructor(data: Float32Array, offset: number, readonly T: number, readonly V: number) {
    this.logits = data.slice(offset, offset + T * V);
    this.p = new Float32Array(T * V);
    this.lse = new Float64Array(T);
    this.mass = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const lse = rowLogSumExp(this.logits, t * V, V);
      let mass = 0;
      for (let v = t * V; v < (t + 1) * V; v++) {
        this.p[v] = Math.exp(this.logits[v] - lse);
        mass += this.p[v];
      }
      this.lse[t] = lse;
      this.mass[t] = mass;
    }
  }

  /** KL(p_t ‖ softmax(x)) in bits, x the V logits at `offset` of `data`. */
  klBits(t: number, data: Float32Array, offset: number): number {
    const { V, p, logits } = this;
    const base = t * V;
    // One pass for the cross term and the row's maximum, one for its exponentials (rowLogSumExp's two, less one).
    let cross = 0;
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      const x = data[offset + v];
      max = Math.max(max, x);
      const pv = p[base + v];
      if (pv > 0) cross += pv * (logits[base + v] - x);
    }
    return Math.max(0, cross + (logSumExpBelow(data, offset, V, max) - this.lse[t]) * this.mass[t]) / Math.LN2;
  }
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
  const base = new BaselineRows(baseline.data, 0, T, V);
  const perInput = Math.max(1, baseline.data.byteLength);
  const batchSize = Math.max(1, Math.min(positions.length, Math.floor((options.maxBatchBytes ?? 256 * 2 ** 20) / perInput)));
  const batches: number[][] = [];
  for (let first = 0; first < positions.length; first += batchSize) batches.push(positions.slice(first, first + batchSize));
  let done = 0;
  const slices = new KlSlices(options.pause, cancelled);
  await pipelinedBatches(
    batches,
    (ks) => runBatch(ks.map((k) => ({ ...ids, [options.occluded]: source.map((id, j) => (j === k ? options.replacementId : id)) }))),
    async (ks, logits) => {
      logitsDims(logits, ks.length, T);
      await klColumns(base, out, K, ks, logits.data, (k) => (triangular ? k : 0), (b, _k, t) => b * T + t, slices);
      options.onProgress?.((done += ks.length), positions.length);
    },
    options,
    cancelled,
  );
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

/** How long the KL sums run before they yield through `pause` (a batch of 12 MiB of logits is 3.1 million exponentials). */
const KL_SLICE_MS = 10;

/**
 * Writes a batch's KL columns into out (row-major, `columns` wide): for item b, which occluded position ks[b],
 * rows t = first(k)..T-1 against the logits row rowOf(b, k, t), yielding through `slices` as they ask.
 */
export async function klColumns(
  base: BaselineRows,
  out: Float32Array,
  columns: number,
  ks: readonly number[],
  logits: Float32Array,
  first: (k: number) => number,
  rowOf: (b: number, k: number, t: number) => number,
  slices: KlSlices,
): Promise<void> {
  slices.start();
  for (const [b, k] of ks.entries()) {
    for (let t = first(k); t < base.T; t++) {
      out[t * columns + k] = base.klBits(t, logits, rowOf(b, k, t) * base.V);
      const yielded = slices.next();
      if (yielded) await yielded;
    }
  }
}

/** Keeps a batch's KL sums in short tasks: they yield through `pause` (then check cancellation) every KL_SLICE_MS. */
export class KlSlices {
  private since = 0;

  constructor(
    private readonly pause: (() => Promise<void>) | undefined,
    private readonly cancelled: () => void,
  ) {}

  /** A batch's sums start now. */
  start(): void {
    this.since = performance.now();
  }

  /** Called after each row: a pause to await once KL_SLICE_MS have passed since the start or the last one, else undefined. */
  next(): Promise<void> | undefined {
    if (!this.pause || performance.now() - this.since < KL_SLICE_MS) return undefined;
    return this.pause().then(() => {
      this.cancelled();
      this.since = performance.now();
    });
  }
}
