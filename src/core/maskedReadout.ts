// What the Masked tab says about masked predictions (maskedPredictions.ts), as plain data and text so it is
// tested without a DOM: when it computes without being asked, the colour scale of the pseudo-surprisal
// band, how probabilities and ranks read, the totals line (pseudo-log-likelihood, Salazar et al. 2020) and
// the card of one token (its top predictions, the actual token marked, its probability and rank).

import type { MaskedGuess, MaskedPredictions, MaskedToken } from './maskedPredictions';
import { formatCount } from './text';

/** Selections with fewer ordinary tokens than this are computed as soon as the tab opens. */
export const MASKED_AUTO_TOKENS = 128;

/** Whether a selection of `scored` ordinary tokens is computed without a click (one model run per token). */
export function computesAutomatically(scored: number): boolean {
  return scored > 0 && scored < MASKED_AUTO_TOKENS;
}

/** A probability as a percentage people can compare: 3 significant digits, tiny ones in scientific notation. */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p) || p < 0) return '–';
  if (p === 0) return '0%';
  const percent = p * 100;
  if (percent >= 0.01) return `${Number(percent.toPrecision(3))}%`;
  return `${percent.toExponential(1)}%`;
}

/** "rank 2 of 4,100". */
export function formatRank(rank: number, vocab: number): string {
  return `rank ${formatCount(rank)} of ${formatCount(vocab)}`;
}

/** The top of the pseudo-surprisal colour scale: the largest scored value rounded up to whole bits, at least 1. */
export function surprisalScaleMax(result: Pick<MaskedPredictions, 'tokens'>): number {
  let max = 1;
  for (const t of result.tokens) if (t && Number.isFinite(t.bits) && t.bits > max) max = t.bits;
  return Math.ceil(max);
}

/** Where a pseudo-surprisal falls on a scale of [0, max] bits, in [0, 1] (an infinite one at the top). */
export function tintFraction(bits: number, max: number): number {
  if (Number.isNaN(bits)) return 0;
  return Math.max(0, Math.min(1, bits / Math.max(max, 1e-9)));
}

/** The totals line under the strip. */
export function totalsLine(result: MaskedPredictions): string {
  if (!result.scored) return 'No ordinary tokens to mask: only special tokens were analysed.';
  const n = formatCount(result.scored);
  const perToken = result.totalBits / result.scored;
  return (
    `Pseudo-log-likelihood ${formatSigned(result.pseudoLogLikelihood)} nats over ${n} masked ${result.scored === 1 ? 'token' : 'tokens'} ` +
    `(${perToken.toFixed(2)} bits per token; pseudo-perplexity ${formatNumber(result.pseudoPerplexity)}).`
  );
}

/** One row of a token's card. */
export interface MaskedCardRow {
  text: string;
  probability: number;
  /** Formatted probability. */
  label: string;
  /** The row is the actual token. */
  actual: boolean;
}

/** What the card of one masked token shows. */
export interface MaskedCard {
  heading: string;
  /** The actual token's probability, rank and pseudo-surprisal. */
  actual: string;
  rows: MaskedCardRow[];
  /** Said when the actual token is not among the rows. */
  missing: string | null;
}

/** The card of one position: null entry (a special token) gets a card that says why nothing was computed. */
export function maskedCard(token: MaskedToken | null, text: string, vocab: number, index: number): MaskedCard {
  const heading = `#${index} “${text}”`;
  if (!token) return { heading, actual: 'Special token: the model adds it, so it is not masked.', rows: [], missing: null };
  const rows = token.top.map((g: MaskedGuess) => ({ text: g.text, probability: g.probability, label: formatProbability(g.probability), actual: g.id === token.id }));
  const listed = rows.some((r) => r.actual);
  return {
    heading,
    actual: `With this token masked the model gives it p = ${formatProbability(token.probability)}, ${formatRank(token.rank, vocab)}: pseudo-surprisal ${formatBits(token.bits)}.`,
    rows,
    missing: listed ? null : `The actual token “${text}” is not among the top ${rows.length}.`,
  };
}

/** Short text for a token's accessible label and tooltip. */
export function tokenLabel(token: MaskedToken | null, text: string): string {
  if (!token) return `${text}, special token, not masked`;
  return `${text}, ${formatBits(token.bits)} when masked, p = ${formatProbability(token.probability)}`;
}

function formatBits(bits: number): string {
  return Number.isFinite(bits) ? `${bits.toFixed(2)} bits` : '∞ bits';
}

function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return '∞';
  return x >= 1000 ? x.toExponential(2) : x.toFixed(x >= 100 ? 0 : 2);
}

function formatSigned(x: number): string {
  if (!Number.isFinite(x)) return '−∞';
  return x < 0 ? `−${(-x).toFixed(1)}` : x.toFixed(1);
}
