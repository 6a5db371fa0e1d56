// Why: the model view shows every head of every layer of the current mixing family at once as small
// pictures of its matrix (full for a bidirectional family, lower-triangular for a causal one), the
// quickest way to spot heads that look back one token, at brackets or at the first token. Thumbnails are
// max-pooled and built one per task after the tab opens, so they never delay the first paint. A signed
// family's pictures use the diverging scale centred on 0, each symmetric around its own largest |W|.

import { h } from '../dom';
import { theme } from './colors';
import type { Lens } from './lens';
import { canvasOf, fitCanvas, windowImage } from './matrices';
import type { MatrixSource } from './matrixSource';
import { finish } from '../../src/core/timeSlices';
import type { Matrix } from './matrixOf';

const THUMB = 84;
/** Main-thread time one task of thumbnail drawing may take. */
const SLICE_MS = 12;

export class ModelView {
  readonly element: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly note: HTMLElement;
  private thumbs: HTMLButtonElement[] = [];
  private canvases: HTMLCanvasElement[] = [];
  private built = false;
  private readonly drawn: boolean[] = [];
  private timer = 0;
  private focusIndex = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly source: MatrixSource,
    private readonly open: () => void,
  ) {
    this.grid = h('div', { class: 'model-grid', 'data-testid': 'model-view', role: 'grid' });
    this.grid.addEventListener('keydown', (e) => this.onKey(e));
    this.note = h('div', { class: 'muted view-note', 'data-testid': 'model-view-note' });
    this.element = h('div', { class: 'model-view' }, this.note, this.grid);
    this.describe();
    this.buildGrid();
    this.cleanup.push(
      lens.on('matrix', () => this.markCurrent()),
      lens.on('family', () => {
        this.describe();
        this.buildGrid();
        this.rebuild();
      }),
      lens.on('theme', () => this.rebuild()),
    );
  }

  /** What the pictures show, and on which colour scale. */
  private describe(): void {
    const scale = this.lens.family?.signed
      ? ' W is signed: each picture is on a diverging scale centred on 0 (blue negative, red positive), symmetric around its own largest |W|.'
      : '';
    this.note.textContent = `Every head of every layer (max-pooled when there are more tokens than pixels).${scale} Click one, or press Enter, to open it in the heatmap.`;
  }

  /** Layers and heads of the lens's current family. */
  private get shape(): { layers: number; heads: number } {
    return { layers: this.lens.attention?.layers ?? 0, heads: this.lens.attention?.heads ?? 0 };
  }

  private rebuild(): void {
    this.built = false;
    if (this.element.isConnected && this.element.clientWidth > 0) this.activate();
  }

  /** One thumbnail button per layer and head of the current family. */
  private buildGrid(): void {
    clearTimeout(this.timer);
    const { layers, heads } = this.shape;
    const grid = this.grid;
    grid.setAttribute('aria-label', `${layers} layers × ${heads} heads; arrow keys move, Enter opens a head in the heatmap`);
    grid.style.gridTemplateColumns = `max-content repeat(${heads}, ${THUMB + 8}px)`;
    this.thumbs = [];
    this.canvases = [];
    this.drawn.length = 0;
    this.focusIndex = 0;
    grid.replaceChildren(h('div', { role: 'row', class: 'grid-row' }, h('span', { role: 'columnheader' }), ...[...Array(heads).keys()].map((hd) => h('span', { role: 'columnheader', class: 'muted grid-label' }, `Head ${hd + 1}`))));
    for (let l = 0; l < layers; l++) {
      const cells: HTMLElement[] = [];
      for (let hd = 0; hd < heads; hd++) {
        const index = l * heads + hd;
        const canvas = h('canvas', { class: 'thumb-canvas', 'aria-hidden': 'true' });
        const button = h(
          'button',
          { class: 'thumb', 'data-testid': 'model-thumb', 'data-layer': String(l), 'data-head': String(hd), tabindex: index === 0 ? '0' : '-1', 'aria-label': `Layer ${l + 1}, head ${hd + 1}` },
          canvas,
        );
        button.addEventListener('click', () => this.choose(index));
        button.addEventListener('focus', () => (this.focusIndex = index));
        this.thumbs.push(button);
        this.canvases.push(canvas);
        cells.push(h('span', { role: 'gridcell' }, button));
      }
      grid.append(h('div', { role: 'row', class: 'grid-row' }, h('span', { role: 'rowheader', class: 'muted grid-label' }, `Layer ${l + 1}`), ...cells));
    }
    this.markCurrent();
  }

  private choose(index: number): void {
    const { heads } = this.shape;
    this.lens.setMatrix(Math.floor(index / heads), index % heads);
    this.open();
  }

  private onKey(e: KeyboardEvent): void {
    const { heads } = this.shape;
    const n = this.thumbs.length;
    if (!n) return;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -heads, ArrowDown: heads, Home: -n, End: n };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = Math.max(0, Math.min(n - 1, this.focusIndex + moves[e.key]));
    this.thumbs[this.focusIndex].tabIndex = -1;
    this.thumbs[next].tabIndex = 0;
    this.thumbs[next].focus();
    this.focusIndex = next;
  }

  private markCurrent(): void {
    const { layer, head } = this.lens;
    const { heads } = this.shape;
    this.thumbs.forEach((b, i) => {
      const current = typeof head === 'number' && i === layer * heads + head;
      b.classList.toggle('current', current);
      b.setAttribute('aria-selected', String(current));
    });
  }

  /**
   * Builds the thumbnails (once per theme) when the tab is shown, in tasks of about SLICE_MS: several small
   * thumbnails per task (one per task would wait a frame or a timer clamp between them: 144 took 5 s at 1,024
   * tokens), a large one over several tasks (thumbnailSteps).
   */
  activate(): void {
    if (this.built) return;
    this.built = true;
    this.drawn.fill(false);
    clearTimeout(this.timer);
    let index = 0;
    let steps: Generator<void, Matrix | null> | undefined;
    const step = () => {
      const until = performance.now() + SLICE_MS;
      while (index < this.thumbs.length && performance.now() < until) {
        if (this.drawn[index]) {
          index++;
          steps = undefined;
          continue;
        }
        steps ??= this.thumbnailSteps(index);
        const next = steps.next();
        if (!next.done) continue;
        this.paintThumb(index++, next.value);
        steps = undefined;
      }
      if (index < this.thumbs.length) this.timer = window.setTimeout(step, 0);
    };
    step();
  }

  /** Thumbnail `index`'s pooled picture, in steps. */
  private thumbnailSteps(index: number): Generator<void, Matrix | null> {
    const { heads } = this.shape;
    return this.source.thumbnailSteps(index % heads, Math.floor(index / heads), this.factor(), this.lens.causal);
  }

  /** Tokens per thumbnail pixel. */
  private factor(): number {
    return Math.max(1, Math.ceil(this.lens.T / (THUMB * (window.devicePixelRatio || 1))));
  }

  private drawThumb(index: number): void {
    if (!this.drawn[index]) this.paintThumb(index, finish(this.thumbnailSteps(index)));
  }

  private paintThumb(index: number, pooled: Matrix | null): void {
    this.drawn[index] = true;
    if (!pooled) return;
    const image = canvasOf(windowImage(pooled, 0, pooled.size, 0, pooled.size, { max: pooled.colourMax, sqrt: false, signed: pooled.signed }, this.lens.causal && this.factor() === 1));
    const ctx = fitCanvas(this.canvases[index], THUMB, THUMB);
    ctx.fillStyle = theme().background;
    ctx.fillRect(0, 0, THUMB, THUMB);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, THUMB, THUMB);
  }

  /** The grid as one picture, for the PNG export. */
  snapshot(): HTMLCanvasElement {
    const t = theme();
    const { layers, heads } = this.shape;
    const left = 64;
    const top = 24;
    const gap = 8;
    this.thumbs.forEach((_, i) => this.drawThumb(i));
    const canvas = document.createElement('canvas');
    const width = left + heads * (THUMB + gap);
    const height = top + layers * (THUMB + gap);
    const ctx = fitCanvas(canvas, width, height);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = t.foreground;
    ctx.font = `12px ${t.fontFamily}`;
    ctx.textBaseline = 'middle';
    for (let hd = 0; hd < heads; hd++) ctx.fillText(`Head ${hd + 1}`, left + hd * (THUMB + gap), top / 2);
    for (let l = 0; l < layers; l++) {
      ctx.fillText(`Layer ${l + 1}`, 4, top + l * (THUMB + gap) + THUMB / 2);
      for (let hd = 0; hd < heads; hd++) ctx.drawImage(this.canvases[l * heads + hd], left + hd * (THUMB + gap), top + l * (THUMB + gap), THUMB, THUMB);
    }
    return canvas;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.cleanup.forEach((f) => f());
  }
}
