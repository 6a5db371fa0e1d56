// Why: the heatmap, the model view and the exports all need T×T mixing matrices of one family (one head,
// an aggregate over heads, or the rollout through a chosen layer). This module serves them with small caches,
// computes every layer's rollout once, and a view's first matrix before the view is built, in time slices so
// the panel stays responsive. No DOM: the unit tests run it on real analyses (matrices.ts draws the pictures).

import { headMatrix, maxOverHeads, meanOverHeads, rowNormalisedAbs } from '../../src/core/analysis';
import { meanOverHeadsInSlices, rolloutLayersInSlices } from '../../src/core/rolloutSlices';
import { finish, finishInSlices } from '../../src/core/timeSlices';
import { decodeRow, keptHeads } from '../../src/core/lowerTriangle';
import type { MixingFamily } from '../../src/core/modelStructure';
import { mixingMatrices } from '../../src/core/roleData';
import { inBackground, yieldToUi } from '../yieldToUi';
import { type HeadChoice, type Lens, isCausalMask } from './lens';
import { type Matrix, colourSampleOf, matrixOf, matrixOfInSlices, matrixOfSteps, poolMax, pooledTriangleHeadSteps } from './matrixOf';

/**
 * Tokens from which the mean over heads of attention held as lower triangles is computed in slices (prepareMean):
 * at 1,001 tokens of a 12-head model, the heatmap's first mean, its colour statistic and its first draw were
 * one 93 ms task (bench:profile --cold) when the mean was computed at once from 1,024.
 */
const SLICED_MEAN_FROM = 256;
/** Main-thread time per slice of that mean. */
const SLICE_MS = 8;
/**
 * Rows of a head decoded, then scanned, per step when prepared ahead (headSteps): 2,048 rows of 2,048 keys in 32
 * steps each. Preparation takes steps for a few ms a task (overviewImages.ts PREPARE_SLICE_MS): steps of 256 rows,
 * with the scan and the colour top in one, made a 52 ms idle callback (bench:profile --views).
 */
const HEAD_STEP_ROWS = 64;
/** Rows of a head pooled per step for a thumbnail (thumbnailSteps). */
const THUMB_STEP_ROWS = 256;

/**
 * Serves the matrices of one lens's current mixing family; aggregates and each family's rollouts (through
 * every layer) are computed once and kept. A layer the family does not have gives null (the views say
 * so), except for the rollout, where it gives the rollout through the family's last layer.
 */
export class MatrixSource {
  private readonly cache = new Map<string, Matrix>();
  /** Per family key: the rollout through each layer (R_1 … R_L), computing or done. */
  private readonly rollouts = new Map<string, Promise<Float32Array[]>>();
  private readonly partials = new Map<string, Float32Array[]>();
  private readonly abort = new AbortController();
  /** One head's decoded matrix at a time, for thumbnail(). */
  private scratch: Float32Array | undefined;
  /** The colour top's sample of a T × T matrix (colourSampleOf), the same for every thumbnail of a length. */
  private colourSample: { size: number; indices: Uint32Array } | undefined;
  /** Means over heads being computed in slices, by cache key. */
  private readonly pendingMeans = new Map<string, Promise<void>>();
  private readonly progress = new Set<() => void>();
  /** Progress of a running rollout, 0-1; NaN when none runs. */
  rolloutProgress = NaN;

  constructor(private readonly lens: Lens) {}

  /** Calls back whenever a rollout's progress changes or it finishes; returns the unsubscriber. */
  onRolloutProgress(listener: () => void): () => void {
    this.progress.add(listener);
    return () => this.progress.delete(listener);
  }

  private reportProgress(): void {
    for (const listener of [...this.progress]) listener();
  }

  /**
   * The matrix now, or null when the layer is missing or it is the rollout and that is not ready (then call
   * rollout()). The rollout at a layer is the rollout through it (past the family's last: through the last).
   */
  get(head: HeadChoice, layer: number): Matrix | null {
    const lens = this.lens;
    const attention = lens.attention;
    if (!attention || !lens.family) return null;
    if (head === 'rollout') return this.rolloutThrough(lens.family.key, layer);
    const T = lens.T;
    const key = `${lens.family.key}|${layer}:${head}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit); // the most recent
      return hit;
    }
    if (layer >= attention.layers) return null;
    let data: Float32Array;
    if (typeof head === 'number') {
      if (head >= attention.heads) return null;
      data = headMatrix(attention, layer, head); // one head: attention held as lower triangles decodes only it
    } else {
      data = head === 'mean' ? meanOverHeads(attention, layer) : maxOverHeads(attention, layer);
    }
    // The array that the next head decoded anew writes into, allocated after this matrix's frame (LayeredMatrices.prepareHead).
    if (attention.prepareHead) inBackground(() => this.abort.signal.aborted || attention.prepareHead?.());
    // Decoded from lower triangles (or their mean or maximum over heads): zeros above the diagonal.
    const matrix = matrixOf(data, T, lens.family.signed, !!attention.triangle?.(layer));
    this.remember(key, matrix);
    return matrix;
  }

  /**
   * get(head, layer) in steps, for work done ahead: a head held as lower triangles is decoded HEAD_STEP_ROWS rows
   * at a step, then its Matrix is made and kept (at 2,044 tokens, the decode and the colour scale in one idle
   * callback took 76 ms: bench:profile). Other matrices are got at once.
   */
  *headSteps(head: number, layer: number): Generator<void, Matrix | null> {
    const { attention, family, T } = this.lens;
    const rows = attention?.triangle?.(layer);
    if (!attention || !family || !rows || layer >= attention.layers || head >= attention.heads) return this.get(head, layer);
    const key = `${family.key}|${layer}:${head}`;
    if (this.cache.has(key)) return this.get(head, layer);
    const data = new Float32Array(T * T);
    for (let t = 0; t < T; t++) {
      decodeRow(rows, head, t, data, t * T);
      if ((t + 1) % HEAD_STEP_ROWS === 0) yield;
    }
    yield;
    const matrix = yield* matrixOfSteps(data, T, family.signed === true, HEAD_STEP_ROWS, true); // decoded from lower triangles
    if (this.cache.has(key)) return this.get(head, layer); // picked meanwhile, and decoded then
    this.remember(key, matrix);
    return matrix;
  }

  /**
   * A head's picture pooled by `factor` for an overview (the model view): from the cached matrix, or, for
   * attention held as lower triangles, read from the head's rows (another held in full is decoded into one
   * reused buffer), so that drawing every head keeps none of them (the pooled picture is small).
   */
  thumbnail(head: number, layer: number, factor: number, causal: boolean): Matrix | null {
    return finish(this.thumbnailSteps(head, layer, factor, causal));
  }

  /** thumbnail() in steps (THUMB_STEP_ROWS rows of a head held as lower triangles each), for a view that draws over several tasks. */
  *thumbnailSteps(head: number, layer: number, factor: number, causal: boolean): Generator<void, Matrix | null> {
    const lens = this.lens;
    const attention = lens.attention;
    if (!attention || !lens.family || layer >= attention.layers || head >= attention.heads) return null;
    const cached = this.cache.get(`${lens.family.key}|${layer}:${head}`);
    if (cached || !attention.head || factor <= 1) {
      const m = cached ?? this.get(head, layer);
      return m && (factor > 1 ? poolMax(m, factor, causal) : m);
    }
    const T = lens.T;
    const rows = causal && !lens.family.signed ? attention.triangle?.(layer) : undefined;
    if (rows) {
      if (this.colourSample?.size !== T) this.colourSample = { size: T, indices: colourSampleOf(T) };
      return yield* pooledTriangleHeadSteps(rows, head, T, factor, THUMB_STEP_ROWS, this.colourSample.indices);
    }
    if (this.scratch?.length !== T * T) this.scratch = new Float32Array(T * T);
    return poolMax(matrixOf(attention.head(layer, head, this.scratch), T, lens.family.signed), factor, causal);
  }

  /** The rollout through `layer` (clamped to the family's last) once computed; its Matrix is made on first use. */
  private rolloutThrough(familyKey: string, layer: number): Matrix | null {
    const partials = this.partials.get(familyKey);
    if (!partials?.length) return null;
    const l = Math.max(0, Math.min(partials.length - 1, layer));
    const key = `${familyKey}|rollout:${l}`;
    let matrix = this.cache.get(key);
    if (!matrix) this.cache.set(key, (matrix = matrixOf(partials[l], this.lens.T)));
    return matrix;
  }

  /**
   * Starts (once per family: every layer's rollout at once) and resolves with the current family's rollout
   * through `layer`; without one (a caller that wants the whole rollout), through the last layer.
   */
  rollout(layer = Number.POSITIVE_INFINITY): Promise<Matrix> {
    const family = this.lens.family;
    if (!family) return Promise.reject(new Error('This sequence has no self-attention to roll out.'));
    let p = this.rollouts.get(family.key);
    if (!p) {
      p = this.computeRollouts(family);
      this.rollouts.set(family.key, p);
      p.catch(() => this.rollouts.delete(family.key));
    }
    return p.then(() => this.rolloutThrough(family.key, layer)!);
  }

  private async computeRollouts(family: MixingFamily): Promise<Float32Array[]> {
    const lens = this.lens;
    let partials: Float32Array[];
    this.rolloutProgress = 0;
    this.reportProgress();
    try {
      await yieldToUi(); // after the first paint
      const attention = mixingMatrices(lens.analysis, family);
      // Unnormalised mixing is rolled out from row-normalised |W|, as the core rollout does.
      const input = family.normalised ? attention : rowNormalisedAbs(attention);
      // In slices at every length: at 506 tokens the bundled Transformer's rollout at once spent 260 ms in one task.
      partials = await rolloutLayersInSlices(input, isCausalMask(family), 'every layer', {
        pause: yieldToUi,
        sliceMs: SLICE_MS,
        cancelled: () => this.abort.signal.aborted,
        onProgress: (f) => {
          this.rolloutProgress = f;
          this.reportProgress();
        },
      });
    } finally {
      this.rolloutProgress = NaN;
    }
    if (!partials.length) throw new Error(`${family.label} has no layers to roll out.`);
    this.partials.set(family.key, partials);
    this.reportProgress();
    return partials;
  }

  /**
   * Keeps a few aggregates (each T² floats) and the head matrices last used: views into a layer of the attention
   * (two layers' worth), or, for attention held as lower triangles, the decoded copies the matrices keep
   * (lowerTriangle.ts keptHeads: a layer's worth up to 2,048 tokens for 12 heads, then fewer).
   */
  private remember(key: string, matrix: Matrix): void {
    this.cache.set(key, matrix);
    const keys = [...this.cache.keys()].filter((k) => !k.includes('|rollout:'));
    const heads = keys.filter((k) => /\|\d+:\d+$/.test(k));
    const aggregates = keys.filter((k) => !/\|\d+:\d+$/.test(k));
    if (aggregates.length > 6) this.cache.delete(aggregates[0]);
    const kept = this.headsKept();
    for (const k of heads.slice(0, Math.max(0, heads.length - kept))) this.cache.delete(k);
  }

  /**
   * Whether get('mean', layer) would fold every head of a long input in one task (a 60–150 ms task at 2,036
   * tokens for 12 heads held as lower triangles): then prepareMean() computes it in slices first.
   */
  meanNeedsPreparing(layer: number): boolean {
    const { attention, family, T } = this.lens;
    if (!attention?.triangle || !family || layer >= attention.layers || T < SLICED_MEAN_FROM) return false;
    return !this.isKept('mean', layer);
  }

  /** Whether get(head, layer) answers from what is kept, without computing (a head or an aggregate; the rollout aside). */
  isKept(head: HeadChoice, layer: number): boolean {
    const family = this.lens.family;
    return !!family && this.cache.has(`${family.key}|${layer}:${head}`);
  }

  /**
   * Computes get(head, layer) in slices and keeps it, so that a view built next finds it at once: the mean over
   * heads (prepareMean) or one head (headSteps); other choices are left to get(). On a cold panel, the mean of
   * 4 heads over 234 tokens and its colour scale were 33 ms of the 135 ms task that built and drew the heatmap.
   */
  async prepare(head: HeadChoice, layer: number): Promise<void> {
    const { attention, family } = this.lens;
    if (!attention || !family || layer >= attention.layers) return;
    if (head === 'mean') return this.prepareMean(layer);
    if (typeof head === 'number') await finishInSlices(this.headSteps(head, layer), { pause: yieldToUi, sliceMs: SLICE_MS, cancelled: () => this.abort.signal.aborted });
  }

  /** Computes the mean over heads of `layer` in slices (the same values as get()) and keeps it; once per layer at a time. */
  prepareMean(layer: number): Promise<void> {
    const { attention, family, T } = this.lens;
    if (!attention || !family) return Promise.resolve();
    if (this.isKept('mean', layer)) return Promise.resolve();
    const key = `${family.key}|${layer}:mean`;
    let pending = this.pendingMeans.get(key);
    if (!pending) {
      // Kept (and no longer pending) before anyone awaiting it runs: they find it in the cache.
      const slices = { pause: yieldToUi, sliceMs: SLICE_MS };
      pending = meanOverHeadsInSlices(attention, layer, slices).then(
        async (data) => {
          const matrix = await matrixOfInSlices(data, T, family.signed === true, slices, !!attention.triangle?.(layer)); // the mean of lower triangles: zeros above the diagonal
          this.pendingMeans.delete(key);
          if (!this.abort.signal.aborted) this.remember(key, matrix);
        },
        (err: unknown) => {
          this.pendingMeans.delete(key);
          throw err;
        },
      );
      this.pendingMeans.set(key, pending);
    }
    return pending;
  }

  /** How many head matrices stay cached: decoded copies (lower triangles), those the matrices keep; views into the attention cost nothing: two layers'. */
  headsKept(): number {
    const attention = this.lens.attention;
    return attention?.head ? keptHeads(attention.heads, attention.rows * attention.cols) : 2 * (attention?.heads ?? 1);
  }

  dispose(): void {
    this.abort.abort();
    this.cache.clear();
    this.scratch = undefined;
    this.partials.clear();
    this.progress.clear();
  }
}
