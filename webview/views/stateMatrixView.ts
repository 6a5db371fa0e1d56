// Why: a state that is a matrix (linear attention's S_t, a state-space model's h_t) is the model's whole memory
// of the text at a token, and it has the same size at every token. The State matrix tab draws it at the
// hovered (else pinned, else last) token of the layer picked above: the last two declared axes as rows ×
// columns, one small multiple per entry of any axis before them (e.g. per head), all on one diverging scale
// centred on 0 (states are signed), and says what it costs against attention's T × T. Layout from the
// output's declared axes (stateMatrixData.ts), never from the model's name.

import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { stateData } from '../../src/core/roleData';
import { h, select, toolbarButton } from '../dom';
import { type ColourScale, divergingLegend, divergingScale, lutIndexOf, scaleGradient, scaleLut, signedValue, theme } from './colors';
import type { Lens } from './lens';
import { canvasOf, fitCanvas } from './matrices';
import { type StateLayout, layerPeak, matrixStates, panelName, stateAt, stateCost, stateLayout } from './stateMatrixData';

/** Largest height of one panel and the cell size range (CSS pixels). */
const MAX_H = 400;
const MAX_CELL = 24;
const GAP = 14;

interface Shown {
  label: string;
  symbol: string;
  tensor: { dims: number[]; data: Float32Array };
  layout: StateLayout | null;
}

export class StateMatrixView {
  readonly element: HTMLElement;
  private readonly states: Shown[];
  private current = 0;
  private readonly heading = h('div', { class: 'unit-label', 'data-testid': 'state-matrix-heading' });
  private readonly cost = h('p', { class: 'muted view-note', 'data-testid': 'state-matrix-cost' });
  private readonly scaleText = h('span', { class: 'muted', 'data-testid': 'state-matrix-legend' });
  private readonly panels = h('div', { class: 'state-panels', 'data-testid': 'state-matrix-panels' });
  private readonly tooltip = h('div', { class: 'tooltip', 'data-testid': 'state-matrix-tooltip', hidden: '' });
  private readonly live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
  private canvases: HTMLCanvasElement[] = [];
  private captions: string[] = [];
  private layerScale = false;
  /** What the last frame drew: its token, values (display order) and scale, for hover read-outs and export. */
  private drawn: { t: number; values: Float32Array; scale: ColourScale; cellW: number; cellH: number } | null = null;
  private focus = { panel: 0, row: 0, col: 0 };
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(private readonly lens: Lens) {
    const data = stateData(lens.analysis);
    this.states = matrixStates(lens.analysis).map((family) => {
      const tensor = data.find((s) => s.family.state === family.state)!.tensor;
      return { label: family.label, symbol: family.state || family.output.name, tensor, layout: stateLayout(family.output, tensor.dims[2]) };
    });
    const picker = this.states.length > 1 ? select('state-matrix-picker', 'Which state', this.states.map((s, i) => [String(i), `${s.symbol} · ${s.label}`]), '0') : null;
    picker?.addEventListener('change', () => ((this.current = Number(picker.value)), this.rebuild()));
    const scale = h('vscode-checkbox', { label: 'One scale for every token', 'data-testid': 'state-matrix-scale', title: 'Colour every token on the scale of the largest |value| in the whole layer, so tokens can be compared' }) as HTMLElement & { checked: boolean };
    scale.addEventListener('change', () => ((this.layerScale = scale.checked), this.schedule()));
    const step = (d: number) => () => this.lens.select(Math.max(0, Math.min(this.lens.T - 1, this.token() + d)));
    const bar = h('span', { class: 'legend-gradient', 'aria-hidden': 'true' });
    bar.style.background = scaleGradient({ kind: 'diverging' });
    this.element = h(
      'div',
      { class: 'state-matrix', 'data-testid': 'state-matrix-view' },
      h('p', { class: 'muted view-note' }, 'The state at one token of the layer picked above: hover a token (or click one to pin it; otherwise the last token). Rows and columns are its last two axes; each panel is one entry of the axes before them.'),
      h('div', { class: 'view-toolbar' }, picker, toolbarButton('‹', 'Previous token', step(-1)), toolbarButton('›', 'Next token', step(1)), scale, h('span', { class: 'legend-wrap' }, bar, this.scaleText)),
      this.heading,
      this.cost,
      h('div', { class: 'canvas-wrap' }, this.panels, this.tooltip),
      this.live,
    );
    this.cleanup.push(
      lens.on('hover', () => this.schedule()),
      lens.on('select', () => this.schedule()),
      lens.on('matrix', () => this.schedule()),
      lens.on('theme', () => this.schedule()),
    );
    const observer = new ResizeObserver(() => this.schedule());
    observer.observe(this.element);
    this.cleanup.push(() => observer.disconnect());
    this.rebuild();
  }

  /** Layers of the states shown. */
  layers(): number {
    return Math.max(0, ...this.states.map((s) => s.tensor.dims[0]));
  }

  /** The token shown: hovered, else pinned, else the last. */
  private token(): number {
    return this.lens.active ?? this.lens.selected ?? this.lens.T - 1;
  }

  activate(): void {
    this.schedule();
  }

  /** One canvas per panel of the current state (its layout changes only with the state chosen). */
  private rebuild(): void {
    const s = this.states[this.current];
    const layout = s?.layout;
    this.canvases = [];
    this.captions = [];
    if (!s || !layout) {
      this.panels.replaceChildren(h('p', { class: 'notice', role: 'status' }, s ? `The axes of ${s.label} do not describe its values (${s.tensor.dims[2]} per token).` : 'This model exports no state with two or more axes of its own.'));
      this.cost.textContent = '';
      return;
    }
    const [rowAxis, colAxis] = layout.axes.slice(-2).map((a) => `${a.name} (${a.size})`);
    const figures = Array.from({ length: layout.panels }, (_, p) => {
      const caption = layout.panels > 1 ? panelName(layout, p) : `${s.symbol}`;
      const canvas = h('canvas', {
        class: 'state-canvas',
        'data-testid': 'state-matrix-panel',
        'data-panel': String(p),
        tabindex: '0',
        role: 'img',
        'aria-label': `${s.label}, ${caption}: rows ${rowAxis}, columns ${colAxis}. Arrow keys read the entries.`,
      });
      this.listen(canvas, p, layout);
      this.canvases.push(canvas);
      this.captions.push(caption);
      return h('figure', { class: 'state-panel' }, h('figcaption', { class: 'muted' }, caption), canvas);
    });
    this.panels.replaceChildren(...figures);
    this.panels.setAttribute('aria-label', `rows: ${rowAxis}, columns: ${colAxis}`);
    this.drawn = null;
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  /** Cell size: square when that leaves at least 3 px, else rows and columns each fitted to their own room. */
  private cells(layout: StateLayout): { cellW: number; cellH: number } {
    const width = Math.max(160, this.element.clientWidth);
    const perRow = Math.max(1, Math.min(layout.panels, Math.floor(width / Math.max(120, layout.cols * 3 + GAP))));
    const clamp = (v: number) => Math.max(1, Math.min(MAX_CELL, Math.floor(v)));
    const cellW = clamp((width - GAP * (perRow - 1)) / (perRow * layout.cols));
    const cellH = clamp(MAX_H / layout.rows);
    const square = Math.min(cellW, cellH);
    return square >= 3 ? { cellW: square, cellH: square } : { cellW, cellH };
  }

  private draw(): void {
    const s = this.states[this.current];
    const layout = s?.layout;
    if (!s || !layout || this.element.clientWidth === 0) return;
    const layer = this.lens.layer;
    const L = s.tensor.dims[0];
    const T = this.lens.T;
    this.cost.textContent = stateCost(layout, T);
    this.panels.hidden = layer >= L;
    if (layer >= L) {
      this.heading.textContent = `${s.label} has ${L} layer${L === 1 ? '' : 's'}: pick a layer up to ${L}.`;
      return;
    }
    const t = this.token();
    const values = stateAt(s.tensor, layout, layer, t);
    const scale = divergingScale(this.layerScale ? layerPeak(s.tensor, layer) : values);
    const { cellW, cellH } = this.cells(layout);
    this.drawn = { t, values, scale, cellW, cellH };
    this.heading.textContent = `${s.symbol} · ${s.label} at ${this.lens.label(t)}, layer ${layer + 1}`;
    this.scaleText.textContent = `${signedValue(-scale.max)} … 0 … ${signedValue(scale.max)}: ${divergingLegend(scale.max)} ${this.layerScale ? 'in this layer' : 'at this token'}`;
    const lut = scaleLut(scale);
    const index = lutIndexOf(scale);
    const { rows, cols } = layout;
    const background = theme().background;
    this.canvases.forEach((canvas, p) => {
      const image = new ImageData(cols, rows);
      const px = new Uint32Array(image.data.buffer);
      for (let i = 0; i < rows * cols; i++) {
        const k = index(values[p * rows * cols + i]);
        if (k >= 0) px[i] = lut[k];
      }
      const ctx = fitCanvas(canvas, cols * cellW, rows * cellH);
      ctx.fillStyle = background;
      ctx.fillRect(0, 0, cols * cellW, rows * cellH);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(canvasOf(image), 0, 0, cols * cellW, rows * cellH);
      if (document.activeElement === canvas) {
        ctx.strokeStyle = theme().foreground;
        ctx.lineWidth = 2;
        ctx.strokeRect(this.focus.col * cellW, this.focus.row * cellH, cellW, cellH);
      }
    });
  }

  /** "head 2 · state 5, feature 17 = +0.1234". */
  private describe(layout: StateLayout, panel: number, row: number, col: number): string {
    const v = this.drawn?.values[(panel * layout.rows + row) * layout.cols + col];
    const [r, c] = layout.axes.slice(-2);
    const where = `${layout.panels > 1 ? `${panelName(layout, panel)} · ` : ''}${r.name} ${row + 1}, ${c.name} ${col + 1}`;
    return `${where} = ${v === undefined ? '…' : signedValue(v, 4)}`;
  }

  private listen(canvas: HTMLCanvasElement, panel: number, layout: StateLayout): void {
    canvas.addEventListener('mousemove', (e) => {
      const d = this.drawn;
      if (!d) return;
      const row = Math.floor(e.offsetY / d.cellH);
      const col = Math.floor(e.offsetX / d.cellW);
      if (row < 0 || col < 0 || row >= layout.rows || col >= layout.cols) return void (this.tooltip.hidden = true);
      this.tooltip.textContent = this.describe(layout, panel, row, col);
      this.tooltip.hidden = false;
      const wrap = this.panels.getBoundingClientRect();
      this.tooltip.style.left = `${Math.max(0, Math.min(e.clientX - wrap.left + 14, wrap.width - this.tooltip.offsetWidth - 4))}px`;
      this.tooltip.style.top = `${e.clientY - wrap.top + 18}px`;
    });
    canvas.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
    canvas.addEventListener('focus', () => ((this.focus = { panel, row: 0, col: 0 }), this.announce(layout)));
    canvas.addEventListener('blur', () => this.schedule());
    canvas.addEventListener('keydown', (e) => {
      const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const m = moves[e.key];
      if (!m) return;
      e.preventDefault();
      const f = this.focus;
      this.focus = { panel, row: Math.max(0, Math.min(layout.rows - 1, f.row + m[0])), col: Math.max(0, Math.min(layout.cols - 1, f.col + m[1])) };
      this.announce(layout);
    });
  }

  private announce(layout: StateLayout): void {
    this.live.textContent = this.describe(layout, this.focus.panel, this.focus.row, this.focus.col);
    this.schedule();
  }

  /** The heading, the cost and every panel with its caption in one picture, for the PNG export. */
  snapshot(): HTMLCanvasElement {
    this.draw();
    const t = theme();
    const pad = 8;
    const line = 16;
    const widths = this.canvases.map((c) => c.clientWidth || 1);
    const heights = this.canvases.map((c) => c.clientHeight || 1);
    const width = Math.max(320, widths.reduce((n, w) => n + w + GAP, pad * 2));
    const height = pad * 2 + line * 4 + Math.max(1, ...heights);
    const out = document.createElement('canvas');
    const ctx = fitCanvas(out, width, height);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = t.foreground;
    ctx.font = `12px ${t.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.fillText(this.heading.textContent ?? '', pad, pad);
    ctx.fillStyle = t.muted;
    ctx.fillText(this.scaleText.textContent ?? '', pad, pad + line);
    ctx.fillText(this.cost.textContent?.split('. ')[0] ?? '', pad, pad + line * 2);
    let x = pad;
    this.canvases.forEach((c, i) => {
      ctx.fillText(this.captions[i], x, pad + line * 3);
      ctx.drawImage(c, x, pad + line * 4, widths[i], heights[i]);
      x += widths[i] + GAP;
    });
    return out;
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}
