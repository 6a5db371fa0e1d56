// Why: the token strip is the one view every model has. It lays the tokens out like the source (line
// breaks kept, whitespace visible, split multi-byte pieces marked), colours a band under each token by its
// surprisal, lists the model's top next-token predictions on hover or focus, and links tokens to the
// editor: click or Enter reveals the token's range; the editor cursor pins the token under it.

import { h } from '../dom';
import { viridisCss } from './colors';
import type { Lens } from './lens';
import { yieldToUi } from '../yieldToUi';

const WHITESPACE_GLYPHS = /([·↵→␍]+)/;
/** Fewest tokens in a block of lines of the strip (each block ends after a line break). */
const LINES_BLOCK_TOKENS = 128;
/**
 * Tokens built in the task that creates the strip (more than its visible lines hold); the rest follow in
 * tasks of about SLICE_MS. At 2,044 tokens building every span at once was at least 31 ms of a 107 ms task
 * (bench:profile: 20 ms in its loop, 11 ms appending). Whatever needs a token not built yet (a pin, a key,
 * a hover) builds up to it at once.
 */
const FIRST_TOKENS = 128;
const SLICE_MS = 8;

export class TokenStrip {
  readonly element: HTMLElement;
  private readonly box: HTMLElement;
  private readonly spans: HTMLElement[] = [];
  private readonly popup: HTMLElement;
  private readonly maxSurprisal: number;
  private marked: Array<[HTMLElement, string]> = [];
  private focusIndex = 0;
  private popupFor: number | null = null;
  private readonly cleanup: Array<() => void> = [];
  /** Resolves once every token's span is built (the strip says aria-busy until then). */
  readonly ready: Promise<void>;
  private readonly template: HTMLElement;
  private readonly whitespace: HTMLElement;
  /** The block of lines being filled, with its tokens and line breaks so far. */
  private block: { element: HTMLElement; tokens: number; lines: number } | null = null;
  private disposed = false;

  constructor(private readonly lens: Lens) {
    const { analysis } = lens;
    let max = 1;
    for (const s of analysis.surprisal) if (s > max) max = s;
    this.maxSurprisal = Math.ceil(max);
    this.box = h('div', {
      class: 'token-strip',
      'data-testid': 'token-strip',
      role: 'listbox',
      'aria-label': `${lens.T} tokens. Arrow keys move, Enter reveals the token in the editor, Escape unpins.`,
      'aria-busy': 'true',
    });
    this.template = h('span', { class: 'token', 'data-testid': 'token', role: 'option', tabindex: '-1', 'aria-selected': 'false' });
    this.whitespace = h('span', { class: 'ws' });
    this.buildThrough(Math.min(lens.T, FIRST_TOKENS) - 1);
    this.ready = this.buildRest();
    this.popup = h('div', { class: 'predictions', 'data-testid': 'predictions', role: 'tooltip', hidden: '' });
    this.element = h('section', { class: 'strip-section', 'aria-label': 'Tokens' }, this.legend(), this.box, this.popup);
    this.listen();
    this.cleanup.push(
      lens.on('hover', () => {
        this.mark();
        if (this.popupFor !== null && this.lens.hover.query !== this.popupFor) this.hidePopup();
      }),
      lens.on('select', () => {
        this.mark();
        if (lens.selected !== null) this.span(lens.selected)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
      }),
    );
  }

  /** Token i's span, built now (with those before it) if it has not been; undefined outside the tokens. */
  private span(i: number): HTMLElement | undefined {
    if (i >= this.spans.length && i < this.lens.T) this.buildThrough(i);
    return this.spans[i];
  }

  /** Builds the rest of the strip a slice at a time, then clears aria-busy. */
  private async buildRest(): Promise<void> {
    while (this.spans.length < this.lens.T) {
      await yieldToUi();
      if (this.disposed) return;
      const until = performance.now() + SLICE_MS;
      while (this.spans.length < this.lens.T && performance.now() < until) this.buildThrough(Math.min(this.lens.T, this.spans.length + 32) - 1);
    }
    this.box.removeAttribute('aria-busy');
  }

  /**
   * Builds the spans up to token `last`, in blocks of whole lines (at least LINES_BLOCK_TOKENS each), which
   * the browser lays out only when scrolled into view (content-visibility: auto): 2,044 tokens laid out at
   * once took 82 ms (bench:profile). Each span is a copy of one template (its attributes copied natively):
   * 2,044 tokens built attribute by attribute spent 34 ms in setAttribute and 11 ms in the helper that sets them.
   */
  private buildThrough(last: number): void {
    for (let i = this.spans.length; i <= last; i++) {
      const { span, lines } = this.buildSpan(i);
      this.spans.push(span);
      if (!this.block) {
        this.block = { element: h('div', { class: 'token-lines', role: 'none' }), tokens: 0, lines: 0 };
        this.box.append(this.block.element);
      }
      const block = this.block;
      block.element.append(span);
      block.tokens++;
      block.lines += lines;
      if (i === this.lens.T - 1) this.closeBlock(block.lines + 1); // its last line has no break
      else if (span.lastChild instanceof HTMLBRElement && block.tokens >= LINES_BLOCK_TOKENS) this.closeBlock(block.lines);
    }
  }

  /** Gives the block being filled its height until laid out (line-height 2.1); the next token starts another. */
  private closeBlock(lines: number): void {
    this.block!.element.style.containIntrinsicBlockSize = `auto ${lines * 2.1}em`;
    this.block = null;
  }

  /** Token i's span, with the line breaks it holds. */
  private buildSpan(i: number): { span: HTMLElement; lines: number } {
    const { analysis } = this.lens;
    const token = this.lens.tokens[i];
    const span = this.template.cloneNode(false) as HTMLElement;
    let lines = 0;
    span.dataset.index = String(i);
    if (i === 0) span.tabIndex = 0;
    const raw = analysis.text.slice(token.start - analysis.startOffset, token.end - analysis.startOffset);
    const hasSpace = /\s/.test(raw);
    for (const part of token.text.split(WHITESPACE_GLYPHS)) {
      if (!part) continue;
      if (hasSpace && WHITESPACE_GLYPHS.test(part)) {
        // One glyph per whitespace character; break the line after each ↵ so the code keeps its shape.
        for (const piece of part.split(/(?<=↵)/)) {
          const glyphs = this.whitespace.cloneNode(false) as HTMLElement;
          glyphs.textContent = piece;
          span.append(glyphs);
          if (piece.endsWith('↵')) {
            span.append(h('br'));
            lines++;
          }
        }
      } else {
        span.append(part);
      }
    }
    if (token.special) {
      // A special token ([CLS], </s>, a start token) stands for no text: shown dimmed, it reveals nothing.
      span.classList.add('special');
      span.style.opacity = '0.55';
      span.setAttribute('aria-description', 'special token added by the model; it stands for no text');
    }
    if (token.partial) {
      span.classList.add('partial');
      span.setAttribute('aria-description', 'part of a multi-byte character split across tokens');
    }
    const s = analysis.surprisal[i];
    if (Number.isFinite(s)) span.style.borderBottomColor = viridisCss(s / this.maxSurprisal);
    else span.classList.add('no-surprisal');
    span.setAttribute('aria-label', `${token.text}${Number.isFinite(s) ? `, ${s.toFixed(1)} bits` : ''}`);
    return { span, lines };
  }

  private legend(): HTMLElement {
    const swatches = h('span', { class: 'surprisal-scale', 'aria-hidden': 'true' });
    for (let i = 0; i <= 8; i++) {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = viridisCss(i / 8);
      swatches.append(swatch);
    }
    return h(
      'div',
      { class: 'strip-legend muted' },
      h('span', { title: 'How unexpected each token was to the model: −log₂ p(token | the tokens before it)' }, 'Surprisal (band under each token): 0'),
      swatches,
      h('span', {}, `${this.maxSurprisal} bits ·`),
      h('span', { class: 'token partial legend-token' }, '�'),
      h('span', {}, 'piece of a split multi-byte character · hover a token for predictions, click to reveal it'),
    );
  }

  private indexOf(target: EventTarget | null): number | null {
    const el = (target as Element | null)?.closest?.('[data-index]');
    return el && this.box.contains(el) ? Number(el.getAttribute('data-index')) : null;
  }

  private listen(): void {
    const box = this.box;
    // The pointer over a token and keyboard focus on it do the same: hover it and show its popup.
    const enter = (e: Event) => {
      const i = this.indexOf(e.target);
      if (i === null) return;
      this.lens.setHover(i);
      this.showPopup(i);
    };
    const leave = () => {
      this.lens.setHover(null);
      this.hidePopup();
    };
    box.addEventListener('mouseover', enter);
    box.addEventListener('mouseleave', leave);
    box.addEventListener('click', (e) => {
      const i = this.indexOf(e.target);
      if (i === null) return;
      this.setFocusIndex(i, false);
      this.lens.select(i, true);
    });
    box.addEventListener('focusin', enter);
    box.addEventListener('focusout', leave);
    box.addEventListener('keydown', (e) => {
      const i = this.focusIndex;
      let next: number | null = null;
      if (e.key === 'ArrowRight') next = i + 1;
      else if (e.key === 'ArrowLeft') next = i - 1;
      else if (e.key === 'ArrowDown') next = this.verticalNeighbour(i, 1);
      else if (e.key === 'ArrowUp') next = this.verticalNeighbour(i, -1);
      else if (e.key === 'Home') next = 0;
      else if (e.key === 'End') next = this.lens.T - 1;
      else if (e.key === 'Enter' || e.key === ' ') this.lens.select(i, true);
      else if (e.key === 'Escape') this.lens.select(null);
      else return;
      e.preventDefault();
      if (next !== null) this.setFocusIndex(Math.max(0, Math.min(this.lens.T - 1, next)), true);
    });
  }

  /** The token on the next (dir 1) or previous (dir -1) visual line nearest in x. */
  private verticalNeighbour(i: number, dir: 1 | -1): number {
    const from = this.span(i)!.getBoundingClientRect();
    let best = i;
    let bestDx = Infinity;
    let lineTop: number | null = null;
    for (let j = i + dir; j >= 0 && j < this.lens.T; j += dir) {
      const r = this.span(j)!.getBoundingClientRect();
      const top = dir > 0 ? r.bottom : r.top;
      if (dir > 0 ? r.top < from.bottom - 2 : r.bottom > from.top + 2) continue; // same line
      if (lineTop === null) lineTop = top;
      else if (Math.abs(top - lineTop) > 2) break; // past the neighbouring line
      const dx = Math.abs((r.left + r.right) / 2 - (from.left + from.right) / 2);
      if (dx < bestDx) [best, bestDx] = [j, dx];
    }
    return best;
  }

  private setFocusIndex(i: number, focus: boolean): void {
    this.spans[this.focusIndex]?.setAttribute('tabindex', '-1');
    this.focusIndex = i;
    const span = this.span(i)!;
    span.setAttribute('tabindex', '0');
    if (focus) {
      span.focus({ preventScroll: true });
      span.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
  }

  /** Highlights the hovered (query), key and pinned tokens; touches only the spans that change. */
  private mark(): void {
    const { hover, selected } = this.lens;
    const want: Array<[number | null, string]> = [
      [hover.query, 'hovered'],
      [hover.key, 'key'],
      [selected, 'selected'],
    ];
    for (const [el, cls] of this.marked) {
      el.classList.remove(cls);
      if (cls === 'selected') el.setAttribute('aria-selected', 'false');
    }
    this.marked = [];
    for (const [i, cls] of want) {
      const el = i === null ? undefined : this.span(i);
      if (!el) continue;
      el.classList.add(cls);
      if (cls === 'selected') el.setAttribute('aria-selected', 'true');
      this.marked.push([el, cls]);
    }
  }

  /** Brings a token into view (the editor cursor moved onto it). */
  scrollTo(i: number): void {
    this.span(i)?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  private showPopup(i: number): void {
    if (this.popupFor === i && !this.popup.hidden) return;
    this.popupFor = i;
    const { analysis, tokens } = this.lens;
    const s = analysis.surprisal[i];
    const next = tokens[i + 1];
    const list = h('ol', { class: 'prediction-list' });
    for (const p of analysis.predictions[i] ?? []) {
      const bar = h('span', { class: 'bar-fill' });
      bar.style.width = `${(p.probability * 100).toFixed(1)}%`;
      const hit = next && next.id === p.id;
      list.append(
        h(
          'li',
          { class: hit ? 'actual' : '' },
          h('span', { class: 'pred-text' }, `“${p.text}”`),
          h('span', { class: 'bar' }, bar),
          h('span', { class: 'pred-p' }, `${(p.probability * 100).toFixed(1)}%`),
          hit ? h('span', { class: 'muted' }, ' ← actual') : null,
        ),
      );
    }
    this.popup.replaceChildren(
      h('div', { class: 'pred-head' }, this.lens.label(i), tokens[i].partial ? h('span', { class: 'muted' }, ' (partial character)') : null),
      h(
        'div',
        { class: 'muted' },
        Number.isFinite(s)
          ? `Surprisal ${s.toFixed(2)} bits (the model gave it p = ${(2 ** -s * 100).toPrecision(3)}%)`
          : tokens[i].special
            ? 'Special token: the model adds it; it stands for no text.'
            : 'First token: nothing before it to predict it from.',
      ),
      h('div', { class: 'pred-title' }, analysis.structure.predictsNext ? 'Top-5 predictions for the next token' : 'Top-5 predictions for this position (the model reads the token itself)'),
      list,
      next ? h('div', { class: 'muted' }, `Actual next token: “${next.text}”`) : h('div', { class: 'muted' }, 'Last analysed token.'),
    );
    this.popup.hidden = false;
    const span = this.span(i)!.getBoundingClientRect();
    const host = this.element.getBoundingClientRect();
    const width = this.popup.offsetWidth;
    const left = Math.max(0, Math.min(span.left - host.left, host.width - width));
    this.popup.style.left = `${left}px`;
    this.popup.style.top = `${span.bottom - host.top + 6}px`;
  }

  private hidePopup(): void {
    this.popup.hidden = true;
    this.popupFor = null;
  }

  dispose(): void {
    this.disposed = true;
    this.cleanup.forEach((f) => f());
  }
}
