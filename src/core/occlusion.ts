// Occlusion influence, the same for every architecture: replace token k by a fixed replacement token and
// measure how much the next-token distribution changes at every later position t ≥ k, as the KL divergence
// KL(p_t ‖ p'_t) in bits. The perturbed sequences are batched into as few runs as memory allows.

import type { ModelRunner } from './engine';
import { LensError } from './errors';
import { outputByRole } from './manifest';

export interface OcclusionOptions {
  /** Token that replaces each occluded token (the bundled models use the single-space token). */
  replacementId: number;
  /** Upper bound on the bytes of one batch's outputs (default 256 MB). */
  maxBatchBytes?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of occluded positions done. */
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each batch, so a UI thread can paint and handle input between batches. */
  pause?: () => Promise<void>;
}

/** Per-position log-softmax of logits [T, V] (one sequence), for rows from `fromRow` on. */
function logSoftmaxRows(data: Float32Array, offset: number, T: number, V: number, fromRow = 0): Float32Array {
  const out = new Float32Array(T * V);
  for (let t = fromRow; t < T; t++) {
    const row = offset + t * V;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, data[row + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(data[row + v] - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[t * V + v] = data[row + v] - lse;
  }
  return out;
}

/** KL(p ‖ q) in bits from two log-probability rows. */
function klBits(logP: Float32Array, logQ: Float32Array, offset: number, V: number): number {
  let kl = 0;
  for (let v = 0; v < V; v++) {
    const lp = logP[offset + v];
    kl += Math.exp(lp) * (lp - logQ[offset + v]);
  }
  return Math.max(0, kl) / Math.LN2;
}

/**
 * Occlusion matrix O [T, T]: O[t, k] = KL(p_t ‖ p_t with token k replaced), zero above the diagonal.
 * Runs T perturbed copies of the sequence in batches; cancellable between batches.
 */
export async function occlusion(runner: ModelRunner, ids: readonly number[], options: OcclusionOptions): Promise<Float32Array> {
  const T = ids.length;
  const logitsSpec = outputByRole(runner.manifest, 'logits');
  if (!logitsSpec) throw new LensError('model-invalid', 'Occlusion needs a model with logits.');
  const baseline = await runner.run(ids);
  const V = baseline[logitsSpec.name].dims[baseline[logitsSpec.name].dims.length - 1];
  const logP = logSoftmaxRows(baseline[logitsSpec.name].data, 0, T, V);
  // Bytes of every output for one sequence, from the baseline run.
  const perSequence = Object.values(baseline).reduce((n, t) => n + t.data.byteLength, 0);
  const batchSize = Math.max(1, Math.min(T, Math.floor((options.maxBatchBytes ?? 256 * 2 ** 20) / perSequence)));
  const out = new Float32Array(T * T);
  for (let first = 0; first < T; first += batchSize) {
    await options.pause?.();
    if (options.signal?.aborted) throw new LensError('cancelled', 'Occlusion was cancelled.');
    const ks = Array.from({ length: Math.min(batchSize, T - first) }, (_, i) => first + i);
    const batch = ks.map((k) => ids.map((id, j) => (j === k ? options.replacementId : id)));
    const result = await runner.runBatch(batch);
    const logits = result[logitsSpec.name];
    const bAxis = logitsSpec.shape.indexOf('B');
    if (bAxis !== 0) throw new LensError('model-invalid', `Occlusion expects logits shaped [B, T, V], got [${logitsSpec.shape.join(', ')}].`);
    ks.forEach((k, b) => {
      const logQ = logSoftmaxRows(logits.data, b * T * V, T, V, k);
      for (let t = k; t < T; t++) out[t * T + k] = klBits(logP, logQ, t * V, V);
    });
    options.onProgress?.(first + ks.length, T);
  }
  return out;
}
