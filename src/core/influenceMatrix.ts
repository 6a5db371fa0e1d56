// The W(t, k) [T, T] an analysis offers for a metric, shared by the panel's editor summaries and the
// Compare view, chosen by role: rollout or last-layer mean attention for a model with a self-mixing
// family, state retention for a model with declared keep/write gates, occlusion when it has been computed;
// the closest available one when the wanted metric is missing.

import { type MixingMask, meanOverHeads } from './analysis';
import type { Analysis } from './analyze';
import type { InfluenceMetric } from './influence';
import { looksAhead } from './modelStructure';
import { meanRetention } from './retention';
import { familyRollout, gateData, mainMixing, mixingMatrices } from './roleData';

/** Rollout costs O(L·T³); above this many tokens the last layer's mean attention is used instead. */
const MAX_ROLLOUT_TOKENS = 512;

export interface InfluenceMatrix {
  metric: InfluenceMetric;
  /** What it is, e.g. "attention rollout over all layers". */
  label: string;
  /** [T, T], row t = query. */
  w: Float32Array;
  /** Which k a row may draw on: causal (k ≤ t) or bidirectional (every k). */
  mask: MixingMask;
}

/** The W(t, k) [T, T] for the metric, or the closest available one, with its label; null if the model has none. */
export function influenceMatrix(analysis: Analysis, wanted: InfluenceMetric, occlusion?: Float32Array): InfluenceMatrix | null {
  const T = analysis.tokens.length;
  const family = mainMixing(analysis);
  const gates = gateData(analysis);
  if (wanted === 'occlusion' && occlusion) return { metric: 'occlusion', label: 'occlusion (KL divergence, bits)', w: occlusion, mask: looksAhead(analysis.structure) ? 'bidirectional' : 'causal' };
  if (family && family.role === 'mixing' && family.query === analysis.structure.primary) {
    const m = mixingMatrices(analysis, family);
    const mask = family.mask;
    if (wanted !== 'attention' && T <= MAX_ROLLOUT_TOKENS) {
      const r = familyRollout(analysis, family);
      if (r) return { metric: 'rollout', label: `${family.label} rollout over all layers`, w: r, mask };
    }
    return { metric: 'attention', label: `mean ${family.label} over heads, layer ${m.layers}`, w: meanOverHeads(m, m.layers - 1), mask };
  }
  if (gates?.retention.ok) {
    const L = gates.tensor.dims[0];
    const state = gates.state ? ` ${gates.state}` : '';
    return { metric: 'retention', label: `state${state} retention, layer ${L}, mean over units`, w: meanRetention(gates.tensor, L - 1, gates.retention.gates), mask: 'causal' };
  }
  return null;
}
