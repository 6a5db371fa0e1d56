// Why: "which heads copy, which look back one token, which park on the first token" is the first question
// about a model's circuits, and it has standard numerical answers (Olsson et al. 2022, "In-context learning
// and induction heads"; Elhage et al. 2021). This module scores every layer and head from its attention
// matrices alone, for any mask (causal, windowed, bidirectional), on the user's text or on the standard
// probe: random blocks of ordinary tokens repeated twice. Pure: Node tests and the webview share it.
//
// The scores of one head W [T, T] (row t the query, column k the key), over the queries R = {t : 1 ≤ t < T}
// that are not skipped (special tokens), reading only keys the declared mask lets t see:
//   previous  = mean_{t∈R} W(t, t − 1)                       attention to the token just before
//   sink      = mean_{t∈R} W(t, 0)                           attention to the first token
//   distance  = mean_{t∈R} Σ_k W(t, k) |t − k|               how far back (or ahead) it looks, in tokens
//   entropy   = mean_{t∈R} −Σ_k W(t, k) log2 W(t, k)         bits; log2(visible keys) when uniform
// With J_t = {j < t − 1 : x_j = x_t} the earlier occurrences of t's token (the one just before excluded),
// M = {t ∈ R : J_t ≠ ∅}, both NaN when M is empty:
//   induction = mean_{t∈M} Σ_{j∈J_t} W(t, j + 1)             the token after an earlier occurrence (prefix matching)
//   duplicate = mean_{t∈M} Σ_{j∈J_t} W(t, j)                 the earlier occurrence itself
// On the probe (a block of n distinct tokens repeated, after the sequence's prefix of p tokens) J_t is
// {t − n} for t in the second copy and empty before it, so induction is the mean of W(t, t − n + 1) over
// p + n ≤ t < p + 2n, and duplicate that of W(t, t − n). Mixing declared `normalised: false` is scored on
// |W| scaled to sum to 1 over each row's visible keys.

import type { LayeredMatrices, MixingMask } from './analysis';
import { seededRandom } from './seededRandom';

export const HEAD_SCORE_KEYS = ['induction', 'duplicate', 'previous', 'sink', 'distance', 'entropy'] as const;
export type HeadScoreKey = (typeof HEAD_SCORE_KEYS)[number];
export type HeadScores = Record<HeadScoreKey, number>;

/** What each score means, for labels ("induction 0.62 — attends to …") and the README. */
export const HEAD_SCORE_INFO: Record<HeadScoreKey, { label: string; meaning: string; unit: 'share' | 'tokens' | 'bits' }> = {
  induction: { label: 'induction', meaning: 'attends to the token after the previous occurrence of the current token', unit: 'share' },
  duplicate: { label: 'duplicate', meaning: 'attends to the previous occurrence of the current token itself', unit: 'share' },
  previous: { label: 'previous-token', meaning: 'attends to the token just before', unit: 'share' },
  sink: { label: 'first-token', meaning: 'attends to the first token (an attention sink)', unit: 'share' },
  distance: { label: 'distance', meaning: 'mean distance, in tokens, between a token and what it attends to', unit: 'tokens' },
  entropy: { label: 'entropy', meaning: 'how spread out the attention is, in bits (0: one key; log2 of the keys: uniform)', unit: 'bits' },
};

/** Which keys a query may see, from the family's declared mask. */
export interface KeyMask {
  mask: MixingMask;
  /** windowed: keys a query sees, itself included (t − window < k ≤ t). */
  window?: number;
  /** windowed: the first keys every query also sees. */
  globalTokens?: number;
  /** Rows sum to 1 (default true); otherwise |W| is row-normalised over the visible keys first. */
  normalised?: boolean;
}

/** Whether query t may see key k under the mask. */
export function keyVisible(m: KeyMask, t: number, k: number): boolean {
  if (m.mask === 'bidirectional' || m.mask === 'cross') return true;
  if (k > t) return false;
  if (m.mask === 'causal') return true;
  return t - k < (m.window ?? Infinity) || k < (m.globalTokens ?? 0);
}

/** The earlier occurrences J_t of each query's token, flattened: queries[i] has earlier[starts[i]..starts[i+1]). */
export interface RepeatedTokens {
  queries: Int32Array;
  starts: Int32Array;
  earlier: Int32Array;
}

/** J_t = {j < t − 1 : ids[j] = ids[t]} for every t that has one; skipped positions are neither t nor j. */
export function repeatedTokens(ids: readonly number[], skip: (i: number) => boolean = () => false): RepeatedTokens {
  const seen = new Map<number, number[]>();
  const queries: number[] = [];
  const starts: number[] = [0];
  const earlier: number[] = [];
  for (let t = 0; t < ids.length; t++) {
    if (skip(t)) continue;
    const before = seen.get(ids[t]);
    const js = before ? before.filter((j) => j < t - 1) : [];
    if (js.length) {
      queries.push(t);
      earlier.push(...js);
      starts.push(earlier.length);
    }
    if (before) before.push(t);
    else seen.set(ids[t], [t]);
  }
  return { queries: Int32Array.from(queries), starts: Int32Array.from(starts), earlier: Int32Array.from(earlier) };
}

/** The keys query t sees, as up to two ranges [from, to) in order (a window's global tokens first). */
export function visibleRanges(m: KeyMask, t: number, T: number): Array<[number, number]> {
  if (m.mask === 'bidirectional' || m.mask === 'cross') return [[0, T]];
  const end = Math.min(t + 1, T);
  if (m.mask === 'causal' || m.window === undefined) return [[0, end]];
  const from = Math.max(0, t - m.window + 1);
  const globals = Math.min(m.globalTokens ?? 0, from);
  return globals > 0 ? [[0, globals], [from, end]] : [[from, end]];
}

/** The scores of one head's matrix w [T, T] (see the header), given its token ids' repeats. */
export function headScores(w: Float32Array, T: number, repeats: RepeatedTokens, mask: KeyMask, skip: (t: number) => boolean = () => false): HeadScores {
  if (!Number.isInteger(T) || T < 1) throw new Error(`headScores: T: expected a positive token count, found ${T}`);
  if (w.length !== T * T) throw new Error(`headScores: w: expected T × T = ${T * T} values, found ${w.length}`);
  const normalised = mask.normalised ?? true;
  // Each row's scale: 1 for probabilities, 1 / Σ_visible |W| otherwise (0 for an all-zero row).
  const scale = new Float64Array(T).fill(1);
  if (!normalised) {
    for (let t = 0; t < T; t++) {
      let sum = 0;
      for (const [from, to] of visibleRanges(mask, t, T)) for (let k = from; k < to; k++) sum += Math.abs(w[t * T + k]);
      scale[t] = sum > 0 ? 1 / sum : 0;
    }
  }
  const at = (t: number, k: number) => (k >= 0 && k < T && keyVisible(mask, t, k) ? (normalised ? w[t * T + k] : Math.abs(w[t * T + k])) * scale[t] : 0);
  let rows = 0;
  let previous = 0;
  let sink = 0;
  let distance = 0;
  let entropy = 0;
  for (let t = 1; t < T; t++) {
    if (skip(t)) continue;
    rows++;
    previous += at(t, t - 1);
    sink += at(t, 0);
    const s = scale[t];
    for (const [from, to] of visibleRanges(mask, t, T)) {
      for (let k = from; k < to; k++) {
        const v = w[t * T + k];
        const p = (normalised ? v : Math.abs(v)) * s;
        if (p <= 0) continue;
        distance += p * Math.abs(t - k);
        entropy -= p * Math.log2(p);
      }
    }
  }
  let matched = 0;
  let induction = 0;
  let duplicate = 0;
  for (let i = 0; i < repeats.queries.length; i++) {
    const t = repeats.queries[i];
    if (t < 1 || t >= T || skip(t)) continue;
    matched++;
    for (let e = repeats.starts[i]; e < repeats.starts[i + 1]; e++) {
      const j = repeats.earlier[e];
      induction += at(t, j + 1);
      duplicate += at(t, j);
    }
  }
  const mean = (sum: number, n: number) => (n > 0 ? sum / n : NaN);
  return {
    induction: mean(induction, matched),
    duplicate: mean(duplicate, matched),
    previous: mean(previous, rows),
    sink: mean(sink, rows),
    distance: mean(distance, rows),
    entropy: mean(entropy, rows),
  };
}

/** Scores of every layer and head [layer][head] of a self-mixing family on one token sequence. */
export function layerHeadScores(m: LayeredMatrices, ids: readonly number[], mask: KeyMask, skip: (t: number) => boolean = () => false): HeadScores[][] {
  if (m.rows !== m.cols) throw new Error(`layerHeadScores: expected square attention (self-mixing), found ${m.rows} × ${m.cols}`);
  if (ids.length !== m.rows) throw new Error(`layerHeadScores: ids: expected ${m.rows} token ids (the attention's rows), found ${ids.length}`);
  const T = m.rows;
  const repeats = repeatedTokens(ids, skip);
  const out: HeadScores[][] = [];
  for (let l = 0; l < m.layers; l++) {
    const data = m.layer(l);
    out.push(Array.from({ length: m.heads }, (_, h) => headScores(data.subarray(h * T * T, (h + 1) * T * T), T, repeats, mask, skip)));
  }
  return out;
}

/** The element-wise mean of several [layer][head] score tables of one shape (NaN entries are left out of a mean). */
export function meanScores(tables: ReadonlyArray<HeadScores[][]>): HeadScores[][] {
  if (!tables.length) throw new Error('meanScores: expected at least one table of scores, found none');
  return tables[0].map((row, l) =>
    row.map((_, h) => {
      const out = {} as HeadScores;
      for (const key of HEAD_SCORE_KEYS) {
        let sum = 0;
        let n = 0;
        for (const table of tables) {
          const v = table[l]?.[h]?.[key];
          if (v === undefined) throw new Error(`meanScores: expected every table to have layer ${l}, head ${h}, like the first`);
          if (Number.isNaN(v)) continue;
          sum += v;
          n++;
        }
        out[key] = n ? sum / n : NaN;
      }
      return out;
    }),
  );
}

/** The standard probe: 8 sequences, each a block of 50 distinct ordinary tokens repeated twice. */
export const HEAD_PROBE = { sequences: 8, length: 50, seed: 20220308 } as const;

/**
 * The probe's token bodies (prefixes are the caller's, per sequence): `sequences` blocks of `length` distinct
 * ids drawn without replacement from `candidates` (the ordinary tokens: special ones left out), each block
 * followed by itself. Seeded, so every run of a model draws the same sequences.
 */
export function probeSequences(candidates: readonly number[], options: { sequences?: number; length?: number; seed?: number } = {}): number[][] {
  const count = options.sequences ?? HEAD_PROBE.sequences;
  const n = options.length ?? HEAD_PROBE.length;
  if (!Number.isInteger(n) || n < 2) throw new Error(`probeSequences: length: expected an integer of at least 2, found ${n}`);
  if (candidates.length < n) throw new Error(`probeSequences: candidates: expected at least ${n} ordinary token ids, found ${candidates.length}`);
  const random = seededRandom(options.seed ?? HEAD_PROBE.seed);
  const pool = [...candidates];
  const bodies: number[][] = [];
  for (let s = 0; s < count; s++) {
    // A partial Fisher–Yates shuffle: the first n of the pool become the block.
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const block = pool.slice(0, n);
    bodies.push([...block, ...block]);
  }
  return bodies;
}

/** Roles a head's probe scores suggest (score ≥ threshold), most pronounced first: e.g. ["induction", "previous-token"]. */
export function headRoleLabels(scores: HeadScores, threshold = 0.4): string[] {
  return (['induction', 'duplicate', 'previous', 'sink'] as const)
    .filter((key) => scores[key] >= threshold)
    .sort((a, b) => scores[b] - scores[a])
    .map((key) => HEAD_SCORE_INFO[key].label);
}
