// Why: the pictures of the gate and state views, apart from their interaction (unitMaps.ts): a tokens ×
// units heatmap of only the visible window (mean-pooled when there are more tokens or units than device
// pixels), and per-token line charts that keep every dip visible when zoomed out (each pixel column draws
// the whole range of the tokens it covers), plus the token axis under them. A matrix with a range (declared,
// or a state within ±1) also shows its share of saturated units per token: as the chart of a state, as a
// row under the quantiles of a gate.

import { fitText, niceStep } from './axes';
import { h } from '../dom';
import { type ThemeColours, VIRIDIS_LUT, theme, viridisCss } from './colors';
import { canvasOf, fitCanvas } from './matrices';
import { saturationRule } from './saturation';
import { type UnitMatrix, saturation, tokenSummary } from './unitData';

/** Margins of every heatmap and chart of the stack: unit labels at the left. */
export const LEFT = 52;
export const RIGHT = 8;
const CHART_H = 60;
const AXIS_H = 16;
/** The saturation row under a quantile chart. */
const ROW_H = 10;

/** Where the plot is and which part of the matrix it shows (CSS pixels). */
export interface Viewport {
  /** First visible token (fractional) and pixels per token. */
  ox: number;
  scale: number;
  left: number;
  plotW: number;
  T: number;
}

/** Visible tokens c0..c1 and the x of a token's left edge. */
export function tokenWindow(vp: Viewport): { c0: number; c1: number; x: (t: number) => number } {
  const c0 = Math.max(0, Math.floor(vp.ox));
  const c1 = Math.min(vp.T, Math.ceil(vp.ox + vp.plotW / vp.scale));
  return { c0, c1, x: (t: number) => vp.left + (t - vp.ox) * vp.scale };
}

/**
 * Viridis pixels of display rows r0..r1 (row r shows unit order[r]) × tokens c0..c1, each pixel the mean
 * of fx tokens × fy rows; values map linearly from m.lo..m.hi.
 */
export function unitImage(m: UnitMatrix, order: Int32Array, c0: number, c1: number, r0: number, r1: number, fx: number, fy: number): ImageData {
  const w = Math.max(1, Math.ceil((c1 - c0) / fx));
  const hgt = Math.max(1, Math.ceil((r1 - r0) / fy));
  const image = new ImageData(w, hgt);
  const px = new Uint32Array(image.data.buffer);
  const { H, data, lo } = m;
  const inv = m.hi > lo ? 255 / (m.hi - lo) : 0;
  for (let y = 0; y < hgt; y++) {
    const ra = r0 + y * fy;
    const rb = Math.min(r1, ra + fy);
    for (let x = 0; x < w; x++) {
      const ca = c0 + x * fx;
      const cb = Math.min(c1, ca + fx);
      let sum = 0;
      for (let r = ra; r < rb; r++) {
        const u = order[r];
        for (let t = ca; t < cb; t++) sum += data[t * H + u];
      }
      const v = sum / ((rb - ra) * (cb - ca));
      px[y * w + x] = VIRIDIS_LUT[Math.max(0, Math.min(255, Math.round((v - lo) * inv)))];
    }
  }
  return image;
}

/** A per-token series drawn as a line, or (band) the area between two series. */
export interface SeriesStyle {
  colour: string;
  width?: number;
  dash?: number[];
  alpha?: number;
}

/**
 * Draws per-token series in the plot rows top..top+height for values lo..hi: bands first (between two
 * series), then lines. Zoomed out, each pixel column spans the min..max of its tokens, so dips survive.
 */
export function drawSeries(
  ctx: CanvasRenderingContext2D,
  vp: Viewport,
  top: number,
  height: number,
  lo: number,
  hi: number,
  bands: Array<{ low: Float32Array; high: Float32Array; style: SeriesStyle }>,
  lines: Array<{ data: Float32Array; style: SeriesStyle }>,
): void {
  const { c0, c1, x } = tokenWindow(vp);
  const y = (v: number) => top + height - ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo || 1)) * height;
  const perToken = vp.scale >= 1;
  // Column ranges: per token when zoomed in, per CSS pixel otherwise.
  const columns: Array<{ x: number; w: number; a: number; b: number }> = [];
  if (perToken) {
    for (let t = c0; t < c1; t++) columns.push({ x: x(t), w: vp.scale, a: t, b: t + 1 });
  } else {
    for (let p = 0; p < vp.plotW; p++) {
      const a = Math.max(c0, Math.floor(vp.ox + p / vp.scale));
      const b = Math.min(c1, Math.max(a + 1, Math.floor(vp.ox + (p + 1) / vp.scale)));
      if (a < c1) columns.push({ x: vp.left + p, w: 1, a, b });
    }
  }
  const range = (data: Float32Array, a: number, b: number) => {
    let mn = Infinity;
    let mx = -Infinity;
    for (let t = a; t < b; t++) {
      if (data[t] < mn) mn = data[t];
      if (data[t] > mx) mx = data[t];
    }
    return [mn, mx];
  };
  for (const band of bands) {
    ctx.globalAlpha = band.style.alpha ?? 0.25;
    ctx.fillStyle = band.style.colour;
    for (const c of columns) {
      const yTop = y(range(band.high, c.a, c.b)[1]);
      ctx.fillRect(c.x, yTop, c.w, Math.max(1, y(range(band.low, c.a, c.b)[0]) - yTop));
    }
  }
  ctx.globalAlpha = 1;
  for (const line of lines) {
    ctx.strokeStyle = line.style.colour;
    ctx.lineWidth = line.style.width ?? 1;
    ctx.setLineDash(line.style.dash ?? []);
    ctx.beginPath();
    columns.forEach((c, i) => {
      if (perToken) {
        const px = c.x + c.w / 2;
        if (i === 0) ctx.moveTo(px, y(line.data[c.a]));
        else ctx.lineTo(px, y(line.data[c.a]));
      } else {
        const [mn, mx] = range(line.data, c.a, c.b);
        if (i === 0) ctx.moveTo(c.x + 0.5, y(mx));
        else ctx.lineTo(c.x + 0.5, y(mx));
        ctx.lineTo(c.x + 0.5, y(mn));
      }
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** The token axis along y: token texts when there is room for them, evenly spaced indices otherwise. */
export function drawTokenAxis(ctx: CanvasRenderingContext2D, vp: Viewport, y: number, tokens: ReadonlyArray<{ text: string }>, active: number | null, t: ThemeColours): void {
  const { c0, c1, x } = tokenWindow(vp);
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  if (vp.scale >= 14) {
    ctx.font = `${Math.min(12, Math.floor(vp.scale - 3))}px ${t.monoFamily}`;
    for (let k = c0; k < c1; k++) {
      ctx.fillStyle = k === active ? t.focus : t.foreground;
      ctx.fillText(fitText(ctx, tokens[k].text, vp.scale - 2), x(k) + vp.scale / 2, y);
    }
    return;
  }
  ctx.font = `10px ${t.fontFamily}`;
  ctx.fillStyle = t.muted;
  const step = niceStep(48 / vp.scale);
  for (let k = Math.ceil(c0 / step) * step; k < c1; k += step) ctx.fillText(String(k), x(k) + vp.scale / 2, y);
}

/** A vertical marker across a plot at token t (the hovered or pinned token). */
export function markToken(ctx: CanvasRenderingContext2D, vp: Viewport, t: number | null, top: number, height: number, colour: string, width: number): void {
  if (t === null) return;
  const { c0, c1, x } = tokenWindow(vp);
  if (t < c0 || t >= c1) return;
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  if (vp.scale >= 4) ctx.strokeRect(x(t), top, vp.scale, height);
  else {
    ctx.beginPath();
    ctx.moveTo(x(t) + vp.scale / 2, top);
    ctx.lineTo(x(t) + vp.scale / 2, top + height);
    ctx.stroke();
  }
}

/** What one frame of the stack draws, shared by every panel. */
export interface UnitDrawState {
  vp: Viewport;
  /** First visible display row (fractional) and pixels per row. */
  oy: number;
  rowPx: number;
  mapHeight: number;
  order: Int32Array;
  orderKey: string;
  tokens: ReadonlyArray<{ text: string }>;
  selected: number | null;
  active: number | null;
  /** The unit found by search, if any. */
  found: number | null;
  /** The keyboard-focused cell, if shown. */
  focus: { t: number; row: number } | null;
}

type CachedImage = { key: string; canvas: HTMLCanvasElement } | null;

/** Draws a tokens × units heatmap; returns the (possibly rebuilt) image of its visible window. */
export function drawUnitMap(canvas: HTMLCanvasElement, m: UnitMatrix, s: UnitDrawState, cached: CachedImage, focused: boolean): CachedImage {
  const t = theme();
  const { vp, rowPx, mapHeight: height } = s;
  const width = LEFT + vp.plotW + RIGHT;
  const ctx = fitCanvas(canvas, width, height);
  ctx.fillStyle = t.background;
  ctx.fillRect(0, 0, width, height);
  const { c0, c1, x } = tokenWindow(vp);
  const r0 = Math.max(0, Math.floor(s.oy));
  const r1 = Math.min(m.H, Math.ceil(s.oy + height / rowPx));
  const dpr = window.devicePixelRatio || 1;
  const fx = Math.max(1, Math.floor(1 / (vp.scale * dpr)));
  const fy = Math.max(1, Math.floor(1 / (rowPx * dpr)));
  const key = `${s.orderKey}|${c0},${c1},${r0},${r1},${fx},${fy}`;
  const image = cached?.key === key ? cached : { key, canvas: canvasOf(unitImage(m, s.order, c0, c1, r0, r1, fx, fy)) };
  const y = (row: number) => (row - s.oy) * rowPx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(LEFT, 0, vp.plotW, height);
  ctx.clip();
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image.canvas, x(c0), y(r0), image.canvas.width * fx * vp.scale, image.canvas.height * fy * rowPx);
  markToken(ctx, vp, s.selected, 0, height, t.foreground, 1);
  markToken(ctx, vp, s.active, 0, height, t.focus, 1.5);
  const found = s.found === null ? -1 : s.order.indexOf(s.found);
  if (found >= 0) {
    ctx.strokeStyle = t.focus;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(LEFT, y(found) - 1, vp.plotW, Math.max(1, rowPx) + 2);
  }
  if (s.focus && focused) {
    ctx.strokeStyle = t.foreground;
    ctx.lineWidth = 2;
    ctx.strokeRect(x(s.focus.t) - 1, y(s.focus.row) - 1, Math.max(2, vp.scale) + 2, Math.max(2, rowPx) + 2);
  }
  ctx.restore();
  ctx.fillStyle = t.muted;
  ctx.font = `10px ${t.fontFamily}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  if (rowPx >= 10) {
    for (let r = r0; r < r1; r++) ctx.fillText(`u${s.order[r]}`, LEFT - 4, y(r) + rowPx / 2);
  } else {
    ctx.fillText(`${m.H} units`, LEFT - 4, 8);
    if (found >= 0 && y(found) >= 0 && y(found) <= height) ctx.fillText(`u${s.found}`, LEFT - 4, Math.max(20, y(found)));
  }
  return image;
}

/**
 * A row of per-token shares (0 to 1) as colours, at y..y+height: zoomed out, each pixel column shows the
 * largest share of the tokens it covers, so a saturated token is never averaged away.
 */
function drawShareRow(ctx: CanvasRenderingContext2D, vp: Viewport, y: number, height: number, share: Float32Array): void {
  const { c0, c1, x } = tokenWindow(vp);
  if (vp.scale >= 1) {
    for (let k = c0; k < c1; k++) {
      ctx.fillStyle = viridisCss(share[k]);
      ctx.fillRect(x(k), y, Math.max(1, vp.scale), height);
    }
    return;
  }
  for (let p = 0; p < vp.plotW; p++) {
    const a = Math.max(c0, Math.floor(vp.ox + p / vp.scale));
    const b = Math.min(c1, Math.max(a + 1, Math.floor(vp.ox + (p + 1) / vp.scale)));
    let most = 0;
    for (let k = a; k < b; k++) most = Math.max(most, share[k]);
    ctx.fillStyle = viridisCss(most);
    ctx.fillRect(vp.left + p, y, 1, height);
  }
}

/**
 * Draws the per-token chart under a heatmap: quantiles across units (with a row of the share of saturated
 * units under them when the matrix has a range), or the share of saturated units as a line.
 */
export function drawUnitChart(canvas: HTMLCanvasElement, m: UnitMatrix, kind: 'quantiles' | 'saturation', s: UnitDrawState): void {
  const t = theme();
  const { vp } = s;
  const width = LEFT + vp.plotW + RIGHT;
  const row = kind === 'quantiles' && m.range ? ROW_H + 2 : 0;
  const height = CHART_H + row + AXIS_H;
  const ctx = fitCanvas(canvas, width, height);
  ctx.fillStyle = t.background;
  ctx.fillRect(0, 0, width, height);
  const top = 4;
  const plotH = CHART_H - top - 2;
  ctx.strokeStyle = t.border;
  ctx.lineWidth = 1;
  ctx.strokeRect(LEFT + 0.5, top + 0.5, vp.plotW - 1, plotH);
  ctx.save();
  ctx.beginPath();
  ctx.rect(LEFT, top, vp.plotW, plotH);
  ctx.clip();
  const [lo, hi] = kind === 'quantiles' ? [m.lo, m.hi] : [0, 1];
  if (kind === 'quantiles') {
    const q = tokenSummary(m);
    drawSeries(ctx, vp, top, plotH, lo, hi, [{ low: q.q10, high: q.q90, style: { colour: t.focus, alpha: 0.3 } }], [
      { data: q.q50, style: { colour: t.focus, width: 1.5 } },
      { data: q.mean, style: { colour: t.foreground, width: 1, dash: [3, 2] } },
    ]);
  } else {
    drawSeries(ctx, vp, top, plotH, 0, 1, [], [{ data: saturation(m), style: { colour: t.focus, width: 1.5 } }]);
  }
  markToken(ctx, vp, s.selected, top, plotH, t.foreground, 1);
  markToken(ctx, vp, s.active, top, plotH, t.focus, 1.5);
  ctx.restore();
  ctx.fillStyle = t.muted;
  ctx.font = `10px ${t.fontFamily}`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'top';
  const f = (v: number) => (kind === 'saturation' ? `${Math.round(v * 100)}%` : Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1));
  ctx.fillText(f(hi), LEFT - 4, top);
  ctx.textBaseline = 'bottom';
  ctx.fillText(f(lo), LEFT - 4, top + plotH);
  if (row) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, CHART_H, vp.plotW, ROW_H);
    ctx.clip();
    drawShareRow(ctx, vp, CHART_H, ROW_H, saturation(m));
    markToken(ctx, vp, s.active, CHART_H, ROW_H, t.focus, 1.5);
    ctx.restore();
    ctx.fillStyle = t.muted;
    ctx.textBaseline = 'middle';
    ctx.fillText('saturated', LEFT - 4, CHART_H + ROW_H / 2);
  }
  drawTokenAxis(ctx, vp, CHART_H + row + 2, s.tokens, s.active, t);
}

/** The title row above a panel: what the matrix is, its colour scale, and what its chart draws. */
export function panelTitle(m: UnitMatrix, kind: 'quantiles' | 'saturation'): HTMLElement {
  const bar = h('span', { class: 'legend-gradient', 'aria-hidden': 'true' });
  bar.style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map(viridisCss).join(', ')})`;
  const f = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2).replace(/\.00$/, ''));
  const key = (cls: string, text: string) => h('span', { class: 'chart-key' }, h('span', { class: `chart-swatch ${cls}`, 'aria-hidden': 'true' }), text);
  const rule = m.range ? saturationRule(m.range, m.symbol) : '';
  const chart =
    kind === 'quantiles'
      ? h(
          'span',
          { class: 'legend-wrap muted' },
          'chart per token:',
          key('median', 'median'),
          key('mean', 'mean'),
          key('band', '10–90% of units'),
          rule ? `; row under it: share of units saturated (${rule}), dark 0% to yellow 100%` : null,
        )
      : h('span', { class: 'legend-wrap muted' }, 'chart per token:', key('median', `share of units saturated (${rule})`));
  return h('div', { class: 'unit-title' }, h('span', { class: 'unit-label' }, m.label), h('span', { class: 'legend-wrap muted' }, f(m.lo), bar, f(m.hi)), chart);
}

/** Canvases stacked top to bottom into one (for the PNG export of a tab with several). */
export function stackCanvases(canvases: HTMLCanvasElement[]): HTMLCanvasElement {
  const out = document.createElement('canvas');
  out.width = Math.max(1, ...canvases.map((c) => c.width));
  out.height = Math.max(1, canvases.reduce((n, c) => n + c.height + 4, 0));
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = theme().background;
  ctx.fillRect(0, 0, out.width, out.height);
  let y = 0;
  for (const c of canvases) {
    ctx.drawImage(c, 0, y);
    y += c.height + 4;
  }
  return out;
}

/** Tooltip text: a heatmap cell's exact value (row given), or a chart's per-token summary. */
export function describeUnitCell(m: UnitMatrix, kind: 'quantiles' | 'saturation', label: string, t: number, cell: { row: number; unit: number; sorted: boolean } | null): string {
  if (cell) return `${label} · unit ${cell.unit}${cell.sorted ? ` (row ${cell.row + 1})` : ''} · ${m.symbol} = ${m.data[t * m.H + cell.unit].toFixed(4)}`;
  const saturated = m.range ? `${(saturation(m)[t] * 100).toFixed(1)}% of units saturated (${saturationRule(m.range, m.symbol)})` : '';
  if (kind === 'saturation') return `${label} · ${saturated}`;
  const s = tokenSummary(m);
  return `${label} · ${m.symbol}: mean ${s.mean[t].toFixed(3)} · 10% ${s.q10[t].toFixed(3)} · median ${s.q50[t].toFixed(3)} · 90% ${s.q90[t].toFixed(3)}${saturated ? ` · ${saturated}` : ''}`;
}
