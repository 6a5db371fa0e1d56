// Why: a selective state-space model (S6) exports no attention, yet its scan is linear in its input, per
// channel d: with h_t = exp(Δ_t ⊙ A) ⊙ h_{t-1} + (Δ_t ⊙ x_t) ⊗ B_t and y_t = C_t · h_t + D ⊙ x_t,
//   y_t[d] = Σ_k α_d(t, k) x_k[d] + D[d] x_t[d],
//   α_d(t, k) = Σ_n C_t[n] · exp(A[d, n] · Σ_{s=k+1..t} Δ_s[d]) · Δ_k[d] B_k[n]  for k ≤ t, 0 for k > t,
// its hidden attention (Ali, Zimerman & Wolf 2024). This computes α from the exported parts, per channel and
// as the mean over channels per layer (the W the views show: signed, causal, rows not normalised).
//
// Cost: O(L·D·N·T²) multiply-adds. For each channel, exp(Δ_t[d] A[d, n]) is computed once per (t, n); each key
// column k then carries the vector Δ_k[d] B_k down the rows, multiplying it by that factor at every row, so
// the T² loop holds no exp and allocates nothing. A column stops once every entry of its carried vector has
// decayed below DECAY_CUTOFF times its largest start entry: the rest of the column is then below that share of
// the column's first value times Σ_n |C_t[n]|, and is left 0. Pure, typed arrays, row-major.

import type { LayeredMatrices, Tensor } from './analysis';

/** The parts of a selective scan in canonical axis order (modelStructure's canonicalTensor gives them so). */
export interface SelectiveScanTensors {
  /** The scan's input [L, T, D]. */
  x: Tensor;
  /** The step Δ > 0 [L, T, D]. */
  delta: Tensor;
  /** The diagonal state matrix, negative [L, D, N]. */
  A: Tensor;
  /** Input vectors [L, T, N]. */
  B: Tensor;
  /** Output vectors [L, T, N]. */
  C: Tensor;
  /** The skip [L, D], when exported. */
  D?: Tensor;
  /** The scan's output including D ⊙ x [L, T, D], when exported. */
  y?: Tensor;
}

export interface ScanDims {
  /** Layers. */
  L: number;
  /** Tokens. */
  T: number;
  /** Channels (units). */
  D: number;
  /** State size per channel. */
  N: number;
}

/** A carried column stops once its vector is below this share of its start (see the header). */
export const DECAY_CUTOFF = 1e-12;

/** The sizes of a scan, after checking that every part agrees with them (x gives L, T and D; A gives N). */
export function scanDims(scan: SelectiveScanTensors): ScanDims {
  if (scan.x.dims.length !== 3) throw new Error(`selective scan part "x" is [${scan.x.dims.join(', ')}]; expected [layer, position, unit]`);
  if (scan.A.dims.length !== 3) throw new Error(`selective scan part "A" is [${scan.A.dims.join(', ')}]; expected [layer, unit, state]`);
  const [L, T, D] = scan.x.dims;
  const N = scan.A.dims[2];
  const expected: Array<[string, Tensor | undefined, number[], string]> = [
    ['delta', scan.delta, [L, T, D], 'layer, position, unit'],
    ['A', scan.A, [L, D, N], 'layer, unit, state'],
    ['B', scan.B, [L, T, N], 'layer, position, state'],
    ['C', scan.C, [L, T, N], 'layer, position, state'],
    ['D', scan.D, [L, D], 'layer, unit'],
    ['y', scan.y, [L, T, D], 'layer, position, unit'],
  ];
  for (const [part, t, dims, names] of expected) {
    if (!t) continue;
    const size = dims.reduce((a, b) => a * b, 1);
    if (t.dims.length !== dims.length || t.dims.some((n, i) => n !== dims[i]) || t.data.length !== size) {
      throw new Error(`selective scan part "${part}" is [${t.dims.join(', ')}] with ${t.data.length} values; expected [${names}] = [${dims.join(', ')}] (L, T and D from "x", N from "A")`);
    }
  }
  return { L, T, D, N };
}

/** One channel of a [L, T, D] part (x, delta, y) of one layer: its T values. */
export function scanChannel(part: Tensor, layer: number, channel: number): Float32Array {
  const [, T, D] = part.dims;
  const out = new Float32Array(T);
  const base = layer * T * D + channel;
  for (let t = 0; t < T; t++) out[t] = part.data[base + t * D];
  return out;
}

/** Scratch space of one channel's computation, reused across channels. */
interface Scratch {
  /** exp(Δ_t[d] A[d, n]) at t·N + n. */
  decay: Float64Array;
  /** The carried vector of the current key column. */
  carried: Float64Array;
}

/** Adds scale · α_d(t, k) of one layer and channel to out [T, T] (row t, column k). */
function addChannel(scan: SelectiveScanTensors, dims: ScanDims, layer: number, d: number, scale: number, out: Float32Array, scratch: Scratch): void {
  const { T, D, N } = dims;
  const { decay, carried } = scratch;
  const delta = scan.delta.data;
  const A = scan.A.data;
  const B = scan.B.data;
  const C = scan.C.data;
  const deltaBase = layer * T * D + d;
  const aBase = (layer * D + d) * N;
  const bcBase = layer * T * N;
  for (let t = 0; t < T; t++) {
    const step = delta[deltaBase + t * D];
    for (let n = 0; n < N; n++) decay[t * N + n] = Math.exp(step * A[aBase + n]);
  }
  for (let k = 0; k < T; k++) {
    const step = delta[deltaBase + k * D];
    const bk = bcBase + k * N;
    let start = 0;
    let sum = 0;
    for (let n = 0; n < N; n++) {
      const v = step * B[bk + n];
      carried[n] = v;
      sum += C[bk + n] * v;
      start = Math.max(start, Math.abs(v));
    }
    out[k * T + k] += scale * sum;
    if (start === 0) continue;
    const floor = start * DECAY_CUTOFF;
    for (let t = k + 1; t < T; t++) {
      const ct = bcBase + t * N;
      const dt = t * N;
      let row = 0;
      let largest = 0;
      for (let n = 0; n < N; n++) {
        const v = carried[n] * decay[dt + n];
        carried[n] = v;
        row += C[ct + n] * v;
        const magnitude = v < 0 ? -v : v;
        if (magnitude > largest) largest = magnitude;
      }
      out[t * T + k] += scale * row;
      if (largest < floor) break;
    }
  }
}

function scratchFor(dims: ScanDims): Scratch {
  return { decay: new Float64Array(dims.T * dims.N), carried: new Float64Array(dims.N) };
}

function checkLayer(dims: ScanDims, layer: number): void {
  if (!(Number.isInteger(layer) && layer >= 0 && layer < dims.L)) throw new Error(`layer ${layer} is outside 0..${dims.L - 1}`);
}

/** α_d(t, k) of one layer and channel, [T, T] row-major (row t = query, column k = key; 0 above the diagonal). */
export function hiddenAttentionChannel(scan: SelectiveScanTensors, layer: number, channel: number): Float32Array {
  const dims = scanDims(scan);
  checkLayer(dims, layer);
  if (!(Number.isInteger(channel) && channel >= 0 && channel < dims.D)) throw new Error(`channel ${channel} is outside 0..${dims.D - 1}`);
  const out = new Float32Array(dims.T * dims.T);
  addChannel(scan, dims, layer, channel, 1, out, scratchFor(dims));
  return out;
}

/** The mean over channels of α_d(t, k) for one layer, [T, T] row-major. */
export function hiddenAttentionMean(scan: SelectiveScanTensors, layer: number): Float32Array {
  const dims = scanDims(scan);
  checkLayer(dims, layer);
  const out = new Float32Array(dims.T * dims.T);
  const scratch = scratchFor(dims);
  for (let d = 0; d < dims.D; d++) addChannel(scan, dims, layer, d, 1 / dims.D, out, scratch);
  return out;
}

/**
 * The hidden attention of every layer as layered matrices with one head (the mean over channels), each layer
 * computed on first use and kept: counting layers or heads costs nothing.
 */
export function hiddenAttention(scan: SelectiveScanTensors): LayeredMatrices {
  const dims = scanDims(scan);
  const computed: Array<Float32Array | undefined> = new Array(dims.L);
  return {
    layers: dims.L,
    heads: 1,
    rows: dims.T,
    cols: dims.T,
    layer(l: number): Float32Array {
      checkLayer(dims, l);
      return (computed[l] ??= hiddenAttentionMean(scan, l));
    },
  };
}

/**
 * One channel's scan output from its hidden attention: y_t = Σ_k α(t, k) x_k + skip · x_t, with α [T, T] from
 * hiddenAttentionChannel, x the channel's T inputs (scanChannel) and skip its D.
 */
export function reconstructScanOutput(alpha: Float32Array, x: ArrayLike<number>, skip = 0): Float32Array {
  const T = x.length;
  if (alpha.length !== T * T) throw new Error(`hidden attention has ${alpha.length} values; ${T} inputs need ${T}² = ${T * T}`);
  const y = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    let sum = skip * x[t];
    for (let k = 0; k < T; k++) sum += alpha[t * T + k] * x[k];
    y[t] = sum;
  }
  return y;
}
