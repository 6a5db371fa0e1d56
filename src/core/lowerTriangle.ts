// Why: a causal W is zero above its diagonal, so half of every [T, T] attention matrix is zeros; at 2,048
// tokens a 12 × 12 model's attention is 2.4 GB in float32, half of it zeros. A run in chunks from the
// model's cache (cacheChunks.ts) stores each matrix as its lower triangle instead (row t keeps keys
// 0..t: T(T+1)/2 floats), and the layered views read a weight, a row, a head or a layer as they need it,
// keeping the last few decoded (analysis.ts). Up to HALF_PRECISION_FROM_BYTES the triangles hold the model's
// float32 values exactly; past it (a 12 × 12 model from about 1,370 tokens) they hold IEEE half precision,
// rounded to nearest: each weight within 2⁻¹¹ of its value (4.9e-4 relative; 6e-8 absolute below 6.1e-5),
// half the memory again, and the panel says so. Pure.

import type { LayeredMatrices, Tensor } from './analysis';
import { halfToFloatTable, toHalf } from './half';

/** Lower triangles (all of one run's) larger than this in float32 are held in half precision instead. */
export const HALF_PRECISION_FROM_BYTES = 512 * 2 ** 20;

/** t(t + 1)/2: the stored weights of rows 0..t-1 of one lower triangle. */
const tri = (t: number) => (t * (t + 1)) / 2;

/**
 * Matrices [outer…, T, T] held as their lower triangles: row t of each matrix keeps keys 0..t; float32, or
 * half-precision bits when `half`. The rows are stored in blocks of `blockRows` (every matrix's rows
 * b·blockRows.. in block b, matrix by matrix), each allocated when a row of it is first written or read: a run
 * in chunks fills one block per chunk. With one array for everything (602 MB at 2,044 tokens for a 12 × 12
 * model), a garbage collection of 287–346 ms ran in the task that allocated it (bench:profile); a block at a
 * time, the collections during a run took 43–56 ms. `data`
 * decodes every matrix into one full array (what a plain Tensor holds) and keeps it: read decode() for a range.
 */
export class LowerTriangleTensor implements Tensor {
  readonly matrices: number;
  readonly size: number;
  readonly blockRows: number;
  private readonly blocks: Array<Float32Array | Uint16Array | undefined>;
  /** The float32 bits of the last row source setRow read (one view per chunk, not one per row). */
  private sourceBits: { source: Float32Array; bits: Uint32Array } | undefined;
  /** Half-precision bits to float32, when half. */
  private readonly table: Float32Array | undefined;

  constructor(
    readonly dims: number[],
    readonly half = false,
    blockRows = dims[dims.length - 1],
  ) {
    this.size = dims[dims.length - 1];
    if (dims[dims.length - 2] !== this.size) throw new Error(`a lower triangle needs square matrices, got [${dims.join(', ')}]`);
    this.matrices = dims.slice(0, -2).reduce((a, b) => a * b, 1);
    this.blockRows = Math.max(1, Math.min(this.size, blockRows));
    this.blocks = new Array(Math.ceil(this.size / this.blockRows)).fill(undefined);
    this.table = half ? halfToFloatTable() : undefined;
  }

  private full: Float32Array | undefined;

  /** Every matrix in full, decoded on first read and kept (twice the memory: the views read layers instead). */
  get data(): Float32Array {
    return (this.full ??= this.decode(0, this.matrices));
  }

  /** Whether something read `data` (the views never need to). */
  get decodedInFull(): boolean {
    return this.full !== undefined;
  }

  /** Bytes the stored weights take (every block, allocated or not: a finished run has written them all). */
  get byteLength(): number {
    return this.matrices * tri(this.size) * (this.half ? 2 : 4);
  }

  /** Bytes of the blocks allocated so far. */
  get allocatedBytes(): number {
    return this.blocks.reduce((n, b) => n + (b?.byteLength ?? 0), 0);
  }

  /** The block holding row t of every matrix, allocated on first use. */
  block(t: number): Float32Array | Uint16Array {
    const b = Math.floor(t / this.blockRows);
    const first = b * this.blockRows;
    const length = this.matrices * (tri(Math.min(this.size, first + this.blockRows)) - tri(first));
    return (this.blocks[b] ??= this.half ? new Uint16Array(length) : new Float32Array(length));
  }

  /** Where row t of matrix o starts in block(t) (its keys 0..t follow). */
  rowStart(o: number, t: number): number {
    const first = t - (t % this.blockRows);
    const perMatrix = tri(Math.min(this.size, first + this.blockRows)) - tri(first);
    return o * perMatrix + tri(t) - tri(first);
  }

  /** Matrix o's entry (t, k): 0 above the diagonal. */
  at(o: number, t: number, k: number): number {
    if (k > t) return 0;
    const v = this.block(t)[this.rowStart(o, t) + k];
    return this.table ? this.table[v] : v;
  }

  /** Writes row t of matrix o: its keys 0..t from source[from..] (a plain loop: no view per row). */
  setRow(o: number, t: number, source: Float32Array, from = 0): void {
    const packed = this.block(t);
    const to = this.rowStart(o, t);
    if (!this.half) {
      for (let k = 0; k <= t; k++) packed[to + k] = source[from + k];
      return;
    }
    if (this.sourceBits?.source !== source) this.sourceBits = { source, bits: new Uint32Array(source.buffer, source.byteOffset, source.length) };
    const bits = this.sourceBits.bits;
    for (let k = 0; k <= t; k++) packed[to + k] = toHalf(source[from + k], bits[from + k]);
  }

  /** Matrices first.. as LayeredMatrices.triangle gives them: matrix first + h's row t, and the decode table when half. */
  rowsFrom(first: number): TriangleRows {
    return { data: (t) => this.block(t), offset: (h, t) => this.rowStart(first + h, t), values: this.table };
  }

  /** Lets go of the last row source (a chunk's outputs) once every row is written. */
  doneWriting(): void {
    this.sourceBits = undefined;
  }

  /**
   * Matrices first..last-1 as full [T, T] matrices, zeros above the diagonal: a new array, or `into`, whose
   * entries above each diagonal must be 0 already (a new array, or one this filled before: only rows' first
   * t + 1 entries are written).
   */
  decode(first: number, last: number, into?: Float32Array): Float32Array {
    const T = this.size;
    const out = into ?? new Float32Array((last - first) * T * T);
    const rows = this.rowsFrom(first);
    for (let o = 0; o < last - first; o++) for (let t = 0; t < T; t++) decodeRow(rows, o, t, out, (o * T + t) * T);
    return out;
  }
}

/**
 * The layered views of matrices held as lower triangles (analysis.ts) decode what they are asked for: a layer
 * (the last DECODED_LAYERS stay decoded) or one head (the last heads that fit in DECODED_HEAD_BYTES stay
 * decoded, at least one, at most a layer's: every head of a 12-head layer up to 2,048 tokens, 3 at 4,096). The
 * heatmap prepares a layer's heads in idle time so that a head switch draws in the next frame (a head decoded
 * and drawn anew takes about 70 ms at 2,048 tokens): keeping fewer would evict them before they are picked.
 */
export const DECODED_LAYERS = 2;
export const DECODED_HEAD_BYTES = 192 * 2 ** 20;
/** How many decoded [rows, cols] heads stay kept (see DECODED_HEAD_BYTES). */
export function keptHeads(H: number, size: number): number {
  return Math.max(1, Math.min(H, Math.floor(DECODED_HEAD_BYTES / (4 * size))));
}
function recent<K, V>(limit: number, make: (key: K) => V): (key: K) => V {
  const kept = new Map<K, V>();
  return (key) => {
    let value = kept.get(key);
    if (value !== undefined) kept.delete(key);
    else value = make(key);
    kept.set(key, value); // most recent last
    if (kept.size > limit) kept.delete(kept.keys().next().value!);
    return value;
  };
}
export function decodedLayers(decode: (l: number) => Float32Array): (l: number) => Float32Array {
  return recent(DECODED_LAYERS, decode);
}
/**
 * The decoded heads of decodedHeads: head(l, h, into?) decodes (into `into`, else into an array kept among the
 * last ones); prepare() allocates ahead the array the next head decoded anew writes into, and writes it, so that its
 * memory is there: into a fresh array, a head's decode at 2,041 tokens took 15.8 ms, into a written one 5.6 (Node).
 */
export interface DecodedHeads {
  head(l: number, h: number, into?: Float32Array): Float32Array;
  prepare(): void;
}
export function decodedHeads(H: number, size: number, decode: (l: number, h: number, into?: Float32Array) => Float32Array): DecodedHeads {
  let spare: Float32Array | undefined; // zeros, written: handed to one decode, which keeps it
  const heads = recent(keptHeads(H, size), (key: number) => {
    const into = spare;
    spare = undefined;
    return decode(Math.floor(key / H), key % H, into);
  });
  return {
    head: (l, h, into) => (into ? decode(l, h, into) : heads(l * H + h)),
    prepare: () => void (spare ??= new Float32Array(size).fill(0)),
  };
}

/** One layer's lower triangles: head h's row t is data(t)[offset(h, t)..], its keys 0..t; half-precision bits when `values` is given. */
export interface TriangleRows {
  data: (t: number) => Float32Array | Uint16Array;
  offset: (h: number, t: number) => number;
  values?: Float32Array;
}

/** Writes head h's row t (its t + 1 stored weights, as float32) to out[to..]; what lies past them is left as it is. */
export function decodeRow(rows: TriangleRows, h: number, t: number, out: Float32Array, to: number): void {
  const { values } = rows;
  const data = rows.data(t);
  const from = rows.offset(h, t);
  if (values) for (let k = 0; k <= t; k++) out[to + k] = values[data[from + k]];
  else out.set(data.subarray(from, from + t + 1), to);
}

/** Folds the first `count` stored weights of head h's row t into out[to..] (their sum, or their maximum), in order. */
export function foldRow(rows: TriangleRows, h: number, t: number, count: number, out: Float32Array, to: number, max = false): void {
  const { values } = rows;
  const data = rows.data(t);
  const from = rows.offset(h, t);
  if (values && max) for (let k = 0; k < count; k++) out[to + k] = Math.max(out[to + k], values[data[from + k]]);
  else if (values) for (let k = 0; k < count; k++) out[to + k] += values[data[from + k]];
  else if (max) for (let k = 0; k < count; k++) out[to + k] = Math.max(out[to + k], data[from + k]);
  else for (let k = 0; k < count; k++) out[to + k] += data[from + k];
}

/**
 * Every head of a layer held as lower triangles (LayeredMatrices.triangle), folded into out [T, T] row by row in
 * place (the sum, or the maximum): no head decoded, nothing above the diagonals touched (it stays 0, as a decoded
 * head has it), the same float32 operations in the same order as folding the decoded heads. False, with nothing
 * done, for matrices not held so.
 */
export function foldHeadTriangles(m: LayeredMatrices, layer: number, out: Float32Array, max: boolean): boolean {
  const rows = m.triangle?.(layer);
  if (!rows) return false;
  for (let h = 0; h < m.heads; h++) for (let t = 0; t < m.rows; t++) foldRow(rows, h, t, t + 1, out, t * m.cols, max);
  return true;
}
