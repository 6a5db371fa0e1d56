// Why: a state or gate whose values lie in an interval by construction (tanh [−1, 1], sigmoid [0, 1]: the
// output's declared `range`) says little when its units sit at the bounds: a saturated unit carries little
// gradient and no nuance. The Gates and State tabs show, per token of the chosen layer, the share of units
// within 5% (of the interval's width) of a bound, and say it in words. Pure (no DOM), so it is unit-tested
// in Node; unitData.ts caches the series per matrix.

/** What saturation reads of a tokens × units matrix (a UnitMatrix, unitData.ts). */
export interface SaturationInput {
  T: number;
  H: number;
  /** data[t * H + u] */
  data: Float32Array;
  /** Short symbol for the values ("h", "f"). */
  symbol: string;
  /** The interval the values lie in; absent: no saturation. */
  range?: [number, number];
  /** Whether the manifest declared the range (else it was read from the values: a state within ±1). */
  rangeDeclared?: boolean;
}

/** A unit within this share of the range's width of a bound counts as saturated. */
export const SATURATION_MARGIN = 0.05;

/** The two thresholds: a value at or below the first, or at or above the second, is saturated. */
export function saturationThresholds(range: readonly [number, number]): [number, number] {
  const [lo, hi] = range;
  const margin = (hi - lo) * SATURATION_MARGIN;
  return [lo + margin, hi - margin];
}

/** Share of units at or past a threshold at each token; zeros without a range. */
export function saturationSeries(m: SaturationInput): Float32Array {
  const { T, H, data } = m;
  const out = new Float32Array(T);
  if (!m.range || H === 0) return out;
  // In float32, as the values are: a unit exactly at 0.9 counts.
  const [low, high] = saturationThresholds(m.range).map(Math.fround);
  for (let t = 0; t < T; t++) {
    let n = 0;
    for (let u = 0; u < H; u++) {
      const v = data[t * H + u];
      if (v <= low || v >= high) n++;
    }
    out[t] = n / H;
  }
  return out;
}

/** The test in words: "|h| ≥ 0.90" for a range symmetric around 0, else "f ≤ 0.05 or f ≥ 0.95". */
export function saturationRule(range: readonly [number, number], symbol: string): string {
  const [low, high] = saturationThresholds(range);
  const f = (v: number) => Number(v.toFixed(2)).toString();
  if (range[0] === -range[1]) return `|${symbol}| ≥ ${high.toFixed(2)}`;
  return `${symbol} ≤ ${f(low)} or ${symbol} ≥ ${f(high)}`;
}

/** Mean of a per-token series; NaN when empty. */
export function seriesMean(series: Float32Array): number {
  let sum = 0;
  for (const v of series) sum += v;
  return series.length ? sum / series.length : NaN;
}

/**
 * The saturation sentence under a panel: "38% of units saturated at this token (#4 “x”): |h| ≥ 0.90 in the
 * declared range [-1, 1]; 21% on average over the layer's 40 tokens." Without a token, the average and a
 * hint; "" without a range.
 */
export function saturationSentence(m: SaturationInput, share: Float32Array, t: number | null, tokenLabel: string): string {
  if (!m.range) return '';
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  const where = m.rangeDeclared ? `the declared range [${m.range[0]}, ${m.range[1]}]` : 'values that stay within ±1';
  const rule = `${saturationRule(m.range, m.symbol)}, within ${SATURATION_MARGIN * 100}% of a bound of ${where}`;
  const mean = `${pct(seriesMean(share))} on average over the layer's ${m.T} tokens`;
  if (t === null || t < 0 || t >= m.T) return `On average over the layer's ${m.T} tokens, ${pct(seriesMean(share))} of units are saturated (${rule}); hover or pin a token for its share.`;
  return `${pct(share[t])} of units saturated at this token (${tokenLabel}): ${rule}; ${mean}.`;
}
