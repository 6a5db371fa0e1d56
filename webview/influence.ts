// Sends the host the per-token top influencers of an analysis (for editor hovers and decorations): the
// metric the user chose when the model has it, else the closest one it has; earlier and later tokens for
// a causal model, every other token for a bidirectional one. Tokens that cover no text (special tokens,
// and empty ranges such as a character's tail bytes or an inserted ▁) are neither listed nor tinted. Only
// these small lists cross the boundary; the matrices stay in the webview.

import type { Analysis } from '../src/core/analyze';
import { type InfluenceMetric, type InfluenceSummary, topInfluences } from '../src/core/influence';
import { influenceMatrix } from '../src/core/influenceMatrix';
import { host, reportError } from './vscodeApi';

/** Lists up to this many links per token; the hover shows as many as its setting asks. */
const MAX_LINKS = 20;
/** W [T, T] with the rows and columns of hidden tokens zeroed (a copy; W itself when none is hidden). */
function withoutTokens(w: Float32Array, T: number, hidden: readonly boolean[]): Float32Array {
  if (!hidden.includes(true)) return w;
  const out = w.slice();
  for (let i = 0; i < T; i++) {
    if (!hidden[i]) continue;
    out.fill(0, i * T, (i + 1) * T);
    for (let t = 0; t < T; t++) out[t * T + i] = 0;
  }
  return out;
}

/** Computes and posts the summary; errors are reported, never thrown into the caller's render. */
export function postInfluence(analysis: Analysis, uri: string, version: number, wanted: InfluenceMetric, occlusion?: Float32Array): void {
  try {
    const matrix = influenceMatrix(analysis, wanted, occlusion);
    if (!matrix) return;
    const T = analysis.tokens.length;
    // Special tokens ([CLS], </s>) and empty ranges (a character's tail bytes, an inserted ▁) stand for no
    // text: the editor neither lists nor tints them. Their rows and columns are zeroed before ranking (zero
    // never ranks), so each token still gets its full MAX_LINKS of real links.
    const hidden = analysis.tokens.map((t) => t.special || t.start === t.end);
    // A signed W (negative weights) is ranked by |weight|; its links keep their sign and the summary says so.
    const { from, to } = topInfluences(withoutTokens(matrix.w, T, hidden), T, T, MAX_LINKS, matrix.mask, matrix.signed === true);
    const real = (links: typeof from[number]) => links.filter((l) => !hidden[l.index]);
    const summary: InfluenceSummary = {
      uri,
      version,
      modelId: analysis.model.id,
      modelName: analysis.model.displayName,
      metric: matrix.metric,
      metricLabel: matrix.label,
      ...(matrix.signed ? { signed: true } : {}),
      tokens: analysis.tokens.map((t, i) => ({ start: t.start, end: t.end, text: t.text, from: hidden[i] ? [] : real(from[i]), to: hidden[i] ? [] : real(to[i]) })),
    };
    host.notify('influence', summary);
  } catch (err) {
    reportError(err, 'influence');
  }
}
