// Sends the host the per-token top influencers of an analysis (for editor hovers and decorations): the
// metric the user chose when the model has it, else the closest one it has; earlier and later tokens for
// a causal model, every other token for a bidirectional one. Tokens that cover no text (special tokens,
// and empty ranges such as a character's tail bytes or an inserted ▁) are neither listed nor tinted. Only
// these small lists cross the boundary (packed in typed arrays); the matrices stay in the webview.
// Rollout past MAX_ROLLOUT_TOKENS: the full matrix (O(L·T³)) is not computed, so the summary posted holds
// the last layer's mean attention, labelled as such, and says (onDemand) that rollout is available per
// token. The host then asks for the token a hover or the cursor is on (influenceAt), and this page answers
// from that token's rollout row and column (rolloutRow.ts, O(L·T²): about 10 ms each at 2,048 tokens on
// the bundled Transformer). Why on demand rather than every row in idle slices: all rows cost the O(L·T³)
// of the full matrix again (seconds at 2,048 tokens, on the page that draws the views), while the editor
// only ever shows one token's links at a time; the stand-in lists still serve when the panel is gone.

import type { Analysis } from '../src/core/analyze';
import { type InfluenceMetric, type InfluenceSummary, type TokenInfluence, TopInfluences, linksAt, packInfluence, tokenAt } from '../src/core/influence';
import { LensError } from '../src/core/errors';
import { type InfluenceMatrix, influenceMatrix, meanAttentionOf, prepareInfluenceMatrix, rolloutLabel, rolloutOnDemand } from '../src/core/influenceMatrix';
import type { InfluenceAtParams } from '../src/core/protocol';
import { mixingMatrices } from '../src/core/roleData';
import { RolloutRows } from '../src/core/rolloutRow';
import { meanOverHeadsInSlices } from '../src/core/rolloutSlices';
import { TimeSlices } from '../src/core/timeSlices';
import { host, reportError } from './vscodeApi';
import type { PointerRest } from './pointerRest';
import { inBackground, yieldToUi } from './yieldToUi';

/** Lists up to this many links per token; the hover shows as many as its setting asks. */
const MAX_LINKS = 20;

/** Answers the host's influenceAt for the summary just posted. */
export interface InfluenceSource {
  at(params: InfluenceAtParams): TokenInfluence | null;
}

/**
 * Computes and posts the summary; errors are reported, never thrown into the caller's render. Resolves with
 * what answers influenceAt when the summary offers rollout on demand (undefined otherwise, or when `stale`
 * says a newer analysis replaced this one). The work is done in tasks of about SLICE_MS: the full rollout
 * (up to MAX_ROLLOUT_TOKENS) a row at a time, the stand-in's mean attention a head at a time, the ranking a
 * few rows at a time.
 */
export async function postInfluence(analysis: Analysis, uri: string, version: number, wanted: InfluenceMetric, occlusion: Float32Array | undefined, stale: () => boolean, rest: PointerRest): Promise<InfluenceSource | undefined> {
  try {
    const family = rolloutOnDemand(analysis, wanted, occlusion);
    // Between slices, input and frames first, then a pointer moving over the page (its hovers' frames).
    const pause = () => yieldToUi().then(() => rest.rested());
    const slices = { pause, sliceMs: SLICE_MS, cancelled: stale };
    let matrix: InfluenceMatrix | null;
    if (family) {
      const { matrices, layer, ...spec } = meanAttentionOf(analysis, family);
      matrix = { ...spec, w: await meanOverHeadsInSlices(matrices, layer, slices) };
    } else {
      await prepareInfluenceMatrix(analysis, wanted, slices, occlusion);
      matrix = influenceMatrix(analysis, wanted, occlusion);
    }
    if (!matrix || stale()) return undefined;
    const T = analysis.tokens.length;
    // Special tokens ([CLS], </s>) and empty ranges (a character's tail bytes, an inserted ▁) stand for no
    // text: the editor neither lists nor tints them. They are left out of the ranking, so each token still gets
    // its full MAX_LINKS of real links.
    const hidden = analysis.tokens.map((t) => t.special || t.start === t.end);
    // A signed W (negative weights) is ranked by |weight|; its links keep their sign and the summary says so.
    const top = new TopInfluences(matrix.w, T, T, MAX_LINKS, matrix.mask, matrix.signed === true, hidden);
    const ranking = new TimeSlices(slices); // given up (LensError 'cancelled') once stale
    while (top.addRows(16)) await ranking.more();
    const { from, to } = top;
    const summary: InfluenceSummary = {
      uri,
      version,
      modelId: analysis.model.id,
      modelName: analysis.model.displayName,
      metric: matrix.metric,
      metricLabel: family ? `${matrix.label}, standing in for rollout (${T} tokens)` : matrix.label,
      ...(matrix.signed ? { signed: true } : {}),
      tokens: analysis.tokens.map((t, i) => ({ start: t.start, end: t.end, text: t.text, from: from[i], to: to[i] })),
      ...(family ? { onDemand: { metric: 'rollout' as const, metricLabel: `${rolloutLabel(family)}, computed for this token` } } : {}),
    };
    host.notify('influence', packInfluence(summary));
    if (!family) return undefined;
    const rows = new RolloutRows(mixingMatrices(analysis, family), { mask: family.mask, normalised: family.normalised });
    prepareInSlices(rows, stale, rest);
    return rolloutSource(analysis, uri, version, rows, hidden);
  } catch (err) {
    if (!(err instanceof LensError && err.code === 'cancelled' && stale())) reportError(err, 'influence');
    return undefined;
  }
}

/** Main-thread time one slice of the rollout factors may take (one layer at 2,048 tokens is over 100 ms). */
const SLICE_MS = 8;

/**
 * Builds the rollout factors a few rows per task, so the first hover does not wait for them and no task is long;
 * each waits while the pointer moves over the page (`rest`: pointerRest.ts), and then
 * the tasks come after input and rendering (a hover needing a factor not built yet builds it at once): run as
 * plain tasks, at 2,041 tokens they ran between a head switch and its frame for 1–2 s after the first paint.
 */
function prepareInSlices(rows: RolloutRows, stale: () => boolean, rest: PointerRest): void {
  inBackground(() => {
    try {
      const until = performance.now() + SLICE_MS;
      if (stale() || !rows.prepareSlice(() => performance.now() < until)) return;
      void rest.rested().then(() => prepareInSlices(rows, stale, rest));
    } catch (err) {
      reportError(err, 'influence');
    }
  });
}

/** Answers influenceAt for this analysis only (same document, version, model and range), from rollout rows. */
function rolloutSource(analysis: Analysis, uri: string, version: number, rows: RolloutRows, hidden: readonly boolean[]): InfluenceSource {
  const tokens = analysis.tokens;
  const start = tokens[0]?.start ?? 0;
  const end = tokens[tokens.length - 1]?.end ?? 0;
  const mask = rows.mask;
  return {
    at(p) {
      if (p.uri !== uri || p.version !== version || p.modelId !== analysis.model.id || p.start !== start || p.end !== end) return null;
      const index = tokenAt(tokens, p.offset);
      if (index < 0) return null;
      const t = tokens[index];
      if (hidden[index]) return { start: t.start, end: t.end, text: t.text, from: [], to: [] };
      const { from, to } = linksAt(rows.row(index), rows.column(index), index, MAX_LINKS, mask, hidden);
      return { start: t.start, end: t.end, text: t.text, from, to };
    },
  };
}
