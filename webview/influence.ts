// Sends the host the per-token top influencers of an analysis (for editor hovers and decorations): the
// metric the user chose when the model has it, else the closest one it has; earlier and later tokens for
// a causal model, every other token for a bidirectional one. Only these small lists
// cross the boundary; the matrices stay in the webview.

import type { Analysis } from '../src/core/analyze';
import { type InfluenceMetric, type InfluenceSummary, topInfluences } from '../src/core/influence';
import { influenceMatrix } from '../src/core/influenceMatrix';
import { host, reportError } from './vscodeApi';

/** Lists up to this many links per token; the hover shows as many as its setting asks. */
const MAX_LINKS = 20;
/** Computes and posts the summary; errors are reported, never thrown into the caller's render. */
export function postInfluence(analysis: Analysis, uri: string, version: number, wanted: InfluenceMetric, occlusion?: Float32Array): void {
  try {
    const matrix = influenceMatrix(analysis, wanted, occlusion);
    if (!matrix) return;
    const T = analysis.tokens.length;
    const { from, to } = topInfluences(matrix.w, T, T, MAX_LINKS, matrix.mask);
    // Special tokens ([CLS], </s>) stand for no text: the editor neither lists nor tints them.
    const special = analysis.tokens.map((t) => t.special);
    const real = (links: typeof from[number]) => links.filter((l) => !special[l.index]);
    const summary: InfluenceSummary = {
      uri,
      version,
      modelId: analysis.model.id,
      modelName: analysis.model.displayName,
      metric: matrix.metric,
      metricLabel: matrix.label,
      tokens: analysis.tokens.map((t, i) => ({ start: t.start, end: t.end, text: t.text, from: t.special ? [] : real(from[i]), to: t.special ? [] : real(to[i]) })),
    };
    host.notify('influence', summary);
  } catch (err) {
    reportError(err, 'influence');
  }
}
