// Why: occlusion's KL sums, KL(p_t ‖ p'_t) over a whole vocabulary for every (t, k), cost as much as the model's
// runs (0.85 s at 256 tokens). They are pure arithmetic on logits, so they can run wherever the logits are: on
// the caller's thread in slices (localKlSums), or in the webview's logits worker (logitsWorker.ts), where neither the sums
// nor the batches' logits touch the page's thread, which VS Code's workbench shares there. Both run the same
// code on the same logits, so they give the same bits.

import { finish } from './timeSlices';

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

  /** From logits [T, V], an array these rows keep (the caller hands over a copy of its own). */
  constructor(logits: Float32Array, readonly T: number, readonly V: number) {
    if (logits.length !== T * V) throw new Error(`KL sums: a baseline of ${logits.length} logits, expected ${T} × ${V}`);
    this.logits = logits;
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

/** How long the KL sums run before they yield through `pause` (a batch of 12 MiB of logits is 3.1 million exponentials). */
const KL_SLICE_MS = 10;

/**
 * A batch's rows to sum: item b's rows t = first[b]..T-1, against the batch's logits row rowStart[b] + t - first[b].
 * Its values come back item after item, each item's rows in order.
 */
export interface KlBatch {
  first: number[];
  rowStart: number[];
}

/**
 * Where one occlusion's KL sums run: baseline() once with the unperturbed logits [T, V], then columns() for
 * each batch. Logits handed over are the sums' to keep or move: the caller does not read them again.
 */
export interface KlSums {
  baseline(logits: Float32Array, T: number, V: number): Promise<void>;
  columns(batch: KlBatch, logits: Float32Array): Promise<Float32Array>;
  /** Drops the baseline (an occlusion done, failed or cancelled). */
  dispose(): void;
}

/** How many values a batch's sums give. */
export function klCount(batch: KlBatch, T: number): number {
  return batch.first.reduce((n, first) => n + T - first, 0);
}

/** A batch's KL bits in one go (a worker's thread, which has nothing else to do meanwhile). */
export function klRows(base: BaselineRows, batch: KlBatch, logits: Float32Array): Float32Array {
  return finish(klRowSteps(base, batch, logits));
}

/** klRows one row at a time: the generator pauses after each row. */
function* klRowSteps(base: BaselineRows, batch: KlBatch, logits: Float32Array): Generator<void, Float32Array> {
  const out = new Float32Array(klCount(batch, base.T));
  let i = 0;
  for (const [b, first] of batch.first.entries()) {
    for (let t = first; t < base.T; t++) {
      out[i++] = base.klBits(t, logits, (batch.rowStart[b] + t - first) * base.V);
      yield;
    }
  }
  return out;
}

/** The sums on the caller's thread, yielding through `pause` every KL_SLICE_MS (then checking `cancelled`). */
export function localKlSums(pause: (() => Promise<void>) | undefined, cancelled: () => void): KlSums {
  let base: BaselineRows | undefined;
  const slices = new KlSlices(pause, cancelled);
  return {
    baseline: async (logits, T, V) => void (base = new BaselineRows(logits, T, V)),
    columns: async (batch, logits) => {
      if (!base) throw new Error('KL sums: columns() before baseline()');
      const steps = klRowSteps(base, batch, logits);
      slices.start();
      for (;;) {
        const step = steps.next();
        if (step.done) return step.value;
        const yielded = slices.next();
        if (yielded) await yielded;
      }
    },
    dispose: () => void (base = undefined),
  };
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
