// Why: the filling's cross-attention is a short, wide matrix (a few filled tokens down, hundreds of source
// tokens across), unlike the square analysis heatmaps: rows must stay tall enough to read while columns
// shrink to pixels, the hole's column must stand out (that is where the span was), and the Compare
// multiples must draw several on one colour scale. This canvas draws any such matrix on a given scale top:
// max-pooled across columns so a thin peak never vanishes, labels where they fit, the hovered filled
// token outlined; hovering reads a cell out, clicking a source token reveals it in the editor.

import { h } from '../dom';
import { fitText, niceStep } from '../views/axes';
import { VIRIDIS_LUT, theme } from '../views/colors';
import { canvasOf, fitCanvas } from '../views/matrices';
import type { FillFocus } from './focus';

export interface CrossMapData {
  /** [rows × cols], row-major. */
  matrix: Float32Array;
  rows: number;
  cols: number;
  /** Display texts of the filled tokens (rows) and the source tokens (columns). */
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** Source tokens without text (the hole, the source's special tokens) are muted and never revealed. */
  special: readonly boolean[];
  /** The hole's column, marked. */
  hole: number;
  /** Top of the colour scale (a shared one in Compare). */
  max: number;
}

export interface CrossMapOptions {
  testid: string;
  /** Small multiples: narrow margins, no token labels, a fixed height. */
  compact?: boolean;
  /** Reveal a source token (column) in the editor. */
  reveal?(col: number): void;
  focus?: FillFocus;
}

const MAX_CELL = 28;

/** Viridis pixels of a rows × cols matrix, columns max-pooled by f (a thin peak survives). */
function pooled(m: Float32Array, rows: number, cols: number, f: number, max: number): HTMLCanvasElement {
  const w = Math.ceil(cols / f);
  const image = new ImageData(Math.max(1, w), Math.max(1, rows));
  const px = new Uint32Array(image.data.buffer);
  const inv = max > 0 ? 255 / max : 0;
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < w; x++) {
      let best = 0;
      for (let c = x * f; c < Math.min(cols, (x + 1) * f); c++) best = Math.max(best, m[r * cols + c] || 0);
      px[r * w + x] = VIRIDIS_LUT[Math.max(0, Math.min(255, Math.round(best * inv)))];
    }
  }
  return canvasOf(image);
}

export class CrossMap {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private data: CrossMapData | null = null;
  private image: { key: string; canvas: HTMLCanvasElement } | null = null;
  private geometry = { left: 0, top: 0, cellW: 0, cellH: 0 };
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(private readonly options: CrossMapOptions) {
    this.canvas = h('canvas', { class: 'fill-cross-canvas', 'data-testid': `${options.testid}-canvas`, role: 'img', 'aria-roledescription': 'cross-attention heatmap' });
    this.tooltip = h('div', { class: 'tooltip', hidden: '' });
    this.element = h('div', { class: options.compact ? 'fill-cross-map compact' : 'fill-cross-map', 'data-testid': options.testid }, h('div', { class: 'canvas-wrap' }, this.canvas, this.tooltip));
    this.listen();
    const observer = new ResizeObserver(() => this.schedule());
    observer.observe(this.element);
    this.cleanup.push(() => observer.disconnect());
    if (options.focus) this.cleanup.push(options.focus.on(() => this.schedule()));
  }

  set(data: CrossMapData | null): void {
    this.data = data;
    this.image = null;
    this.schedule();
  }

  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private draw(): void {
    const width = this.element.clientWidth;
    const d = this.data;
    if (width === 0 || !d) return;
    const compact = this.options.compact === true;
    const t = theme();
    const left = compact ? 4 : 110;
    const top = compact ? 4 : 72;
    const plotW = Math.max(60, width - left - 8);
    const cellW = Math.min(MAX_CELL, plotW / Math.max(1, d.cols));
    const cellH = compact ? Math.max(2, Math.min(12, 120 / Math.max(1, d.rows))) : Math.max(4, Math.min(22, Math.floor((window.innerHeight * 0.5) / Math.max(1, d.rows))));
    const w = left + d.cols * cellW + 8;
    const hgt = top + Math.max(1, d.rows) * cellH + 8;
    this.geometry = { left, top, cellW, cellH };
    const ctx = fitCanvas(this.canvas, w, hgt);
    ctx.clearRect(0, 0, w, hgt); // a transparent theme background would keep the last frame
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, w, hgt);
    if (d.rows === 0) {
      ctx.fillStyle = t.muted;
      ctx.font = `12px ${t.fontFamily}`;
      ctx.textBaseline = 'top';
      ctx.fillText('The filling is empty: no row to draw.', left, top);
      return;
    }
    const f = Math.max(1, Math.floor(1 / (cellW * (window.devicePixelRatio || 1))));
    const key = `${f}|${d.max}`;
    if (this.image?.key !== key) this.image = { key, canvas: pooled(d.matrix, d.rows, d.cols, f, d.max) };
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image.canvas, left, top, d.cols * cellW, d.rows * cellH);
    // The hole: where the span was, a dashed line down its column.
    if (d.hole >= 0 && d.hole < d.cols) {
      ctx.strokeStyle = t.focus;
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 1;
      const x = left + (d.hole + 0.5) * cellW;
      ctx.beginPath();
      ctx.moveTo(x, top - (compact ? 2 : 8));
      ctx.lineTo(x, top + d.rows * cellH);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const focus = this.options.focus?.row ?? null;
    if (focus !== null && focus < d.rows) {
      ctx.strokeStyle = t.focus;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(left, top + focus * cellH, d.cols * cellW, cellH);
    }
    if (compact) return;
    ctx.fillStyle = t.muted;
    ctx.font = `11px ${t.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText('filled token ↓', 4, 4);
    ctx.fillText('source token →', 4, 18);
    ctx.font = `${Math.min(12, Math.max(9, Math.floor(cellH - 2)))}px ${t.monoFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    if (cellH >= 9) {
      for (let r = 0; r < d.rows; r++) {
        ctx.fillStyle = r === focus ? t.focus : t.foreground;
        ctx.fillText(fitText(ctx, d.rowLabels[r] ?? '', left - 8), left - 4, top + (r + 0.5) * cellH);
      }
    }
    if (cellW >= 11) {
      ctx.textAlign = 'left';
      for (let c = 0; c < d.cols; c++) {
        ctx.save();
        ctx.translate(left + (c + 0.5) * cellW, top - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.fillStyle = c === d.hole ? t.focus : d.special[c] ? t.muted : t.foreground;
        ctx.fillText(fitText(ctx, d.colLabels[c] ?? '', top - 10), 0, 0);
        ctx.restore();
      }
    } else {
      ctx.fillStyle = t.muted;
      ctx.textAlign = 'center';
      ctx.font = `10px ${t.fontFamily}`;
      const step = niceStep(40 / cellW);
      for (let c = 0; c < d.cols; c += step) ctx.fillText(String(c), left + (c + 0.5) * cellW, top - 10);
      if (d.hole >= 0) {
        ctx.fillStyle = t.focus;
        ctx.fillText('hole', left + (d.hole + 0.5) * cellW, top - 24);
      }
    }
    this.canvas.setAttribute('aria-label', `Cross-attention: ${d.rows} filled tokens down, ${d.cols} source tokens across; the hole is source token ${d.hole}.`);
  }

  private cellAt(e: MouseEvent): { r: number; c: number } | null {
    const d = this.data;
    if (!d) return null;
    const rect = this.canvas.getBoundingClientRect();
    const { left, top, cellW, cellH } = this.geometry;
    const x = e.clientX - rect.left - left;
    const y = e.clientY - rect.top - top;
    if (x < 0 || y < 0 || cellW <= 0 || cellH <= 0) return null;
    const r = Math.floor(y / cellH);
    const c = Math.floor(x / cellW);
    return r < d.rows && c < d.cols ? { r, c } : null;
  }

  private listen(): void {
    this.canvas.addEventListener('mousemove', (e) => {
      const cell = this.cellAt(e);
      const d = this.data;
      if (!cell || !d) {
        this.tooltip.hidden = true;
        this.options.focus?.set(null);
        return;
      }
      const v = d.matrix[cell.r * d.cols + cell.c];
      this.tooltip.textContent = `filled #${cell.r} “${d.rowLabels[cell.r] ?? ''}” → source #${cell.c} “${d.colLabels[cell.c] ?? ''}”${cell.c === d.hole ? ' (the hole)' : ''}: ${v.toFixed(4)}`;
      this.tooltip.hidden = false;
      const rect = this.canvas.getBoundingClientRect();
      this.tooltip.style.left = `${Math.max(0, Math.min(e.clientX - rect.left + 14, this.canvas.clientWidth - this.tooltip.offsetWidth - 4))}px`;
      this.tooltip.style.top = `${e.clientY - rect.top + 18}px`;
      this.options.focus?.set(cell.r);
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.tooltip.hidden = true;
      this.options.focus?.set(null);
    });
    this.canvas.addEventListener('click', (e) => {
      const cell = this.cellAt(e);
      if (cell && this.data && !this.data.special[cell.c]) this.options.reveal?.(cell.c);
    });
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}
