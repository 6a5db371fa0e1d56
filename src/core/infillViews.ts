// Why: the "Fill in the selection" page draws the cross-attention of a generated filling over the code
// around the hidden span, and the editor's hovers say which filled tokens looked at each context token.
// Both need the same few decisions, made here once and pure so they are unit-tested in Node: which mixing
// family is the filling's cross-attention (from the roles: rows the target sequence, columns the source),
// which target rows produced the filled tokens, one [filled tokens × source] matrix per layer and head,
// its label, the top filled tokens per context token, which lines a line view can draw and stay legible
// with hundreds of source tokens, and the one colour scale the Compare multiples share.

import { type LayeredMatrices, maxOverHeads, meanOverHeads } from './analysis';
import type { AnalysedToken, Analysis } from './analyze';
import { LensError } from './errors';
import type { MixingFamily, ModelStructure } from './modelStructure';
import type { InfillRequest } from './protocol';
import { mixingMatrices } from './roleData';

/** A head of a family, or its mean or max over heads. */
export type CrossHead = number | 'mean' | 'max';

/**
 * The family whose rows are the target sequence's tokens and whose columns are the source's: a declared
 * cross_mixing family first, else any mixing family across those two sequences. Undefined when the model
 * exports none (the page then says so instead of drawing).
 */
export function fillCrossFamily(structure: ModelStructure, target: string, source: string): MixingFamily | undefined {
  const across = structure.mixing.filter((f) => f.query === target && f.keys === source && f.query !== f.keys);
  return across.find((f) => f.role === 'cross_mixing') ?? across[0];
}

/**
 * Where the filling's ids sit in the target sequence: the first index at or after `from` where they follow
 * one another. A target built another way is a bug upstream: the error says what was expected and found.
 */
export function fillingOffset(targetIds: readonly number[], fillingIds: readonly number[], from = 0): number {
  for (let o = Math.max(0, from); o + fillingIds.length <= targetIds.length; o++) {
    let i = 0;
    while (i < fillingIds.length && targetIds[o + i] === fillingIds[i]) i++;
    if (i === fillingIds.length) return o;
  }
  throw new LensError(
    'model-invalid',
    `The filling's target sequence does not hold the generated tokens: expected ids [${fillingIds.join(', ')}] in order from position ${from}, found [${targetIds.join(', ')}].`,
  );
}

/**
 * The target rows whose outputs produced each filled token: the row before it when the logits predict the
 * next token (a decoder: the step that generated it), the token's own row otherwise.
 */
export function producingRows(offset: number, count: number, predictsNext: boolean): number[] {
  const shift = predictsNext ? 1 : 0;
  if (offset - shift < 0) throw new LensError('model-invalid', `The filling starts at target position ${offset}: no earlier position produced its first token.`);
  return Array.from({ length: count }, (_, i) => offset + i - shift);
}

/** Only the given rows of every [heads, rows, cols] layer, copied once per layer when first read. */
export function rowsOf(m: LayeredMatrices, rows: readonly number[]): LayeredMatrices {
  for (const r of rows) if (!(r >= 0 && r < m.rows)) throw new Error(`row ${r} is outside 0..${m.rows - 1}`);
  const cache = new Map<number, Float32Array>();
  const n = rows.length;
  return {
    layers: m.layers,
    heads: m.heads,
    rows: n,
    cols: m.cols,
    layer(l: number) {
      let out = cache.get(l);
      if (!out) {
        const data = m.layer(l);
        out = new Float32Array(m.heads * n * m.cols);
        for (let hd = 0; hd < m.heads; hd++) {
          for (let i = 0; i < n; i++) out.set(data.subarray((hd * m.rows + rows[i]) * m.cols, (hd * m.rows + rows[i] + 1) * m.cols), (hd * n + i) * m.cols);
        }
        cache.set(l, out);
      }
      return out;
    },
  };
}

/** The filling's cross-attention: its family, and per layer and head a [filled tokens × source tokens] matrix. */
export interface FillingCross {
  family: MixingFamily;
  /** Rows: the filled tokens (the step that produced each); columns: the source tokens. */
  matrices: LayeredMatrices;
  /** The target row each filled token was read from. */
  rows: number[];
}

/**
 * The filling's cross-attention in an analysis whose target sequence holds the filling after the target's
 * prefix and the infilling's begin tokens (fill-in analyses run the model with the generated tokens as
 * target); null when the model declares no such family.
 */
export function fillingCross(analysis: Analysis, sequences: { source: string; target: string; begin?: readonly string[] }, fillingIds: readonly number[]): FillingCross | null {
  const family = fillCrossFamily(analysis.structure, sequences.target, sequences.source);
  if (!family) return null;
  const target = analysis.sequences.find((s) => s.id === sequences.target);
  if (!target) throw new LensError('model-invalid', `The analysis has no sequence "${sequences.target}" (manifest field infilling.target).`);
  const ids = target.tokens.map((t) => t.id);
  // The filling follows the target sequence's prefix and the infilling's begin tokens.
  const prefix = analysis.structure.sequences.find((s) => s.id === sequences.target)?.prefix.length ?? 0;
  const offset = fillingOffset(ids, fillingIds, prefix + (sequences.begin?.length ?? 0));
  const rows = producingRows(offset, fillingIds.length, analysis.structure.predictsNext);
  return { family, matrices: rowsOf(mixingMatrices(analysis, family), rows), rows };
}

/** One layer's matrix [rows, cols] for a head, or the mean or max over heads. */
export function crossMatrix(m: LayeredMatrices, layer: number, head: CrossHead): Float32Array {
  if (head === 'mean') return meanOverHeads(m, layer);
  if (head === 'max') return maxOverHeads(m, layer);
  if (!(head >= 0 && head < m.heads)) throw new Error(`head ${head} is outside 0..${m.heads - 1}`);
  const size = m.rows * m.cols;
  return m.layer(layer).subarray(head * size, (head + 1) * size);
}

/**
 * What a cross matrix is, in words: "cross-attention, mean of 4 heads, layer 2", "…, head 3 of 4, …"; a
 * family with one head and one layer (an RNN's alignment) is its label alone.
 */
export function crossLabel(family: Pick<MixingFamily, 'label'>, m: Pick<LayeredMatrices, 'layers' | 'heads'>, layer: number, head: CrossHead): string {
  const parts = [family.label];
  if (m.heads > 1) parts.push(head === 'mean' ? `mean of ${m.heads} heads` : head === 'max' ? `max of ${m.heads} heads` : `head ${head + 1} of ${m.heads}`);
  if (m.layers > 1) parts.push(`layer ${layer + 1}${layer === m.layers - 1 ? ' (last)' : ''}`);
  return parts.join(', ');
}

/** A filled token that attended to a context token, and how much. */
export interface LookedAt {
  /** Index of the filled token. */
  index: number;
  weight: number;
}

/** For each column (context token), the k rows (filled tokens) with the largest positive weight on it, largest first. */
export function lookedAtBy(matrix: ArrayLike<number>, rows: number, cols: number, k = 3): LookedAt[][] {
  if (matrix.length !== rows * cols) throw new Error(`expected ${rows} × ${cols} = ${rows * cols} values, found ${matrix.length}`);
  const out: LookedAt[][] = [];
  for (let c = 0; c < cols; c++) {
    const top: LookedAt[] = [];
    for (let r = 0; r < rows; r++) {
      const weight = matrix[r * cols + c];
      if (!(weight > 0)) continue; // zero, negative or NaN: not looked at
      if (top.length === k && weight <= top[k - 1].weight) continue;
      let i = Math.min(top.length, k - 1);
      while (i > 0 && top[i - 1].weight < weight) i--;
      top.splice(i, 0, { index: r, weight });
      if (top.length > k) top.pop();
    }
    out.push(top);
  }
  return out;
}

/** One line of the line view: filled token `row` to context token `col`; share is the weight over its row's largest. */
export interface LineEdge {
  row: number;
  col: number;
  weight: number;
  share: number;
}

export interface LineChoice {
  edges: LineEdge[];
  /** The context tokens the lines reach, in document order: the only ones the view lists. */
  columns: number[];
  /** Per row, the share of its (positive) weight that its drawn lines carry. */
  drawnShare: number[];
}

export interface LineOptions {
  /** Lines per filled token at most. */
  perRow?: number;
  /** A line is drawn only when its weight is at least this share of its row's largest. */
  minShare?: number;
  /** Context tokens listed at most (each row's strongest is always listed). */
  maxColumns?: number;
}

/**
 * The lines a filled-tokens × context-tokens line view draws: per row its strongest weights (at most
 * perRow, each at least minShare of the row's largest), then only as many context tokens as maxColumns
 * allows, the strongest lines first, every row keeping its strongest. So a few hundred source tokens become
 * a short list of the ones the filling looked at.
 */
export function lineEdges(matrix: ArrayLike<number>, rows: number, cols: number, options: LineOptions = {}): LineChoice {
  const perRow = options.perRow ?? 6;
  const minShare = options.minShare ?? 0.15;
  const maxColumns = options.maxColumns ?? 48;
  const candidates: LineEdge[] = [];
  const firsts: LineEdge[] = [];
  const totals: number[] = [];
  for (let r = 0; r < rows; r++) {
    let peak = 0;
    let total = 0;
    for (let c = 0; c < cols; c++) {
      const v = matrix[r * cols + c];
      if (v > 0) total += v;
      if (v > peak) peak = v;
    }
    totals.push(total);
    if (!(peak > 0)) continue;
    const row: LineEdge[] = [];
    for (let c = 0; c < cols; c++) {
      const v = matrix[r * cols + c];
      if (v > 0 && v >= peak * minShare) row.push({ row: r, col: c, weight: v, share: v / peak });
    }
    row.sort((a, b) => b.weight - a.weight || a.col - b.col);
    firsts.push(row[0]);
    candidates.push(...row.slice(1, perRow));
  }
  const kept = new Set(firsts.map((e) => e.col));
  const edges = [...firsts];
  candidates.sort((a, b) => b.share - a.share || b.weight - a.weight);
  for (const e of candidates) {
    if (!kept.has(e.col)) {
      if (kept.size >= maxColumns) continue;
      kept.add(e.col);
    }
    edges.push(e);
  }
  edges.sort((a, b) => a.row - b.row || a.col - b.col);
  const drawn = new Array<number>(rows).fill(0);
  for (const e of edges) drawn[e.row] += e.weight;
  return { edges, columns: [...kept].sort((a, b) => a - b), drawnShare: drawn.map((d, r) => (totals[r] > 0 ? d / totals[r] : 0)) };
}

/** The top of one colour scale for several matrices (the Compare multiples): their largest finite value, 0 for none. */
export function sharedMax(matrices: ReadonlyArray<ArrayLike<number>>): number {
  let max = 0;
  for (const m of matrices) for (let i = 0; i < m.length; i++) if (m[i] > max && Number.isFinite(m[i])) max = m[i];
  return max;
}

/** Mean bits per token over the finite surprisals (special tokens are NaN); NaN when there are none. */
export function bitsPerToken(surprisal: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < surprisal.length; i++) {
    if (Number.isFinite(surprisal[i])) {
      sum += surprisal[i];
      n++;
    }
  }
  return n ? sum / n : NaN;
}

/** How strongly to tint a token of `bits` surprisal, in [0, 1]: bits over the scale's top (at least 1 bit), clipped. */
export function surprisalTint(bits: number, top: number): number {
  if (!Number.isFinite(bits) || bits <= 0) return 0;
  return Math.min(1, bits / Math.max(1, top));
}

/** Whether a filling reproduces the span: exactly, up to whitespace, or not. */
export function fillingMatch(original: string, filling: string): 'exact' | 'whitespace' | 'different' {
  if (original === filling) return 'exact';
  const squeeze = (s: string) => s.replace(/\s+/g, ' ').trim();
  return squeeze(original) === squeeze(filling) ? 'whitespace' : 'different';
}

/**
 * The editor hover's list: for every context token with text (special tokens, the hole among them, have no
 * range to hover), the top k filled tokens that looked at it, largest first, named by their display text.
 */
export function contextLookedAtBy(
  source: ReadonlyArray<Pick<AnalysedToken, 'start' | 'end' | 'special'>>,
  matrix: ArrayLike<number>,
  filling: readonly string[],
  k = 3,
): Array<{ start: number; end: number; lookedAtBy: Array<{ text: string; index: number; weight: number }> }> {
  const top = lookedAtBy(matrix, filling.length, source.length, k);
  return source.flatMap((t, c) => (t.special || t.end <= t.start ? [] : [{ start: t.start, end: t.end, lookedAtBy: top[c].map((x) => ({ text: filling[x.index], index: x.index, weight: x.weight })) }]));
}

/** Zero-based document lines of offsets in a fill request's context (before the span, in it, or after it). */
export function contextLines(request: Pick<InfillRequest, 'span' | 'before' | 'after'>, offsets: readonly number[]): number[] {
  const breaks = (text: string) => {
    const at: number[] = [];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) at.push(i);
    return at;
  };
  /** How many of the sorted positions are below x. */
  const below = (sorted: number[], x: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const before = breaks(request.before.text);
  const span = breaks(request.span.text);
  const after = breaks(request.after.text);
  const spanStart = request.span.startOffset;
  const spanEnd = spanStart + request.span.text.length;
  return offsets.map((o) => {
    if (o < spanStart) return request.span.start.line - (before.length - below(before, o - request.before.startOffset));
    if (o < spanEnd) return request.span.start.line + below(span, o - spanStart);
    return request.span.end.line + below(after, o - request.after.startOffset);
  });
}
