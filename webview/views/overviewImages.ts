// Why: the heatmap redraws a whole matrix at every zoom and head switch; a max-pooled image of it per level,
// kept for the matrices recently shown and prepared ahead in short tasks for the ones likely next (the layer's
// other heads), makes a switch one drawImage. This cache owns those images, their byte budget and that work.

import type { PointerRest } from '../pointerRest';
import { aheadOfBackground } from '../yieldToUi';
import { canvasOf, windowImage } from './matrices';
import { type Matrix, poolMax, poolMaxSteps } from './matrixOf';

/**
 * Main-thread time one task of preparation takes steps for (a step may overrun it: the colour top of a matrix at
 * 2,048 tokens, or its pixels, is one step). Short: these tasks run while a person hovers the heatmap.
 */
const PREPARE_SLICE_MS = 4;
/** Rows of a matrix pooled per step of preparation (256 rows of 2,041 keys: about half a million weights read). */
const POOL_STEP_ROWS = 256;

/** A matrix to prepare ahead: got at once, or in steps (MatrixSource.headSteps). */
export interface PreparedMatrix {
  key: string;
  matrix(): Matrix | null;
  steps?(): Generator<void, Matrix | null>;
}

/** Overview images (a whole matrix max-pooled by 2^level) of recently used matrices, within a byte budget. */
export class OverviewImages {
  /** Oldest first. */
  /** Each image's matrix is held weakly: it only tells whether the image is still that matrix's. */
  private readonly images = new Map<string, { matrix: WeakRef<Matrix>; canvas: HTMLCanvasElement }>();

  /** Counts prepare() calls: the preparation of an earlier one, or of a disposed cache, stops at its next task. */
  private generation = 0;

  /**
   * rest: the pointer over the view. The preparation waits while it moves (REST_MS after each move): a person is
   * pointing at the view (a hover), and each move's frame should not wait for a task of it. Hovers right after the
   * first paint of 1,529 and 2,041 tokens took 25.4 and 36.0 ms to their frames with the preparation running beside
   * them, 22.6 and 25.9 ms before it existed, and 22.0–24.4 and 24.1–25.0 ms once it waits (medians of 12,
   * bench:vscode's scale section).
   */
  constructor(
    private readonly budgetBytes: number,
    private readonly rest: PointerRest,
  ) {}

  /**
   * Builds, one at a time in tasks ahead of the background ones (yieldToUi.ts aheadOfBackground), the images of
   * matrices likely to be asked for next (e.g. the layer's other heads), so that switching to one draws at once.
   * A new call replaces the pending work. Not in idle callbacks, nor at background priority: after a long input's
   * first paint the page is not idle for seconds (the rollout factors are prepared in background tasks), and the
   * heatmap's head switches at 1,529 tokens all missed (33–65 ms each; 9–37 ms at background priority;
   * bench:vscode's scale section).
   */
  prepare(items: PreparedMatrix[], level: number, sqrt: boolean, causal: boolean): void {
    const generation = ++this.generation;
    const queue = items.filter((item) => !this.images.has(item.key));
    let steps: Iterator<void> | undefined;
    const next = () => {
      if (generation !== this.generation) return;
      if (this.rest.remainingMs() > 0) {
        void this.rest.rested().then(next);
        return;
      }
      const until = performance.now() + PREPARE_SLICE_MS;
      do {
        if (!steps) {
          const item = queue.shift();
          if (!item) return;
          steps = this.build(item, level, sqrt, causal);
        }
        if (steps.next().done) steps = undefined;
      } while (performance.now() < until);
      aheadOfBackground(next);
    };
    if (queue.length) aheadOfBackground(next);
  }

  /**
   * One image built in steps: the matrix (in steps of its own where its source has them: MatrixSource.headSteps),
   * its pooling (POOL_STEP_ROWS rows a step), its pixels. At 2,044 tokens the three in one idle callback took 66 ms.
   */
  private *build(item: PreparedMatrix, level: number, sqrt: boolean, causal: boolean): Generator<void, void> {
    const matrix = item.steps ? yield* item.steps() : item.matrix();
    if (!matrix) return;
    yield;
    const pooled = level === 0 ? matrix : yield* poolMaxSteps(matrix, 2 ** level, causal, POOL_STEP_ROWS);
    yield;
    if (!this.images.has(item.key)) this.keep(item.key, matrix, this.image(pooled, matrix, sqrt, causal && level === 0));
  }

  dispose(): void {
    this.generation++;
    this.images.clear();
  }

  /** The image for key, built (and the oldest ones dropped past the budget) unless kept for this very matrix. */
  get(key: string, matrix: Matrix, level: number, sqrt: boolean, causal: boolean): HTMLCanvasElement {
    const hit = this.images.get(key);
    this.images.delete(key);
    if (hit?.matrix.deref() === matrix) {
      this.images.set(key, hit); // now the most recent
      return hit.canvas;
    }
    const m = level === 0 ? matrix : poolMax(matrix, 2 ** level, causal);
    return this.keep(key, matrix, this.image(m, matrix, sqrt, causal && level === 0));
  }

  /** The pixels of a (pooled) matrix on its full matrix's colour scale. */
  private image(m: Matrix, of: Matrix, sqrt: boolean, causal: boolean): HTMLCanvasElement {
    return canvasOf(windowImage(m, 0, m.size, 0, m.size, { max: of.colourMax, sqrt, signed: of.signed }, causal));
  }

  /** Keeps an image as the most recent, dropping the oldest ones past the budget. */
  private keep(key: string, matrix: Matrix, canvas: HTMLCanvasElement): HTMLCanvasElement {
    this.images.set(key, { matrix: new WeakRef(matrix), canvas });
    let bytes = 0;
    for (const { canvas: c } of this.images.values()) bytes += 4 * c.width * c.height;
    for (const [k, { canvas: c }] of this.images) {
      if (bytes <= this.budgetBytes || k === key) break;
      bytes -= 4 * c.width * c.height;
      this.images.delete(k);
    }
    return canvas;
  }
}
