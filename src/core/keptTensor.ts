// Why: occlusion from a cached prefix (occlusionPrefix.ts) feeds each batch the base run's key/value caches cut
// to the batch's first replaced token and repeated once per item. Built on the calling thread, that is hundreds
// of MB over one occlusion of the bundled Transformer, and in the webview a long task on the page plus a copy
// of it all posted to onnxruntime's worker. A kept tensor is handed over once to whatever runs the sessions;
// a run then names the part it needs (PrefixCopies), and the holder builds the feed. Pure.

import type { Tensor as OrtTensor } from 'onnxruntime-web';
import type { SeededCache } from './cacheChunks';
import type { OrtModule, RunOutputs } from './engine';
import { LensError } from './errors';
import { type InputSpec, axisIndex } from './manifest';

/**
 * A feed made of a kept tensor (dims without a batch axis): its first `length` entries along `axis`, repeated
 * `items` times along a batch axis inserted at index `batchAxis` (the feed's axes are the kept ones with that
 * batch axis; `axis` counts the kept tensor's axes).
 */
export interface PrefixCopies {
  axis: number;
  length: number;
  batchAxis: number;
  items: number;
}

/** A tensor held where the sessions run (see OrtModule.keep in engine.ts). */
export interface KeptTensor {
  readonly dims: readonly number[];
  /** A float32 feed of copies of this tensor's prefix, with the feed's dims (checked by whoever builds it). */
  feed(copies: PrefixCopies, dims: readonly number[]): OrtTensor;
  /** Frees it; a feed named after that fails. */
  release(): Promise<void>;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The dims of a PrefixCopies feed of a tensor of `dims`, or a sentence saying why it cannot be made. */
export function prefixCopiesDims(dims: readonly number[], copies: PrefixCopies): number[] | string {
  const { axis, length, batchAxis, items } = copies;
  const whole = (n: number) => Number.isInteger(n) && n >= 0;
  if (!whole(axis) || axis >= dims.length) return `axis ${axis} is not one of the ${dims.length} axes of a tensor of [${dims.join(', ')}]`;
  if (!whole(length) || length > dims[axis]) return `${length} entries were asked of axis ${axis}, which has ${dims[axis]}`;
  if (!whole(batchAxis) || batchAxis > dims.length) return `a batch axis cannot go at index ${batchAxis} of [${dims.join(', ')}]`;
  if (!whole(items) || items < 1) return `${items} copies were asked`;
  const out = dims.map((d, i) => (i === axis ? length : d));
  out.splice(batchAxis, 0, items);
  return out;
}

/**
 * Builds a PrefixCopies feed from a tensor's data (row-major, dims); throws when the copies do not fit the dims,
 * or give other dims than `feedDims` (the input's, when the caller names them: the worker's feeds and the local ones).
 */
export function prefixCopies(data: Float32Array, dims: readonly number[], copies: PrefixCopies, feedDims?: readonly number[]): Float32Array {
  const outDims = prefixCopiesDims(dims, copies);
  if (typeof outDims === 'string') throw new Error(`A kept tensor's prefix cannot be fed: ${outDims}.`);
  if (feedDims && outDims.join() !== feedDims.join()) throw new Error(`A kept tensor of [${dims.join(', ')}] cannot give [${feedDims.join(', ')}].`);
  if (data.length !== product(dims)) throw new Error(`A kept tensor of [${dims.join(', ')}] has ${data.length} values.`);
  const { axis, length, batchAxis, items } = copies;
  const out = new Float32Array(product(outDims));
  const T = dims[axis];
  let at = 0;
  if (batchAxis <= axis) {
    // [before batch][items][between][length × inner]: each copy is whole runs of `length` positions.
    const outer = product(dims.slice(0, batchAxis));
    const between = product(dims.slice(batchAxis, axis));
    const inner = product(dims.slice(axis + 1));
    const run = length * inner;
    for (let o = 0; o < outer; o++) {
      for (let b = 0; b < items; b++) {
        for (let m = 0; m < between; m++, at += run) {
          const from = (o * between + m) * T * inner;
          out.set(data.subarray(from, from + run), at);
        }
      }
    }
    return out;
  }
  // [before axis][length][between][items][after batch]: the batch axis comes after the cut one.
  const outer = product(dims.slice(0, axis));
  const between = product(dims.slice(axis + 1, batchAxis));
  const block = product(dims.slice(batchAxis));
  for (let o = 0; o < outer; o++) {
    for (let p = 0; p < length; p++) {
      for (let m = 0; m < between; m++) {
        const from = ((o * T + p) * between + m) * block;
        for (let b = 0; b < items; b++, at += block) out.set(data.subarray(from, from + block), at);
      }
    }
  }
  return out;
}

/** A kept cache's first `tokens` tokens, given as a run's initial state (ModelRunner.runBatchLogits). */
export interface CachePrefix {
  readonly kept: KeptTensor;
  readonly tokens: number;
}

/** A run's initial state: values in the input's layout, or a kept cache's prefix that every batch item continues. */
export type StateFeed = Float32Array | CachePrefix;

export const isCachePrefix = (feed: StateFeed): feed is CachePrefix => !ArrayBuffer.isView(feed);

/** One run's caches, kept by state name for runs that continue its first tokens (ModelRunner.keepCaches). */
export class KeptCaches {
  private released = false;

  constructor(private readonly byState: ReadonlyMap<string, KeptTensor>) {}

  /** The caches after the first k tokens, by state name, as runBatchLogits' initial state. */
  after(k: number): Record<string, CachePrefix> {
    if (this.released) throw new Error('The kept caches were released.');
    return Object.fromEntries([...this.byState].map(([state, kept]) => [state, { kept, tokens: k }]));
  }

  /** Frees every kept cache (once; later calls do nothing). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([...this.byState.values()].map((kept) => kept.release()));
  }
}

/** A tensor kept on the calling thread, for an onnxruntime module that cannot hold one; its feeds are checked here as the worker checks its own. */
function keptHere(ort: OrtModule, { data, dims }: { data: Float32Array; dims: readonly number[] }): KeptTensor {
  return {
    dims,
    feed: (copies, feedDims) => new ort.Tensor('float32', prefixCopies(data, dims, copies, feedDims), feedDims),
    release: async () => undefined,
  };
}

/**
 * Keeps the caches of a run's outputs named by `seeds` (cacheSeeds; batch removed, as ModelRunner.run returns them)
 * where the sessions run (OrtModule.keep), else on this thread, by state name; the caller releases them. Nothing
 * is left kept on failure.
 */
export async function keepCaches(ort: OrtModule, seeds: readonly SeededCache[], outputs: RunOutputs): Promise<KeptCaches> {
  const byState = new Map<string, KeptTensor>();
  try {
    for (const { input, output } of seeds) {
      const value = outputs[output.name];
      if (!value) throw new LensError('internal', `No output "${output.name}" to keep.`);
      byState.set(input.state!, ort.keep ? await ort.keep(value.data, value.dims) : keptHere(ort, value));
    }
  } catch (err) {
    await new KeptCaches(byState).release().catch(() => undefined); // the first failure is the one to report
    throw err;
  }
  return new KeptCaches(byState);
}

/** The feed of an empty_cache input (dims: its own, past and batch sized) continuing a kept cache's first tokens, once per batch item. */
export function cachePrefixFeed(input: InputSpec, prefix: CachePrefix, items: number, dims: readonly number[]): OrtTensor {
  const axis = input.axes.filter((a) => a.name !== 'batch').findIndex((a) => a.name === 'past');
  return prefix.kept.feed({ axis, length: prefix.tokens, batchAxis: axisIndex(input, 'batch'), items }, dims);
}
