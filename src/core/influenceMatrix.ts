// The W(t, k) [T, T] an analysis offers for a metric, shared by the panel's editor summaries and the
// Compare view: attention rollout or mean attention for a Transformer, state retention for an RNN,
// occlusion when it has been computed; the closest available one when the wanted metric is missing.

import { meanOverHeads } from './analysis';
import { type Analysis, outputOf, rolloutOf } from './analyze';
import type { InfluenceMetric } from './influence';
import { outputByRole } from './manifest';
import { meanRetention, retentionGates } from './retention';

/** Rollout costs O(L·T³); above this many tokens the last layer's mean attention is used instead. */
const MAX_ROLLOUT_TOKENS = 512;

export interface InfluenceMatrix {
  metric: InfluenceMetric;
  /** What it is, e.g. "attention rollout over all layers". */
  label: string;
  /** [T, T], row t = query. */
  w: Float32Array;
}

/** The W(t, k) [T, T] for the metric, or the closest available one, with its label; null if the model has none. */
export function influenceMatrix(analysis: Analysis, wanted: InfluenceMetric, occlusion?: Float32Array): InfluenceMatrix | null {
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
