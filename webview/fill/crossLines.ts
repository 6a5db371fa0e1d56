// Why: the head view's lines read better than a heatmap for "which code did this filled token look at",
// but its drawing joins one token axis to itself; here the two axes differ (a few filled tokens, hundreds
// of source tokens). So this canvas puts the filled tokens on the left and, on the right, only the source
// tokens the strongest lines reach (lineEdges in src/core/infillViews.ts), in document order with their
// line numbers and the gaps between them counted, so it stays legible at any source length. Hovering a
// filled token shows its lines alone; clicking a source token reveals it in the editor.

import { type LineChoice, lineEdges } from '../../src/core/infillViews';
import { h } from '../dom';
import { fitText } from '../views/axes';
import { theme } from '../views/colors';
import { fitCanvas } from '../views/matrices';
import type { FillFocus } from './focus';

export interface CrossLinesData {
  matrix: Float32Array;
  rows: number;
  cols: number;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** Zero-based document line of each source token (shown 1-based). */
  colLines: readonly number[];
  special: readonly boolean[];
  hole: number;
}

const ROW = 18;
const HEAD = 24;

/** One entry of the right-hand list: a source token, or a gap of tokens not drawn. */
type Entry = { col: number } | { gap: number };

export class CrossLines {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly note = h('div', { class: 'muted view-note', 'data-testid': 'fill-cross-lines-note' });
  private data: CrossLinesData | null = null;
  private choice: LineChoice | null = null;
  private entries: Entry[] = [];
  /** Source token under the pointer (its lines shown), or null. */
  private hoverCol: number | null = null;
  private width = 0;
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly focus: FillFocus,
    private readonly reveal: (col: number) => void,
  ) {
    this.canvas = h('canvas', {
      class: 'fill-lines-canvas',
      'data-testid': 'fill-cross-lines-canvas',
      role: 'img',
      'aria-roledescription': 'cross-attention lines',
    });
    this.element = h('div', { class: 'fill-cross-lines', 'data-testid': 'fill-cross-lines' }, this.note, h('div', { class: 'canvas-wrap' }, this.canvas));
    this.listen();
    const observer = new ResizeObserver(() => this.schedule());
    observer.observe(this.element);
    this.cleanup.push(() => observer.disconnect(), focus.on(() => this.schedule()));
  }

  set(data: CrossLinesData | null): void {
    this.data = data;
    this.hoverCol = null;
    this.choice = data ? lineEdges(data.matrix, data.rows, data.cols) : null;
    this.entries = [];
    if (this.choice) {
      let previous = -1;
      for (const col of this.choice.columns) {
        if (col > previous + 1) this.entries.push({ gap: col - previous - 1 });
        this.entries.push({ col });
        previous = col;
      }
      if (data && previous < data.cols - 1) this.entries.push({ gap: data.cols - 1 - previous });
    }
    this.describe();
    this.schedule();
  }

  private describe(): void {
    const d = this.data;
    const c = this.choice;
    if (!d || !c) {
      this.note.textContent = '';
      return;
    }
    const shares = c.drawnShare.filter((_, r) => r < d.rows);
    const mean = shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 0;
    this.note.textContent =
      `Left: the filled tokens; right: the ${c.columns.length} of ${d.cols} source tokens their strongest lines reach (at most 6 lines per filled token, each at least 15% of its strongest), ` +
      `carrying ${Math.round(mean * 100)}% of the weight on average; ⋯ counts the tokens between them. Opacity is the weight over the filled token's largest. ` +
      'Hover a filled token for its lines alone; click a source token to reveal it in the editor.';
  }

  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private layout(): { xL: number; xR: number; leftY: (r: number) => number; rightY: (i: number) => number; height: number } {
    const d = this.data!;
    const height = HEAD + Math.max(d.rows, this.entries.length) * ROW + 8;
    const xL = Math.round(this.width * 0.3);
    const xR = Math.round(this.width * 0.55);
    // The shorter column is centred against the longer one.
    const offset = (n: number) => ((Math.max(d.rows, this.entries.length) - n) * ROW) / 2;
    const leftOffset = offset(d.rows);
    const rightOffset = offset(this.entries.length);
    return { xL, xR, leftY: (r) => HEAD + leftOffset + (r + 0.5) * ROW, rightY: (i) => HEAD + rightOffset + (i + 0.5) * ROW, height };
  }

  private draw(): void {
    this.width = Math.min(900, this.element.clientWidth);
    const d = this.data;
    const c = this.choice;
    if (this.width === 0 || !d || !c) return;
    const t = theme();
    const { xL, xR, leftY, rightY, height } = this.layout();
    const ctx = fitCanvas(this.canvas, this.width, height);
    ctx.clearRect(0, 0, this.width, height); // a transparent theme background would keep the last frame's lines
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, this.width, height);
    const at = new Map<number, number>();
    this.entries.forEach((e, i) => 'col' in e && at.set(e.col, i));
    const focus = this.focus.row;
    const any = focus !== null || this.hoverCol !== null;
    ctx.strokeStyle = t.focus;
    for (const e of c.edges) {
      const mine = (focus === null || e.row === focus) && (this.hoverCol === null || e.col === this.hoverCol);
      ctx.globalAlpha = Math.min(1, e.share) * (any && !mine ? 0.04 : 0.9);
      ctx.lineWidth = 1 + 2 * e.share;
      ctx.beginPath();
      ctx.moveTo(xL + 4, leftY(e.row));
      ctx.lineTo(xR - 4, rightY(at.get(e.col)!));
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.font = `12px ${t.monoFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let r = 0; r < d.rows; r++) {
      const label = fitText(ctx, d.rowLabels[r] ?? '', xL - 40);
      if (r === focus) {
        const w = ctx.measureText(label).width;
        ctx.fillStyle = t.selection;
        ctx.fillRect(xL - 9 - w, leftY(r) - ROW / 2 + 1, w + 6, ROW - 2);
      }
      ctx.fillStyle = t.foreground;
      ctx.fillText(label, xL - 6, leftY(r));
      ctx.fillStyle = t.muted;
      ctx.textAlign = 'left';
      ctx.font = `10px ${t.fontFamily}`;
      ctx.fillText(String(r), 4, leftY(r));
      ctx.font = `12px ${t.monoFamily}`;
      ctx.textAlign = 'right';
    }
    ctx.textAlign = 'left';
    this.entries.forEach((e, i) => {
      const y = rightY(i);
      if ('gap' in e) {
        ctx.fillStyle = t.muted;
        ctx.font = `11px ${t.fontFamily}`;
        ctx.fillText(`⋯ ${e.gap} token${e.gap === 1 ? '' : 's'}`, xR + 6, y);
        ctx.font = `12px ${t.monoFamily}`;
        return;
      }
      const hole = e.col === d.hole;
      const text = hole ? `${d.colLabels[e.col] ?? ''} (the hole)` : (d.colLabels[e.col] ?? '');
      const label = fitText(ctx, text, this.width - xR - 70);
      if (e.col === this.hoverCol) {
        ctx.fillStyle = t.selection;
        ctx.fillRect(xR + 3, y - ROW / 2 + 1, ctx.measureText(label).width + 6, ROW - 2);
      }
      ctx.fillStyle = hole ? t.focus : d.special[e.col] ? t.muted : t.foreground;
      ctx.fillText(label, xR + 6, y);
      ctx.fillStyle = t.muted;
      ctx.font = `10px ${t.fontFamily}`;
      ctx.textAlign = 'right';
      ctx.fillText(`L${(d.colLines[e.col] ?? 0) + 1}`, this.width - 4, y);
      ctx.textAlign = 'left';
      ctx.font = `12px ${t.monoFamily}`;
    });
    ctx.font = `11px ${t.fontFamily}`;
    ctx.fillStyle = t.muted;
    ctx.textAlign = 'right';
    ctx.fillText('filled tokens', xL - 6, 10);
    ctx.textAlign = 'left';
    ctx.fillText('source tokens they looked at', xR + 6, 10);
    this.canvas.setAttribute('aria-label', `Lines from ${d.rows} filled tokens to the ${c.columns.length} source tokens they looked at most.`);
  }

  /** What is under a canvas point: a filled token (left half) or a listed source token (right half). */
  private hit(e: MouseEvent): { row: number } | { col: number } | null {
    const d = this.data;
    if (!d || !this.choice) return null;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const { xL, leftY, rightY } = this.layout();
    if (x < (xL + this.width * 0.55) / 2) {
      const r = Math.round((y - leftY(0)) / ROW);
      return r >= 0 && r < d.rows ? { row: r } : null;
    }
    const i = Math.round((y - rightY(0)) / ROW);
    const entry = this.entries[i];
    return entry && 'col' in entry ? { col: entry.col } : null;
  }

  private listen(): void {
    this.canvas.addEventListener('mousemove', (e) => {
      const hit = this.hit(e);
      const col = hit && 'col' in hit ? hit.col : null;
      if (col !== this.hoverCol) {
        this.hoverCol = col;
        this.schedule();
      }
      this.focus.set(hit && 'row' in hit ? hit.row : null);
      this.canvas.style.cursor = col !== null && !this.data?.special[col] ? 'pointer' : '';
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.hoverCol = null;
      this.focus.set(null);
      this.schedule();
    });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hit(e);
      if (hit && 'col' in hit && !this.data?.special[hit.col]) this.reveal(hit.col);
    });
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}
