// Retention W(t, k) for recurrent models, from the gates they export: how much of what the cell wrote at
// step k is still in its state at step t. LSTM cell state (c_t = f_t c_{t-1} + i_t g_t):
//   W(t, k) = (f_{k+1} ⋯ f_t) · i_k,  so  c_t = Σ_k W(t, k) g_k + (f_1 ⋯ f_t) c_0.
// GRU in PyTorch's convention (h_t = (1 - z_t) n_t + z_t h_{t-1}):
//   W(t, k) = (z_{k+1} ⋯ z_t) · (1 - z_k),  so  h_t = Σ_k W(t, k) n_k + (z_1 ⋯ z_t) h_0.
// Per unit and averaged over units; plus each unit's memory half-life from its keep gate.

import type { Tensor } from './analysis';

/** Which gate keeps the state and how the write weight is formed, by architecture. */
export interface RetentionGates {
  /** Index of the keep gate (LSTM f, GRU z) along the gate axis. */
  keep: number;
  /** Index of the gate whose value is the write weight (LSTM i), or of the gate g such that the write weight is 1 - g (GRU z). */
  write: number;
  writeIsComplement: boolean;
}

/** The convention for gate orders the manifest names. */
export function retentionGates(gateOrder: readonly string[]): RetentionGates {
  const at = (name: string) => {
    const i = gateOrder.indexOf(name);
    if (i < 0) throw new Error(`retention needs gate "${name}" (gates are ${gateOrder.join(', ')})`);
    return i;
  };
  if (gateOrder.includes('f')) return { keep: at('f'), write: at('i'), writeIsComplement: false };
  if (gateOrder.includes('z')) return { keep: at('z'), write: at('z'), writeIsComplement: true };
  throw new Error(`no retention convention for gates ${gateOrder.join(', ')}`);
}

/** Gates [L, T, G, H] of one layer as accessors. */
function layerView(gates: Tensor, layer: number) {
  const [, T, G, H] = gates.dims;
  const base = layer * T * G * H;
  return { T, H, at: (t: number, g: number, u: number) => gates.data[base + (t * G + g) * H + u] };
}

/**
 * Retention row for query position t in one layer: out[k * H + u] = W(t, k) for unit u, k ≤ t.
 * O(t · H): cheap enough to compute on hover for any length.
 */
export function retentionRow(gates: Tensor, layer: number, spec: RetentionGates, t: number): Float32Array {
  const { T, H, at } = layerView(gates, layer);
  if (t < 0 || t >= T) throw new Error(`position ${t} is outside 0..${T - 1}`);
  const out = new Float32Array(T * H);
  for (let u = 0; u < H; u++) {
    let keep = 1; // product of keep gates after k, up to t
    for (let k = t; k >= 0; k--) {
      const w = spec.writeIsComplement ? 1 - at(k, spec.write, u) : at(k, spec.write, u);
      out[k * H + u] = keep * w;
      keep *= at(k, spec.keep, u);
    }
  }
  return out;
}

/**
 * Retention [T, T] for one layer averaged over units: W̄(t, k) = mean_u W_u(t, k) (zero above the diagonal).
 * O(T² · H); computed row by row from a running product, so no logs or divisions are needed.
 */
export function meanRetention(gates: Tensor, layer: number, spec: RetentionGates): Float32Array {
  const steps = meanRetentionSteps(gates, layer, spec);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * meanRetention one query row at a time: yields the number of rows done after each row and returns the
 * matrix, so a UI can spread the O(T² · H) work over many short slices.
 */
export function* meanRetentionSteps(gates: Tensor, layer: number, spec: RetentionGates): Generator<number, Float32Array, void> {
  const { T, H, at } = layerView(gates, layer);
  const out = new Float32Array(T * T);
  const write = new Float32Array(T * H);
  for (let k = 0; k < T; k++) for (let u = 0; u < H; u++) write[k * H + u] = spec.writeIsComplement ? 1 - at(k, spec.write, u) : at(k, spec.write, u);
  // kept[k*H+u] = product of keep gates from k+1 to the current t; updated as t advances.
  const kept = new Float32Array(T * H);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < t; k++) for (let u = 0; u < H; u++) kept[k * H + u] *= at(t, spec.keep, u);
    for (let u = 0; u < H; u++) kept[t * H + u] = 1;
    for (let k = 0; k <= t; k++) {
      let sum = 0;
      for (let u = 0; u < H; u++) sum += kept[k * H + u] * write[k * H + u];
      out[t * T + k] = sum / H;
    }
    yield t + 1;
  }
  return out;
}

/**
 * Memory half-life per unit in tokens: the distance over which the keep gate's geometric mean halves
 * what was written, ln ½ / mean_t ln keep_t. Infinity for a unit that never forgets.
 */
export function halfLives(gates: Tensor, layer: number, spec: RetentionGates): Float32Array {
  const { T, H, at } = layerView(gates, layer);
  const out = new Float32Array(H);
  for (let u = 0; u < H; u++) {
    let logSum = 0;
    for (let t = 0; t < T; t++) logSum += Math.log(Math.max(at(t, spec.keep, u), 1e-12));
    const meanLog = logSum / T;
    out[u] = meanLog < 0 ? Math.log(0.5) / meanLog : Infinity;
  }
  return out;
}
