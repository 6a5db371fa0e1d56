// Why: the head view in the manner of bertviz: queries on the left, keys on the right, and from the
// hovered token a line to every token it attends to, one colour per head and the weight as opacity, for
// one layer. Long inputs are virtualised: only a window of rows around the active token is drawn, and the
// weight that falls outside the window is summed at its edge instead of being lost. A signed family's lines
// are coloured by the diverging scale instead (blue below 0, red above, opacity |W| over the largest |W|
// shown), since a negative weight is not a weak one.

import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { h } from '../dom';
import { fitText } from './axes';
import { type Rgb, SourceOver } from '../../src/core/sourceOver';
import { canvasRgb, headColour, signedLine, signedValue, theme } from './colors';
import type { Lens } from './lens';
import { fitCanvas } from './matrices';

const ROW = 18;
const HEAD = 26;
const FOOT = 22;
const MIN_WEIGHT = 0.004;
/** All-pairs lines are drawn when nothing is hovered only for windows this small. */
const ALL_PAIRS_ROWS = 64;
/** Opacity steps of the all-pairs lines (1/64: finer than the eye tells apart on a 2 px line). */
const ALPHA_STEPS = 64;

export class HeadView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly checks: HTMLElement;
  private readonly info: HTMLElement;
  private readonly live: HTMLElement;
  private top = 0;
  private rows = 0;
  private width = 0;
  /** Which column the pointer or keyboard is on; a key-side hover shows the lines coming into the key. */
  private side: 'query' | 'key' = 'query';
  private keyRow: number | null = null;
  private focusRow = 0;
  private frame = 0;
  private readonly cleanup: Array<() => void> = [];
  /** The RGB of each CSS colour drawn (drawAllPairs composites in RGB); emptied when the theme changes. */
  private readonly rgbs = new Map<string, Rgb>();

  constructor(private readonly lens: Lens) {
    this.canvas = h('canvas', {
      class: 'head-canvas',
      'data-testid': 'head-view',
      tabindex: '0',
      role: 'application',
      'aria-roledescription': 'attention head view',
      'aria-label': 'Head view: queries left, keys right. Up and down move the token, left and right switch between query and key side, Enter pins the token.',
    });
    this.checks = h('div', { class: 'head-checks', role: 'group', 'aria-label': 'Heads shown' });
    this.info = h('div', { class: 'muted view-note' });
    this.live = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this.element = h('div', { class: 'head-view' }, this.checks, this.info, h('div', { class: 'canvas-wrap' }, this.canvas), this.live);
    this.buildChecks();
    this.listen();
    const redraw = () => this.schedule();
    this.cleanup.push(
      lens.on('hover', () => {
        const a = this.lens.active ?? this.lens.hover.key;
        if (a !== null) this.ensureVisible(a);
        this.schedule();
      }),
      lens.on('select', () => {
        if (this.lens.selected !== null) this.ensureVisible(this.lens.selected);
        this.schedule();
      }),
      lens.on('matrix', redraw),
      lens.on('heads', redraw),
      lens.on('theme', () => {
        this.rgbs.clear();
        this.buildChecks();
        this.schedule();
      }),
      lens.on('family', () => {
        this.buildChecks();
        this.schedule();
      }),
    );
    const observer = new ResizeObserver(() => this.layout());
    observer.observe(this.element);
    this.cleanup.push(() => observer.disconnect());
  }

  private buildChecks(): void {
    this.checks.replaceChildren(h('span', { class: 'muted' }, 'Heads:'));
    for (let hd = 0; hd < this.lens.heads; hd++) {
      const swatch = h('span', { class: 'swatch head-swatch', 'aria-hidden': 'true' });
      swatch.style.background = headColour(hd, this.lens.heads);
      const box = h('vscode-checkbox', { 'data-head': String(hd), 'aria-label': `Head ${hd + 1}` }, swatch, ` ${hd + 1}`) as HTMLElement & { checked: boolean };
      box.checked = this.lens.visibleHeads[hd];
      box.addEventListener('change', () => this.lens.toggleHead(hd, box.checked));
      this.checks.append(box);
    }
  }

  activate(): void {
    this.layout();
  }

  private layout(): void {
    this.width = Math.min(760, this.element.clientWidth);
    if (this.width === 0) return;
    const maxRows = Math.max(8, Math.min(80, Math.floor((window.innerHeight * 0.65 - HEAD - FOOT) / ROW)));
    this.rows = Math.min(this.lens.T, maxRows);
    this.scrollTo(this.top);
    this.schedule();
  }

  private scrollTo(top: number): void {
    this.top = Math.max(0, Math.min(this.lens.T - this.rows, Math.round(top)));
  }

  /** Moves the window so row i is inside it (centred when it was outside). */
  private ensureVisible(i: number): void {
    if (i < this.top || i >= this.top + this.rows) this.scrollTo(i - this.rows / 2);
  }

  schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => ((this.frame = 0), this.draw()));
  }

  private rowAt(y: number): number | null {
    const r = Math.floor((y - HEAD) / ROW);
    return r >= 0 && r < this.rows && this.top + r < this.lens.T ? this.top + r : null;
  }

  private listen(): void {
    const c = this.canvas;
    c.addEventListener('mousemove', (e) => {
      const rect = c.getBoundingClientRect();
      const row = this.rowAt(e.clientY - rect.top);
      this.side = e.clientX - rect.left < this.width / 2 ? 'query' : 'key';
      if (row === null) return this.lens.setHover(null);
      this.keyRow = this.side === 'key' ? row : null;
      if (this.side === 'key') this.lens.setHover(null, row);
      else this.lens.setHover(row);
    });
    c.addEventListener('mouseleave', () => {
      this.keyRow = null;
      this.side = 'query';
      this.lens.setHover(null);
    });
    c.addEventListener('click', (e) => {
      const row = this.rowAt(e.clientY - c.getBoundingClientRect().top);
      if (row !== null) this.lens.select(row);
    });
    c.addEventListener(
      'wheel',
      (e) => {
        const next = Math.max(0, Math.min(this.lens.T - this.rows, this.top + Math.sign(e.deltaY) * 3));
        if (next === this.top) return; // at the end of the tokens: let the page scroll
        e.preventDefault();
        this.scrollTo(next);
        this.schedule();
      },
      { passive: false },
    );
    c.addEventListener('focus', () => this.moveFocus(0));
    c.addEventListener('blur', () => this.lens.setHover(null));
    c.addEventListener('keydown', (e) => {
      const moves: Record<string, number> = { ArrowUp: -1, ArrowDown: 1, PageUp: -this.rows, PageDown: this.rows };
      if (e.key in moves) this.moveFocus(moves[e.key]);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        this.side = e.key === 'ArrowLeft' ? 'query' : 'key';
        this.moveFocus(0);
      } else if (e.key === 'Home') this.moveFocus(-this.lens.T);
      else if (e.key === 'End') this.moveFocus(this.lens.T);
      else if (e.key === 'Enter' || e.key === ' ') this.lens.select(this.focusRow);
      else return;
      e.preventDefault();
    });
  }

  private moveFocus(delta: number): void {
    this.focusRow = Math.max(0, Math.min(this.lens.T - 1, this.focusRow + delta));
    this.ensureVisible(this.focusRow);
    this.keyRow = this.side === 'key' ? this.focusRow : null;
    if (this.side === 'key') this.lens.setHover(null, this.focusRow);
    else this.lens.setHover(this.focusRow);
    this.live.textContent = `${this.side === 'key' ? 'Key' : 'Query'} ${this.lens.label(this.focusRow)}`;
    this.schedule();
  }

  private weight(head: number, q: number, k: number): number {
    const { T, attention, layer } = this.lens;
    // Attention held as lower triangles is read in place; otherwise from the layer (a view of the attention).
    if (attention?.value) return layer < attention.layers ? attention.value(layer, head, q, k) : 0;
    const data = this.lens.layerData(); // this layer of the current family; null when it has no such layer
    return data ? data[(head * T + q) * T + k] : 0;
  }

  private draw(): void {
    if (this.width === 0 || this.element.clientWidth === 0) return;
    const t = theme();
    const { T, tokens, heads, visibleHeads } = this.lens;
    const height = HEAD + this.rows * ROW + FOOT;
    const ctx = fitCanvas(this.canvas, this.width, height);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, this.width, height);
    const xL = Math.round(this.width * 0.36);
    const xR = Math.round(this.width * 0.64);
    const y = (i: number) => HEAD + (i - this.top + 0.5) * ROW;
    const end = Math.min(T, this.top + this.rows);
    const keySide = this.lens.hover.query === null && this.lens.hover.key !== null;
    const focus = keySide ? this.lens.hover.key! : this.lens.active;
    // Lines: from the focus token (query side: to its keys; key side: from its queries), else all pairs.
    const strength = new Float32Array(end - this.top);
    // Query side: mean weight (over shown heads) on keys outside the window; key side: queries outside attending.
    const outside = { above: 0, below: 0 };
    const outsideQueries = new Set<number>();
    ctx.lineWidth = 2;
    const shown = [...Array(heads).keys()].filter((hd) => visibleHeads[hd]);
    const signed = this.lens.family?.signed === true;
    // A signed family: one diverging scale for every line drawn, symmetric around the largest |W| shown.
    const peak = signed ? this.peak(shown, focus, keySide, end) : 0;
    let total = 0;
    // The focus token's lines, head by head (a few per head: each is its own stroke).
    if (focus !== null) {
      for (const hd of shown) {
        ctx.strokeStyle = headColour(hd, heads);
        // Opacity is the weight relative to this head's largest weight here, so every head's strongest link is solid.
        let top = 0;
        for (let j = 0; j < T; j++) top = Math.max(top, Math.abs(keySide ? this.weight(hd, j, focus) : this.weight(hd, focus, j)));
        for (let j = 0; j < T; j++) {
          const v = keySide ? this.weight(hd, j, focus) : this.weight(hd, focus, j);
          const w = Math.abs(v);
          total += w;
          if (w === 0 || (!signed && w < MIN_WEIGHT) || w < top * 0.02) continue;
          if (j < this.top || j >= end) {
            if (keySide) outsideQueries.add(j);
            else outside[j < this.top ? 'above' : 'below'] += signed ? w : w / shown.length;
            continue;
          }
          strength[j - this.top] = Math.max(strength[j - this.top], signed ? w / peak : w);
          if (signed) {
            const line = signedLine(v, peak);
            ctx.strokeStyle = line.colour;
            ctx.globalAlpha = line.alpha;
          } else ctx.globalAlpha = Math.min(1, w / top);
          ctx.beginPath();
          ctx.moveTo(xL + 4, y(keySide ? j : focus));
          ctx.lineTo(xR - 4, y(keySide ? focus : j));
          ctx.stroke();
        }
      }
    }
    if (focus === null && this.rows <= ALL_PAIRS_ROWS) this.drawAllPairs(ctx, shown, signed, peak, end, xL, xR, y);
    ctx.globalAlpha = 1;
    // Token labels; the attended side gets a box whose opacity is the largest weight among shown heads.
    ctx.font = `12px ${t.monoFamily}`;
    ctx.textBaseline = 'middle';
    for (let i = this.top; i < end; i++) {
      const text = tokens[i].text;
      const w = strength[i - this.top];
      const isFocus = i === focus;
      for (const side of ['query', 'key'] as const) {
        const ownSide = keySide ? side === 'key' : side === 'query';
        const label = fitText(ctx, text, xL - 40);
        const width = ctx.measureText(label).width;
        const x0 = side === 'query' ? xL - 6 - width : xR + 6;
        if (isFocus && ownSide) {
          ctx.fillStyle = t.selection;
          ctx.fillRect(x0 - 3, y(i) - ROW / 2 + 1, width + 6, ROW - 2);
        } else if (!ownSide && w > 0 && focus !== null) {
          ctx.globalAlpha = Math.min(1, w);
          ctx.fillStyle = t.selection;
          ctx.fillRect(x0 - 3, y(i) - ROW / 2 + 1, width + 6, ROW - 2);
          ctx.globalAlpha = 1;
        }
        ctx.fillStyle = isFocus && ownSide ? t.foreground : i === this.lens.selected ? t.focus : t.foreground;
        ctx.textAlign = side === 'query' ? 'right' : 'left';
        ctx.fillText(label, side === 'query' ? xL - 6 : xR + 6, y(i));
      }
      ctx.fillStyle = t.muted;
      ctx.textAlign = 'left';
      ctx.font = `10px ${t.fontFamily}`;
      ctx.fillText(String(i), 4, y(i));
      ctx.font = `12px ${t.monoFamily}`;
    }
    ctx.font = `11px ${t.fontFamily}`;
    ctx.fillStyle = t.muted;
    ctx.textAlign = 'right';
    ctx.fillText(keySide ? 'queries (attending)' : 'queries (from)', xL - 6, 12);
    ctx.textAlign = 'left';
    ctx.fillText(keySide ? 'key (attended to)' : 'keys (attended to)', xR + 6, 12);
    if (signed && total > 0) {
      // Shares of |W| (shown heads together): a signed row is no distribution of weight.
      outside.above /= total;
      outside.below /= total;
    }
    const of = signed ? ' of |W|' : ' of the weight';
    const beyond = [
      outside.above >= 0.01 ? `↑ ${(outside.above * 100).toFixed(0)}%${of} is on tokens above this window` : '',
      outside.below >= 0.01 ? `↓ ${(outside.below * 100).toFixed(0)}%${of} is on tokens below this window` : '',
      outsideQueries.size ? `${outsideQueries.size} queries outside this window also attend to it` : '',
    ].filter(Boolean);
    if (beyond.length) ctx.fillText(beyond.join(' · '), 4, HEAD + this.rows * ROW + 12);
    const colours = signed
      ? `W is signed: line colour is its sign on a diverging scale centred on 0 (blue negative, red positive), opacity = |W| relative to the largest |W| shown (${signedValue(-peak)} … ${signedValue(peak)}); the boxes choose the heads drawn`
      : "one colour per head, opacity = weight relative to the head's largest";
    const info =
      `Layer ${this.lens.layer + 1} (choose above). Hover a query: lines go to the tokens it attends to, ${colours}; hover a key to see what attends to it.` +
      (this.rows < T ? ` Showing tokens ${this.top}–${end - 1} of ${T}; scroll over the view or hover a token elsewhere to move the window.` : '');
    if (this.info.textContent !== info) this.info.textContent = info;
  }

  /**
   * Every pair in view when no token is hovered: thousands of lines, one per shown head on each pair. The heads'
   * lines of a pair lie on one another, so their colour together is composited first (source over, in head order,
   * as the canvas would blend them) and one line per pair is stroked, batched by that colour. Head by head (one path
   * per head and opacity step), the canvas's software raster took 44–45 ms of a frame at 12 heads in view
   * (bench:profile --views, 1,001 tokens); one stroke per line, 126 ms.
   */
  private drawAllPairs(ctx: CanvasRenderingContext2D, shown: number[], signed: boolean, peak: number, end: number, xL: number, xR: number, y: (i: number) => number): void {
    const { heads } = this.lens;
    const headRgb = shown.map((hd) => this.rgbOf(headColour(hd, heads)));
    const paths = new Map<string, Path2D>();
    const pair = new SourceOver();
    for (let q = this.top; q < end; q++) {
      for (let k = this.top; k < end; k++) {
        pair.reset();
        for (let s = 0; s < shown.length; s++) {
          const v = this.weight(shown[s], q, k);
          // Written so that a NaN weight is skipped too.
          if (signed ? !(Math.abs(v) >= peak * 0.05) || v === 0 : !(v >= MIN_WEIGHT * 5)) continue;
          const line = signed ? signedLine(v, peak) : undefined;
          const alpha = line ? line.alpha : Math.min(1, v);
          pair.add(line ? this.rgbOf(line.colour) : headRgb[s], Math.max(1, Math.round(alpha * 0.5 * ALPHA_STEPS)) / ALPHA_STEPS);
        }
        const colour = pair.css();
        if (colour === null) continue;
        let path = paths.get(colour);
        if (!path) paths.set(colour, (path = new Path2D()));
        path.moveTo(xL + 4, y(q));
        path.lineTo(xR - 4, y(k));
      }
    }
    ctx.globalAlpha = 1;
    for (const [colour, path] of paths) {
      ctx.strokeStyle = colour;
      ctx.stroke(path);
    }
  }

  /** The sRGB the canvas paints for a CSS colour (head colours are OKLCH), remembered until the theme changes. */
  private rgbOf(colour: string): Rgb {
    const known = this.rgbs.get(colour);
    if (known) return known;
    const rgb = canvasRgb(colour);
    this.rgbs.set(colour, rgb);
    return rgb;
  }

  /** The largest |W| the lines will show: the focus token's row (or column) over shown heads, else the window's pairs. */
  private peak(shown: number[], focus: number | null, keySide: boolean, end: number): number {
    let peak = 0;
    for (const hd of shown) {
      if (focus !== null) {
        for (let j = 0; j < this.lens.T; j++) peak = Math.max(peak, Math.abs(keySide ? this.weight(hd, j, focus) : this.weight(hd, focus, j)));
      } else if (this.rows <= ALL_PAIRS_ROWS) {
        for (let q = this.top; q < end; q++) for (let k = this.top; k < end; k++) peak = Math.max(peak, Math.abs(this.weight(hd, q, k)));
      }
    }
    return peak;
  }

  dispose(): void {
    cancelAnimationFrame(this.frame);
    this.cleanup.forEach((f) => f());
  }
}
