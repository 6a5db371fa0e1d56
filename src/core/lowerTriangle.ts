// Why: a causal W is zero above its diagonal, so half of every [T, T] attention matrix is zeros; at 2,048
// tokens a 12 × 12 model's attention is 2.4 GB in float32, half of it zeros. A run in chunks from the
// model's cache (cacheChunks.ts) stores each matrix as its lower triangle instead (row t keeps keys
// 0..t: T(T+1)/2 floats, exactly the model's values), and the layered views read a weight, a row, a head or a
// layer as they need it, keeping the last few decoded (analysis.ts). Pure.

import type { Tensor } from './analysis';

/**
 * Matrices [outer…, T, T] held as their lower triangles: matrix o's row t at o·T(T+1)/2 + t(t+1)/2, keys
 * 0..t. `data` decodes every matrix into one full array (what a plain Tensor holds) and keeps it: read decode()
 * for a range instead.
 */
export class LowerTriangleTensor implements Tensor {
  readonly packed: Float32Array;
  readonly matrices: number;
  readonly size: number;

  constructor(readonly dims: number[]) {
    this.size = dims[dims.length - 1];
    if (dims[dims.length - 2] !== this.size) throw new Error(`a lower triangle needs square matrices, got [${dims.join(', ')}]`);
    this.matrices = dims.slice(0, -2).reduce((a, b) => a * b, 1);
    this.packed = new Float32Array((this.matrices * this.size * (this.size + 1)) / 2);
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

  /** Where row t of matrix o starts in `packed` (its keys 0..t follow). */
  rowStart(o: number, t: number): number {
    const T = this.size;
    return (o * T * (T + 1)) / 2 + (t * (t + 1)) / 2;
  }

  /** Matrix o's entry (t, k): 0 above the diagonal. */
  at(o: number, t: number, k: number): number {
    return k > t ? 0 : this.packed[this.rowStart(o, t) + k];
  }

  /** Writes row t of matrix o: its keys 0..t from source[from..] (a plain loop: no view per row). */
  setRow(o: number, t: number, source: Float32Array, from = 0): void {
    const packed = this.packed;
    const to = this.rowStart(o, t);
    for (let k = 0; k <= t; k++) packed[to + k] = source[from + k];
  }

  /**
   * Matrices first..last-1 as full [T, T] matrices, zeros above the diagonal: a new array, or `into`, whose
   * entries above each diagonal must be 0 already (a new array, or one this filled before: only rows' first
   * t + 1 entries are written).
   */
  decode(first: number, last: number, into?: Float32Array): Float32Array {
    const T = this.size;
    const out = into ?? new Float32Array((last - first) * T * T);
    for (let o = first; o < last; o++) {
      for (let t = 0; t < T; t++) out.set(this.packed.subarray(this.rowStart(o, t), this.rowStart(o, t) + t + 1), ((o - first) * T + t) * T);
    }
    return out;
  }
}

/**
 * The layered views of matrices held as lower triangles (analysis.ts) decode what they are asked for: a layer
 * (the last DECODED_LAYERS stay decoded) or one head (the last DECODED_HEADS_PER_LAYER × heads stay decoded).
 */
export const DECODED_LAYERS = 2;
export const DECODED_HEADS_PER_LAYER = 1;
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
export function decodedHeads(H: number, decode: (l: number, h: number, into?: Float32Array) => Float32Array): (l: number, h: number, into?: Float32Array) => Float32Array {
  const heads = recent(DECODED_HEADS_PER_LAYER * H, (key: number) => decode(Math.floor(key / H), key % H));
  return (l, h, into) => (into ? decode(l, h, into) : heads(l * H + h));
}
