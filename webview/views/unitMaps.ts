// Why: the Gates and State tabs both show a stack of tokens × units heatmaps of one layer with a per-token
// chart under each. This component owns what they share: one token axis for the whole stack (zoom, pan,
// keyboard), one unit order (by index, mean, variance or the value at the pinned token; computed once and
// applied to every heatmap so rows line up across gates), unit search, exact values on hover, drawing
// only the visible window on the next animation frame, and, under a matrix with a range, the share of its
// units saturated at the hovered or pinned token in words.

import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { h, select, toolbarButton } from '../dom';
import type { Lens } from './lens';
import { PanDrag, pointIn } from './panDrag';
import { type UnitDrawState, type Viewport, LEFT, RIGHT, describeUnitCell, drawUnitChart, drawUnitMap, panelTitle, stackCanvases } from './unitCharts';
import { type UnitMatrix, type UnitSort, inTasks, saturation, saturationNote, tokenSummary, unitOrder } from './unitData';

/** One heatmap of the stack and the chart under it. */
export interface UnitPanelSpec {
  matrix: UnitMatrix;
  /** data-testid and extra attributes (e.g. data-gate) of the heatmap canvas. */
  testid: string;
  attrs: Record<string, string>;
  summary: { kind: 'quantiles' | 'saturation'; testid: string };
}

interface Panel {
  spec: UnitPanelSpec;
  map: HTMLCanvasElement;
  chart: HTMLCanvasElement;
  note: HTMLElement | null; // the saturation sentence, for a matrix with a range
  image: { key: string; canvas: HTMLCanvasElement } | null;
}

const FIT_H = 112;
const WINDOW_H = 224;
const MAX_SCALE = 40;
const SORTS: Array<[UnitSort, string]> = [
  ['index', 'unit index'],
  ['mean', 'mean over tokens'],
  ['variance', 'variance over tokens'],
  ['token', 'value at the pinned token'],
];

export class UnitMaps {
  readonly element: HTMLElement;
  private readonly stack: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly sortNote: HTMLElement;
  private readonly live: HTMLElement;
  private readonly sortOf: HTMLElement & { value: string };
  private panels: Panel[] = [];
  private layer = -1;
  private sort: UnitSort = 'index';
  private order: Int32Array = new Int32Array(0);
  private orderKey = '';
  /** 'fit' shows every unit in FIT_H pixels; a number is pixels per unit row in a WINDOW_H window. */
  private rows: 'fit' | number = 'fit';
  private ox = 0;
  private oy = 0;
  private scale = 1;
  private fitScale = 1;
  private plotW = 0;
  private focus = { t: 0, row: 0, shown: false };
  private foundUnit: number | null = null;
  private readonly pan = new PanDrag(
    () => ({ ox: this.ox, oy: this.oy, pxPerX: this.scale, pxPerY: this.rowPx() }),
    (ox, oy) => ((this.ox = ox), (this.oy = oy), this.clamp(), this.schedule()),
  );
  private frame = 0;
  private stopPreparing: () => void = () => undefined;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly specsFor: (layer: number) => UnitPanelSpec[],
    options: { testid: string; label: string; sortOf: string; intro: HTMLElement | string; matrices: Array<[string, string]> },
  ) {
    const sortBy = select('unit-sort', 'Order of the unit rows', SORTS, 'index');
    this.sortOf = select('unit-sort-of', 'Which matrix the rows are sorted by', options.matrices, options.sortOf);
    sortBy.addEventListener('change', () => this.setSort(sortBy.value as UnitSort));
    this.sortOf.addEventListener('change', () => this.setSort(this.sort));
    const rows = select('unit-rows', 'Height of a unit row', [['fit', 'Rows: all units'], ['2', 'Rows: 2 px'], ['4', 'Rows: 4 px'], ['8', 'Rows: 8 px'], ['14', 'Rows: 14 px']], 'fit');
    rows.addEventListener('change', () => {
      this.rows = rows.value === 'fit' ? 'fit' : Number(rows.value);
      this.invalidate();
      this.layout();
    });
    const search = h('vscode-textfield', { type: 'number', min: '0', placeholder: 'unit #', 'data-testid': 'unit-search', 'aria-label': 'Find a unit by index', title: 'Find a unit by index (Enter)' }) as HTMLElement & { value: string };
    search.addEventListener('change', () => this.findUnit(Number(search.value))); // on Enter or leaving the field
    this.sortNote = h('div', { class: 'muted view-note' });
    this.tooltip = h('div', { class: 'tooltip', 'data-testid': `${options.testid}-tooltip`, hidden: '' });
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this.stack = h('div', { class: 'unit-stack' });
    this.element = h(
      'div',
      { class: 'unit-maps', 'data-testid': options.testid, 'aria-label': options.label },
      h('div', { class: 'muted view-note' }, options.intro),
      h(
        'div',
        { class: 'view-toolbar' },
        h('span', { class: 'muted' }, 'Sort units by'),
        sortBy,
        h('span', { class: 'muted' }, 'of'),
        this.sortOf,
        search,
        rows,
        toolbarButton('−', 'Zoom out (tokens)', () => this.zoomBy(1 / 1.5)),
        toolbarButton('+', 'Zoom in (tokens)', () => this.zoomBy(1.5)),
        toolbarButton('Fit', 'Fit every token', () => this.fit()),
      ),
      this.sortNote,
      h('div', { class: 'canvas-wrap' }, this.stack, this.tooltip),
      this.live,
    );
    this.cleanup.push(
      lens.on('hover', () => this.schedule()),
      lens.on('select', () => {
        const t = lens.selected;
        if (t !== null && (t < this.ox || t + 1 > this.ox + this.plotW / this.scale)) this.ox = t - this.plotW / this.scale / 2;
        this.clamp();
        if (this.sort === 'token') this.setSort('token');
        this.schedule();
      }),
      lens.on('matrix', () => this.layer >= 0 && this.build()),
      lens.on('theme', () => {
        this.invalidate();
        if (this.layer >= 0) this.build(true);
      }),
    );
    const observer = new ResizeObserver(() => this.layout());
    observer.observe(this.element);
    const endDrag = () => this.pan.release(); // after a canvas's own mouseup, which bubbles first
    window.addEventListener('mouseup', endDrag);
    this.cleanup.push(() => observer.disconnect(), () => window.removeEventListener('mouseup', endDrag));
  }

  /** The panels of the lens's layer: built when the tab is first shown, rebuilt when the layer changes. */
  private build(force = false): void {
    if (this.lens.layer === this.layer && !force) return;
    this.layer = this.lens.layer;
    this.panels = this.specsFor(this.layer).map((spec) => {
      const { matrix: m } = spec;
      const map = h('canvas', {
        class: 'unit-canvas',
        'data-testid': spec.testid,
        ...spec.attrs,
        tabindex: '0',
        role: 'application',
        'aria-roledescription': 'tokens by units heatmap',
        'aria-label': `${m.label}, layer ${this.layer + 1}: tokens across, units down. Arrow keys move, plus and minus zoom, 0 fits, Enter pins the token.`,
      });
      const chart = h('canvas', { class: 'unit-canvas', 'data-testid': spec.summary.testid, ...spec.attrs, 'aria-hidden': 'true' });
      const note = m.range ? h('div', { class: 'muted view-note', 'data-testid': 'saturation-note', ...spec.attrs }) : null;
      return { spec, map, chart, note, image: null };
    });
    this.stack.replaceChildren(...this.panels.flatMap((p) => [panelTitle(p.spec.matrix, p.spec.summary.kind), p.map, p.chart, ...(p.note ? [p.note] : [])]));
    for (const p of this.panels) this.listen(p);
    this.setSort(this.sort);
    this.layout();
    this.prepare();
  }

  /** Computes each chart's per-token summary in its own task (tens of ms each for long inputs) before it is needed. */
  private prepare(): void {
    this.stopPreparing();
    this.stopPreparing = inTasks(this.panels.map((p) => () => [p.spec.summary.kind === 'quantiles' && tokenSummary(p.spec.matrix), p.note && saturation(p.spec.matrix)]));
  }

  private setSort(sort: UnitSort): void {
    this.sort = sort;
    const panel = this.panels.find((p) => p.spec.matrix.id === this.sortOf.value) ?? this.panels[0];
    if (!panel) return;
    const t = this.lens.selected;
    this.order = unitOrder(panel.spec.matrix, sort, t);
    this.orderKey = `${sort}|${panel.spec.matrix.id}|${sort === 'token' ? t : ''}`;
    const what = SORTS.find(([s]) => s === sort)![1];
    this.sortNote.textContent =
      sort === 'token' && t === null
        ? 'Pin a token (click it) to sort the units by their values there; until then rows are in index order.'
        : sort === 'index'
          ? 'Rows are units in index order, the same in every heatmap.'
          : `Rows sorted by ${what === 'value at the pinned token' ? `value at ${this.lens.label(t!)}` : what} of ${panel.spec.matrix.id}, largest first, the same order in every heatmap.`;
    this.invalidate();
    this.schedule();
  }

  private findUnit(unit: number): void {
    const H = this.panels[0]?.spec.matrix.H ?? 0;
    if (!Number.isInteger(unit) || unit < 0 || unit >= H) {
      this.live.textContent = `There is no unit ${unit}: units are 0 to ${H - 1}.`;
      this.sortNote.textContent = this.live.textContent;
      return;
    }
    this.foundUnit = unit;
    const row = this.order.indexOf(unit);
    const rowPx = this.rowPx();
    this.oy = row - WINDOW_H / rowPx / 2;
    this.focus = { ...this.focus, row };
    this.clamp();
    this.live.textContent = `Unit ${unit} is row ${row + 1} of ${H}.`;
    this.schedule();
  }

  private rowPx(): number {
    const H = this.panels[0]?.spec.matrix.H ?? 1;
    return this.rows === 'fit' ? FIT_H / H : this.rows;
  }

  private mapHeight(): number {
    const H = this.panels[0]?.spec.matrix.H ?? 1;
    return this.rows === 'fit' ? FIT_H : Math.min(WINDOW_H, H * this.rows);
  }

  private invalidate(): void {
    for (const p of this.panels) p.image = null;
  }

  /** Called when the tab becomes visible (a hidden canvas has no size). */
  activate(): void {
    this.build();
    this.layout();
  }

  private layout(): void {
    const width = this.element.clientWidth;
    if (width === 0) return;
    const T = this.lens.T;
    const oldFit = this.fitScale;
    this.plotW = Math.max(120, width - LEFT - RIGHT);
    this.fitScale = this.plotW / T;
    if (this.scale === oldFit || this.scale < this.fitScale) this.scale = this.fitScale;
    this.clamp();
    this.schedule();
  }

  private clamp(): void {
    this.ox = Math.max(0, Math.min(this.lens.T - this.plotW / this.scale, this.ox));
    const H = this.panels[0]?.spec.matrix.H ?? 0;
    this.oy = Math.max(0, Math.min(H - this.mapHeight() / this.rowPx(), this.oy));
  }

  private zoomBy(factor: number, cx = LEFT + this.plotW / 2): void {
    const next = Math.max(this.fitScale, Math.min(MAX_SCALE, this.scale * factor));
    const anchor = this.ox + (cx - LEFT) / this.scale;
    this.scale = next;
    this.ox = anchor - (cx - LEFT) / next;
    this.clamp();
    this.schedule();
  }

  private fit(): void {
    this.scale = this.fitScale;
    this.ox = 0;
    this.schedule();
  }

  private viewport(): Viewport {
    return { ox: this.ox, scale: this.scale, left: LEFT, plotW: this.plotW, T: this.lens.T };
  }

  /** Token and display row under a point of a panel's heatmap (row null on a chart). */
  private cellAt(p: Panel, canvas: HTMLCanvasElement, x: number, y: number): { t: number; row: number | null } | null {
    if (x < LEFT || x >= LEFT + this.plotW) return null;
    const t = Math.floor(this.ox + (x - LEFT) / this.scale);
    if (t < 0 || t >= this.lens.T) return null;
    if (canvas === p.chart) return { t, row: null };
    const row = Math.floor(this.oy + y / this.rowPx());
    return row >= 0 && row < p.spec.matrix.H ? { t, row } : null;
  }

  private describe(p: Panel, t: number, row: number | null): string {
    return describeUnitCell(p.spec.matrix, p.spec.summary.kind, this.lens.label(t), t, row === null ? null : { row, unit: this.order[row], sorted: this.sort !== 'index' });
  }

  private listen(p: Panel): void {
    for (const canvas of [p.map, p.chart]) {
      canvas.addEventListener('mousemove', (e) => {
        if (this.pan.move(e)) return;
        const pt = pointIn(canvas, e);
        const cell = this.cellAt(p, canvas, pt.x, pt.y);
        if (!cell) {
          this.tooltip.hidden = true;
          this.lens.setHover(null);
          return;
        }
        this.focus.shown = false;
        this.lens.setHover(cell.t);
        this.tooltip.textContent = this.describe(p, cell.t, cell.row);
        this.tooltip.hidden = false;
        const wrap = this.stack.getBoundingClientRect();
        const left = e.clientX - wrap.left + 14;
        this.tooltip.style.left = `${Math.max(0, Math.min(left, wrap.width - this.tooltip.offsetWidth - 4))}px`;
        this.tooltip.style.top = `${e.clientY - wrap.top + 18}px`;
      });
      canvas.addEventListener('mouseleave', () => {
        this.tooltip.hidden = true;
        this.lens.setHover(null);
      });
      canvas.addEventListener('mousedown', (e) => this.pan.press(e));
      canvas.addEventListener('mouseup', (e) => {
        if (this.pan.release() !== 'click') return;
        const pt = pointIn(canvas, e);
        const cell = this.cellAt(p, canvas, pt.x, pt.y);
        if (cell) this.lens.select(cell.t);
      });
      canvas.addEventListener(
        'wheel',
        (e) => {
          const horizontal = e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY);
          if (e.ctrlKey || e.metaKey) {
            e.preventDefault();
            this.zoomBy(Math.exp(-e.deltaY * 0.0015), pointIn(canvas, e).x);
          } else if (horizontal && this.scale > this.fitScale) {
            e.preventDefault();
            this.ox += (e.deltaX || e.deltaY) / this.scale;
          } else if (canvas === p.map && this.rows !== 'fit') {
            const before = this.oy;
            this.oy += e.deltaY / this.rowPx();
            this.clamp();
            if (this.oy !== before) e.preventDefault();
          } else return;
          this.clamp();
          this.schedule();
        },
        { passive: false },
      );
    }
    p.map.addEventListener('dblclick', () => this.fit());
    p.map.addEventListener('focus', () => this.moveFocus(0, 0));
    p.map.addEventListener('blur', () => ((this.focus.shown = false), this.schedule()));
    p.map.addEventListener('keydown', (e) => this.onKey(e, p));
  }

  private onKey(e: KeyboardEvent, p: Panel): void {
    const step = e.shiftKey ? 10 : 1;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step], Home: [-this.lens.T, 0], End: [this.lens.T, 0] };
    if (moves[e.key]) this.moveFocus(...moves[e.key], p);
    else if (e.key === '+' || e.key === '=') this.zoomBy(1.5);
    else if (e.key === '-') this.zoomBy(1 / 1.5);
    else if (e.key === '0') this.fit();
    else if (e.key === 'Enter' || e.key === ' ') this.lens.select(this.focus.t);
    else return;
    e.preventDefault();
  }

  private moveFocus(dt: number, drow: number, p: Panel | undefined = this.panels[0]): void {
    if (!p) return;
    const t = Math.max(0, Math.min(this.lens.T - 1, this.focus.t + dt));
    const row = Math.max(0, Math.min(p.spec.matrix.H - 1, this.focus.row + drow));
    this.focus = { t, row, shown: true };
    const span = this.plotW / this.scale;
    if (t < this.ox || t + 1 > this.ox + span) this.ox = t - span / 2;
    const rows = this.mapHeight() / this.rowPx();
    if (row < this.oy || row + 1 > this.oy + rows) this.oy = row - rows / 2;
    this.clamp();
    this.lens.setHover(t);
    this.live.textContent = this.describe(p, t, row);
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private draw(): void {
    if (this.plotW === 0 || this.element.clientWidth === 0) return;
    const state: UnitDrawState = {
      vp: this.viewport(),
      oy: this.oy,
      rowPx: this.rowPx(),
      mapHeight: this.mapHeight(),
      order: this.order,
      orderKey: this.orderKey,
      tokens: this.lens.tokens,
      selected: this.lens.selected,
      active: this.lens.active,
      found: this.foundUnit,
      focus: this.focus.shown ? this.focus : null,
    };
    const t = this.lens.active ?? this.lens.selected;
    for (const p of this.panels) {
      p.image = drawUnitMap(p.map, p.spec.matrix, state, p.image, document.activeElement === p.map);
      drawUnitChart(p.chart, p.spec.matrix, p.spec.summary.kind, state);
      const text = p.note && `${p.spec.matrix.id}: ${saturationNote(p.spec.matrix, t, t === null ? '' : this.lens.label(t))}`;
      if (p.note && p.note.textContent !== text) p.note.textContent = text;
    }
  }

  /** Every heatmap and chart stacked into one picture, for the PNG export. */
  snapshot(): HTMLCanvasElement {
    this.build();
    this.draw();
    return stackCanvases(this.panels.flatMap((p) => [p.map, p.chart]));
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.stopPreparing();
    this.cleanup.forEach((f) => f());
  }
}
