// Why: rollout (O(L·T³)) and the mean over heads it starts from are the heaviest math a page does on its
// own thread once a run is done: at 506 tokens on the bundled Transformer the hovers' full rollout was one
// 325 ms task. The same math as analysis.ts, cut into slices of a few milliseconds between which the page
// draws and answers input; the caller says how to pause and whether to give up (a newer analysis).

import { type LayeredMatrices, denseProductRows, eachHead, lowerTriangularProductRows, toRolloutFactor, zeroAboveDiagonal } from './analysis';
import { foldRow } from './lowerTriangle';
import { type SliceOptions, TimeSlices } from './timeSlices';

/**
 * meanOverHeads (the same values) a head at a time, each head's rows in slices. Attention held as lower
 * triangles is added row by row in place (no head decoded: that alone was a 50 ms task at 2,048 tokens);
 * other matrices a head at a time.
 */
export async function meanOverHeadsInSlices(m: LayeredMatrices, layer: number, options: SliceOptions): Promise<Float32Array> {
  const slices = new TimeSlices(options);
  const size = m.rows * m.cols;
  const out = new Float32Array(size);
  const step = Math.max(1, m.cols);
  const triangle = m.triangle?.(layer);
  const head = triangle ? undefined : eachHead(m, layer); // eachHead holds a decoding buffer: only when needed
  for (let h = 0; h < m.heads && triangle; h++) {
    for (let t = 0; t < m.rows; t++) {
      foldRow(triangle, h, t, t + 1, out, t * m.cols);
      await slices.more();
    }
  }
  for (let h = 0; h < m.heads && head; h++) {
    const data = head(h);
    for (let start = 0; start < size; start += step) {
      const end = Math.min(size, start + step);
      for (let i = start; i < end; i++) out[i] += data[i];
      await slices.more();
    }
  }
  for (let start = 0; start < size; start += step) {
    const end = Math.min(size, start + step);
    for (let i = start; i < end; i++) out[i] /= m.heads;
    await slices.more();
  }
  return out;
}

/** What rolloutLayersInSlices keeps: every partial rollout (a layer-by-layer view) or only the last. */
export type KeptRollouts = 'every layer' | 'last';

/**
 * The partial rollouts R_l = Â_l · … · Â_1 of analysis.ts rolloutLayers (the same values), computed in
 * slices: each factor's mean over heads row by row, each product a row at a time. `causal` (every Â
 * lower-triangular) skips the zero upper triangle; otherwise the products are dense. With 'last' only R_L
 * is returned (two T² buffers alive instead of L). onProgress gets the share of the work done.
 */
export async function rolloutLayersInSlices(m: LayeredMatrices, causal: boolean, keep: KeptRollouts, options: SliceOptions & { onProgress?: (fraction: number) => void }): Promise<Float32Array[]> {
  if (m.rows !== m.cols) throw new Error(`rollout needs square attention; got ${m.rows}×${m.cols}`);
  const T = m.rows;
  const L = m.layers;
  const slices = new TimeSlices(options);
  const product = causal ? lowerTriangularProductRows : denseProductRows;
  const partials: Float32Array[] = [];
  let previous: Float32Array | undefined;
  for (let l = 0; l < L; l++) {
    const a = toRolloutFactor(await meanOverHeadsInSlices(m, l, options), T);
    await slices.pause();
    let result: Float32Array;
    if (!previous) {
      // A causal rollout is lower-triangular from the first factor on.
      if (causal) zeroAboveDiagonal(a, T);
      result = a;
    } else {
      result = new Float32Array(T * T);
      for (let i = 0; i < T; i++) {
        product(a, previous, T, result, i, i + 1);
        if (!slices.due()) continue;
        // A causal row i costs ~i²/2, so the work done grows like (i/T)³; a dense row costs T².
        options.onProgress?.((l - 1 + (causal ? ((i + 1) / T) ** 3 : (i + 1) / T)) / (L - 1));
        await slices.pause();
      }
    }
    if (keep === 'every layer') partials.push(result);
    previous = result;
  }
  return keep === 'every layer' ? partials : previous ? [previous] : [];
}
