// Sends the host the per-token top influencers of an analysis (for editor hovers and decorations): the
// metric the user chose when the model has it, else the closest one it has. Only these small lists
// cross the boundary; the matrices stay in the webview.

import { meanOverHeads } from '../src/core/analysis';
import { type Analysis, outputOf, rolloutOf } from '../src/core/analyze';
import { type InfluenceMetric, type InfluenceSummary, topInfluences } from '../src/core/influence';
import { meanRetention, retentionGates } from '../src/core/retention';
import { host, reportError } from './vscodeApi';
import { outputByRole } from '../src/core/manifest';

/** Lists up to this many links per token; the hover shows as many as its setting asks. */
const MAX_LINKS = 20;
/** Rollout costs O(L·T³); above this many tokens hovers use the last layer's mean attention instead. */
const MAX_ROLLOUT_TOKENS = 512;

/** The W(t, k) [T, T] for the metric, or the closest available one, with its label. */
export function influenceMatrix(analysis: Analysis, wanted: InfluenceMetric, occlusion?: Float32Array): { metric: InfluenceMetric; label: string; w: Float32Array } | null {
  const T = analysis.tokens.length;
  const attention = outputOf(analysis, 'attention');
  const gates = outputOf(analysis, 'gates');
  if (wanted === 'occlusion' && occlusion) return { metric: 'occlusion', label: 'occlusion (KL divergence, bits)', w: occlusion };
  if (attention) {
    const L = attention.dims[0];
    if ((wanted === 'rollout' || wanted === 'occlusion' || wanted === 'retention') && T <= MAX_ROLLOUT_TOKENS) {
      const r = rolloutOf(analysis);
      if (r) return { metric: 'rollout', label: 'attention rollout over all layers', w: r };
    }
    return { metric: 'attention', label: `mean attention over heads, layer ${L}`, w: meanOverHeads(attention, L - 1) };
  }
  if (gates) {
    const spec = outputByRole(analysis.manifest, 'gates');
    if (!spec?.gateOrder) return null;
    const L = gates.dims[0];
    return { metric: 'retention', label: `state retention, layer ${L}, mean over units`, w: meanRetention(gates, L - 1, retentionGates(spec.gateOrder)) };
  }
  return null;
}

/** Computes and posts the summary; errors are reported, never thrown into the caller's render. */
export function postInfluence(analysis: Analysis, uri: string, version: number, wanted: InfluenceMetric, occlusion?: Float32Array): void {
  try {
    const matrix = influenceMatrix(analysis, wanted, occlusion);
    if (!matrix) return;
    const T = analysis.tokens.length;
    const { from, to } = topInfluences(matrix.w, T, MAX_LINKS);
    const summary: InfluenceSummary = {
      uri,
      version,
      modelId: analysis.model.id,
      modelName: analysis.model.displayName,
      metric: matrix.metric,
      metricLabel: matrix.label,
      tokens: analysis.tokens.map((t, i) => ({ start: t.start, end: t.end, text: t.text, from: from[i], to: to[i] })),
    };
    host.notify('influence', summary);
  } catch (err) {
    reportError(err, 'influence');
  }
}
