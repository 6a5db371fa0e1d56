// Why: the full attention rollout R = Â_L ··· Â_1 costs O(L·T³), too slow past a few hundred tokens, yet
// a hover or a clicked token needs only one row of it (what token t draws on, e_tᵀ Â_L ··· Â_1) and one
// column (what token k influences, Â_L ··· Â_1 e_k). Each is a vector pushed through the L factors, one
// vector–matrix product per layer: O(L·T²), never a T × T product. The factors are rolloutFactor's
// Â = ½(mean-over-heads A + I), built from row-normalised |W| for a family declared `normalised: false`
// (as familyRollout does), with the same float32 operations in the same order, so a row equals the full
// rollout's row up to the order of the final sums. A causal or windowed family's factors are lower-
// triangular: row t touches only keys ≤ t (≈ t²/2 per layer) and column k only queries ≥ k.
// Memory: the factors are cached per layer (built on first use), not recomputed from the heads for each
// vector. Computing Â's rows on the fly would read all H heads per row: H times the work of every later
// row or column (4× on the bundled Transformer, past the 16 ms a hover may take at 2,048 tokens). The
// cache holds one [T, T] mean per layer instead of H, stored packed as its lower triangle when the mask
// is causal: L·T(T+1)/2 floats, 32 MB at L = 4, T = 2,048, an eighth of the attention the analysis holds.

import { type LayeredMatrices, type MixingMask } from './analysis';
import { type TriangleRows, foldRow } from './lowerTriangle';

/** What the rollout of a family needs to know besides its matrices. */
export interface RolloutRowOptions {
  /** causal and windowed: lower-triangular factors; bidirectional: dense. Cross-mixing has no rollout. */
  mask: MixingMask;
  /** Whether the family's rows are shares already; if not, each head's |W| rows are normalised first. */
  normalised: boolean;
}

/** A layer's attention rows: head h's row i starts at offset(h, i) in data and stores stored(i) keys (half-precision bits when values is given). */
interface LayerRows extends TriangleRows {
  stored: (i: number) => number;
}

/** Rows and columns of one family's attention rollout, each in O(L·T²), with its factors cached per layer. */
export class RolloutRows {
  readonly size: number;
  private readonly causal: boolean;
  private readonly factors: Array<Float32Array | undefined>;
  /** A factor built a slice of rows at a time (prepareSlice): its layer, the next row to build, the rows so far. */
  private partial: { layer: number; row: number; f: Float32Array } | undefined;
  /** One head's row decoded from half precision (half-precision triangles only). */
  private rowBuffer: Float32Array | undefined;

  constructor(
    private readonly matrices: LayeredMatrices,
    private readonly options: RolloutRowOptions,
  ) {
    if (options.mask === 'cross') throw new Error('rollout rows: cross-mixing (target × source) has no rollout; expected a causal, windowed or bidirectional family');
    if (matrices.rows !== matrices.cols) throw new Error(`rollout rows: rollout needs square mixing; got ${matrices.rows}×${matrices.cols}`);
    this.size = matrices.rows;
    this.causal = options.mask !== 'bidirectional';
    this.factors = new Array<Float32Array | undefined>(matrices.layers).fill(undefined);
  }

  /** Number of layers whose factor is cached (for tests and progress). */
  get cachedLayers(): number {
    return this.factors.filter((f) => f !== undefined).length;
  }

  /** Row t of R (length T): the share of token t's rollout drawn from each key; sums to 1, zero above t when causal. */
  row(t: number): Float64Array {
    const T = this.checkIndex(t, 'row');
    let v = new Float64Array(T);
    v[t] = 1;
    // v ← v Â_l from the last layer down: v's support never passes t when causal.
    for (let l = this.matrices.layers - 1; l >= 0; l--) {
      const f = this.factor(l);
      const w = new Float64Array(T);
      if (this.causal) addRowsCausal(v, f, t + 1, w);
      else addRowsDense(v, f, T, w);
      v = w;
    }
    return v;
  }

  /** Column k of R (length T): how much of each query's rollout comes from token k; zero for queries before k when causal. */
  column(k: number): Float64Array {
    const T = this.checkIndex(k, 'column');
    let u = new Float64Array(T);
    u[k] = 1;
    // u ← Â_l u from the first layer up: u's support never starts before k when causal.
    for (let l = 0; l < this.matrices.layers; l++) {
      const f = this.factor(l);
      const w = new Float64Array(T);
      if (this.causal) dotRowsCausal(f, u, k, T, w);
      else dotRowsDense(f, u, T, w);
      u = w;
    }
    return u;
  }

  /** The family's mask (causal, windowed or bidirectional). */
  get mask(): MixingMask {
    return this.options.mask;
  }

  /** Builds every layer's factor now (the benchmarks time it apart from the rows; the webview uses prepareSlice). */
  prepare(): void {
    for (let l = 0; l < this.matrices.layers; l++) this.factor(l);
  }

  /**
   * Builds the next factor rows in order, layer after layer, until `more()` says to stop (checked after each
   * row): idle-time work in slices short enough for the main thread (one layer at 2,048 tokens is over
   * 100 ms). True while rows are left to build. A factor a row or column needs before then is finished at once.
   */
  prepareSlice(more: () => boolean): boolean {
    const T = this.size;
    for (;;) {
      let p = this.partial;
      if (!p) {
        const layer = this.factors.findIndex((f) => f === undefined);
        if (layer < 0) return false;
        p = this.partial = { layer, row: 0, f: new Float32Array(this.causal ? (T * (T + 1)) / 2 : T * T) };
      }
      const rows = this.layerRows(p.layer);
      while (p.row < T) {
        this.factorRow(rows, p.f, p.row++);
        if (p.row < T && !more()) return true;
      }
      this.factors[p.layer] = p.f;
      this.partial = undefined;
      if (!more()) return this.factors.some((f) => f === undefined);
    }
  }

  private checkIndex(index: number, what: string): number {
    const T = this.size;
    if (!Number.isInteger(index) || index < 0 || index >= T) throw new Error(`rollout ${what} ${index} is outside 0..${T - 1}`);
    return T;
  }

  /**
   * Layer l's Â = ½(mean over heads + I), packed as its lower triangle (row i at i(i+1)/2) when causal, else
   * [T, T]; the same float32 steps as rolloutFactor (and rowNormalisedAbs before it when not normalised).
   */
  private factor(l: number): Float32Array {
    const cached = this.factors[l];
    if (cached) return cached;
    const T = this.size;
    const rows = this.layerRows(l);
    const p = this.partial?.layer === l ? this.partial : undefined;
    const f = p ? p.f : new Float32Array(this.causal ? (T * (T + 1)) / 2 : T * T);
    for (let i = p ? p.row : 0; i < T; i++) this.factorRow(rows, f, i);
    if (p) this.partial = undefined;
    this.factors[l] = f;
    return f;
  }

  /**
   * Where layer l's rows are: in its lower triangles when the matrices are held so (row i of a head: its i + 1
   * keys, read in place; the keys after it are 0), else in the layer's [H, T, T].
   */
  private layerRows(l: number): LayerRows {
    const T = this.size;
    const triangle = this.matrices.triangle?.(l);
    if (triangle) return { ...triangle, stored: (i) => i + 1 };
    const layer = this.matrices.layer(l);
    return { data: () => layer, offset: (h, i) => (h * T + i) * T, stored: () => T };
  }

  /** Row i of a layer's factor, written into f. */
  private factorRow(rows: LayerRows, f: Float32Array, i: number): void {
    const { heads: H } = this.matrices;
    const T = this.size;
    const normalised = this.options.normalised;
    const base = this.causal ? (i * (i + 1)) / 2 : i * T;
    const width = this.causal ? i + 1 : T;
    const stored = rows.stored(i);
    const { values } = rows;
    const row = values && !normalised ? (this.rowBuffer ??= new Float32Array(T)) : undefined;
    for (let h = 0; h < H; h++) {
      if (values && normalised) {
        foldRow(rows, h, i, width, f, base); // half precision: each weight looked up as it is added
        continue;
      }
      const held = rows.data(i);
      let data = held as Float32Array;
      let src = rows.offset(h, i);
      if (values && row) {
        for (let c = 0; c < stored; c++) row[c] = values[held[src + c]];
        data = row;
        src = 0;
      }
      if (normalised) {
        for (let c = 0; c < width; c++) f[base + c] += data[src + c];
        continue;
      }
      // rowNormalisedAbs: the whole row's |W| sum (keys above the diagonal too: 0 where not stored), each share rounded to float32.
      let sum = 0;
      for (let c = 0; c < stored; c++) sum += Math.abs(data[src + c]);
      if (sum > 0) for (let c = 0; c < width; c++) f[base + c] += Math.fround(Math.abs(data[src + c]) / sum);
      else f[base + i] += 1; // an all-zero row: the token draws only on itself
    }
    for (let c = 0; c < width; c++) f[base + c] = f[base + c] / H;
    for (let c = 0; c < width; c++) f[base + c] *= 0.5;
    f[base + i] += 0.5;
  }
}

// The products, four factor rows at a time: each element of w (or u) is read and written once per four rows
// instead of once per row, which took row(T - 1) at 2,048 tokens from 13.1 to 5.7 ms and column(0) from 15.9
// to 7.2 ms (4 layers × 4 heads of random causal attention, one process, back to back). Sums are grouped by
// four rows, so values differ from row-by-row sums by float64 rounding only.

/** w += Σ_{i < n} v[i] · (row i of the packed lower triangle f); rows whose four weights are all 0 are skipped. */
function addRowsCausal(v: Float64Array, f: Float32Array, n: number, w: Float64Array): void {
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = v[i];
    const b = v[i + 1];
    const c = v[i + 2];
    const d = v[i + 3];
    if (a === 0 && b === 0 && c === 0 && d === 0) continue;
    const ra = (i * (i + 1)) / 2;
    const rb = ra + i + 1;
    const rc = rb + i + 2;
    const rd = rc + i + 3;
    for (let k = 0; k <= i; k++) w[k] += a * f[ra + k] + b * f[rb + k] + c * f[rc + k] + d * f[rd + k];
    w[i + 1] += b * f[rb + i + 1] + c * f[rc + i + 1] + d * f[rd + i + 1];
    w[i + 2] += c * f[rc + i + 2] + d * f[rd + i + 2];
    w[i + 3] += d * f[rd + i + 3];
  }
  for (; i < n; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const base = (i * (i + 1)) / 2;
    for (let k = 0; k <= i; k++) w[k] += vi * f[base + k];
  }
}

/** w[i] = Σ_{k ≤ j ≤ i} (row i of the packed lower triangle f)[j] · u[j] for i in k..T-1 (u is 0 before k). */
function dotRowsCausal(f: Float32Array, u: Float64Array, k: number, T: number, w: Float64Array): void {
  let i = k;
  for (; i + 3 < T; i += 4) {
    const ra = (i * (i + 1)) / 2;
    const rb = ra + i + 1;
    const rc = rb + i + 2;
    const rd = rc + i + 3;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let j = k; j <= i; j++) {
      const uj = u[j];
      a += f[ra + j] * uj;
      b += f[rb + j] * uj;
      c += f[rc + j] * uj;
      d += f[rd + j] * uj;
    }
    const u1 = u[i + 1];
    const u2 = u[i + 2];
    const u3 = u[i + 3];
    w[i] = a;
    w[i + 1] = b + f[rb + i + 1] * u1;
    w[i + 2] = c + f[rc + i + 1] * u1 + f[rc + i + 2] * u2;
    w[i + 3] = d + f[rd + i + 1] * u1 + f[rd + i + 2] * u2 + f[rd + i + 3] * u3;
  }
  for (; i < T; i++) {
    const base = (i * (i + 1)) / 2;
    let sum = 0;
    for (let j = k; j <= i; j++) sum += f[base + j] * u[j];
    w[i] = sum;
  }
}

/** w += Σ_i v[i] · (row i of the [T, T] f); rows whose four weights are all 0 are skipped. */
function addRowsDense(v: Float64Array, f: Float32Array, T: number, w: Float64Array): void {
  let i = 0;
  for (; i + 3 < T; i += 4) {
    const a = v[i];
    const b = v[i + 1];
    const c = v[i + 2];
    const d = v[i + 3];
    if (a === 0 && b === 0 && c === 0 && d === 0) continue;
    const ra = i * T;
    for (let k = 0; k < T; k++) w[k] += a * f[ra + k] + b * f[ra + T + k] + c * f[ra + 2 * T + k] + d * f[ra + 3 * T + k];
  }
  for (; i < T; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const base = i * T;
    for (let k = 0; k < T; k++) w[k] += vi * f[base + k];
  }
}

/** w[i] = Σ_j (row i of the [T, T] f)[j] · u[j]. */
function dotRowsDense(f: Float32Array, u: Float64Array, T: number, w: Float64Array): void {
  let i = 0;
  for (; i + 3 < T; i += 4) {
    const ra = i * T;
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (let j = 0; j < T; j++) {
      const uj = u[j];
      a += f[ra + j] * uj;
      b += f[ra + T + j] * uj;
      c += f[ra + 2 * T + j] * uj;
      d += f[ra + 3 * T + j] * uj;
    }
    w[i] = a;
    w[i + 1] = b;
    w[i + 2] = c;
    w[i + 3] = d;
  }
  for (; i < T; i++) {
    const base = i * T;
    let sum = 0;
    for (let j = 0; j < T; j++) sum += f[base + j] * u[j];
    w[i] = sum;
  }
}
