// Figures for comparing architectures on the same text (the Compare view): what one model's analysis
// contributes (CompareRun, small enough to cross from the panel to the sidebar as structured-clone data,
// with every sequence's ids and the special-token flags so occlusion can rerun any model on it), how its
// W(t, k) falls off with the distance d = t - k (on both sides for a bidirectional W) and the half-life
// that implies, bits per byte, the strongest long-range attention link, and the memory a model's
// internals take for T tokens, from its manifest's shapes.

import type { LayeredMatrices } from './analysis';
import type { Analysis } from './analyze';
import { type InfluenceMatrix, influenceMatrix } from './influenceMatrix';
import { mainMixing, mixingMatrices, retentionData } from './roleData';
import { utf8Length } from './tokenizer';

/** A single attention weight A[layer, head, t, k]. */
export interface AttentionLink {
  layer: number;
  head: number;
  t: number;
  k: number;
  weight: number;
  /** The family's label ("attention", "hidden attention"), when known: what the sentence names. */
  label?: string;
  /** Whether the family's rows sum to 1 (a weight is then a share); absent means they do. */
  normalised?: boolean;
}

/** What the Compare view needs of one model's analysis of a text. */
export interface CompareRun {
  modelId: string;
  backend: 'webgpu' | 'wasm';
  /** Milliseconds to load the model (0 when it was loaded) and to run it. */
  loadMs: number;
  runMs: number;
  /** Token ids of the primary sequence (the one W and surprisal describe): runs are comparable token by token only when these agree. */
  tokenIds: number[];
  /** Token ids of every sequence the model read, by sequence id (the source and the target of an encoder–decoder). */
  sequenceIds: Record<string, number[]>;
  /** Per primary token: a special token ([CLS], </s>) that stands for no text and is never occluded. */
  special: boolean[];
  /** The tokens' visible text and document offsets (UTF-16). */
  tokens: Array<{ text: string; start: number; end: number }>;
  /** Set when the text had more tokens than were run. */
  truncated: { totalTokens: number; keptTokens: number } | null;
  /** Bits per token; NaN for the first. */
  surprisal: Float32Array;
  /** The model's own W(t, k): attention rollout, or the last layer's state retention. */
  influence: InfluenceMatrix | null;
  /** The last layer's retention when the model has gates or a decay (also beside a mixing family), for its half-life. */
  retention: InfluenceMatrix | null;
  /** The strongest long-range attention link, for models with attention. */
  link: AttentionLink | null;
  /** Whether the run was the analysis panel's, reused. */
  reused: boolean;
}

/** Tokens back a link must reach to count as long-range. */
export const LONG_RANGE = 8;

/** The comparison figures of an analysis. */
export function compareRunOf(analysis: Analysis, backend: 'webgpu' | 'wasm', loadMs: number, reused = false): CompareRun {
  const family = mainMixing(analysis);
  const self = family?.role === 'mixing' && family.query === analysis.structure.primary;
  const special = analysis.tokens.map((t) => t.special);
  const influence = influenceMatrix(analysis, 'rollout');
  return {
    modelId: analysis.model.id,
    backend,
    loadMs,
    runMs: analysis.timings.runMs,
    tokenIds: analysis.tokens.map((t) => t.id),
    sequenceIds: Object.fromEntries(analysis.sequences.map((s) => [s.id, s.tokens.map((t) => t.id)])),
    special,
    tokens: analysis.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end })),
    truncated: analysis.truncated,
    surprisal: analysis.surprisal,
    influence,
    // A gated model's W already is its retention; a model with a decay beside its mixing computes it once more.
    retention: influence?.metric === 'retention' ? influence : retentionData(analysis) ? influenceMatrix(analysis, 'retention') : null,
    link: self ? withFamily(strongestAttentionLink(mixingMatrices(analysis, family), LONG_RANGE, 1, { bidirectional: family.mask === 'bidirectional', skip: (i) => special[i] }), family) : null,
    reused,
  };
}

/** A link with what its family is: its label, and whether its weight is a share (normalised rows). */
function withFamily(link: AttentionLink | null, family: { label: string; normalised: boolean }): AttentionLink | null {
  return link && { ...link, label: family.label, normalised: family.normalised };
}

/** Whether a run's W(t, k) lets a token draw on later tokens too (an encoder's): drawn and described on both sides. */
export function isBidirectional(run: Pick<CompareRun, 'influence'>): boolean {
  return run.influence?.mask === 'bidirectional';
}

/**
 * Whether an analysis covers exactly the first maxTokens tokens (or all, if fewer) of a text starting at
 * startOffset: only then can its figures stand in for a run of the Compare view.
 */
export function analysisCovers(analysis: Pick<Analysis, 'startOffset' | 'text' | 'tokens' | 'truncated'>, startOffset: number, text: string, maxTokens: number): boolean {
  if (analysis.startOffset !== startOffset) return false;
  const n = analysis.tokens.length;
  return analysis.truncated === null ? analysis.text === text && n <= maxTokens : n === maxTokens && text.startsWith(analysis.text);
}

/**
 * The largest attention weight A[l, h, t, k] (attention [L, H, T, T]) with t - k ≥ minDistance (|t - k| for
 * a bidirectional W, so the key may lie ahead) and k ≥ fromKey; the first token is skipped by default
 * because heads park unused attention there, and tokens for which skip is true (special tokens, where
 * encoders park it too) are neither query nor key.
 */
export function strongestAttentionLink(
  attention: LayeredMatrices,
  minDistance: number,
  fromKey = 1,
  options: { bidirectional?: boolean; skip?: (index: number) => boolean } = {},
): AttentionLink | null {
  const { layers: L, heads: H, rows: T } = attention;
  const skip = options.skip ?? (() => false);
  let best: AttentionLink | null = null;
  for (let l = 0; l < L; l++) {
    const data = attention.layer(l);
    for (let h = 0; h < H; h++) {
      const base = h * T * T;
      for (let t = 0; t < T; t++) {
        if (skip(t)) continue;
        const last = options.bidirectional ? T - 1 : t - minDistance;
        for (let k = fromKey; k <= last; k++) {
          if (Math.abs(t - k) < minDistance || skip(k)) continue;
          const w = data[base + t * T + k];
          if (w > (best?.weight ?? 0)) best = { layer: l, head: h, t, k, weight: w };
        }
      }
    }
  }
  return best;
}

/**
 * W [rows, cols] (cols defaults to rows) with each row scaled to sum to 1 (rows of zeros stay zero): the
 * share of what reaches token t that comes from k. Rectangular for cross-attention (target × source).
 */
export function rowShares(w: Float32Array, T: number, cols = T): Float32Array {
  if (w.length !== T * cols) throw new Error(`W has ${w.length} values; expected ${T}×${cols}`);
  const out = new Float32Array(T * cols);
  for (let t = 0; t < T; t++) {
    let sum = 0;
    for (let k = 0; k < cols; k++) sum += w[t * cols + k];
    if (sum > 0) for (let k = 0; k < cols; k++) out[t * cols + k] = w[t * cols + k] / sum;
  }
  return out;
}

/**
 * Bits per byte of the predicted part of a text: the surprisal of tokens 1..T-1 summed (special tokens,
 * whose surprisal is NaN, skipped), over the UTF-8 bytes of the text after the first token (predictedFrom:
 * its UTF-16 offset in text). NaN if nothing is predicted.
 */
export function bitsPerByte(surprisal: ArrayLike<number>, text: string, predictedFrom: number): number {
  let bits = 0;
  let scored = 0;
  for (let t = 1; t < surprisal.length; t++) {
    if (Number.isNaN(surprisal[t])) continue;
    bits += surprisal[t];
    scored++;
  }
  if (scored === 0) return NaN;
  const bytes = utf8Length(text.slice(predictedFrom));
  return surprisal.length > 1 && bytes > 0 ? bits / bytes : NaN;
}

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
 * How much of the weight the previous token gets a token d back still gets, over the same rows (t ≥ d):
 * Σ_t W(t, t - d) / Σ_t W(t, t - 1). 1 for attention spread evenly, a^(d-1) for a geometric decay a^(t-k).
 * A negative d looks ahead (bidirectional W): Σ_t W(t, t + |d|) / Σ_t W(t, t + 1) over the rows t < T - |d|.
 */
export function distanceRatio(w: Float32Array, T: number, d: number): number {
  if (w.length !== T * T) throw new Error(`W has ${w.length} values; expected ${T}×${T}`);
  const step = d < 0 ? -1 : 1;
  let far = 0;
  let near = 0;
  for (let t = d >= 0 ? Math.max(1, d) : 0; t < Math.min(T, T + d); t++) {
    far += w[t * T + t - d];
    near += w[t * T + t - step];
  }
  return near > 0 ? far / near : NaN;
}

/**
 * Half-life in tokens of a decaying one-sided distance profile p(d), d = 0, 1, 2, …: fits log p(d) = a + b·d
 * over d = 1..maxDistance (positive values only, least squares) and returns ln ½ / b; Infinity when it does
 * not decay, NaN when fewer than two points are usable. For a bidirectional W take each side of its signed
 * profile with profileSide(signed, 'earlier') (what distanceProfile gives) and profileSide(signed, 'later').
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

/**
 * Mean of W(t, k) over every t with k = t - d in range, for each signed distance d = t - k from -(T-1) to
 * T-1, at index d + T - 1 (length 2T - 1): d > 0 looks back to earlier tokens, d < 0 ahead to later ones
 * (zero for a causal W). Index T - 1 onward equals distanceProfile.
 */
export function signedDistanceProfile(w: Float32Array, T: number): Float64Array {
  if (w.length !== T * T) throw new Error(`W has ${w.length} values; expected ${T}×${T}`);
  const out = new Float64Array(Math.max(0, 2 * T - 1));
  for (let d = 1 - T; d < T; d++) {
    let sum = 0;
    for (let t = Math.max(0, d); t < Math.min(T, T + d); t++) sum += w[t * T + t - d];
    out[d + T - 1] = sum / (T - Math.abs(d));
  }
  return out;
}

/**
 * One side of a signed distance profile as a one-sided profile p(e), e = |d| = 0..T-1 (for profileHalfLife
 * and plotting): 'earlier' is d = e (k = t - e, the same as distanceProfile), 'later' is d = -e (k = t + e).
 */
export function profileSide(signed: Float64Array, side: 'earlier' | 'later'): Float64Array {
  if (!signed.length) return new Float64Array(0);
  const T = (signed.length + 1) / 2;
  if (!Number.isInteger(T)) throw new Error(`a signed profile has an odd length 2T - 1; got ${signed.length}`);
  return side === 'earlier' ? signed.slice(T - 1) : signed.slice(0, T).reverse();
}
