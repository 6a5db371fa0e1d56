// Why: a heatmap shows whatever its feed serves. The Heatmap tab's feed serves the matrix of the lens's
// mixing family the toolbar picks (a head, an aggregate or the rollout through the chosen layer, which may
// still be computing), tells the heatmap what to write above it (and, for the rollout, below it: how far
// back the last token reaches) and passes on the rollout's progress (the W tab has its own feed, wFeed.ts).

import { receptiveField } from '../../src/core/analysis';
import { LensError } from '../../src/core/errors';
import type { HeadChoice, Lens } from './lens';
import type { MatrixSource } from './matrixSource';
import type { PreparedMatrix } from './overviewImages';
import type { Matrix } from './matrixOf';
import { formatCount } from '../../src/core/text';

/** What a heatmap shows: the current matrix (null while it is computed) and a note about it. */
export interface HeatmapFeed {
  /** Identity of the current matrix; the pictures are rebuilt when it changes. */
  key(): string;
  matrix(): Matrix | null;
  /** Whether zeros above the diagonal mean "no weight" (painted transparent). */
  causal(): boolean;
  /** The line above the plot: what the matrix is, or progress, or an error. */
  note(): { text: string; error?: boolean };
  /** A line under the plot (the rollout's receptive field), or null for none. */
  caption?(): string | null;
  /** Unit of the values for the legend ("bits"), if any. */
  unit?(): string;
  /** Extra tooltip text for a cell (after the value). */
  detail?(q: number, k: number): string;
  /** Calls back when any of the above may have changed; returns the unsubscriber. */
  onChange(listener: () => void): () => void;
  /** Matrices the user is likely to pick next (the other heads of the layer), prepared ahead in short tasks (overviewImages.ts). */
  neighbours?(): PreparedMatrix[];
}

/** The data-testids and accessible names of one heatmap instance. */
export interface HeatmapIds {
  canvas: string;
  tooltip: string;
  note: string;
  legend: string;
  roleDescription: string;
}

export const ATTENTION_HEATMAP: HeatmapIds = { canvas: 'heatmap', tooltip: 'heatmap-tooltip', note: 'heatmap-note', legend: 'heatmap-legend', roleDescription: 'attention heatmap' };

/** A set of change listeners. */
export class Listeners {
  private readonly set = new Set<() => void>();

  add(listener: () => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(): void {
    for (const listener of [...this.set]) listener();
  }
}

/** The message of an error that is not a cancellation; null for a cancellation. */
export function failure(err: unknown): string | null {
  if (err instanceof LensError && err.code === 'cancelled') return null;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts the (slow) rollout once, on demand, and remembers whether it runs or why it failed. It serves the
 * rollout through `layer()`; by default through the last layer (the whole rollout).
 */
export class RolloutLoader {
  /** Why the last attempt failed; null when it has not (a cancellation is not a failure). */
  error: string | null = null;
  private pending = false;

  constructor(
    private readonly source: () => MatrixSource | null,
    private readonly changed: () => void,
    private readonly layer: () => number = () => Number.POSITIVE_INFINITY,
  ) {}

  /** The rollout when ready; otherwise starts it (once) and calls changed() when it is ready or has failed. */
  get(): Matrix | null {
    const source = this.source();
    const m = source?.get('rollout', this.layer()) ?? null;
    if (source && !m && !this.pending && this.error === null) {
      this.pending = true; // set first: starting reports progress synchronously, which may call back here
      source.rollout().then(
        () => {
          this.pending = false;
          this.changed();
        },
        (err: unknown) => {
          this.pending = false;
          this.error = failure(err);
          if (this.error !== null) this.changed();
        },
      );
    }
    return m;
  }

  /** Forgets a failure so that the next get() tries again. */
  retry(): void {
    this.error = null;
  }
}

export class AttentionFeed implements HeatmapFeed {
  private readonly listeners = new Listeners();
  private readonly loader: RolloutLoader;
  private readonly cleanup: Array<() => void>;

  constructor(
    private readonly lens: Lens,
    private readonly source: MatrixSource,
  ) {
    this.loader = new RolloutLoader(() => source, () => this.listeners.emit(), () => lens.layer);
    this.cleanup = [
      lens.on('matrix', () => {
        this.loader.retry(); // picking the rollout again retries it
        this.listeners.emit();
      }),
      source.onRolloutProgress(() => this.rolloutProgress()),
    ];
  }

  key(): string {
    return `${this.lens.sequence}|${this.lens.slug()}`;
  }

  causal(): boolean {
    return this.lens.causal;
  }

  matrix(): Matrix | null {
    const { head, layer } = this.lens;
    if (head === 'rollout') return this.loader.get();
    if (head === 'mean' && this.source.meanNeedsPreparing(layer)) {
      // Computed in slices, then drawn: the note says so meanwhile.
      this.source.prepareMean(layer).then(() => this.listeners.emit(), () => undefined);
      return null;
    }
    return this.source.get(head, layer);
  }

  note(): { text: string; error?: boolean } {
    const lens = this.lens;
    if (lens.head === 'rollout' && !this.source.get('rollout', lens.layer)) {
      if (this.loader.error !== null) return { text: `The rollout failed: ${this.loader.error}`, error: true };
      const f = this.source.rolloutProgress;
      return {
        text: Number.isNaN(f) ? 'Computing the rollout…' : `Computing the rollout over ${lens.attention?.layers ?? lens.layers} layers (O(L·T³) for ${formatCount(lens.T)} tokens)… ${Math.round(f * 100)}%`,
      };
    }
    if (lens.head === 'mean' && this.source.meanNeedsPreparing(lens.layer)) {
      return { text: `Averaging ${lens.heads} heads over ${formatCount(lens.T)} tokens…` };
    }
    const layers = lens.attention?.layers ?? 0;
    if (lens.head !== 'rollout' && lens.layer >= layers) {
      return { text: `${capital(lens.family?.label ?? 'attention')} has ${layers} layer${layers === 1 ? '' : 's'}; layer ${lens.layer + 1} belongs to another output. Pick a layer up to ${layers}.` };
    }
    const d = lens.describeMatrix();
    const mask = lens.family?.mask === 'bidirectional' ? ' Every token sees every other (bidirectional).' : '';
    return { text: `${capital(d)}: row = query token, column = key token it attends to.${mask}` };
  }

  /**
   * For the rollout: how far back the last token's row reaches (receptiveField, global tokens aside) and,
   * for a windowed family, how far its window lets l layers reach ((window − 1) × l).
   */
  caption(): string | null {
    const { lens } = this;
    const family = lens.family;
    const m = lens.head === 'rollout' ? this.source.get('rollout', lens.layer) : null;
    if (!m || !family) return null;
    const T = m.size;
    const l = lens.rolloutLayer() + 1;
    const reach = receptiveField(m.data.subarray((T - 1) * T, T * T), T, { globalTokens: family.globalTokens });
    const step = family.mask === 'windowed' && family.window ? family.window - 1 : 0;
    const allows = step > 0 ? ` (the window allows ${l} × ${step} = ${l * step})` : '';
    return `Receptive field of the last token after layer ${l}: ${reach} token${reach === 1 ? '' : 's'} back${allows}`;
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  neighbours(): PreparedMatrix[] {
    const { lens, source } = this;
    if (lens.head === 'rollout') {
      // The rollout through the layers next to this one, for stepping through depth.
      const l = lens.rolloutLayer();
      return [l - 1, l + 1].filter((n) => n >= 0 && n === lens.rolloutLayer(n)).map((n) => ({ key: `${lens.sequence}|${lens.slug('rollout', n)}`, matrix: () => source.get('rollout', n) }));
    }
    // The nearest heads first, as many as the source keeps beside the one shown (a few at 2,048 tokens): preparing
    // more would evict the first ones before they are picked.
    const current = typeof lens.head === 'number' ? lens.head : -1;
    const others = [...Array(lens.heads).keys()].filter((h) => h !== current).sort((a, b) => Math.abs(a - current) - Math.abs(b - current) || a - b);
    const heads: HeadChoice[] = [...others.slice(0, source.headsKept() - (current >= 0 ? 1 : 0)), 'mean'];
    // A mean that would take a long task is computed in slices instead (it is drawn when picked, or once done).
    const matrix = (h: HeadChoice) => () => (h === 'mean' && source.meanNeedsPreparing(lens.layer) ? (void source.prepareMean(lens.layer), null) : source.get(h, lens.layer));
    return heads
      .filter((h) => h !== lens.head)
      .map((h) => ({ key: `${lens.sequence}|${lens.slug(h, lens.layer)}`, matrix: matrix(h), ...(typeof h === 'number' ? { steps: () => source.headSteps(h, lens.layer) } : {}) }));
  }

  /** The matrix source reports rollout progress. */
  rolloutProgress(): void {
    if (this.lens.head === 'rollout') this.listeners.emit();
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
  }
}

/** The text with its first letter in upper case. */
export function capital(text: string): string {
  return text ? `${text[0].toUpperCase()}${text.slice(1)}` : text;
}
