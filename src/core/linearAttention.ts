// Why: a causal linear attention (feature map φ, e.g. elu(x) + 1 > 0) has two exact forms, and showing both
// is the point of the model: the parallel form, a T × T W like softmax attention's,
//   W(t, k) = φq_t · φk_k / Σ_{m≤t} φq_t · φk_m  (k ≤ t, else 0),  out_t = Σ_k W(t, k) v_k,
// and the recurrent form, an RNN whose state does not grow with the context,
//   S_t = S_{t-1} + φk_t v_tᵀ,  z_t = z_{t-1} + φk_t,  out_t = S_tᵀ φq_t / (z_t · φq_t).
// These compute both from one layer's exported factors (role mixing_parts: φ(q), φ(k), v), so the views and
// the tests can check one against the other and against the model's own W and states. A row whose
// normaliser is 0 (impossible for φ > 0) is left 0. Pure, typed arrays, row-major, float64 sums.

import type { Tensor } from './analysis';

/** One layer [H, T, F] of a [L, H, T, F] tensor (mixingPartsData gives them so): a view, no copy. */
export function layerOf(t: Tensor, layer: number): Tensor {
  if (t.dims.length !== 4) throw new Error(`expected a tensor [layer, head, position, feature], got [${t.dims.join(', ')}]`);
  const [L, H, T, F] = t.dims;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < L)) throw new Error(`layer ${layer} is outside 0..${L - 1}`);
  const size = H * T * F;
  return { dims: [H, T, F], data: t.data.subarray(layer * size, (layer + 1) * size) };
}

/** H, T, the key feature size F and the value feature size V, after checking the factors agree. */
function sizes(query: Tensor, key: Tensor, value?: Tensor): { H: number; T: number; F: number; V: number } {
  const check = (name: string, t: Tensor) => {
    if (t.dims.length !== 3 || t.data.length !== t.dims[0] * t.dims[1] * t.dims[2]) throw new Error(`linear attention ${name} is [${t.dims.join(', ')}] with ${t.data.length} values; expected [head, position, feature]`);
  };
  check('key', key);
  check('query', query);
  const [H, T, F] = query.dims;
  if (key.dims.some((n, i) => n !== query.dims[i])) throw new Error(`linear attention key is [${key.dims.join(', ')}]; expected [${query.dims.join(', ')}] like the query`);
  if (!value) return { H, T, F, V: 0 };
  check('value', value);
  if (value.dims[0] !== H || value.dims[1] !== T) throw new Error(`linear attention value is [${value.dims.join(', ')}]; expected [${H}, ${T}, feature] (heads and positions of the query)`);
  return { H, T, F, V: value.dims[2] };
}

/** The causal W [H, T, T] of one layer from φ(q) and φ(k) [H, T, F]: rows sum to 1, 0 above the diagonal. */
export function linearAttentionWeights(query: Tensor, key: Tensor): Tensor {
  const { H, T, F } = sizes(query, key);
  const q = query.data;
  const k = key.data;
  const w = new Float32Array(H * T * T);
  const scores = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    const base = h * T * F;
    for (let t = 0; t < T; t++) {
      const qt = base + t * F;
      let total = 0;
      for (let m = 0; m <= t; m++) {
        const km = base + m * F;
        let dot = 0;
        for (let f = 0; f < F; f++) dot += q[qt + f] * k[km + f];
        scores[m] = dot;
        total += dot;
      }
      if (total === 0) continue;
      const row = (h * T + t) * T;
      for (let m = 0; m <= t; m++) w[row + m] = scores[m] / total;
    }
  }
  return { dims: [H, T, T], data: w };
}

/** The parallel form: W [H, T, T] and its output W · v [H, T, V] from φ(q), φ(k) [H, T, F] and v [H, T, V]. */
export function linearAttentionParallel(query: Tensor, key: Tensor, value: Tensor): { weights: Tensor; output: Tensor } {
  const { H, T, V } = sizes(query, key, value);
  const weights = linearAttentionWeights(query, key);
  const w = weights.data;
  const v = value.data;
  const out = new Float32Array(H * T * V);
  const acc = new Float64Array(V);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      acc.fill(0);
      const row = (h * T + t) * T;
      for (let k = 0; k <= t; k++) {
        const wk = w[row + k];
        if (wk === 0) continue;
        const vk = (h * T + k) * V;
        for (let j = 0; j < V; j++) acc[j] += wk * v[vk + j];
      }
      out.set(acc, (h * T + t) * V);
    }
  }
  return { weights, output: { dims: [H, T, V], data: out } };
}

export interface RecurrentResult {
  /** out_t = S_tᵀ φq_t / (z_t · φq_t) [H, T, V]. */
  output: Tensor;
  /** The state after the last token, S = Σ_k φk_k v_kᵀ [H, F, V]: its size does not depend on T. */
  S: Tensor;
  /** The normaliser after the last token, z = Σ_k φk_k [H, F]. */
  z: Tensor;
}

/** The recurrent form, one token at a time with a state of fixed size: the same output as the parallel form. */
export function linearAttentionRecurrent(query: Tensor, key: Tensor, value: Tensor): RecurrentResult {
  const { H, T, F, V } = sizes(query, key, value);
  const q = query.data;
  const k = key.data;
  const v = value.data;
  const out = new Float32Array(H * T * V);
  const S = new Float64Array(H * F * V);
  const z = new Float64Array(H * F);
  const numerator = new Float64Array(V);
  for (let h = 0; h < H; h++) {
    const sh = h * F * V;
    const zh = h * F;
    for (let t = 0; t < T; t++) {
      const kt = (h * T + t) * F;
      const qt = kt;
      const vt = (h * T + t) * V;
      for (let f = 0; f < F; f++) {
        const kf = k[kt + f];
        z[zh + f] += kf;
        const row = sh + f * V;
        for (let j = 0; j < V; j++) S[row + j] += kf * v[vt + j];
      }
      numerator.fill(0);
      let denominator = 0;
      for (let f = 0; f < F; f++) {
        const qf = q[qt + f];
        denominator += z[zh + f] * qf;
        const row = sh + f * V;
        for (let j = 0; j < V; j++) numerator[j] += S[row + j] * qf;
      }
      if (denominator === 0) continue;
      for (let j = 0; j < V; j++) out[vt + j] = numerator[j] / denominator;
    }
  }
  return { output: { dims: [H, T, V], data: out }, S: { dims: [H, F, V], data: Float32Array.from(S) }, z: { dims: [H, F], data: Float32Array.from(z) } };
}

/**
 * The states after every token in the layout the model exports them (state outputs "S" [position, head,
 * state, feature] and "z" [position, head, state], layer and batch aside): S [T, H, F, V], z [T, H, F].
 */
export function linearAttentionStates(key: Tensor, value: Tensor): { S: Tensor; z: Tensor } {
  const { H, T, F, V } = sizes(key, key, value);
  const k = key.data;
  const v = value.data;
  const S = new Float32Array(T * H * F * V);
  const z = new Float32Array(T * H * F);
  const runS = new Float64Array(H * F * V);
  const runZ = new Float64Array(H * F);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const kt = (h * T + t) * F;
      const vt = (h * T + t) * V;
      for (let f = 0; f < F; f++) {
        const kf = k[kt + f];
        runZ[h * F + f] += kf;
        const row = (h * F + f) * V;
        for (let j = 0; j < V; j++) runS[row + j] += kf * v[vt + j];
      }
    }
    S.set(runS, t * H * F * V);
    z.set(runZ, t * H * F);
  }
  return { S: { dims: [T, H, F, V], data: S }, z: { dims: [T, H, F], data: z } };
}
