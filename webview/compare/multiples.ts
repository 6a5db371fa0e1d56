// Why: the Compare view's small multiples: one W(t, k) picture per model, side by side on ONE colour scale
// (the largest of their 99.5th percentiles), so the RNNs' fading diagonals and the Transformer's long jumps
// are compared by eye. A causal W is drawn below its diagonal, a bidirectional one (an encoder's) in full,
// from its declared mask. Pointing reads a cell out; clicking (or Enter) opens that model in the panel.
// However many models are compared, each picture keeps a readable size: the row wraps.

import { h } from '../dom';
import { colourLegend } from '../views/axes';
import { onThemeChange } from '../views/colors';
import { canvasOf, fitCanvas, windowImage } from '../views/matrices';
import { type Matrix, matrixOf, poolMax } from '../views/matrixOf';
import { formatShare } from '../../src/core/compareSummary';

export interface MultipleEntry {
  modelId: string;
  name: string;
  /** What the matrix is, e.g. "attention rollout over all layers". */
  source: string;
  /** Row shares [T, T] (each row sums to 1), or null when the model has no W. */
  shares: Float32Array | null;
  /** Whether token t may draw on later tokens (the W's mask is bidirectional): drawn in full. */
  bidirectional: boolean;
  tokens: ReadonlyArray<{ text: string }>;
}

const GAP = 8;
/** Smallest side of one picture (CSS pixels): more models wrap onto more rows. */
const MIN_SIDE = 96;

export class SmallMultiples {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly readout: HTMLElement;
  private readonly legend = colourLegend('compare-legend');
  private entries: MultipleEntry[] = [];
  private matrices: Array<Matrix | null> = [];
  private colourMax = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(private readonly open: (modelId: string) => void) {
    this.grid = h('div', { class: 'multiples-grid' });
    this.readout = h('div', { class: 'chart-readout muted', 'data-testid': 'multiples-readout', 'aria-live': 'polite' }, 'Each row t shows where token t draws from (share of W(t, ·)). Click a matrix to open that model in the panel.');
    this.element = h('div', { class: 'multiples', 'data-testid': 'multiples' }, this.grid, h('div', { class: 'legend-row' }, this.legend.element), this.readout);
    const resize = new ResizeObserver(() => this.draw());
    resize.observe(this.element);
    this.cleanup.push(
      () => resize.disconnect(),
      onThemeChange(() => this.draw()),
    );
  }

  set(entries: MultipleEntry[]): void {
    this.entries = entries;
    this.matrices = entries.map((e) => (e.shares ? matrixOf(e.shares, e.tokens.length) : null));
    this.colourMax = Math.max(0, ...this.matrices.map((m) => m?.colourMax ?? 0));
    const shared = this.matrices.find((m) => m) ?? null;
    this.legend.update(shared ? { ...shared, colourMax: this.colourMax, max: Math.max(...this.matrices.map((m) => m?.max ?? 0)) } : null, true, 'share');
    this.grid.replaceChildren(
      ...entries.map((e, i) => {
        const canvas = h('canvas', {
          class: 'multiple-canvas',
          'data-testid': `multiple-${e.modelId}`,
          tabindex: '0',
          role: 'button',
          'aria-label': `${e.name}: ${e.source}. Open in the Attention Lens panel.`,
          title: `${e.name}: ${e.source}. Click to open in the panel.`,
        });
        canvas.addEventListener('click', () => this.open(e.modelId));
        canvas.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            this.open(e.modelId);
          }
        });
        canvas.addEventListener('pointermove', (ev) => this.point(i, canvas, ev));
        return h('figure', { class: 'multiple' }, canvas, h('figcaption', {}, h('strong', {}, e.name), h('span', { class: 'muted' }, e.shares ? ` ${e.source}` : ` ${e.source || 'has no W(t, k)'}`)));
      }),
    );
    this.draw();
  }

  dispose(): void {
    this.cleanup.splice(0).forEach((f) => f());
  }

  private side(): number {
    const n = Math.max(1, this.entries.length);
    const width = this.grid.clientWidth;
    const perRow = Math.max(1, Math.min(n, Math.floor((width + GAP) / (MIN_SIDE + GAP))));
    return Math.max(48, Math.floor((width - GAP * (perRow - 1)) / perRow) - 2); // minus the border
  }

  private point(i: number, canvas: HTMLCanvasElement, ev: PointerEvent): void {
    const e = this.entries[i];
    const m = this.matrices[i];
    if (!m) return;
    const T = m.size;
    const side = canvas.clientWidth;
    const t = Math.min(T - 1, Math.floor((ev.offsetY / side) * T));
    const k = Math.min(T - 1, Math.floor((ev.offsetX / side) * T));
    const value = `${e.name}: ${t} \`${e.tokens[t].text}\` ← ${k} \`${e.tokens[k].text}\`${k > t ? ' (later)' : ''}: ${formatShare(m.data[t * T + k])} of W(${t}, ·)`;
    this.readout.textContent = k > t && !e.bidirectional ? `${e.name}: token ${t} cannot draw on the later token ${k}.` : value;
  }

  private draw(): void {
    if (!this.grid.clientWidth) return;
    const side = this.side();
    const canvases = this.grid.querySelectorAll('canvas');
    this.matrices.forEach((m, i) => {
      const canvas = canvases[i] as HTMLCanvasElement | undefined;
      if (!canvas) return;
      if (canvas.parentElement) canvas.parentElement.style.width = `${side + 2}px`; // the caption wraps under the picture
      const ctx = fitCanvas(canvas, side, side);
      ctx.clearRect(0, 0, side, side);
      if (!m) return;
      const dpr = window.devicePixelRatio || 1;
      const factor = Math.max(1, Math.ceil(m.size / (side * dpr)));
      const causal = !this.entries[i].bidirectional;
      const pooled = factor > 1 ? poolMax(m, factor, causal) : m;
      const image = canvasOf(windowImage(pooled, 0, pooled.size, 0, pooled.size, { max: this.colourMax, sqrt: true }, causal));
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(image, 0, 0, side, side);
    });
  }
}
