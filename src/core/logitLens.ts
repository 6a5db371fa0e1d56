// Why: the logit lens (nostalgebraist 2020) asks what a model would predict if it stopped after layer l: the
// final norm and the unembedding, which the manifest's `readout` names, applied to every layer's hidden
// state. Where the model's final prediction first becomes the top one shows in which layer it is formed.
// Pure math on flat Float32Arrays: the webview computes it column by column off the first paint, and Node
// tests check that at the last hidden state (before the final norm) it equals the model's own logits.
//
// For a hidden vector x [F]:
//   layernorm: n = (x − mean(x)) / sqrt(var(x) + ε) · γ + β        rmsnorm: n = x / sqrt(mean(x²) + ε) · γ (+ β)
//   logits z = U n + b (U [V, F]),  p = softmax(z),  rank(v) = 1 + #{u : z_u > z_v}.

import type { Tensor } from './analysis';

/** The readout's weights as float32, read from the model's initialisers (see onnxWeights.ts). */
export interface ReadoutWeights {
  norm?: { kind: 'layernorm' | 'rmsnorm'; weight: Float32Array; bias?: Float32Array; epsilon: number };
  /** [vocab, feature] row-major (a [feature, vocab] initialiser is transposed when read). */
  unembedding: Float32Array;
  bias?: Float32Array;
  vocab: number;
  features: number;
}

export interface LensPrediction {
  id: number;
  probability: number;
}

/** Where one token stands at one layer: rank 1 is the top prediction. */
export interface LensRank {
  rank: number;
  probability: number;
}

/** One token at one layer. */
export interface LensCell {
  /** The most likely tokens, most likely first. */
  top: LensPrediction[];
  /** The model's own final top prediction at this position, at this layer; null when there is none. */
  final: LensRank | null;
  /** The actual next token (or the token itself for a model that predicts the current one); null when there is none. */
  target: LensRank | null;
}

/** The final norm applied to x [F] (a copy; x itself without a norm). */
export function normalised(readout: ReadoutWeights, x: Float32Array): Float32Array {
  const norm = readout.norm;
  const F = x.length;
  if (!norm) return x;
  const out = new Float32Array(F);
  let mean = 0;
  if (norm.kind === 'layernorm') {
    for (let f = 0; f < F; f++) mean += x[f];
    mean /= F;
  }
  let sq = 0;
  for (let f = 0; f < F; f++) sq += (x[f] - mean) ** 2;
  const inv = 1 / Math.sqrt(sq / F + norm.epsilon);
  for (let f = 0; f < F; f++) out[f] = (x[f] - mean) * inv * norm.weight[f] + (norm.bias ? norm.bias[f] : 0);
  return out;
}

function checkFeatures(readout: ReadoutWeights, F: number): void {
  if (F !== readout.features) throw new Error(`logit lens: hidden states: expected ${readout.features} features (the readout's unembedding), found ${F}`);
}

/** The readout's logits [V] of one hidden vector x [F]. */
export function readoutLogits(readout: ReadoutWeights, x: Float32Array): Float32Array {
  checkFeatures(readout, x.length);
  return logitsOf(readout, [normalised(readout, x)])[0];
}

/** Logits of several normalised vectors at once: each row of U is read once for all of them. */
function logitsOf(readout: ReadoutWeights, xs: Float32Array[]): Float32Array[] {
  const { vocab: V, features: F, unembedding: U, bias } = readout;
  const out = xs.map(() => new Float32Array(V));
  for (let v = 0; v < V; v++) {
    const row = v * F;
    const b = bias ? bias[v] : 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      let z = 0;
      for (let f = 0; f < F; f++) z += U[row + f] * x[f];
      out[i][v] = z + b;
    }
  }
  return out;
}

/** Top-k, and the rank and probability of two ids, from one row of logits. */
export function lensCell(z: Float32Array, topK: number, finalId: number | null, targetId: number | null): LensCell {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (const v of z) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const best: number[] = [];
  for (let v = 0; v < z.length; v++) {
    if (best.length === topK && z[v] <= z[best[topK - 1]]) continue;
    let i = best.length < topK ? best.push(v) - 1 : topK - 1;
    while (i > 0 && z[best[i - 1]] < z[v]) {
      best[i] = best[i - 1];
      i--;
    }
    best[i] = v;
  }
  const rankOf = (id: number | null): LensRank | null => {
    if (id === null || id < 0 || id >= z.length) return null;
    const zi = z[id];
    let above = 0;
    for (const v of z) if (v > zi) above++;
    return { rank: above + 1, probability: Math.exp(zi - lse) };
  };
  return { top: best.map((id) => ({ id, probability: Math.exp(z[id] - lse) })), final: rankOf(finalId), target: rankOf(targetId) };
}

/**
 * The lens at position t for every layer of hidden states [L, T, F] (canonical order): one cell per layer.
 * All layers are read together so that the unembedding is traversed once per position.
 */
export function lensColumn(readout: ReadoutWeights, hidden: Tensor, t: number, finalId: number | null, targetId: number | null, topK = 5): LensCell[] {
  const [L, T, F] = hidden.dims;
  if (hidden.dims.length !== 3) throw new Error(`logit lens: hidden states: expected [layer, position, feature], found [${hidden.dims.join(', ')}]`);
  checkFeatures(readout, F);
  if (!(t >= 0 && t < T)) throw new Error(`logit lens: position: expected 0..${T - 1}, found ${t}`);
  const xs = Array.from({ length: L }, (_, l) => normalised(readout, hidden.data.slice((l * T + t) * F, (l * T + t + 1) * F)));
  return logitsOf(readout, xs).map((z) => lensCell(z, topK, finalId, targetId));
}

/** The ids the lens ranks at each position: the model's final top prediction and the token it scores (next or current). */
export function lensTargets(tokens: ReadonlyArray<{ id: number; special: boolean }>, finalTop: ReadonlyArray<number | undefined>, predictsNext: boolean): { finalIds: Array<number | null>; targetIds: Array<number | null> } {
  return {
    finalIds: tokens.map((_, t) => finalTop[t] ?? null),
    targetIds: tokens.map((tok, t) => {
      const scored = predictsNext ? tokens[t + 1] : tok;
      return scored && !scored.special ? scored.id : null;
    }),
  };
}

/** The whole lens [layer][position] at once (tests, short texts); the view computes it column by column. */
export function logitLens(readout: ReadoutWeights, hidden: Tensor, finalIds: ReadonlyArray<number | null>, targetIds: ReadonlyArray<number | null>, topK = 5): LensCell[][] {
  const [L, T] = hidden.dims;
  const out: LensCell[][] = Array.from({ length: L }, () => []);
  for (let t = 0; t < T; t++) lensColumn(readout, hidden, t, finalIds[t] ?? null, targetIds[t] ?? null, topK).forEach((cell, l) => (out[l][t] = cell));
  return out;
}
