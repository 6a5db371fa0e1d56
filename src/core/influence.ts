// Token influence summaries for the editor: from any W(t, k) matrix (attention rollout, mean attention,
// retention or occlusion), each token's top-k influencers and the top-k tokens it influences: earlier and
// later ones for a causal model, every other token for an encoder, source and target tokens for
// cross-attention. These small lists are all that crosses from the webview to the host, packed in typed arrays.

import type { MixingMask } from './analysis';

/** The W(t, k) an influence summary was computed from. */
export type InfluenceMetric = 'rollout' | 'attention' | 'retention' | 'occlusion';

export const INFLUENCE_METRICS: readonly InfluenceMetric[] = ['rollout', 'attention', 'retention', 'occlusion'];

export interface InfluenceLink {
  /** Index of the other token. */
  index: number;
  weight: number;
}

export interface TokenInfluence {
  /** Document offsets (UTF-16) of the token. */
  start: number;
  end: number;
  /** Display text, whitespace visible. */
  text: string;
  /** Tokens that influence this one most (earlier ones for a causal model), strongest first, itself excluded. */
  from: InfluenceLink[];
  /** Tokens this one influences most (later ones for a causal model), strongest first. */
  to: InfluenceLink[];
}

/** One analysis' influence summary for a document range. */
export interface InfluenceSummary {
  uri: string;
  version: number;
  modelId: string;
  modelName: string;
  metric: InfluenceMetric;
  /** Human description of the metric, e.g. "attention rollout" or "mean attention, layer 2". */
  metricLabel: string;
  /** Weights may be negative (a family declared signed): links are ranked by |weight| and keep their sign. */
  signed?: boolean;
  tokens: TokenInfluence[];
  /**
   * Present when the lists above are a stand-in: the wanted metric was too costly for every token at this
   * length (rollout past MAX_ROLLOUT_TOKENS), and the panel computes one token's links by it on request
   * (HostRequests.influenceAt). Those links are never signed.
   */
  onDemand?: { metric: InfluenceMetric; metricLabel: string };
}

/** Keeps the k largest (weight, index) pairs in descending order (of |weight| when signed). */
function pushTop(list: InfluenceLink[], k: number, index: number, weight: number, signed = false): void {
  const size = signed ? Math.abs(weight) : weight;
  const sizeOf = (l: InfluenceLink) => (signed ? Math.abs(l.weight) : l.weight);
  if (!(size > 0) || (list.length === k && size <= sizeOf(list[k - 1]))) return;
  let i = list.length < k ? list.length : k - 1;
  if (list.length < k) list.push({ index, weight });
  while (i > 0 && sizeOf(list[i - 1]) < size) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = { index, weight };
}

/**
 * Top-k influencers of every row and top-k influenced rows of every column, from W [rows, cols] (row t =
 * query or target, column k = key or source), the token itself excluded:
 * - causal, windowed: from[t] over k < t, to[k] over t > k (zeros outside a window never rank);
 * - bidirectional: from[t] over every k ≠ t, to[k] over every t ≠ k;
 * - cross (rows ≠ cols allowed): from[t] over every source column k, to[k] over every target row t.
 * from has one list per row, to one per column. The old form topInfluences(w, T, topK) is causal. A signed W
 * (negative weights allowed) ranks by |weight|, each link keeping its sign.
 */
export function topInfluences(w: Float32Array, rows: number, cols: number, topK: number, mask: MixingMask, signed?: boolean): { from: InfluenceLink[][]; to: InfluenceLink[][] };
export function topInfluences(w: Float32Array, T: number, topK: number): { from: InfluenceLink[][]; to: InfluenceLink[][] };
export function topInfluences(w: Float32Array, rows: number, b: number, c?: number, d?: MixingMask, signed = false): { from: InfluenceLink[][]; to: InfluenceLink[][] } {
  const [cols, topK, mask]: [number, number, MixingMask] = c === undefined ? [rows, b, 'causal'] : [b, c, d ?? 'causal'];
  const top = new TopInfluences(w, rows, cols, topK, mask, signed);
  top.addRows(rows);
  return { from: top.from, to: top.to };
}

/**
 * topInfluences row by row: addRows takes the next rows, so that a UI thread can rank a long W a few rows
 * per task (the same lists, in the same order, as topInfluences). Tokens for which `hidden` is true neither
 * rank nor get links, as if their rows and columns were 0 (without copying W: 16 MB at 2,044 tokens).
 */
export class TopInfluences {
  readonly from: InfluenceLink[][];
  readonly to: InfluenceLink[][];
  /** The next row to add. */
  next = 0;

  constructor(
    private readonly w: Float32Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly topK: number,
    private readonly mask: MixingMask,
    private readonly signed = false,
    private readonly hidden?: readonly boolean[],
  ) {
    if (mask !== 'cross' && rows !== cols) throw new Error(`${mask} W must be square; got ${rows}×${cols}`);
    if (w.length !== rows * cols) throw new Error(`W has ${w.length} values; expected ${rows}×${cols}`);
    if (hidden && (rows !== cols || hidden.length !== rows)) throw new Error(`hidden tokens need a square W and one flag per token; got ${rows}×${cols} and ${hidden.length}`);
    this.from = Array.from({ length: rows }, () => []);
    this.to = Array.from({ length: cols }, () => []);
  }

  /** Adds up to `count` more rows; true while rows are left. */
  addRows(count: number): boolean {
    const { w, cols, topK, mask, signed, from, to, hidden } = this;
    const last = Math.min(this.rows, this.next + count);
    for (let t = this.next; t < last; t++) {
      if (hidden?.[t]) continue;
      const end = mask === 'causal' || mask === 'windowed' ? t : cols;
      for (let k = 0; k < end; k++) {
        if ((k === t && mask === 'bidirectional') || hidden?.[k]) continue;
        const weight = w[t * cols + k];
        pushTop(from[t], topK, k, weight, signed);
        pushTop(to[k], topK, t, weight, signed);
      }
    }
    this.next = last;
    return last < this.rows;
  }
}

/**
 * One token's top-k links from a row and a column of W [T, T] (row `index`: what it draws on; column
 * `index`: what it influences), ranked exactly as topInfluences ranks that token's lists (same order on
 * ties): earlier tokens for `from` and later ones for `to` when causal or windowed, every other token when
 * bidirectional; tokens for which `hidden` is true are left out. Unsigned: weights ≤ 0 never rank.
 */
export function linksAt(row: ArrayLike<number>, column: ArrayLike<number>, index: number, topK: number, mask: MixingMask, hidden?: readonly boolean[]): { from: InfluenceLink[]; to: InfluenceLink[] } {
  if (mask === 'cross') throw new Error('linksAt: cross-mixing has separate target and source tokens; expected a square W');
  const T = row.length;
  if (column.length !== T) throw new Error(`linksAt: the row has ${T} values but the column ${column.length}`);
  const from: InfluenceLink[] = [];
  const to: InfluenceLink[] = [];
  const both = mask === 'bidirectional';
  for (let k = 0; k < (both ? T : index); k++) if (k !== index && !hidden?.[k]) pushTop(from, topK, k, row[k]);
  for (let t = both ? 0 : index + 1; t < T; t++) if (t !== index && !hidden?.[t]) pushTop(to, topK, t, column[t]);
  return { from, to };
}

/** The token whose range contains an offset (a token's end belongs to the next token), by binary search. */
export function tokenAt(tokens: ReadonlyArray<{ start: number; end: number }>, offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (offset < tokens[mid].start) hi = mid - 1;
    else if (offset >= tokens[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * An influence summary as the panel posts it: every token's links packed into typed arrays. At 2,044 tokens the
 * lists are 82,000 links; as objects, the workbench forwarded them as JSON (walked by its buffer replacer, then
 * encoded and sent: tasks of 374 and 155 ms on the page's thread, bench:profile), while typed arrays cross as
 * binary buffers that nothing walks.
 */
export interface PackedInfluenceSummary extends Omit<InfluenceSummary, 'tokens'> {
  tokens: Array<{ start: number; end: number; text: string }>;
  /** Slots per token and side: token i's links are entries i·linksPerToken onwards, strongest first, ended by index -1. */
  linksPerToken: number;
  from: PackedLinks;
  to: PackedLinks;
}

export interface PackedLinks {
  index: Int32Array;
  weight: Float64Array;
}

/** Packs a summary's lists (as many slots per token as its longest list). */
export function packInfluence(summary: InfluenceSummary): PackedInfluenceSummary {
  const { tokens, ...rest } = summary;
  const K = tokens.reduce((most, t) => Math.max(most, t.from.length, t.to.length), 0);
  const pack = (side: 'from' | 'to'): PackedLinks => {
    const index = new Int32Array(tokens.length * K).fill(-1);
    const weight = new Float64Array(tokens.length * K);
    tokens.forEach((t, i) =>
      t[side].forEach((link, j) => {
        index[i * K + j] = link.index;
        weight[i * K + j] = link.weight;
      }),
    );
    return { index, weight };
  };
  return { ...rest, tokens: tokens.map(({ start, end, text }) => ({ start, end, text })), linksPerToken: K, from: pack('from'), to: pack('to') };
}

/** The summary a packed one holds (each token's lists up to its first index -1). */
export function unpackInfluence(packed: PackedInfluenceSummary): InfluenceSummary {
  const { tokens, linksPerToken: K, from, to, ...rest } = packed;
  const unpack = ({ index, weight }: PackedLinks, i: number): InfluenceLink[] => {
    const links: InfluenceLink[] = [];
    for (let j = i * K; j < (i + 1) * K && index[j] >= 0; j++) links.push({ index: index[j], weight: weight[j] });
    return links;
  };
  return { ...rest, tokens: tokens.map((t, i) => ({ ...t, from: unpack(from, i), to: unpack(to, i) })) };
}
