// Why: the logit lens shows in which layer a prediction forms: every hidden state of the selection read out
// through the model's final norm and unembedding (logitLens.ts, weights from the manifest's `readout`), as a
// token × layer grid whose cells hold the top prediction at that layer, coloured by the probability of the
// model's final prediction (or of the actual next token) and outlined where that token is on top, so the
// layer where it "appears" shows at a glance; hovering or clicking a cell lists the top 5. Columns are
// computed after the tab opens, the visible ones first, in ~12 ms slices, never on the first paint's path.

import type { Analysis } from '../../src/core/analyze';
import type { Tensor } from '../../src/core/analysis';
import { type LensCell, lensColumn, lensTargets } from '../../src/core/logitLens';
import { hiddenStateData, layerCount } from '../../src/core/roleData';
import { type SelectElement, h, replace, select } from '../dom';
import type { ModelProbes } from '../probes';
import { fitText } from './axes';
import { theme, viridis, viridisCss } from './colors';
import type { Lens } from './lens';
import { fitCanvas } from './matrices';
import { formatCount } from '../../src/core/text';

const COL = 78;
const ROW = 22;
const LEFT = 118;
const SLICE_MS = 12;
type Cell = { t: number; row: number };

export class LogitLensView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly scroller: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly note: HTMLElement;
  private readonly live: HTMLElement;
  private readonly colour: SelectElement;
  private readonly hidden: Tensor | undefined;
  /** Per token, one cell per hidden state (index = layer), once computed. */
  private readonly columns: Array<LensCell[] | undefined>;
  private readonly finalIds: Array<number | null>;
  private readonly targetIds: Array<number | null>;
  private readonly labels: string[];
  private computed = 0;
  private cursor = 0;
  private failure: string | null = null;
  private hover: Cell | null = null;
  private pinned: Cell | null = null;
  private focus: Cell = { t: 0, row: 1 };
  private active = false;
  private timer = 0;
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly probes: ModelProbes | undefined,
  ) {
    const a = lens.analysis;
    this.hidden = hiddenStateData(a);
    const L = this.hidden?.dims[0] ?? 0;
    this.columns = new Array(lens.T);
    const next = a.structure.predictsNext;
    ({ finalIds: this.finalIds, targetIds: this.targetIds } = lensTargets(lens.tokens, a.predictions.map((p) => p[0]?.id), next));
    // The residual stream usually holds the embeddings and then one state per layer.
    this.labels = Array.from({ length: L }, (_, l) => (L === layerCount(a) + 1 ? (l === 0 ? 'embeddings' : `layer ${l}`) : `hidden state ${l}`));
    this.colour = select('logit-lens-colour', 'What colours the cells', [['final', "Colour: probability of the model's final prediction"], ['target', `Colour: probability of the actual ${next ? 'next token' : 'token'}`]], 'final');
    this.colour.addEventListener('change', () => this.schedule());
    this.canvas = h('canvas', {
      class: 'heatmap-canvas',
      'data-testid': 'logit-lens',
      tabindex: '0',
      role: 'application',
      'aria-roledescription': 'logit lens',
      'aria-label': 'Logit lens: tokens across, layers up. Arrow keys move the focused cell, Enter pins its top predictions, Escape unpins.',
    });
    Object.assign(this.canvas.style, { position: 'sticky', left: '0' });
    const spacer = h('div', {});
    Object.assign(spacer.style, { width: `${LEFT + lens.T * COL}px`, height: '1px' });
    this.scroller = h('div', { 'data-testid': 'logit-lens-scroll' }, this.canvas, spacer);
    this.scroller.style.overflowX = 'auto';
    this.tooltip = h('div', { class: 'tooltip', 'data-testid': 'logit-lens-tooltip', hidden: '' });
    this.note = h('div', { class: 'muted view-note', 'data-testid': 'logit-lens-note', 'aria-live': 'polite' });
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    const gradient = h('span', { class: 'legend-gradient' });
    gradient.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(viridisCss).join(', ')})`;
    const intro = 'What the model would predict if it stopped after each layer: its final norm and unembedding applied to every hidden state (the logit lens). Each cell is the top prediction at that layer; a cell is outlined where it is the token the colour follows.';
    this.element = h(
      'div',
      { class: 'logit-lens-view' },
      h('div', { class: 'muted view-note' }, intro),
      h('div', { class: 'view-toolbar' }, this.colour, h('span', { class: 'legend-wrap' }, '0', gradient, '1')),
      this.note,
      h('div', { class: 'canvas-wrap' }, this.scroller, this.tooltip),
      this.live,
    );
    this.listen();
    this.cleanup.push(
      lens.on('hover', () => this.schedule()),
      lens.on('select', () => {
        if (lens.selected !== null) this.reveal(lens.selected);
        this.schedule();
      }),
      lens.on('theme', () => this.schedule()),
    );
    const observer = new ResizeObserver(() => this.schedule());
    observer.observe(this.scroller);
    this.cleanup.push(() => observer.disconnect());
  }

  private get colourBy(): 'final' | 'target' {
    return this.colour.value === 'target' ? 'target' : 'final';
  }

  /** Rows top to bottom: the model's output, the hidden states from the last to the first, the tokens. */
  private get rowCount(): number {
    return this.labels.length + 2;
  }

  private layerOf(row: number): number {
    return this.labels.length - row;
  }

  private listen(): void {
    const at = (e: MouseEvent): Cell | null => {
      const r = this.canvas.getBoundingClientRect();
      const x = e.clientX - r.left;
      const row = Math.floor((e.clientY - r.top) / ROW);
      const t = Math.floor((x - LEFT + this.scroller.scrollLeft) / COL);
      return x >= LEFT && t >= 0 && t < this.lens.T && row >= 0 && row < this.rowCount ? { t, row } : null;
    };
    this.scroller.addEventListener('scroll', () => {
      this.showTooltip(this.pinned ?? this.hover); // it follows its cell
      this.schedule();
    });
    this.canvas.addEventListener('mousemove', (e) => {
      this.hover = at(e);
      this.lens.setHover(this.hover?.t ?? null);
      if (!this.pinned) this.showTooltip(this.hover);
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.lens.setHover(null);
      if (!this.pinned) this.showTooltip(null);
    });
    this.canvas.addEventListener('click', (e) => this.pin(at(e)));
    this.canvas.addEventListener('keydown', (e) => {
      const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      if (e.key === 'Escape') this.pin(null);
      else if (e.key === 'Enter') this.pin(this.focus);
      else if (moves[e.key]) {
        const [dt, dr] = moves[e.key];
        this.focus = { t: Math.max(0, Math.min(this.lens.T - 1, this.focus.t + dt)), row: Math.max(0, Math.min(this.rowCount - 2, this.focus.row + dr)) };
        this.reveal(this.focus.t);
        this.live.textContent = this.describe(this.focus);
        if (this.pinned) this.pin(this.focus);
      } else return;
      e.preventDefault();
      this.schedule();
    });
  }

  /** Pins a cell's top predictions (the same cell again, or none, unpins) and selects its token. */
  private pin(cell: Cell | null): void {
    const same = cell && this.pinned && cell.t === this.pinned.t && cell.row === this.pinned.row;
    this.pinned = same ? null : cell;
    this.showTooltip(this.pinned ?? this.hover);
    if (this.pinned) this.lens.select(this.pinned.t);
  }

  /** Scrolls a token's column into view. */
  private reveal(t: number): void {
    const x = t * COL;
    const width = this.scroller.clientWidth - LEFT;
    if (x < this.scroller.scrollLeft) this.scroller.scrollLeft = x;
    else if (x + COL > this.scroller.scrollLeft + width) this.scroller.scrollLeft = x + COL - width;
  }

  private tokenLabel(t: number): string {
    return this.lens.label(t);
  }

  /** One line for a screen reader: where the cell is and what it predicts. */
  private describe(c: Cell): string {
    const cell = this.columns[c.t]?.[this.layerOf(c.row)];
    const where = `${c.row === 0 ? 'model output' : this.labels[this.layerOf(c.row)]}, token ${this.tokenLabel(c.t)}`;
    if (c.row === 0) return `${where}: “${this.lens.analysis.predictions[c.t]?.[0]?.text ?? ''}”`;
    if (!cell) return `${where}: not computed yet`;
    return `${where}: top “${this.display(cell.top[0].id)}” ${(cell.top[0].probability * 100).toFixed(1)}%${cell.final ? `, final prediction at rank ${cell.final.rank}` : ''}`;
  }

  private display(id: number): string {
    return this.probes?.display(id) ?? `#${id}`;
  }

  private showTooltip(c: Cell | null): void {
    const cell = c && c.row > 0 && c.row < this.rowCount - 1 ? this.columns[c.t]?.[this.layerOf(c.row)] : undefined;
    if (!c || !cell) {
      this.tooltip.hidden = true;
      return;
    }
    const pct = (p: number) => `${(p * 100).toFixed(p < 0.001 ? 3 : 1)}%`;
    const rank = (what: string, id: number | null, r: LensCell['final']) => (r && id !== null ? h('div', {}, `${what} “${this.display(id)}”: rank ${formatCount(r.rank)} · ${pct(r.probability)}`) : null);
    const next = this.lens.analysis.structure.predictsNext ? 'actual next token' : 'actual token';
    replace(
      this.tooltip,
      h('div', { class: 'pred-head' }, `${this.labels[this.layerOf(c.row)]} · ${this.tokenLabel(c.t)}${this.pinned ? ' (pinned)' : ''}`),
      h('ol', { class: 'prediction-list' }, ...cell.top.map((p) => h('li', {}, `“${this.display(p.id)}” ${pct(p.probability)}`))),
      rank('final prediction', this.finalIds[c.t], cell.final),
      rank(next, this.targetIds[c.t], cell.target),
    );
    this.tooltip.hidden = false;
    const x = LEFT + c.t * COL - this.scroller.scrollLeft + COL + 6;
    this.tooltip.style.left = `${Math.min(x, Math.max(0, this.scroller.clientWidth - 260))}px`;
    this.tooltip.style.top = `${(c.row + 1) * ROW}px`;
  }

  activate(): void {
    this.active = true;
    this.compute();
    this.schedule();
  }

  deactivate(): void {
    this.active = false;
    clearTimeout(this.timer);
  }

  /** Computes columns, visible ones first, in slices while the tab is visible. */
  private compute(): void {
    clearTimeout(this.timer);
    const readout = this.probes?.readout;
    const hidden = this.hidden;
    if (!readout || !hidden || this.failure || this.computed >= this.lens.T) return this.writeNote();
    const step = () => {
      if (!this.active) return;
      const deadline = performance.now() + SLICE_MS;
      const first = Math.floor(this.scroller.scrollLeft / COL);
      const visible = Math.ceil(this.scroller.clientWidth / COL);
      try {
        while (performance.now() < deadline && this.computed < this.lens.T) {
          let t = -1;
          for (let v = first; v < Math.min(this.lens.T, first + visible) && t < 0; v++) if (!this.columns[v]) t = v;
          while (t < 0 && this.columns[this.cursor]) this.cursor++;
          if (t < 0) t = this.cursor;
          this.columns[t] = lensColumn(readout, hidden, t, this.finalIds[t], this.targetIds[t]);
          this.computed++;
        }
      } catch (err) {
        this.failure = err instanceof Error ? err.message : String(err);
      }
      this.writeNote();
      this.schedule();
      if (!this.failure && this.computed < this.lens.T) this.timer = window.setTimeout(step, 0);
    };
    this.timer = window.setTimeout(step, 0);
  }

  private writeNote(): void {
    const T = this.lens.T;
    if (!this.probes?.readout) this.note.textContent = 'The readout weights were not loaded with the model, so the lens cannot be computed here.';
    else if (!this.hidden) this.note.textContent = 'The model exports no hidden states of this sequence.';
    else if (this.failure) this.note.textContent = `The lens could not be computed: ${this.failure}`;
    else if (this.computed < T) this.note.textContent = `Computing the lens: ${formatCount(this.computed)} of ${formatCount(T)} tokens…`;
    else {
      const last = this.labels.length - 1;
      const agree = this.columns.filter((col, t) => col?.[last].top[0].id === this.finalIds[t]).length;
      this.note.textContent = `At the last hidden state the lens's top prediction is the model's own at ${formatCount(agree)} of ${formatCount(T)} tokens${agree < T ? ' (fewer than all: the last hidden state may already be normalised, or the readout differs from the model)' : ''}.`;
    }
    this.note.setAttribute('data-state', this.failure ? 'error' : this.computed < T ? 'computing' : 'done');
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Paints the visible columns (the canvas is as wide as the scroller and stays in place while it scrolls). */
  private draw(): void {
    const width = this.scroller.clientWidth;
    if (!this.active || width <= 0) return;
    const th = theme();
    const height = this.rowCount * ROW;
    const ctx = fitCanvas(this.canvas, width, height);
    ctx.fillStyle = th.background;
    ctx.fillRect(0, 0, width, height);
    ctx.font = `12px ${th.monoFamily}`;
    ctx.textBaseline = 'middle';
    const scroll = this.scroller.scrollLeft;
    const t0 = Math.max(0, Math.floor(scroll / COL));
    const t1 = Math.min(this.lens.T, Math.ceil((scroll + width - LEFT) / COL) + 1);
    const a = this.lens.analysis;
    const by = this.colourBy;
    const active = this.lens.active;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, 0, width - LEFT, height);
    ctx.clip();
    for (let t = t0; t < t1; t++) {
      const x = LEFT + t * COL - scroll;
      if (t === active) {
        ctx.fillStyle = th.selection;
        ctx.fillRect(x, 0, COL, height);
      }
      const want = by === 'final' ? this.finalIds[t] : this.targetIds[t];
      // The model's own output: its top prediction, coloured by the probability the toggle follows.
      const top = a.predictions[t]?.[0];
      const scored = a.structure.predictsNext ? t + 1 : t;
      const outputP = by === 'final' ? top?.probability : 2 ** -(a.surprisal[scored] ?? NaN);
      this.paintCell(ctx, x, 0, top?.text, outputP, top !== undefined && top.id === want);
      const column = this.columns[t];
      for (let row = 1; row < this.rowCount - 1; row++) {
        const cell = column?.[this.layerOf(row)];
        const rank = by === 'final' ? cell?.final : cell?.target;
        this.paintCell(ctx, x, row * ROW, cell ? this.display(cell.top[0].id) : '…', cell ? (rank?.probability ?? NaN) : undefined, cell !== undefined && cell.top[0].id === want);
      }
      ctx.fillStyle = th.foreground;
      ctx.font = `12px ${th.monoFamily}`;
      ctx.fillText(fitText(ctx, this.lens.tokens[t].text, COL - 6), x + 3, (this.rowCount - 0.5) * ROW);
    }
    for (const c of [this.pinned, this.canvas === document.activeElement ? this.focus : null]) {
      if (!c) continue;
      ctx.strokeStyle = th.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(LEFT + c.t * COL - scroll + 1, c.row * ROW + 1, COL - 2, ROW - 2);
    }
    ctx.restore();
    ctx.fillStyle = th.muted;
    const label = (row: number) => (row === 0 ? 'model output' : row === this.rowCount - 1 ? 'token' : this.labels[this.layerOf(row)]);
    for (let row = 0; row < this.rowCount; row++) ctx.fillText(fitText(ctx, label(row), LEFT - 8), 4, (row + 0.5) * ROW);
  }

  /** One cell: its colour (grey when there is no probability), its text in a contrasting colour, outlined when it is the wanted token. */
  private paintCell(ctx: CanvasRenderingContext2D, x: number, y: number, text: string | undefined, p: number | undefined, outlined: boolean): void {
    const th = theme();
    const known = p !== undefined && Number.isFinite(p);
    const [r, g, b] = known ? viridis(p) : [0, 0, 0];
    ctx.fillStyle = known ? `rgb(${r} ${g} ${b})` : th.border;
    ctx.globalAlpha = known ? 1 : 0.25;
    ctx.fillRect(x + 1, y + 1, COL - 2, ROW - 2);
    ctx.globalAlpha = 1;
    if (outlined) {
      ctx.strokeStyle = th.foreground;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(x + 2, y + 2, COL - 4, ROW - 4);
    }
    ctx.fillStyle = known ? (0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#000' : '#fff') : th.foreground;
    ctx.font = `${outlined ? 'bold ' : ''}12px ${th.monoFamily}`;
    if (text) ctx.fillText(fitText(ctx, text, COL - 8), x + 4, y + ROW / 2);
  }

  dispose(): void {
    this.active = false;
    clearTimeout(this.timer);
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}

/** Whether an analysis can show the logit lens: a declared readout and hidden states of the primary sequence. */
export function hasLogitLens(analysis: Analysis): boolean {
  return analysis.manifest.readout !== undefined && analysis.structure.hiddenStates.length > 0;
}
