// The W(t, k) [T, T] an analysis offers for a metric, shared by the panel's editor summaries and the
// Compare view, chosen by role: rollout or last-layer mean attention for a model with a self-mixing
// family, state retention for a model with declared keep/write gates or a decay output, occlusion when it
// has been computed; the closest available one when the wanted metric is missing. Mixing declared
// `normalised: false` is rolled out from row-normalised |W|, and the label says so; the mean attention of a
// family declared `signed` may be negative, and says so (`signed`, ranked by |W| downstream).
// Past MAX_ROLLOUT_TOKENS the full rollout is not computed here (O(L·T³)); rolloutOnDemand says which
// family's rollout the caller may compute one row and column at a time instead (rolloutRow.ts, O(L·T²)).
// Up to it, a page computes the rollout in slices first (prepareInfluenceMatrix), so no task is long.

import { type LayeredMatrices, type MixingMask, meanOverHeads } from './analysis';
import type { Analysis } from './analyze';
import type { InfluenceMetric } from './influence';
import { type MixingFamily, looksAhead } from './modelStructure';
import { meanRetention } from './retention';
import { type RetentionData, familyRollout, familyRolloutInSlices, mainMixing, mixingMatrices, retentionData } from './roleData';
import type { SliceOptions } from './timeSlices';

/** Rollout costs O(L·T³); above this many tokens the last layer's mean attention is used instead. */
export const MAX_ROLLOUT_TOKENS = 512;

export interface InfluenceMatrix {
  metric: InfluenceMetric;
  /** What it is, e.g. "attention rollout over all layers". */
  label: string;
  /** [T, T], row t = query. */
  w: Float32Array;
  /** Which k a row may draw on: causal (k ≤ t) or bidirectional (every k). */
  mask: MixingMask;
  /** Whether w's rows are shares summing to 1 (rollout; attention the model declares normalised). Always set here. */
  normalised?: boolean;
  /** Whether w may be negative (the mean attention of a family declared signed); rollout never is. */
  signed?: boolean;
}

/** The W(t, k) [T, T] for the metric, or the closest available one, with its label; null if the model has none. */
export function influenceMatrix(analysis: Analysis, wanted: InfluenceMetric, occlusion?: Float32Array): InfluenceMatrix | null {
  const T = analysis.tokens.length;
  const family = mainMixing(analysis);
  const retention = retentionData(analysis);
  if (wanted === 'occlusion' && occlusion) return { metric: 'occlusion', label: 'occlusion (KL divergence, bits)', w: occlusion, mask: looksAhead(analysis.structure) ? 'bidirectional' : 'causal', normalised: false };
  // A model with both a mixing family and a decay (a selective scan) gives retention when asked for it.
  if (wanted === 'retention' && retention) return retentionMatrix(retention);
  if (family && family.role === 'mixing' && family.query === analysis.structure.primary) {
    if (wanted !== 'attention' && T <= MAX_ROLLOUT_TOKENS) {
      const r = familyRollout(analysis, family);
      if (r) return { metric: 'rollout', label: rolloutLabel(family), w: r, mask: family.mask, normalised: true };
    }
    const { matrices, layer, ...spec } = meanAttentionOf(analysis, family);
    return { ...spec, w: meanOverHeads(matrices, layer) };
  }
  return retention ? retentionMatrix(retention) : null;
}

/**
 * Computes in slices (SliceOptions) what influenceMatrix would compute at once and could take long: the
 * family's full rollout up to MAX_ROLLOUT_TOKENS. influenceMatrix then finds it computed; it is the same
 * W. A cancelled computation rejects with LensError 'cancelled' and leaves nothing behind.
 */
export async function prepareInfluenceMatrix(analysis: Analysis, wanted: InfluenceMetric, options: SliceOptions, occlusion?: Float32Array): Promise<void> {
  if (wanted === 'occlusion' && occlusion) return;
  if (wanted === 'retention' && retentionData(analysis)) return;
  const family = mainMixing(analysis);
  if (wanted === 'attention' || analysis.tokens.length > MAX_ROLLOUT_TOKENS || !family || family.role !== 'mixing' || family.query !== analysis.structure.primary) return;
  await familyRolloutInSlices(analysis, family, options);
}

/**
 * What influenceMatrix gives as a family's mean attention (its last layer's mean over heads), but for W: the
 * matrices and the layer, for a caller that computes the mean in slices (meanOverHeadsInSlices).
 */
export function meanAttentionOf(analysis: Analysis, family: MixingFamily): Omit<InfluenceMatrix, 'w'> & { matrices: LayeredMatrices; layer: number } {
  const m = mixingMatrices(analysis, family);
  const signed = family.signed ? ' (signed)' : '';
  return { metric: 'attention', label: `mean ${family.label} over heads, layer ${m.layers}${signed}`, mask: family.mask, normalised: family.normalised, signed: family.signed, matrices: m, layer: m.layers - 1 };
}

/** What a family's rollout is called in hovers and legends. */
export function rolloutLabel(family: MixingFamily): string {
  return `${family.label} rollout over all layers${family.normalised ? '' : ' (rows normalised)'}`;
}

/**
 * The family whose rollout the wanted metric would give, when influenceMatrix gave mean attention instead
 * only because the analysis is longer than MAX_ROLLOUT_TOKENS; null otherwise (short enough, another
 * metric chosen or available, no self-mixing family of the primary sequence).
 */
export function rolloutOnDemand(analysis: Analysis, wanted: InfluenceMetric, occlusion?: Float32Array): MixingFamily | null {
  if (analysis.tokens.length <= MAX_ROLLOUT_TOKENS || wanted === 'attention') return null;
  if ((wanted === 'occlusion' && occlusion) || (wanted === 'retention' && retentionData(analysis))) return null;
  const family = mainMixing(analysis);
  return family && family.role === 'mixing' && family.query === analysis.structure.primary ? family : null;
}

/** The last layer's retention W(t, k), mean over units. */
function retentionMatrix(retention: RetentionData): InfluenceMatrix {
  const L = retention.tensor.dims[0];
  return { metric: 'retention', label: `${retention.label} retention, layer ${L}, mean over units`, w: meanRetention(retention.tensor, L - 1, retention.spec), mask: 'causal', normalised: false };
}
