// Why: two pictures of how long an RNN remembers, beside its retention W(t, k). The half-life histogram
// says per unit how many tokens it takes the keep gate to halve what was written (median stated in
// words); the per-unit row shows, for the hovered query token, how much of each earlier token every unit
// still holds (retentionRow, O(t·H), so it follows the pointer at any length).

import type { Tensor } from '../../src/core/analysis';
import { formatTokens } from '../../src/core/compareSummary';
import { type RetentionGates, halfLives } from '../../src/core/retention';
import { h } from '../dom';
import { niceStep } from './axes';
import { VIRIDIS_LUT, theme } from './colors';
import type { Lens } from './lens';
import { canvasOf, fitCanvas } from './matrices';
import type { WFeed } from './wFeed';

/** Half-lives per layer, computed once (O(T·H)). */
export class HalfLives {
  private readonly cache = new Map<number, Float32Array>();
  constructor(
    private readonly gates: Tensor,
    private readonly spec: RetentionGates,
  ) {}

  of(layer: number): Float32Array {
    let v = this.cache.get(layer);
    if (!v) this.cache.set(layer, (v = halfLives(this.gates, layer, this.spec)));
    return v;
  }

  /** Units sorted by half-life, longest first. */
  order(layer: number): Int32Array {
    const v = this.of(layer);
    return Int32Array.from(v.keys()).sort((a, b) => (v[b] === v[a] ? a - b : v[b] > v[a] ? 1 : -1));
  }
}

/** Bin edges in tokens: < ½, ½–1, 1–2, … 512–1024, ≥ 1024, then "never" (∞). */
const EDGES = [0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export class HalfLifeView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly text: HTMLElement;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly lives: HalfLives,
  ) {
    this.canvas = h('canvas', { class: 'half-life-canvas', role: 'img' });
    this.text = h('p', { class: 'half-life-text', 'data-testid': 'half-life-median' });
    this.element = h('section', { class: 'half-life', 'data-testid': 'half-life', 'aria-label': 'Memory half-life per unit' }, h('h3', {}, 'Memory half-life per unit'), this.text, this.canvas);
    this.cleanup.push(
      lens.on('matrix', () => this.draw()),
      lens.on('theme', () => this.draw()),
    );
  }

  activate(): void {
    this.draw();
  }

  private draw(): void {
    const layer = this.lens.layer;
    const v = this.lives.of(layer);
    const H = v.length;
    const sorted = Float32Array.from(v).sort();
    const median = H % 2 ? sorted[(H - 1) / 2] : (sorted[H / 2 - 1] + sorted[H / 2]) / 2;
    const never = sorted.filter((x) => !Number.isFinite(x)).length;
    const longest = Array.from(v.keys()).reduce((best, u) => (v[u] > v[best] ? u : best), 0);
    const q90 = sorted[Math.min(H - 1, Math.floor(0.9 * H))];
    this.text.textContent =
      `Layer ${layer + 1}: median half-life ${formatTokens(median)} tokens — half of the ${H} units keep at least half of what they wrote for ${formatTokens(median)} tokens on this text. ` +
      `90% of units halve within ${formatTokens(q90)} tokens; the longest memory is unit ${longest} (${formatTokens(v[longest])} tokens)` +
      (never ? `; ${never} unit${never === 1 ? '' : 's'} never forget here (keep gate ≈ 1).` : '.');
    const counts = new Array<number>(EDGES.length + 2).fill(0);
    for (const x of v) counts[Number.isFinite(x) ? EDGES.filter((e) => x >= e).length : EDGES.length + 1]++;
    // Each bar is labelled with its lower edge: "4" holds half-lives from 4 up to 8 tokens.
    const labels = ['<½', ...EDGES.map((e) => (e === 0.5 ? '½' : e >= 1024 ? `${e / 1024}k+` : String(e))), '∞'];
    const t = theme();
    const barW = 34;
    const left = 30;
    const top = 14;
    const plotH = 90;
    const width = Math.max(left + counts.length * barW + 8, 460);
    const height = top + plotH + 30;
    const ctx = fitCanvas(this.canvas, width, height);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, width, height);
    const max = Math.max(1, ...counts);
    const medianBin = Number.isFinite(median) ? EDGES.filter((e) => median >= e).length : EDGES.length + 1;
    ctx.font = `10px ${t.fontFamily}`;
    ctx.textAlign = 'center';
    counts.forEach((n, i) => {
      const x = left + i * barW;
      const bh = (n / max) * plotH;
      ctx.fillStyle = i === medianBin ? t.focus : t.muted;
      ctx.globalAlpha = i === medianBin ? 1 : 0.7;
      ctx.fillRect(x + 3, top + plotH - bh, barW - 6, bh);
      ctx.globalAlpha = 1;
      ctx.fillStyle = t.foreground;
      ctx.textBaseline = 'bottom';
      if (n) ctx.fillText(String(n), x + barW / 2, top + plotH - bh - 1);
      ctx.textBaseline = 'top';
      ctx.fillStyle = t.muted;
      ctx.fillText(labels[i], x + barW / 2, top + plotH + 3);
    });
    ctx.textAlign = 'left';
    ctx.fillText('half-life in tokens (each bar: from its label up to twice it; highlighted: the median’s bar)', left, top + plotH + 16);
    ctx.save();
    ctx.translate(10, top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText('units', 0, 0);
    ctx.restore();
    this.canvas.setAttribute('aria-label', `Histogram of the half-lives of ${H} units in layer ${layer + 1}: ${counts.map((n, i) => `${labels[i]} tokens: ${n}`).join(', ')}.`);
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
  }
}

const UNIT_LEFT = 52;
const UNIT_H = 128;

/** For the hovered (else pinned, else last) query token: every unit's retention of every earlier token. */
export class UnitRetentionView {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private frame = 0;
  private shownKey = '';
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly feed: WFeed,
    private readonly lives: HalfLives,
  ) {
    this.canvas = h('canvas', { class: 'unit-canvas', 'data-testid': 'w-units', role: 'img' });
    this.caption = h('div', { class: 'muted view-note' });
    this.element = h('section', { class: 'w-units' }, this.caption, this.canvas);
    const redraw = () => this.schedule();
    this.cleanup.push(lens.on('hover', redraw), lens.on('select', redraw), lens.on('matrix', redraw), lens.on('theme', () => ((this.shownKey = ''), redraw())));
  }

  activate(): void {
    this.shownKey = '';
    this.schedule();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private draw(): void {
    const width = this.element.clientWidth;
    if (width === 0 || this.feed.source !== 'retention') return;
    const lens = this.lens;
    const q = lens.active ?? lens.selected ?? lens.T - 1;
    const layer = lens.layer;
    const key = `${layer}|${q}|${width}`;
    if (key === this.shownKey) return;
    this.shownKey = key;
    const row = this.feed.unitRow(q);
    if (!row) return;
    const order = this.lives.order(layer);
    const H = order.length;
    const t = theme();
    const plotW = Math.max(120, Math.min(width - UNIT_LEFT - 8, 900));
    const ctx = fitCanvas(this.canvas, UNIT_LEFT + plotW + 8, UNIT_H + 18);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, UNIT_LEFT + plotW + 8, UNIT_H + 18);
    // Keys 0..q across, units down by half-life, both max-pooled into device pixels; 0..1 kept on viridis.
    const dpr = window.devicePixelRatio || 1;
    const keys = q + 1;
    const cols = Math.min(keys, Math.floor(plotW * dpr));
    const rows = Math.min(H, Math.floor(UNIT_H * dpr));
    const image = new ImageData(cols, rows);
    const px = new Uint32Array(image.data.buffer);
    for (let c = 0; c < cols; c++) {
      const k0 = Math.floor((c * keys) / cols);
      const k1 = Math.max(k0 + 1, Math.floor(((c + 1) * keys) / cols));
      for (let r = 0; r < rows; r++) {
        const r0 = Math.floor((r * H) / rows);
        const r1 = Math.max(r0 + 1, Math.floor(((r + 1) * H) / rows));
        let best = 0;
        for (let i = r0; i < r1; i++) {
          const u = order[i];
          for (let k = k0; k < k1; k++) best = Math.max(best, row[k * H + u]);
        }
        px[r * cols + c] = VIRIDIS_LUT[Math.max(0, Math.min(255, Math.round(best * 255)))];
      }
    }
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(canvasOf(image), UNIT_LEFT, 0, plotW, UNIT_H);
    ctx.fillStyle = t.muted;
    ctx.font = `10px ${t.fontFamily}`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText('long', UNIT_LEFT - 4, 0);
    ctx.textBaseline = 'bottom';
    ctx.fillText('short', UNIT_LEFT - 4, UNIT_H);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const step = niceStep((48 * keys) / plotW);
    for (let k = 0; k < keys; k += step) ctx.fillText(String(k), UNIT_LEFT + ((k + 0.5) * plotW) / keys, UNIT_H + 3);
    this.caption.textContent = `Per unit, query ${lens.label(q)} (hover a token or a row to change it): how much of what each of the ${H} units wrote at key k (across, 0–${q}) is still in its state, 0 to 1 on the same colours; rows sorted by half-life, longest memory at the top.`;
    this.canvas.setAttribute('aria-label', this.caption.textContent);
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}
