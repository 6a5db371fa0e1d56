// Why: the heatmap's guides: axes (token labels when the cells are tall enough to read them, evenly
// spaced indices otherwise) and the colour legend, plus fitText for labels that must fit a margin (the
// head view uses it too). Special tokens ([CLS], [SEP]) are labelled in the muted colour. Kept apart from
// heatmap.ts so each file stays small. The legend follows the matrix: viridis from 0, or for a signed one
// the diverging scale from −max to +max, and says which.

import { h } from '../dom';
import { divergingLegend, positionCss, signedValue, theme } from './colors';
import type { Lens } from './lens';
import { fitCanvas } from './matrices';
import { type Matrix } from './matrixOf';

/** The text, cut with an ellipsis to at most `max` pixels in the context's current font. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let cut = text;
  while (cut.length > 1 && ctx.measureText(`${cut}…`).width > max) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** A "nice" tick step (1, 2, 5 × 10^k) of at least `min`. */
export function niceStep(min: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, min)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= min) ?? 10 * p;
}

export interface AxesLayout {
  lens: Lens;
  /** CSS pixels per cell. */
  scale: number;
  /** Visible rows r0..r1 (queries) and columns c0..c1 (keys). */
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  /** Left and top edges of column k and row q. */
  x: (k: number) => number;
  y: (q: number) => number;
  /** Plot origin: the margins hold the labels. */
  left: number;
  top: number;
}

/** Axis titles, then token labels (rows at the left, columns rotated at the top) or index ticks. */
export function drawMatrixAxes(ctx: CanvasRenderingContext2D, a: AxesLayout): void {
  const t = theme();
  const s = a.scale;
  const active = a.lens.active;
  ctx.fillStyle = t.muted;
  ctx.font = `11px ${t.fontFamily}`;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText('queries ↓', 4, 4);
  ctx.fillText('keys →', 4, 18);
  if (s >= 11) {
    ctx.font = `${Math.min(12, Math.floor(s - 2))}px ${t.monoFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let q = a.r0; q < a.r1; q++) {
      ctx.fillStyle = q === active ? t.focus : a.lens.tokens[q].special ? t.muted : t.foreground;
      ctx.fillText(fitText(ctx, a.lens.tokens[q].text, a.left - 8), a.left - 4, a.y(q) + s / 2);
    }
    ctx.textAlign = 'left';
    for (let k = a.c0; k < a.c1; k++) {
      ctx.save();
      ctx.translate(a.x(k) + s / 2, a.top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillStyle = k === a.lens.hover.key || k === active ? t.focus : a.lens.tokens[k].special ? t.muted : t.foreground;
      ctx.fillText(fitText(ctx, a.lens.tokens[k].text, a.top - 10), 0, 0);
      ctx.restore();
    }
    return;
  }
  const step = niceStep(36 / s);
  ctx.fillStyle = t.muted;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let q = Math.ceil(a.r0 / step) * step; q < a.r1; q += step) ctx.fillText(String(q), a.left - 4, a.y(q) + s / 2);
  ctx.textAlign = 'center';
  for (let k = Math.ceil(a.c0 / step) * step; k < a.c1; k += step) ctx.fillText(String(k), a.x(k) + s / 2, a.top - 10);
}

/**
 * The colour legend: a viridis bar from 0 to where the scale tops out, and what happens above it; for a
 * signed matrix, a diverging bar from −max to +max centred on 0, and the words saying so.
 */
export function colourLegend(testid = 'heatmap-legend'): { element: HTMLElement; update(matrix: Matrix | null, sqrt: boolean, unit?: string): void } {
  const bar = h('canvas', { class: 'legend', 'aria-hidden': 'true' });
  const bottom = h('span', { class: 'muted' }, '0');
  const top = h('span', { class: 'muted' });
  const note = h('span', { class: 'muted', 'data-testid': `${testid}-scale` });
  let painted = '';
  const paint = (kind: 'sequential' | 'diverging') => {
    if (painted === kind) return;
    painted = kind;
    const ctx = fitCanvas(bar, 96, 10);
    for (let i = 0; i < 96; i++) {
      ctx.fillStyle = positionCss(i / 95, { kind });
      ctx.fillRect(i, 0, 1, 10);
    }
  };
  paint('sequential');
  const element = h('span', { class: 'legend-wrap', 'data-testid': testid, 'data-scale': 'sequential' }, bottom, bar, top, note);
  return {
    element,
    update(m, sqrt, unit) {
      const u = unit ? ` ${unit}` : '';
      const kind = m?.signed ? 'diverging' : 'sequential';
      paint(kind);
      element.setAttribute('data-scale', kind);
      if (m?.signed) {
        bottom.textContent = signedValue(-m.colourMax);
        top.textContent = signedValue(m.colourMax);
        note.textContent = `${divergingLegend(m.colourMax, '|W|', unit)}${sqrt ? ', √ of the magnitude' : ''}`;
        return;
      }
      bottom.textContent = '0';
      note.textContent = '';
      const clipped = m && m.colourMax < m.max ? ` (99.5th percentile; larger values, up to ${m.max.toFixed(3)}${u}, at full colour)` : '';
      top.textContent = m ? `${m.colourMax.toFixed(3)}${u}${clipped}${sqrt ? ', √ scale' : ''}` : '';
    },
  };
}
