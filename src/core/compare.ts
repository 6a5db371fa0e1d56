// Figures for comparing architectures on the same text (the Compare view): how W(t, k) falls off with the
// distance d = t - k, the half-life that fall-off implies, and the memory a model's internals take for an
// input of T tokens, computed from the output shapes its manifest declares.

import type { ModelManifest } from './manifest';

/** Mean of W(t, t - d) over every t ≥ d, for each distance d (index d of the result); NaN where undefined. */
export function distanceProfile(w: Float32Array, T: number): Float64Array {
  if (w.length !== T * T) throw new Error(`W has ${w.length} values; expected ${T}×${T}`);
  const out = new Float64Array(T);
  for (let d = 0; d < T; d++) {
    let sum = 0;
    for (let t = d; t < T; t++) sum += w[t * T + t - d];
    out[d] = sum / (T - d);
  }
  return out;
}

/**
 * Half-life in tokens of a decaying distance profile: fits log p(d) = a + b·d over d = 1..maxDistance
 * (positive values only, least squares) and returns ln ½ / b; Infinity when it does not decay, NaN when
 * fewer than two points are usable.
 */
export function profileHalfLife(profile: ArrayLike<number>, maxDistance = profile.length - 1): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let d = 1; d <= Math.min(maxDistance, profile.length - 1); d++) {
    const p = profile[d];
    if (!(p > 0)) continue;
    const y = Math.log(p);
    n++;
    sx += d;
    sy += y;
    sxx += d * d;
    sxy += d * y;
  }
  if (n < 2) return NaN;
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return slope < 0 ? Math.log(0.5) / slope : Infinity;
}

export interface MemoryFigure {
  output: string;
  role: string;
  bytes: number;
}

/** Bytes (float32) each output of a model takes for one sequence of T tokens, from the manifest's shapes. */
export function outputMemory(manifest: ModelManifest, T: number): MemoryFigure[] {
  return manifest.outputs.map((o) => ({
    output: o.name,
    role: o.role,
    bytes: 4 * o.shape.reduce<number>((n, d) => n * (d === 'B' ? 1 : d === 'T' ? T : typeof d === 'number' ? d : 1), 1),
  }));
}

/**
 * The memory that carries context from one token to the next: the recurrent state (final_state outputs,
 * constant in T) for an RNN, or the attention weights (growing as T²) for a Transformer.
 */
export function contextMemory(manifest: ModelManifest, T: number): { kind: 'state' | 'attention' | 'none'; bytes: number } {
  const figures = outputMemory(manifest, T);
  const state = figures.filter((f) => f.role === 'final_state');
  if (state.length) return { kind: 'state', bytes: state.reduce((n, f) => n + f.bytes, 0) };
  const attention = figures.filter((f) => f.role === 'attention');
  if (attention.length) return { kind: 'attention', bytes: attention.reduce((n, f) => n + f.bytes, 0) };
  return { kind: 'none', bytes: 0 };
}
