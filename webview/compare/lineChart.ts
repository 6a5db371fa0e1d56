// Why: the Compare view's two charts (surprisal per token, influence against distance) are line charts of a
// few series over one shared x axis, in a narrow sidebar. A small canvas chart does that with theme colours
// and a hover read-out, without a charting dependency for two plots; it redraws on resize and theme change
// and follows the keyboard (← → move the read-out) so every value can be read without a mouse.

import { h } from '../dom';
import { niceStep } from '../views/axes';
import { onThemeChange, theme } from '../views/colors';
import { fitCanvas } from '../views/matrices';

export interface Series {
  label: string;
  colour: string;
  /** y at x = 0, 1, …; NaN (or ≤ 0 on a log axis) leaves a gap. */
  values: ArrayLike<number>;
  dashed?: boolean;
  /** Dotted (with dashed: dash-dot), e.g. the later side of a bidirectional W. */
  dotted?: boolean;
}

/** The canvas dash pattern of a series. */
function dashOf(s: Series): number[] {
  if (s.dotted) return s.dashed ? [6, 2, 1.5, 2] : [1.5, 2.5];
  return s.dashed ? [4, 3] : [];
}

export interface ChartOptions {
  testid: string;
  /** Accessible name, e.g. "Surprisal per token". */
  label: string;
  /** x-axis title (setAxis changes it with describeX). */
  xLabel: string;
  yLabel: string;
  /** Logarithmic y axis (base 10). */
  logY?: boolean;
  /** First x drawn (e.g. 1 to skip distance 0). */
  xFrom?: number;
  height?: number;
  /** Read-out text for x (each series' value is appended). */
  describeX(x: number): string;
  formatY(y: number): string;
}

const MARGIN = { left: 44, right: 8, top: 8, bottom: 30 };

export class LineChart {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private readonly legend: HTMLElement;
  private series: Series[] = [];
  private hoverX: number | null = null;
  private readonly cleanup: Array<() => void> = [];
  private readonly options: ChartOptions;

  constructor(options: ChartOptions) {
    this.options = { ...options }; // a copy: setAxis changes it
    this.canvas = h('canvas', { class: 'chart-canvas', 'data-testid': `${options.testid}-canvas`, tabindex: '0', role: 'img', 'aria-label': options.label });
    this.readout = h('div', { class: 'chart-readout muted', 'data-testid': `${options.testid}-readout`, 'aria-live': 'polite' }, ' ');
    this.legend = h('div', { class: 'chart-legend', 'data-testid': `${options.testid}-legend` });
    this.element = h('div', { class: 'chart', 'data-testid': options.testid }, this.legend, this.canvas, this.readout);
    const move = (e: PointerEvent) => this.setHover(this.xAt(e.offsetX));
    const leave = () => this.setHover(null);
    const key = (e: KeyboardEvent) => {
      const n = this.length();
      if (!n || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight' && e.key !== 'Home' && e.key !== 'End')) return;
      e.preventDefault();
      const from = this.options.xFrom ?? 0;
      const x = this.hoverX ?? from;
      const next = e.key === 'Home' ? from : e.key === 'End' ? n - 1 : x + (e.key === 'ArrowLeft' ? -1 : 1);
      this.setHover(Math.max(from, Math.min(n - 1, next)));
    };
    this.canvas.addEventListener('pointermove', move);
    this.canvas.addEventListener('pointerleave', leave);
    this.canvas.addEventListener('keydown', key);
    const resize = new ResizeObserver(() => this.draw());
    resize.observe(this.element);
    this.cleanup.push(
      () => resize.disconnect(),
      onThemeChange(() => this.draw()),
    );
  }

  setSeries(series: Series[]): void {
    this.series = series;
    this.legend.replaceChildren(
      ...series.map((s) => {
        const key = h('span', { class: s.dashed ? 'legend-line dashed' : 'legend-line', 'aria-hidden': 'true' });
        key.style.borderTopColor = s.colour; // through the CSSOM: the CSP blocks style attributes
        if (s.dotted) key.style.borderTopStyle = 'dotted';
        return h('span', { class: 'legend-item' }, key, s.label);
      }),
    );
    if (this.hoverX !== null && this.hoverX >= this.length()) this.hoverX = null;
    this.draw();
    this.updateReadout();
  }

  /** Changes the x axis's title and read-out (e.g. "back" to "away" once a series looks both ways); drawn at the next setSeries. */
  setAxis(xLabel: string, describeX: (x: number) => string): void {
    this.options.xLabel = xLabel;
    this.options.describeX = describeX;
  }

  dispose(): void {
    this.cleanup.splice(0).forEach((f) => f());
  }

  private length(): number {
    return Math.max(0, ...this.series.map((s) => s.values.length));
  }

  private plotWidth(): number {
    return Math.max(40, this.element.clientWidth - MARGIN.left - MARGIN.right);
  }

  private xAt(px: number): number | null {
    const n = this.length();
    const from = this.options.xFrom ?? 0;
    if (n <= from) return null;
    const span = Math.max(1, n - 1 - from);
    const x = Math.round(from + ((px - MARGIN.left) / this.plotWidth()) * span);
    return x < from || x > n - 1 ? null : x;
  }

  private setHover(x: number | null): void {
    if (x === this.hoverX) return;
    this.hoverX = x;
    this.draw();
    this.updateReadout();
  }

  private updateReadout(): void {
    const x = this.hoverX;
    if (x === null) {
      this.readout.textContent = this.series.length ? `Point at the chart (or focus it and use ← →) to read values.` : ' ';
      return;
    }
    const values = this.series.map((s) => `${s.label} ${Number.isFinite(s.values[x]) ? this.options.formatY(s.values[x]) : '–'}`);
    this.readout.textContent = `${this.options.describeX(x)}: ${values.join(' · ')}`;
  }

  /** The y range of the data, padded; on a log axis, whole decades. */
  private yRange(): [number, number] {
    let lo = Infinity;
    let hi = -Infinity;
    const from = this.options.xFrom ?? 0;
    for (const s of this.series) {
      for (let i = from; i < s.values.length; i++) {
        const v = s.values[i];
        if (!Number.isFinite(v) || (this.options.logY && v <= 0)) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (!Number.isFinite(lo)) return this.options.logY ? [1e-3, 1] : [0, 1];
    if (this.options.logY) return [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi) + 1e-9)];
    return [Math.min(0, lo), hi > lo ? hi * 1.05 : lo + 1];
  }

  private draw(): void {
    const width = this.element.clientWidth;
    if (width === 0) return;
    const height = this.options.height ?? 150;
    const ctx = fitCanvas(this.canvas, width, height);
    const t = theme();
    const n = this.length();
    const from = this.options.xFrom ?? 0;
    const pw = this.plotWidth();
    const ph = height - MARGIN.top - MARGIN.bottom;
    const [y0, y1] = this.yRange();
    const log = this.options.logY;
    const fy = (v: number) => MARGIN.top + ph * (1 - (log ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0)));
    const span = Math.max(1, n - 1 - from);
    const fx = (x: number) => MARGIN.left + ((x - from) / span) * pw;
    ctx.clearRect(0, 0, width, height);
    ctx.font = `10px ${t.fontFamily}`;
    ctx.fillStyle = t.muted;
    ctx.strokeStyle = t.border;
    ctx.lineWidth = 1;
    // y ticks: decades on a log axis, nice steps otherwise.
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const ticks: number[] = [];
    if (log) {
      const decades = Math.round(Math.log10(y1 / y0));
      const every = Math.max(1, Math.ceil(decades / Math.max(1, Math.floor(ph / 22))));
      for (let e = Math.round(Math.log10(y0)); e <= Math.round(Math.log10(y1)); e += every) ticks.push(10 ** e);
    } else {
      const step = niceStep((y1 - y0) / Math.max(1, Math.floor(ph / 28)));
      for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) ticks.push(v);
    }
    for (const v of ticks) {
      const y = Math.round(fy(v)) + 0.5;
      ctx.globalAlpha = 0.35;
      ctx.beginPath();
      ctx.moveTo(MARGIN.left, y);
      ctx.lineTo(MARGIN.left + pw, y);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(log ? formatPower(v) : String(+v.toFixed(6)), MARGIN.left - 4, y);
    }
    // x ticks.
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    if (n > from) {
      const step = niceStep(span / Math.max(1, Math.floor(pw / 48)));
      for (let x = Math.ceil(from / step) * step; x <= n - 1; x += step) ctx.fillText(String(x), fx(x), MARGIN.top + ph + 3);
    }
    ctx.fillText(`${this.options.xLabel}`, MARGIN.left + pw / 2, MARGIN.top + ph + 16);
    ctx.save();
    ctx.translate(10, MARGIN.top + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(this.options.yLabel, 0, 0);
    ctx.restore();
    // Series.
    ctx.save();
    ctx.beginPath();
    ctx.rect(MARGIN.left, MARGIN.top - 1, pw, ph + 2);
    ctx.clip();
    for (const s of this.series) {
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1.5;
      ctx.setLineDash(dashOf(s));
      ctx.beginPath();
      let pen = false;
      for (let x = from; x < s.values.length; x++) {
        const v = s.values[x];
        if (!Number.isFinite(v) || (log && v <= 0)) {
          pen = false;
          continue;
        }
        const px = fx(x);
        const py = fy(v);
        if (pen) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    if (this.hoverX !== null) {
      const x = Math.round(fx(this.hoverX)) + 0.5;
      ctx.strokeStyle = t.focus;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, MARGIN.top);
      ctx.lineTo(x, MARGIN.top + ph);
      ctx.stroke();
      for (const s of this.series) {
        const v = s.values[this.hoverX];
        if (!Number.isFinite(v) || (log && v <= 0)) continue;
        ctx.fillStyle = s.colour;
        ctx.beginPath();
        ctx.arc(fx(this.hoverX), fy(v), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
  }
}

/** 10^-3 as "10⁻³" (1 and 10 plainly). */
function formatPower(v: number): string {
  const e = Math.round(Math.log10(v));
  if (e === 0) return '1';
  if (e === 1) return '10';
  const sup = '⁰¹²³⁴⁵⁶⁷⁸⁹';
  return `10${e < 0 ? '⁻' : ''}${String(Math.abs(e))
    .split('')
    .map((d) => sup[Number(d)])
    .join('')}`;
}
