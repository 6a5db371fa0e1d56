// The Compare view's per-model figures and the plain sentences it writes from them, for any number of
// models: which model reads the selection best (next-token models only: a masked language model sees the
// token it scores, so its bits per byte are not comparable), how each model's W(t, k) is made when they
// differ, how fast retention halves, how much weight survives far back (and, for a bidirectional W, far
// ahead), the strongest long-range links, and what each model's context memory costs, grouped by how it
// grows. Pure, so the sentences are unit-tested against known figures.

import { type CompareRun, bitsPerByte, distanceRatio, isBidirectional, profileHalfLife, profileSide, rowShares, signedDistanceProfile } from './compare';
import { type ContextMemory, contextMemory } from './contextMemory';
import type { ModelManifest } from './manifest';
import { modelStructure, predictsUnseenText } from './modelStructure';

/** Distances over which a half-life is fitted (the far tail is noisy: few positions per distance). */
export const HALF_LIFE_FIT = 32;

export interface ModelFigures {
  manifest: ModelManifest;
  run: CompareRun;
  T: number;
  bitsPerByte: number;
  /**
   * Whether the logits score the next token of text the model has not seen yet (false: a masked language model
   * scores the token it sees, an encoder–decoder has read the text as its source; their bits per byte are not
   * comparable).
   */
  predictsNext: boolean;
  /** Whether the model's W lets a token draw on later tokens too (its mask is bidirectional). */
  bidirectional: boolean;
  /** Row shares of the model's W(t, k) (each row sums to 1), or null. */
  shares: Float32Array | null;
  /** Mean share at each distance e back (k = t - e), or null. */
  profile: Float64Array | null;
  /** Mean share at each distance e ahead (k = t + e) for a bidirectional W, else null. */
  later: Float64Array | null;
  /** Mean share of a token's W that comes from earlier tokens, itself and later tokens (non-special rows), or null. */
  sides: { earlier: number; self: number; later: number } | null;
  /** Tokens over which retention halves: fitted to the raw W's distance profile (d = 1..HALF_LIFE_FIT); NaN when not fitted. */
  halfLife: number;
  memory: ContextMemory;
}

/** The figures of one run on a text (predictedFrom: UTF-16 offset in text where the second token starts). */
export function modelFigures(manifest: ModelManifest, run: CompareRun, text: string, predictedFrom: number): ModelFigures {
  const T = run.tokenIds.length;
  const bidirectional = isBidirectional(run);
  // A signed W (mean attention of a family declared signed) is compared by the shares of its |W|.
  const w = run.influence?.signed ? run.influence.w.map(Math.abs) : run.influence?.w;
  const shares = w ? rowShares(w, T) : null;
  const signed = shares ? signedDistanceProfile(shares, T) : null;
  return {
    manifest,
    run,
    T,
    bitsPerByte: bitsPerByte(run.surprisal, text, predictedFrom),
    predictsNext: predictsUnseenText(modelStructure(manifest)),
    bidirectional,
    shares,
    profile: signed ? profileSide(signed, 'earlier') : null,
    later: signed && bidirectional ? profileSide(signed, 'later') : null,
    sides: shares ? sideShares(shares, T, run.special) : null,
    // From the raw retention, not the shares: normalising short early rows would steepen the fall.
    halfLife: run.retention ? profileHalfLife(profileSide(signedDistanceProfile(run.retention.w, T), 'earlier'), HALF_LIFE_FIT) : NaN,
    memory: contextMemory(manifest, T),
  };
}

/** Mean over the rows that carry weight (special tokens' rows left out) of the shares before, at and after t. */
function sideShares(shares: Float32Array, T: number, special: readonly boolean[] = []): { earlier: number; self: number; later: number } | null {
  let rows = 0;
  let earlier = 0;
  let self = 0;
  let later = 0;
  for (let t = 0; t < T; t++) {
    if (special[t]) continue;
    let e = 0;
    let l = 0;
    for (let k = 0; k < t; k++) e += shares[t * T + k];
    for (let k = t + 1; k < T; k++) l += shares[t * T + k];
    const s = shares[t * T + t];
    if (e + s + l <= 0) continue;
    rows++;
    earlier += e;
    self += s;
    later += l;
  }
  return rows ? { earlier: earlier / rows, self: self / rows, later: later / rows } : null;
}

/** Text of the bits-per-byte figure on a model's card ("" when there is none). */
export function bitsPerByteLabel(f: Pick<ModelFigures, 'bitsPerByte' | 'predictsNext'>): string {
  if (!Number.isFinite(f.bitsPerByte)) return '';
  return `${f.bitsPerByte.toFixed(2)} bits/byte${f.predictsNext ? '' : ' (sees the token it scores; not comparable)'}`;
}

/** The manifest's short name for sentences, else its display name. */
export function shortName(manifest: ModelManifest): string {
  return manifest.shortName ?? manifest.displayName;
}

/** "512 B", "4.0 KiB", "4.0 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** "42%", "1.3%", "0.02%", "< 0.01%". */
export function formatShare(v: number): string {
  const p = v * 100;
  if (p >= 10) return `${Math.round(p)}%`;
  if (p >= 1) return `${p.toFixed(1)}%`;
  if (p >= 0.01) return `${p.toFixed(2)}%`;
  return '< 0.01%';
}

/** "5.3", "41", or "∞" tokens. */
export function formatTokens(v: number): string {
  return !Number.isFinite(v) ? '∞' : v < 10 ? v.toFixed(1) : v.toFixed(0);
}

/** "a", "a and b", "a, b and c". */
function list(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Where a token is, for sentences: its text, the word it is part of (when larger), and 1-based line. */
export interface TokenPlace {
  text: string;
  word?: string;
  line: number;
}

/** "`p` in `push` (line 15)". */
function describePlace(p: TokenPlace): string {
  return `\`${p.text}\`${p.word && p.word !== p.text ? ` in \`${p.word}\`` : ''} (line ${p.line})`;
}

/** "1.3×" for ratios of 1 and more, else a percentage. */
function formatRatio(v: number): string {
  return v >= 1 ? `${v < 10 ? v.toFixed(1) : Math.round(v)}×` : formatShare(v);
}

/** How a run's W(t, k) is made, from its metric (for the sentence on what differs). */
function wOrigin(m: ModelFigures): string {
  switch (m.run.influence?.metric) {
    case 'rollout':
      return 'attention rolled out over all layers';
    case 'attention':
      return "the last layer's mean attention";
    case 'retention':
      return 'the retention of its recurrent state';
    case 'occlusion':
      return 'occlusion';
    default:
      return '';
  }
}

/** "the LSTM and the GRU". */
function names(models: readonly ModelFigures[]): string {
  return list(models.map((m) => `the ${shortName(m.manifest)}`));
}

/** Groups items by a key, in order of first appearance. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups];
}

/** The sentence on how the models' W(t, k) differ in origin; null when they are all made alike. */
function originSentence(models: readonly ModelFigures[]): string | null {
  const groups = groupBy(models, wOrigin);
  if (groups.length < 2) return null;
  const parts = groups.map(([origin, ms]) => (origin ? `${origin} in ${names(ms)}` : `none exported by ${names(ms)}`));
  const none = groups.some(([origin]) => !origin) ? ' Add occlusion to measure every model the same way.' : '';
  return `Their W(t, k) is made differently: ${parts.join('; ')}.${none}`;
}

/**
 * The memory that carries the context, grouped by how it grows: attention as T², attention in a window,
 * key/value caches, recurrent states; null for fewer than two models that have one.
 */
function memorySentence(models: readonly ModelFigures[], T: number): string | null {
  const withMemory = models.filter((m) => m.memory.kind !== 'none');
  if (withMemory.length < 2) return null;
  const of = (kind: string, growth?: string) => withMemory.filter((m) => m.memory.kind === kind && (!growth || m.memory.growth === growth));
  const takes = (ms: ModelFigures[], what: string) => list(ms.map((m) => `the ${shortName(m.manifest)}'s ${what} takes ${formatBytes(m.memory.bytes)}`));
  const quadratic = of('attention', 'quadratic');
  const window = of('attention', 'window');
  const cache = of('cache');
  const state = of('state');
  const parts: string[] = [];
  if (quadratic.length) parts.push(`${takes(quadratic, 'attention')} (growing as T²: 4× that at ${2 * T} tokens)`);
  if (window.length) parts.push(`${takes(window, 'attention')} (growing linearly: each token keeps only its window)`);
  if (cache.length) parts.push(`${takes(cache, 'key/value cache')} (growing linearly with the tokens)`);
  if (state.length) {
    const s = state.map((m, i) => `the ${shortName(m.manifest)}${i === 0 ? ' carries' : ''} ${formatBytes(m.memory.bytes)}${i === 0 ? ' of state from token to token' : ''}`);
    parts.push(`${list(s)}, whatever the length`);
  }
  return `For these ${T} tokens ${parts.join('; ')}.`;
}

/** Plain sentences about the figures of any number of models; place(i) says where token i is. */
export function describeComparison(models: readonly ModelFigures[], place: (index: number) => TokenPlace): string[] {
  const out: string[] = [];
  // Only next-token models are ranked: a masked language model sees the token it scores.
  const scored = models.filter((m) => m.predictsNext && Number.isFinite(m.bitsPerByte)).sort((a, b) => a.bitsPerByte - b.bitsPerByte);
  if (scored.length >= 2) {
    const [best, ...rest] = scored;
    out.push(
      `The ${shortName(best.manifest)} predicts this selection best: ${best.bitsPerByte.toFixed(2)} bits per byte, against ` +
        `${list(rest.map((m) => `${m.bitsPerByte.toFixed(2)} (${shortName(m.manifest)})`))}.`,
    );
  }
  for (const m of models.filter((m) => !m.predictsNext && Number.isFinite(m.bitsPerByte))) {
    out.push(`The ${shortName(m.manifest)}'s ${m.bitsPerByte.toFixed(2)} bits per byte are not ranked: it sees the token it scores, so they are not comparable with next-token prediction.`);
  }
  const origin = originSentence(models);
  if (origin) out.push(origin);

  const decaying = models.filter((m) => Number.isFinite(m.halfLife));
  if (decaying.length) {
    const parts = decaying.map((m, i) => `every ${formatTokens(m.halfLife)}${i === 0 ? ' tokens' : ''} in the ${shortName(m.manifest)}`);
    out.push(`Retention halves ${list(parts)}: what a recurrent state holds of a token fades geometrically with distance.`);
  }
  for (const m of models.filter((m) => m.halfLife === Infinity)) {
    out.push(`The ${shortName(m.manifest)}'s retention does not decay over this selection.`);
  }

  const T = Math.min(...models.map((m) => m.T));
  const far = Math.min(32, Math.floor(T / 2));
  const withShares = models.filter((m) => m.shares && Number.isFinite(distanceRatio(m.shares, m.T, far)));
  if (far >= 4 && withShares.length >= 2) {
    const ratios = withShares.map((m) => `${formatRatio(distanceRatio(m.shares!, m.T, far))} (${shortName(m.manifest)})`);
    out.push(`${far} tokens back, a token gets ${list(ratios)} of the weight the previous token gets.`);
  }

  const both = models.filter((m) => m.bidirectional && m.sides);
  for (const m of both) {
    const { earlier, self, later } = m.sides!;
    out.push(
      `The ${shortName(m.manifest)} reads in both directions: a token draws ${formatShare(earlier)} of its weight from earlier tokens, ` +
        `${formatShare(later)} from later ones and ${formatShare(self)} from itself.`,
    );
  }
  const ahead = both.filter((m) => Number.isFinite(distanceRatio(m.shares!, m.T, -far)));
  if (far >= 4 && ahead.length) {
    const ratios = ahead.map((m) => `${formatRatio(distanceRatio(m.shares!, m.T, -far))} (${shortName(m.manifest)})`);
    out.push(`${far} tokens ahead, a token gets ${list(ratios)} of the weight the next token gets.`);
  }

  for (const m of models) {
    const link = m.run.link;
    if (!link) continue;
    const to = place(link.t);
    const from = place(link.k);
    const distance = `${Math.abs(link.t - link.k)} tokens ${link.k < link.t ? 'back' : 'ahead'}`;
    const of = `layer ${link.layer + 1} head ${link.head + 1}'s ${link.label ?? 'attention'}`;
    // A weight of rows that do not sum to 1 is no share: it is given as it is.
    const weight = link.normalised === false ? `a weight of ${link.weight.toFixed(3)} in ${of} (not normalised)` : `${formatShare(link.weight)} of ${of}`;
    out.push(`The ${shortName(m.manifest)}'s strongest long-range link: ${describePlace(to)} → ${describePlace(from)}, ${distance}, with ${weight}.`);
  }

  const memory = memorySentence(models, T);
  if (memory) out.push(memory);
  return out;
}
