// Why: a causal attention model that takes a key/value cache (empty_cache inputs, each seeded by the `cache`
// output with the same `state`) can run a long text in chunks: each chunk's tokens see the cache of the
// tokens before them, so the outputs are those of one run, while onnxruntime's heap (a wasm memory that never
// shrinks) holds only one chunk's attention rows instead of layers × heads × T² floats at once. The same
// cache lets occlusion rerun only the tokens from a replaced one (occlusionPrefix.ts). What can be joined is
// read from roles and axes alone; a model whose outputs cannot be (a bidirectional W, a second sequence) runs
// whole. Pure.

import type { Tensor } from './analysis';
import { type InputSpec, type ModelManifest, type OutputSpec, axisIndex } from './manifest';
import { HALF_PRECISION_FROM_BYTES, LowerTriangleTensor } from './lowerTriangle';
import { prefixCopies } from './keptTensor';
import { releaseBuffer } from './releaseBuffer';
import { TimeSlices } from './timeSlices';
import { modelStructure } from './modelStructure';

/** One empty_cache input and the cache output whose first k tokens seed it. */
export interface SeededCache {
  input: InputSpec;
  output: OutputSpec;
}

/** How each output of a chunked run is joined. */
export type ChunkJoin = 'position' | 'rows' | 'last';

/** Most bytes of a chunk's mixing rows (every layer and head), which onnxruntime's heap holds during its run. */
export const CHUNK_MIXING_BYTES = 64 * 2 ** 20;
/** Fewest tokens per chunk: shorter chunks spend more on each run's fixed cost than they save. */
export const MIN_CHUNK_TOKENS = 64;
/** Main-thread time one slice of a chunk's join may take when the join yields (ChunkJoiner.add). */
export const JOIN_SLICE_MS = 10;

const names = (spec: { axes: ReadonlyArray<{ name: string }> }) => spec.axes.map((a) => a.name).filter((n) => n !== 'batch');

/**
 * The caches a model can be handed, or undefined: every empty_cache input names a `cache` output with the
 * same axes (past for position), and has a batch axis.
 */
export function cacheSeeds(manifest: ModelManifest): SeededCache[] | undefined {
  const inputs = manifest.inputs.filter((i) => i.role === 'empty_cache');
  if (!inputs.length || manifest.inputs.some((i) => i.role === 'initial_state')) return undefined;
  const seeds: SeededCache[] = [];
  for (const input of inputs) {
    const output = manifest.outputs.find((o) => o.role === 'cache' && o.state !== undefined && o.state === input.state);
    if (!output || axisIndex(input, 'batch') < 0) return undefined;
    const wanted = input.axes.map((a) => (a.name === 'past' ? 'position' : a.name)).join(',');
    if (output.axes.map((a) => a.name).join(',') !== wanted) return undefined;
    seeds.push({ input, output });
  }
  return seeds;
}

/** A cache output of one run (batch removed) cut to its first k tokens: the input's layout with a past of k. */
export function cachePrefix(seed: SeededCache, outputs: Record<string, Tensor>, k: number): Float32Array {
  const value = outputs[seed.output.name];
  const axis = names(seed.output).indexOf('position');
  if (k === value.dims[axis]) return value.data;
  // One copy, batch first: the same layout as without a batch axis.
  return prefixCopies(value.data, value.dims, { axis, length: k, batchAxis: 0, items: 1 });
}

/** The caches that continue a run after its first k tokens, by state name. */
export function cachesAfter(seeds: SeededCache[], outputs: Record<string, Tensor>, k: number): Record<string, Float32Array> {
  return Object.fromEntries(seeds.map((seed) => [seed.input.state!, cachePrefix(seed, outputs, k)]));
}

export interface ChunkPlan {
  seeds: SeededCache[];
  /** Every output read (ignored ones aside), by name. */
  joins: Record<string, ChunkJoin>;
  /** Floats per query and key of every mixing output together (layers × heads; 0 when none). */
  rowFloats: number;
}

/**
 * Whether and how a model runs in chunks from its cache: one sequence, caches it can be handed, and every
 * output read joinable: along its position axis (logits, hidden states), by rows (a causal or windowed W with
 * the key axis last after the query axis: a chunk's queries see the keys before them and their own), or the
 * last chunk's (the caches, which hold every token).
 */
export function chunkPlan(manifest: ModelManifest): ChunkPlan | undefined {
  const structure = modelStructure(manifest);
  const seeds = cacheSeeds(manifest);
  if (!seeds || structure.sequences.length !== 1) return undefined;
  const joins: Record<string, ChunkJoin> = {};
  let perRow = 0;
  for (const o of manifest.outputs) {
    if (o.role === 'ignored') continue;
    const axes = names(o);
    if (o.role === 'cache' && seeds.some((s) => s.output === o)) joins[o.name] = 'last';
    else if (o.role === 'mixing' && (o.structure === 'causal' || o.structure === 'windowed') && axes.at(-1) === 'key' && axes.at(-2) === 'query') {
      joins[o.name] = 'rows';
      perRow += o.axes.reduce((n, a) => n * (typeof a.size === 'number' && !['query', 'key', 'batch'].includes(a.name) ? a.size : 1), 1);
    } else if (axes.includes('position') && !axes.includes('query') && !axes.includes('key')) joins[o.name] = 'position';
    else return undefined;
  }
  return { seeds, joins, rowFloats: perRow };
}

/** Tokens per chunk for T tokens: as many as keep a chunk's mixing rows within CHUNK_MIXING_BYTES (T: no chunks). */
export function chunkTokens(plan: ChunkPlan, T: number): number {
  const perRow = 4 * plan.rowFloats * T; // bytes of one query row
  if (perRow * T <= CHUNK_MIXING_BYTES) return T;
  return Math.min(T, Math.max(MIN_CHUNK_TOKENS, Math.floor(CHUNK_MIXING_BYTES / perRow)));
}

/**
 * The outputs of one run assembled from its chunks as they arrive (batch removed, in order, covering T
 * tokens), so that no chunk is kept: positions placed along their axis, each chunk's W rows at its queries'
 * rows over the keys it saw (later keys stay 0, as the causal or windowed mask has them; held as lower
 * triangles while every row is 0 after its own token), caches from the last chunk.
 */
export class ChunkJoiner {
  private readonly out: Record<string, Tensor> = {};
  private start = 0;

  /** Whether the lower triangles hold half precision: their float32 would take more than halfFromBytes. */
  private readonly half: boolean;

  constructor(
    private readonly manifest: ModelManifest,
    private readonly plan: ChunkPlan,
    private readonly T: number,
    halfFromBytes = HALF_PRECISION_FROM_BYTES,
  ) {
    this.half = (4 * plan.rowFloats * T * (T + 1)) / 2 > halfFromBytes;
  }

  /**
   * Adds the next chunk's outputs (n tokens). With `yieldControl`, lets other work run between slices of about
   * JOIN_SLICE_MS (a chunk holds up to CHUNK_MIXING_BYTES of rows: one task of 50–100 ms on a UI thread
   * otherwise); one add must finish before the next starts. With `release`, the chunk's buffers that were
   * copied are freed once joined (releaseBuffer.ts): the caller gives them up.
   */
  async add(chunk: Record<string, Tensor>, n: number, yieldControl?: () => Promise<void>, release = false): Promise<void> {
    const slices = yieldControl && new TimeSlices({ pause: yieldControl, sliceMs: JOIN_SLICE_MS });
    const slice = async () => slices?.more();
    for (const [name, join] of Object.entries(this.plan.joins)) {
      const part = chunk[name];
      if (join === 'last') {
        this.out[name] = part;
        continue;
      }
      if (join === 'rows' && (await this.addTriangle(name, part, n, slice))) continue;
      // Rows: the query axis (second to last); positions: the position axis.
      const axis = join === 'rows' ? part.dims.length - 2 : names(this.manifest.outputs.find((o) => o.name === name)!).indexOf('position');
      const dims = part.dims.map((d, i) => (i === axis ? this.T : join === 'rows' && i === axis + 1 ? this.T : d));
      const whole = (this.out[name] ??= { dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
      const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
      const inner = part.dims.slice(axis + 1).reduce((a, b) => a * b, 1); // a row: the P + n keys it saw
      const stride = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < n; r++) {
          whole.data.set(part.data.subarray((o * n + r) * inner, (o * n + r + 1) * inner), (o * this.T + this.start + r) * stride);
          await slice(); // a row at a time: with a 50,257-token vocabulary a chunk of 64 tokens has 12.3 MiB of logits
        }
      }
    }
    this.start += n;
    // What was copied is not read again; kept outputs (the last chunk's caches) are left alone.
    if (release) for (const [name, join] of Object.entries(this.plan.joins)) if (join !== 'last') releaseBuffer(chunk[name].data);
  }

  /**
   * A chunk's W rows kept as lower triangles (lowerTriangle.ts): half the memory of [T, T] matrices, exactly,
   * as long as every row is 0 after its own token. Once a row is not, the output is held in full from then on.
   */
  private async addTriangle(name: string, part: Tensor, n: number, slice: () => Promise<void>): Promise<boolean> {
    const T = this.T;
    const current = this.out[name];
    if (current && !(current instanceof LowerTriangleTensor)) return false;
    const keys = part.dims[part.dims.length - 1];
    const outer = part.dims.slice(0, -2).reduce((a, b) => a * b, 1);
    const data = part.data;
    // Plain loops over the chunk (no per-row views or callbacks: a chunk holds up to CHUNK_MIXING_BYTES of rows).
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < n; r++) {
        const row = (o * n + r) * keys;
        for (let k = this.start + r + 1; k < keys; k++) {
          if (data[row + k] === 0) continue;
          if (current) this.out[name] = { dims: current.dims, data: current.data };
          return false;
        }
      }
    }
    const packed = (current as LowerTriangleTensor | undefined) ?? new LowerTriangleTensor([...part.dims.slice(0, -2), T, T], this.half, n); // a block per chunk
    this.out[name] = packed;
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < n; r++) packed.setRow(o, this.start + r, data, (o * n + r) * keys);
      await slice(); // a matrix's rows at a time
    }
    packed.doneWriting();
    return true;
  }

  /** The joined outputs, once every token was added. */
  result(): Record<string, Tensor> {
    return this.out;
  }
}

