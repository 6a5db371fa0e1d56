// Why: a T×T matrix heatmap (queries × keys): attention of one head, an aggregate or the rollout in the
// Heatmap tab, and any W(t, k) in the W tab; a feed says which matrix and what to note above it. Drawn on
// a canvas that only paints the visible region (an exact window when zoomed in, a max-pooled overview when
// zoomed out), so 2,048 tokens pan and zoom within a frame; hover, keyboard focus and labels are overlays;
// a feed's caption (the rollout's receptive field) goes under the plot.
// A signed matrix (a family declared signed) is drawn on the diverging scale centred on 0, the legend saying so.

import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { h, toolbarButton } from '../dom';
import { colourLegend, drawMatrixAxes } from './axes';
import { theme } from './colors';
import { ATTENTION_HEATMAP, type HeatmapFeed, type HeatmapIds } from './feeds';
import type { Lens } from './lens';
import { canvasOf, fitCanvas, windowImage } from './matrices';
import { OverviewImages } from './overviewImages';
import { PointerRest } from '../pointerRest';
import { type Matrix } from './matrixOf';
import { PanDrag, pointIn } from './panDrag';

const LEFT = 100;
const TOP = 84;
const PAD = 8;
const MAX_CELL = 64;
/** Largest visible window (cells) painted exactly each time the view moves. */
const EXACT_WINDOW = 600_000;

export class Heatmap {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private readonly note: HTMLElement;
  private readonly caption: HTMLElement;
  private readonly live: HTMLElement;
  private readonly legend: ReturnType<typeof colourLegend>;
  private matrix: Matrix | null = null;
  private matrixKey = '';
  /** The pointer over the canvas: the pictures prepared ahead wait while it moves (its frames come first). */
  private readonly rest: PointerRest;
  /** Overview images of recently shown matrices: switching back to a head is instant. */
  private readonly levels: OverviewImages;
  /** The image key whose neighbours were last queued for preparation. */
  private prepared = '';
  private exact: { key: string; canvas: HTMLCanvasElement } | null = null;
  private sqrt = false;
  private scale = 1;
  private fitScale = 1;
  private ox = 0;
  private oy = 0;
  private cssW = 0;
  private plot = 0;
  private focus = { q: 0, k: 0, shown: false };
  private readonly pan = new PanDrag(
    () => ({ ox: this.ox, oy: this.oy, pxPerX: this.scale, pxPerY: this.scale }),
    (ox, oy) => ((this.ox = ox), (this.oy = oy), this.clamp(), this.schedule()),
  );
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];

  private causal = false;

  constructor(
    private readonly lens: Lens,
    private readonly feed: HeatmapFeed,
    ids: HeatmapIds = ATTENTION_HEATMAP,
  ) {
    const name = `${ids.roleDescription[0].toUpperCase()}${ids.roleDescription.slice(1)}`;
    this.canvas = h('canvas', {
      class: 'heatmap-canvas',
      'data-testid': ids.canvas,
      tabindex: '0',
      role: 'application',
      'aria-roledescription': ids.roleDescription,
      'aria-label': `${name}, queries down and keys across. Arrow keys move the focused cell, plus and minus zoom, 0 fits, Enter pins the query token.`,
    });
    this.rest = new PointerRest(this.canvas);
    this.levels = new OverviewImages(48 * 2 ** 20, this.rest);
    this.legend = colourLegend(ids.legend);
    this.tooltip = h('div', { class: 'tooltip', 'data-testid': ids.tooltip, hidden: '' });
    this.note = h('div', { class: 'muted view-note', 'data-testid': ids.note });
    this.caption = h('div', { class: 'muted view-note', 'data-testid': `${ids.canvas}-caption`, 'aria-live': 'polite', hidden: '' });
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    const sqrt = h('vscode-checkbox', { label: '√ scale', title: 'Colour by the square root of the weight, which lifts small weights' });
    sqrt.addEventListener('change', () => {
      this.sqrt = (sqrt as HTMLElement & { checked: boolean }).checked;
      this.invalidateImages();
      this.legend.update(this.matrix, this.sqrt, this.feed.unit?.());
      this.schedule();
    });
    this.element = h(
      'div',
      { class: 'heatmap' },
      h(
        'div',
        { class: 'view-toolbar' },
        toolbarButton('−', 'Zoom out', () => this.zoomBy(1 / 1.5)),
        toolbarButton('+', 'Zoom in', () => this.zoomBy(1.5)),
        toolbarButton('Fit', 'Fit the whole matrix', () => this.fit()),
        sqrt,
        this.legend.element,
      ),
      this.note,
      h('div', { class: 'canvas-wrap' }, this.canvas, this.tooltip),
      this.caption,
      this.live,
    );
    this.listen();
    this.cleanup.push(
      lens.on('hover', () => this.schedule()),
      lens.on('select', () => {
        const q = this.lens.selected;
        const span = this.plot / this.scale;
        if (q !== null && (q < this.oy || q + 1 > this.oy + span)) {
          this.oy = q - span / 2;
          this.clamp();
        }
        this.schedule();
      }),
      feed.onChange(() => (feed.key() !== this.matrixKey || feed.matrix() !== this.matrix ? this.load() : this.showNote())),
      lens.on('theme', () => this.schedule()),
    );
    // Resize observations arrive after layout and before paint: drawing then shows the heatmap in this
    // frame (the first one after the view is attached), not the next.
    const observer = new ResizeObserver(() => {
      this.layout();
      this.drawNow();
    });
    observer.observe(this.element);
    this.cleanup.push(() => observer.disconnect());
    this.load();
  }

  /** Picks up the feed's current matrix (which may still be computing). */
  private load(): void {
    this.matrix = this.feed.matrix();
    this.matrixKey = this.feed.key();
    this.causal = this.feed.causal();
    this.invalidateImages();
    this.showNote();
    this.legend.update(this.matrix, this.sqrt, this.feed.unit?.());
    this.schedule();
  }

  private showNote(): void {
    const note = this.feed.note();
    this.note.className = note.error ? 'error view-note' : 'muted view-note';
    if (note.error) this.note.setAttribute('role', 'alert');
    else this.note.removeAttribute('role');
    this.note.textContent = note.text;
    const caption = this.feed.caption?.() ?? null;
    this.caption.hidden = caption === null;
    this.caption.textContent = caption ?? '';
  }

  /** The visible window is repainted; cached overviews are keyed by matrix, so they stay valid. */
  private invalidateImages(): void {
    this.exact = null;
  }

  /** Called when the tab becomes visible (a hidden canvas has no size). */
  activate(): void {
    this.layout();
  }

  private layout(): void {
    const width = this.element.clientWidth;
    if (width === 0) return;
    const T = this.lens.T;
    const plotW = Math.max(120, width - LEFT - PAD);
    const plotH = Math.max(160, Math.floor(window.innerHeight * 0.7) - TOP);
    const oldFit = this.fitScale;
    this.fitScale = Math.min(MAX_CELL / 2, Math.min(plotW, plotH) / T);
    this.plot = Math.min(Math.min(plotW, plotH), T * this.fitScale);
    this.cssW = Math.min(width, LEFT + this.plot + PAD);
    if (this.cssW > 0 && (this.scale === oldFit || this.scale < this.fitScale)) this.scale = this.fitScale;
    this.clamp();
    this.schedule();
  }

  private clamp(): void {
    const span = this.plot / this.scale;
    this.ox = Math.max(0, Math.min(this.lens.T - span, this.ox));
    this.oy = Math.max(0, Math.min(this.lens.T - span, this.oy));
  }

  private zoomBy(factor: number, cx = LEFT + this.plot / 2, cy = TOP + this.plot / 2): void {
    const next = Math.max(this.fitScale, Math.min(MAX_CELL, this.scale * factor));
    const ax = this.ox + (cx - LEFT) / this.scale;
    const ay = this.oy + (cy - TOP) / this.scale;
    this.scale = next;
    this.ox = ax - (cx - LEFT) / next;
    this.oy = ay - (cy - TOP) / next;
    this.clamp();
    this.schedule();
  }

  private fit(): void {
    this.scale = this.fitScale;
    this.ox = this.oy = 0;
    this.schedule();
  }

  /** Pans so that cell (q, k) is visible. */
  private reveal(q: number, k: number): void {
    const span = this.plot / this.scale;
    if (q < this.oy || q + 1 > this.oy + span) this.oy = q - span / 2;
    if (k < this.ox || k + 1 > this.ox + span) this.ox = k - span / 2;
    this.clamp();
  }

  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  /** Draws at once (dropping a scheduled draw). */
  private drawNow(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.draw();
  }

  /** Cell under a canvas point, or null outside the plot. */
  private cellAt(x: number, y: number): { q: number; k: number } | null {
    if (x < LEFT || y < TOP || x >= LEFT + this.plot || y >= TOP + this.plot) return null;
    const q = Math.floor(this.oy + (y - TOP) / this.scale);
    const k = Math.floor(this.ox + (x - LEFT) / this.scale);
    return q >= 0 && k >= 0 && q < this.lens.T && k < this.lens.T ? { q, k } : null;
  }

  private valueAt(q: number, k: number): number {
    return this.matrix ? this.matrix.data[q * this.matrix.size + k] : NaN;
  }

  private describe(q: number, k: number): string {
    const v = this.valueAt(q, k);
    const detail = this.feed.detail?.(q, k);
    return `${this.lens.label(q)} → ${this.lens.label(k)}: ${Number.isNaN(v) ? '…' : v.toFixed(4)}${detail ? ` ${detail}` : ''}`;
  }

  private listen(): void {
    const c = this.canvas;
    c.addEventListener('mousemove', (e) => {
      if (this.pan.move(e)) return;
      const p = pointIn(c, e);
      const cell = this.cellAt(p.x, p.y);
      this.focus.shown = false;
      if (!cell) {
        this.tooltip.hidden = true;
        this.lens.setHover(null);
        return;
      }
      this.lens.setHover(cell.q, cell.k);
      this.tooltip.textContent = this.describe(cell.q, cell.k);
      this.tooltip.hidden = false;
      const left = Math.min(p.x + 14, c.clientWidth - this.tooltip.offsetWidth - 4);
      this.tooltip.style.left = `${Math.max(0, left)}px`;
      this.tooltip.style.top = `${p.y + 18}px`;
    });
    c.addEventListener('mouseleave', () => {
      this.tooltip.hidden = true;
      this.pan.release(); // leaving the canvas ends a drag
      c.classList.remove('dragging');
      this.lens.setHover(null);
    });
    c.addEventListener('mousedown', (e) => {
      if (this.pan.press(e)) c.classList.add('dragging');
    });
    const onMouseUp = (e: MouseEvent) => {
      const ended = this.pan.release();
      if (!ended) return;
      c.classList.remove('dragging');
      if (ended === 'pan' || e.target !== c) return;
      const p = pointIn(c, e);
      const cell = this.cellAt(p.x, p.y);
      if (cell) this.lens.select(cell.q);
    };
    window.addEventListener('mouseup', onMouseUp);
    this.cleanup.push(() => window.removeEventListener('mouseup', onMouseUp));
    c.addEventListener('dblclick', () => this.fit());
    c.addEventListener(
      'wheel',
      (e) => {
        if (e.deltaY > 0 && this.scale <= this.fitScale) return; // fully zoomed out: let the page scroll
        e.preventDefault();
        const p = pointIn(c, e);
        this.zoomBy(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
      },
      { passive: false },
    );
    c.addEventListener('focus', () => this.moveFocus(0, 0));
    c.addEventListener('blur', () => {
      this.focus.shown = false;
      this.schedule();
    });
    c.addEventListener('keydown', (e) => this.onKey(e));
  }

  private onKey(e: KeyboardEvent): void {
    const step = e.shiftKey ? 10 : 1;
    const moves: Record<string, [number, number]> = {
      ArrowUp: [-step, 0],
      ArrowDown: [step, 0],
      ArrowLeft: [0, -step],
      ArrowRight: [0, step],
      PageUp: [-20, 0],
      PageDown: [20, 0],
    };
    if (moves[e.key]) this.moveFocus(...moves[e.key]);
    else if (e.key === 'Home') this.moveFocus(0, -this.lens.T);
    else if (e.key === 'End') this.moveFocus(0, this.lens.T);
    else if (e.key === '+' || e.key === '=') this.zoomBy(1.5);
    else if (e.key === '-') this.zoomBy(1 / 1.5);
    else if (e.key === '0') this.fit();
    else if (e.key === 'Enter' || e.key === ' ') this.lens.select(this.focus.q);
    else return;
    e.preventDefault();
  }

  private moveFocus(dq: number, dk: number): void {
    const T = this.lens.T;
    const q = Math.max(0, Math.min(T - 1, this.focus.q + dq));
    const k = Math.max(0, Math.min(T - 1, this.focus.k + dk));
    this.focus = { q, k, shown: true };
    this.reveal(q, k);
    this.lens.setHover(q, k);
    this.live.textContent = this.describe(q, k);
    this.schedule();
  }

  /** Canvas of the whole matrix max-pooled by 2^level (level 0: exact), kept for recently shown matrices. */
  private levelCanvas(level: number): HTMLCanvasElement {
    const suffix = `|${this.sqrt}|${level}`;
    const key = this.matrixKey + suffix;
    if (key !== this.prepared) {
      // Once per matrix shown (draws follow every pointer move): the layer's other heads, in short tasks ahead of the background ones.
      this.prepared = key;
      this.levels.prepare((this.feed.neighbours?.() ?? []).map((n) => ({ ...n, key: n.key + suffix })), level, this.sqrt, this.causal);
    }
    return this.levels.get(key, this.matrix!, level, this.sqrt, this.causal);
  }

  private draw(): void {
    if (this.cssW === 0 || this.element.clientWidth === 0) return;
    const t = theme();
    const T = this.lens.T;
    const cssH = TOP + this.plot + PAD;
    const ctx = fitCanvas(this.canvas, this.cssW, cssH);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, this.cssW, cssH);
    const s = this.scale;
    const span = this.plot / s;
    const c0 = Math.max(0, Math.floor(this.ox));
    const c1 = Math.min(T, Math.ceil(this.ox + span));
    const r0 = Math.max(0, Math.floor(this.oy));
    const r1 = Math.min(T, Math.ceil(this.oy + span));
    const x = (k: number) => LEFT + (k - this.ox) * s;
    const y = (q: number) => TOP + (q - this.oy) * s;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, TOP, this.plot, this.plot);
    ctx.clip();
    ctx.strokeStyle = t.border;
    ctx.strokeRect(LEFT + 0.5, TOP + 0.5, this.plot - 1, this.plot - 1);
    if (this.matrix) {
      ctx.imageSmoothingEnabled = false;
      const dpr = window.devicePixelRatio || 1;
      if ((c1 - c0) * (r1 - r0) <= EXACT_WINDOW && s * dpr >= 1) {
        const key = `${this.matrixKey}|${this.sqrt}|${r0},${r1},${c0},${c1}`;
        if (this.exact?.key !== key) {
          const img = windowImage(this.matrix, r0, r1, c0, c1, { max: this.matrix.colourMax, sqrt: this.sqrt, signed: this.matrix.signed }, this.causal);
          this.exact = { key, canvas: canvasOf(img) };
        }
        ctx.drawImage(this.exact.canvas, x(c0), y(r0), (c1 - c0) * s, (r1 - r0) * s);
      } else {
        const level = Math.max(T > 4096 ? 1 : 0, Math.ceil(Math.log2(1 / (s * dpr))));
        const f = 2 ** level;
        const src = this.levelCanvas(level);
        const sx = c0 / f;
        const sy = r0 / f;
        const sw = Math.min(src.width - sx, (c1 - c0) / f);
        const sh = Math.min(src.height - sy, (r1 - r0) / f);
        ctx.drawImage(src, sx, sy, sw, sh, x(c0), y(r0), sw * f * s, sh * f * s);
      }
    }
    const active = this.lens.active;
    const key = this.lens.hover.key;
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = t.focus;
    if (active !== null) ctx.strokeRect(LEFT, y(active), this.plot, Math.max(1, s));
    if (key !== null) ctx.strokeRect(x(key), TOP, Math.max(1, s), this.plot);
    if (this.focus.shown) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = t.foreground;
      ctx.strokeRect(x(this.focus.k) - 1, y(this.focus.q) - 1, Math.max(2, s) + 2, Math.max(2, s) + 2);
    }
    ctx.restore();
    drawMatrixAxes(ctx, { lens: this.lens, scale: s, r0, r1, c0, c1, x, y, left: LEFT, top: TOP });
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.levels.dispose();
    this.rest.dispose();
    this.cleanup.forEach((f) => f());
  }
}
