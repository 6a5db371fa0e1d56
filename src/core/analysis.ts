// The analysis math shared by every architecture: next-token surprisal and top-k predictions from
// logits, and attention rollout (Abnar & Zuidema 2020) from per-layer, per-head attention. Pure code on
// flat Float32Arrays in row-major order, so it runs in Node tests, the host and the webview alike.

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

/** log-sum-exp of a slice, computed stably. */
function logSumExp(values: Float32Array, offset: number, length: number): number {
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
  const data = logits.data;
  const result: Prediction[][] = [];
  const bestIds = new Int32Array(k);
  const bestLogits = new Float64Array(k);
  for (let t = 0; t < T; t++) {
    const row = t * V;
    let n = 0;
    let threshold = -Infinity; // smallest logit kept once k are held
    for (let v = 0; v < V; v++) {
      const logit = data[row + v];
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
    for (let i = 0; i < n; i++) best.push({ id: bestIds[i], probability: Math.exp(bestLogits[i] - lse[t]) });
    result.push(best);
  }
  return result;
}

/** Accepts [T, V] or [1, T, V]. */
function seqDims(t: Tensor): [number, number] {
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2) throw new Error(`expected logits [T, V] or [1, T, V], got [${t.dims.join(', ')}]`);
  return [dims[0], dims[1]];
}

/** Mean over heads of attention [L, H, T, T] for one layer: [T, T]. */
export function meanOverHeads(attention: Tensor, layer: number): Float32Array {
  const [, H, T] = attention.dims;
  const out = new Float32Array(T * T);
  const size = T * T;
  for (let h = 0; h < H; h++) {
    const base = (layer * H + h) * size;
    for (let i = 0; i < size; i++) out[i] += attention.data[base + i];
  }
  for (let i = 0; i < size; i++) out[i] /= H;
  return out;
}

/** Max over heads of attention [L, H, T, T] for one layer: [T, T] (rows no longer sum to 1). */
export function maxOverHeads(attention: Tensor, layer: number): Float32Array {
  const [, H, T] = attention.dims;
  const size = T * T;
  const out = new Float32Array(size);
  for (let h = 0; h < H; h++) {
    const base = (layer * H + h) * size;
    for (let i = 0; i < size; i++) out[i] = Math.max(out[i], attention.data[base + i]);
  }
  return out;
}

/** One layer's rollout factor Â = ½(mean-over-heads A + I) [T, T]: rows still sum to 1 (residual stream). */
export function rolloutFactor(attention: Tensor, layer: number): Float32Array {
  const T = attention.dims[2];
  const a = meanOverHeads(attention, layer);
  for (let i = 0; i < T * T; i++) a[i] *= 0.5;
  for (let i = 0; i < T; i++) a[i * T + i] += 0.5;
  return a;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): R = Â_L · … · Â_1 with Â from rolloutFactor. Returns R [T, T].
 * For causal attention every Â is lower-triangular, so the products skip the zero upper triangle.
 */
export function rollout(attention: Tensor): Float32Array {
  if (attention.dims.length !== 4 || attention.dims[2] !== attention.dims[3]) {
    throw new Error(`rollout expects attention [L, H, T, T], got [${attention.dims.join(', ')}]`);
  }
  const [L, , T] = attention.dims;
  let result: Float32Array | undefined;
  for (let l = 0; l < L; l++) {
    const a = rolloutFactor(attention, l);
    result = result ? lowerTriangularProduct(a, result, T) : a;
  }
  return result ?? new Float32Array(0);
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

/** C = A · B for lower-triangular T×T matrices (entries above the diagonal are taken as zero). */
export function lowerTriangularProduct(a: Float32Array, b: Float32Array, T: number): Float32Array {
  const c = new Float32Array(T * T);
  lowerTriangularProductRows(a, b, T, c, 0, T);
  return c;
}
