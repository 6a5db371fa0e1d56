// Token influence summaries for the editor: from any W(t, k) matrix (attention rollout, mean attention,
// retention or occlusion), each token's top-k earlier influencers and the top-k later tokens it
// influences. These small lists are all that crosses from the webview to the host: never whole tensors.

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
  /** Earlier tokens that influence this one most, strongest first (the token itself excluded). */
  from: InfluenceLink[];
  /** Later tokens this one influences most, strongest first. */
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
  tokens: TokenInfluence[];
}

/** Keeps the k largest (weight, index) pairs in descending order. */
function pushTop(list: InfluenceLink[], k: number, index: number, weight: number): void {
  if (!(weight > 0) || (list.length === k && weight <= list[k - 1].weight)) return;
  let i = list.length < k ? list.length : k - 1;
  if (list.length < k) list.push({ index, weight });
  while (i > 0 && list[i - 1].weight < weight) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = { index, weight };
}

/** Top-k influencers (k < t) and influenced tokens (t > k) of every token, from W [T, T] (row t = query). */
export function topInfluences(w: Float32Array, T: number, topK: number): { from: InfluenceLink[][]; to: InfluenceLink[][] } {
  if (w.length !== T * T) throw new Error(`W has ${w.length} values; expected ${T}×${T}`);
  const from: InfluenceLink[][] = Array.from({ length: T }, () => []);
  const to: InfluenceLink[][] = Array.from({ length: T }, () => []);
  for (let t = 0; t < T; t++) {
    for (let k = 0; k < t; k++) {
      const weight = w[t * T + k];
      pushTop(from[t], topK, k, weight);
      pushTop(to[k], topK, t, weight);
    }
  }
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
