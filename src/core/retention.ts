// Retention W(t, k) for recurrent models, from the gates they export: how much of what the cell wrote at
// step k is still in its state at step t. Any cell s_t = keep_t ⊙ s_{t-1} + write_t ⊙ candidate_t over steps
// t = 0..T-1 from an initial state s_init gives, per unit,
//   W(t, k) = (keep_{k+1} ⋯ keep_t) · write_k,  so  s_t = Σ_{k≤t} W(t, k) candidate_k + (keep_0 ⋯ keep_t) s_init.
// LSTM cell state: keep = f, write = i. GRU (PyTorch convention, h_t = (1 - z_t) n_t + z_t h_{t-1}):
// keep = z, write = 1 - z. Gates are found by the meaning the model declares, never by their names.
// Per unit and averaged over units; plus each unit's memory half-life from its keep gate.

import type { Tensor } from './analysis';

/** Which gate keeps the state and how the write weight is formed. */
export interface RetentionGates {
  /** Index of the keep gate along the gate axis. */
  keep: number;
  /** Index of the gate whose value is the write weight, or of the gate g such that the write weight is 1 - g. */
  write: number;
  writeIsComplement: boolean;
}

/** A gate as a model declares it: its name, what it does, and (for a keep gate) whether 1 - it writes. */
export interface DeclaredGate {
  name: string;
  /** "keep", "write", "candidate", "output", "reset", …; only keep and write matter here. */
  meaning: string;
  /** On the keep gate: the write weight is 1 - keep (a GRU's z). */
  complementWrites?: boolean;
}

/** The retention gates of a model, or why it has none. */
export type RetentionGatesResult = { ok: true; gates: RetentionGates } | { ok: false; reason: string };

/**
 * Finds the keep and write gates from the declared meanings: keep is the gate meaning "keep"; write is the
 * gate meaning "write" or, when there is none, the keep gate itself if it declares complementWrites.
 * Meanings are compared without case or surrounding space; each of keep and write must be declared once.
 */
export function retentionGates(gates: ReadonlyArray<DeclaredGate>): RetentionGatesResult {
  const find = (meaning: string): number | string => {
    const found = gates.flatMap((g, i) => (g.meaning.trim().toLowerCase() === meaning ? [i] : []));
    if (found.length > 1) return `gates ${found.map((i) => `"${gates[i].name}"`).join(' and ')} both mean "${meaning}"`;
    return found.length ? found[0] : -1;
  };
  const keep = find('keep');
  if (typeof keep === 'string') return { ok: false, reason: keep };
  if (keep < 0) return { ok: false, reason: 'no gate with meaning "keep"' };
  const write = find('write');
  if (typeof write === 'string') return { ok: false, reason: write };
  if (write >= 0) return { ok: true, gates: { keep, write, writeIsComplement: false } };
  if (gates[keep].complementWrites) return { ok: true, gates: { keep, write: keep, writeIsComplement: true } };
  return { ok: false, reason: `no gate with meaning "write", and the keep gate "${gates[keep].name}" does not declare complementWrites` };
}

/** Gates [L, T, G, H] (or [L, 1, T, G, H]) of one layer as accessors. */
function layerView(gates: Tensor, layer: number) {
  const dims = gates.dims.length === 5 && gates.dims[1] === 1 ? [gates.dims[0], ...gates.dims.slice(2)] : gates.dims;
  if (dims.length !== 4) throw new Error(`expected gates [L, T, G, H], got [${gates.dims.join(', ')}]`);
  const [L, T, G, H] = dims;
  if (!(layer >= 0 && layer < L)) throw new Error(`layer ${layer} is outside 0..${L - 1}`);
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
 * What is left at step t of the initial state, per unit: out[u] = keep_0 ⋯ keep_t, the weight of s_init (an
 * h0/c0 input, e.g. the previous chunk's final state) in s_t = Σ_k W(t, k) candidate_k + out ⊙ s_init.
 */
export function initialStateRetention(gates: Tensor, layer: number, spec: RetentionGates, t: number): Float32Array {
  const { T, H, at } = layerView(gates, layer);
  if (t < 0 || t >= T) throw new Error(`position ${t} is outside 0..${T - 1}`);
  const out = new Float32Array(H).fill(1);
  for (let u = 0; u < H; u++) for (let j = 0; j <= t; j++) out[u] *= at(j, spec.keep, u);
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
