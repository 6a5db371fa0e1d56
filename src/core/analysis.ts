// The analysis math shared by every architecture: next-token surprisal and top-k predictions from
// logits, and attention rollout (Abnar & Zuidema 2020) from per-layer, per-head attention of any mixing
// structure (causal, windowed, bidirectional; cross-attention is rectangular and has no rollout), also
// through each depth, whose reach shows the receptive field growing layer by layer; mixing that is not
// row-normalised is made so first (rollout multiplies shares, not raw scores). Pure code on flat
// Float32Arrays in row-major order, so it runs in Node tests, the host and the webview alike.

import { LowerTriangleTensor, type TriangleRows, decodedHeads, decodedLayers, foldHeadTriangles } from './lowerTriangle';

/** A dense row-major tensor. */
export interface Tensor {
  dims: number[];
  data: Float32Array;
}

export function tensor(dims: number[], data?: Float32Array): Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data && data.length !== size) {
    throw new Error(`tensor data has ${data.length} values, but dims ${dims.join('x')} need ${size}`);
  }
  return { dims, data: data ?? new Float32Array(size) };
}

/** log-sum-exp of a slice, computed stably (the one copy: surprisal, predictions and occlusion share it). */
export function logSumExp(values: Float32Array, offset: number, length: number): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, values[offset + i]);
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(values[offset + i] - max);
  return max + Math.log(sum);
}

/** log-sum-exp of every row of logits [T, V] (or [1, T, V]): the normaliser both views below need. */
export function rowLogSumExp(logits: Tensor): Float64Array {
  const [T, V] = seqDims(logits);
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) out[t] = logSumExp(logits.data, t * V, V);
  return out;
}

/**
 * Surprisal in bits of each token given the ones before it: s[t] = -log2 p(ids[t] | ids[<t]), read from
 * the logits at t-1. s[0] is NaN: the first token has no prediction within the selection.
 */
export function surprisal(logits: Tensor, ids: readonly number[], lse: ArrayLike<number> = rowLogSumExp(logits)): Float32Array {
  const [T, V] = seqDims(logits);
  if (ids.length !== T) throw new Error(`surprisal: ${ids.length} ids for ${T} positions`);
  const out = new Float32Array(T);
  out[0] = NaN;
  for (let t = 1; t < T; t++) {
    const row = (t - 1) * V;
    out[t] = (lse[t - 1] - logits.data[row + ids[t]]) / Math.LN2;
  }
  return out;
}

export interface Prediction {
  id: number;
  probability: number;
}

/** The k most likely next tokens after each position, most likely first. */
export function topPredictions(logits: Tensor, k: number, lse: ArrayLike<number> = rowLogSumExp(logits)): Prediction[][] {
  const [T, V] = seqDims(logits);
  const result: Prediction[][] = [];
  for (let t = 0; t < T; t++) result.push(rowTopK(logits.data, t * V, V, k, lse[t]));
  return result;
}

/** The k largest of data[offset, offset + V) as tokens with their probabilities (lse: the row's log-sum-exp), most likely first. */
export function rowTopK(data: ArrayLike<number>, offset: number, V: number, k: number, lse: number): Prediction[] {
  const bestIds = new Int32Array(k);
  const bestLogits = new Float64Array(k);
  let n = 0;
  let threshold = -Infinity; // smallest logit kept once k are held
  for (let v = 0; v < V; v++) {
    const logit = data[offset + v];
    if (n === k && logit <= threshold) continue;
    let i = n < k ? n++ : k - 1;
    while (i > 0 && bestLogits[i - 1] < logit) {
      bestLogits[i] = bestLogits[i - 1];
      bestIds[i] = bestIds[i - 1];
      i--;
    }
    bestLogits[i] = logit;
    bestIds[i] = v;
    if (n === k) threshold = bestLogits[k - 1];
  }
  const best: Prediction[] = [];
  for (let i = 0; i < n; i++) best.push({ id: bestIds[i], probability: Math.exp(bestLogits[i] - lse) });
  return best;
}

/** Accepts [T, V] or [1, T, V]. */
function seqDims(t: Tensor): [number, number] {
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2) throw new Error(`expected logits [T, V] or [1, T, V], got [${t.dims.join(', ')}]`);
  return [dims[0], dims[1]];
}

/** Which positions a mixing matrix W [rows, cols] lets row t draw on. */
export type MixingMask =
  /** k ≤ t (a decoder, an RNN). */
  | 'causal'
  /** every k (an encoder). */
  | 'bidirectional'
  /** k ≤ t within a sliding window, plus any always-visible first tokens: still lower-triangular. */
  | 'windowed'
  /** rows are target positions, columns source positions (rows ≠ cols allowed). */
  | 'cross';

/**
 * L layers of H heads of [rows, cols] matrices; layer(l) is [H, rows, cols] row-major: a view of the
 * tensor, or, for matrices held as lower triangles (lowerTriangle.ts), a decoded copy (the last few kept).
 */
export interface LayeredMatrices {
  layers: number;
  heads: number;
  rows: number;
  cols: number;
  layer(l: number): Float32Array;
  /**
   * Head h of layer l, [rows, cols], without decoding the rest of the layer (use headMatrix()); into: a buffer
   * to decode into instead of a new, kept one (its entries above the diagonal 0: see LowerTriangleTensor.decode).
   */
  head?(l: number, h: number, into?: Float32Array): Float32Array;
  /** Entry (query q, key k) of head h of layer l, read without decoding anything (lower triangles). */
  value?(l: number, h: number, q: number, k: number): number;
  /** Layer l's lower triangles, for matrices held so (read in place: lowerTriangle.ts foldRow). */
  triangle?(l: number): TriangleRows;
  /**
   * Allocates ahead the array that the next head(l, h) decoded anew writes into (matrices held as lower triangles:
   * DecodedHeads), so that a head's first view does not wait for its memory; the caller runs it in a task of its own.
   */
  prepareHead?(): void;
}

/**
 * The heads of one layer in turn, for a reduction over them: views of the layer, or, for matrices held as lower
 * triangles, each decoded into one buffer that the next overwrites (nothing kept).
 */
export function eachHead(m: LayeredMatrices, layer: number): (h: number) => Float32Array {
  const head = headReader(m);
  return (h) => head(layer, h);
}

/** Any head in turn (each read overwrites the last, for lower triangles: one buffer, allocated on first read). */
export function headReader(m: LayeredMatrices): (l: number, h: number) => Float32Array {
  if (!m.head) return (l, h) => headMatrix(m, l, h);
  let scratch: Float32Array | undefined;
  return (l, h) => m.head!(l, h, (scratch ??= new Float32Array(m.rows * m.cols)));
}

/** Head h of layer l, [rows, cols]: from head() when the matrices have it, else a view of layer(l). */
export function headMatrix(m: LayeredMatrices, l: number, h: number): Float32Array {
  if (m.head) return m.head(l, h);
  const size = m.rows * m.cols;
  return m.layer(l).subarray(h * size, (h + 1) * size);
}

/** Dims without a leading batch axis of size 1 when there are `rank + 1` of them. */
function unbatched(dims: number[], rank: number): number[] {
  return dims.length === rank + 1 && dims[0] === 1 ? dims.slice(1) : dims;
}

function layered(L: number, H: number, R: number, C: number, at: (l: number) => Float32Array, headAt?: (l: number, h: number, into?: Float32Array) => Float32Array): LayeredMatrices {
  const check = (l: number) => {
    if (!(l >= 0 && l < L) || !Number.isInteger(l)) throw new Error(`layer ${l} is outside 0..${L - 1}`);
  };
  const m: LayeredMatrices = {
    layers: L,
    heads: H,
    rows: R,
    cols: C,
    layer(l: number) {
      check(l);
      return at(l);
    },
  };
  if (headAt) {
    m.head = (l: number, h: number, into?: Float32Array) => {
      check(l);
      if (!(h >= 0 && h < H) || !Number.isInteger(h)) throw new Error(`head ${h} is outside 0..${H - 1}`);
      return headAt(l, h, into);
    };
  }
  return m;
}

/**
 * Attention [L, H, R, C] (or [L, 1, H, R, C]: one sequence with its batch axis) as layered matrices whose
 * layers are subarray views of the tensor's data.
 */
export function layeredFromTensor(t: Tensor): LayeredMatrices {
  let dims = t.dims;
  if (dims.length === 5 && dims[1] === 1) dims = [dims[0], ...dims.slice(2)];
  if (dims.length !== 4) throw new Error(`expected attention [L, H, rows, cols], got [${t.dims.join(', ')}]`);
  const [L, H, R, C] = dims;
  const size = H * R * C;
  if (t instanceof LowerTriangleTensor) {
    const heads = decodedHeads(H, R * C, (l, h, into) => t.decode(l * H + h, l * H + h + 1, into));
    const m = layered(L, H, R, C, decodedLayers((l) => t.decode(l * H, (l + 1) * H)), heads.head);
    m.value = (l, h, q, k) => t.at(l * H + h, q, k);
    m.triangle = (l) => t.rowsFrom(l * H);
    m.prepareHead = heads.prepare;
    return m;
  }
  if (t.data.length !== L * size) throw new Error(`attention has ${t.data.length} values; [${t.dims.join(', ')}] needs ${L * size}`);
  return layered(L, H, R, C, (l) => t.data.subarray(l * size, (l + 1) * size));
}

/** One tensor per layer, each [H, R, C] (or [1, H, R, C]), as Hugging Face exports them: no copies. */
export function layeredFromLayers(layers: Tensor[]): LayeredMatrices {
  if (!layers.length) throw new Error('no attention layers');
  const shapes = layers.map((t) => unbatched(t.dims, 3));
  const [H, R, C] = shapes[0];
  shapes.forEach((d, l) => {
    const length = layers[l] instanceof LowerTriangleTensor ? H * R * C : layers[l].data.length;
    if (d.length !== 3 || d[0] !== H || d[1] !== R || d[2] !== C || length !== H * R * C) {
      throw new Error(`attention layer ${l} is [${layers[l].dims.join(', ')}]; expected [${H}, ${R}, ${C}] like layer 0`);
    }
  });
  if (layers.some((t) => t instanceof LowerTriangleTensor)) {
    const decode = (l: number, first: number, last: number, into?: Float32Array) => {
      const t = layers[l];
      if (t instanceof LowerTriangleTensor) return t.decode(first, last, into);
      const view = t.data.subarray(first * R * C, last * R * C);
      return into ? (into.set(view), into) : view;
    };
    const heads = decodedHeads(H, R * C, (l, h, into) => decode(l, h, h + 1, into));
    const m = layered(layers.length, H, R, C, decodedLayers((l) => decode(l, 0, H)), heads.head);
    m.value = (l, h, q, k) => {
      const t = layers[l];
      return t instanceof LowerTriangleTensor ? t.at(h, q, k) : t.data[(h * R + q) * C + k];
    };
    if (layers.every((t) => t instanceof LowerTriangleTensor)) {
      m.triangle = (l) => (layers[l] as LowerTriangleTensor).rowsFrom(0);
      m.prepareHead = heads.prepare; // not where a layer is a plain tensor: its head is a view, which a spare would turn into a copy
    }
    return m;
  }
  return layered(layers.length, H, R, C, (l) => layers[l].data);
}

function asLayered(x: LayeredMatrices | Tensor): LayeredMatrices {
  return 'dims' in x ? layeredFromTensor(x) : x;
}

/** Mean over heads of one layer: [rows, cols]. Accepts layered matrices or attention [L, H, R, C]. */
export function meanOverHeads(attention: LayeredMatrices | Tensor, layer: number): Float32Array {
  const m = asLayered(attention);
  const size = m.rows * m.cols;
  const out = new Float32Array(size);
  if (!foldHeadTriangles(m, layer, out, false)) {
    const head = eachHead(m, layer);
    for (let h = 0; h < m.heads; h++) {
      const data = head(h);
      for (let i = 0; i < size; i++) out[i] += data[i];
    }
  }
  for (let i = 0; i < size; i++) out[i] /= m.heads;
  return out;
}

/** Max over heads of one layer: [rows, cols] (rows no longer sum to 1). */
export function maxOverHeads(attention: LayeredMatrices | Tensor, layer: number): Float32Array {
  const m = asLayered(attention);
  const size = m.rows * m.cols;
  const out = new Float32Array(size);
  if (foldHeadTriangles(m, layer, out, true)) return out;
  const head = eachHead(m, layer);
  for (let h = 0; h < m.heads; h++) {
    const data = head(h);
    for (let i = 0; i < size; i++) out[i] = Math.max(out[i], data[i]);
  }
  return out;
}

/**
 * One layer's rollout factor Â = ½(mean-over-heads A + I) [T, T]: rows still sum to 1 (residual stream).
 * Self-attention only: a rectangular (cross-attention) layer has no identity to add.
 */
export function rolloutFactor(attention: LayeredMatrices | Tensor, layer: number): Float32Array {
  const m = asLayered(attention);
  if (m.rows !== m.cols) throw new Error(`rollout needs square attention; got ${m.rows}×${m.cols}`);
  return toRolloutFactor(meanOverHeads(m, layer), m.rows);
}

/** A layer's mean over heads [T, T] made its rollout factor ½(mean + I), in place. */
export function toRolloutFactor(mean: Float32Array, T: number): Float32Array {
  for (let i = 0; i < T * T; i++) mean[i] *= 0.5;
  for (let i = 0; i < T; i++) mean[i * T + i] += 0.5;
  return mean;
}

/** Sets every entry above the diagonal of a T × T matrix to 0, in place. */
export function zeroAboveDiagonal(a: Float32Array, T: number): void {
  for (let i = 0; i < T; i++) a.fill(0, i * T + i + 1, (i + 1) * T);
}

/**
 * For mixing whose rows are not probabilities (`normalised: false`): each head's rows of |W| scaled to sum
 * to 1, as copies, so rollout can treat them as shares. A square matrix's all-zero row becomes the identity
 * row (the token draws only on itself); a rectangular one's stays zero.
 */
export function rowNormalisedAbs(m: LayeredMatrices): LayeredMatrices {
  const { layers, heads, rows, cols } = m;
  const copies: Float32Array[] = [];
  for (let l = 0; l < layers; l++) {
    const src = m.layer(l);
    const out = new Float32Array(src.length);
    for (let r = 0; r < heads * rows; r++) {
      const base = r * cols;
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += Math.abs(src[base + c]);
      if (sum > 0) for (let c = 0; c < cols; c++) out[base + c] = Math.abs(src[base + c]) / sum;
      else if (rows === cols) out[base + (r % rows)] = 1;
    }
    copies.push(out);
  }
  return layered(layers, heads, rows, cols, (l) => copies[l]);
}

/**
 * Attention rollout (Abnar & Zuidema 2020): R = Â_L · … · Â_1 with Â from rolloutFactor. Returns R [T, T],
 * whose rows sum to 1 when the layers' rows do. `causal` (causal or windowed attention: every Â is lower-
 * triangular) skips the zero upper triangle; otherwise (bidirectional) the products are dense. Passing
 * causal for attention that is not lower-triangular drops its upper triangle. A Tensor [L, H, T, T] is
 * still accepted, causal unless told otherwise.
 */
export function rollout(attention: LayeredMatrices, causal: boolean): Float32Array;
export function rollout(attention: Tensor, causal?: boolean): Float32Array;
export function rollout(attention: LayeredMatrices | Tensor, causal = true): Float32Array {
  let last: Float32Array = new Float32Array(0);
  for (const partial of rolloutSteps(asLayered(attention), causal)) last = partial;
  return last;
}

/**
 * Every partial rollout R_l = Â_l · … · Â_1 for l = 1..L (index l − 1), the same math as rollout(): the
 * last is rollout() itself. Each is T×T, so this holds L of them (what a layer-by-layer view needs).
 */
export function rolloutLayers(attention: LayeredMatrices, causal: boolean): Float32Array[] {
  return [...rolloutSteps(attention, causal)];
}

/** Yields R_1, R_2, …, R_L in turn (each a new array; the previous one is not changed). */
function* rolloutSteps(m: LayeredMatrices, causal: boolean): Generator<Float32Array> {
  if (m.rows !== m.cols) throw new Error(`rollout needs square attention; got ${m.rows}×${m.cols}`);
  const T = m.rows;
  const product = causal ? lowerTriangularProductRows : denseProductRows;
  let result: Float32Array | undefined;
  for (let l = 0; l < m.layers; l++) {
    const a = rolloutFactor(m, l);
    if (!result) {
      // A causal rollout is lower-triangular from the first factor on.
      if (causal) zeroAboveDiagonal(a, T);
      result = a;
    } else {
      const c = new Float32Array(T * T);
      product(a, result, T, c, 0, T);
      result = c;
    }
    yield result;
  }
}

/** Share of a row's largest weight from which a key counts as reached (receptiveField). */
export const REACH_THRESHOLD = 1e-3;

/**
 * How many tokens back a rollout row reaches: query − the earliest key whose weight is at least
 * `threshold` × the row's largest weight, both taken over the keys after the first `globalTokens` (which
 * every token sees, so they say nothing about reach). `row` is query's row of a T×T matrix (query defaults
 * to the last token, T − 1); only keys up to the query count. 0 when no such key has weight.
 */
export function receptiveField(row: ArrayLike<number>, T: number, options: { query?: number; globalTokens?: number; threshold?: number } = {}): number {
  const query = Math.min(T - 1, options.query ?? T - 1);
  const from = Math.max(0, options.globalTokens ?? 0);
  let max = 0;
  for (let k = from; k <= query; k++) if (row[k] > max) max = row[k];
  if (!(max > 0)) return 0;
  const floor = max * (options.threshold ?? REACH_THRESHOLD);
  for (let k = from; k <= query; k++) if (row[k] >= floor) return query - k;
  return 0;
}

/** Adds rows [from, to) of A · B into C, for lower-triangular T×T matrices (so work can be done in slices). */
export function lowerTriangularProductRows(a: Float32Array, b: Float32Array, T: number, c: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const ci = i * T;
    for (let k = 0; k <= i; k++) {
      const aik = a[ci + k];
      if (aik === 0) continue;
      const bk = k * T;
      for (let j = 0; j <= k; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/** Adds rows [from, to) of A · B into C, for dense T×T matrices (so work can be done in slices). */
export function denseProductRows(a: Float32Array, b: Float32Array, T: number, c: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const ci = i * T;
    for (let k = 0; k < T; k++) {
      const aik = a[ci + k];
      if (aik === 0) continue;
      const bk = k * T;
      for (let j = 0; j < T; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/** C = A · B for lower-triangular T×T matrices (entries above the diagonal are taken as zero). */
export function lowerTriangularProduct(a: Float32Array, b: Float32Array, T: number): Float32Array {
  const c = new Float32Array(T * T);
  lowerTriangularProductRows(a, b, T, c, 0, T);
  return c;
}

/** C = A · B for dense T×T matrices. */
export function denseProduct(a: Float32Array, b: Float32Array, T: number): Float32Array {
  const c = new Float32Array(T * T);
  denseProductRows(a, b, T, c, 0, T);
  return c;
}
