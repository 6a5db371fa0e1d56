// Why: the first question about a fill is "what did the model write, and how surprised was it by what was
// really there?". This shows the two side by side: the original span as the document has it, each token
// tinted by its surprisal under the model (probability and bits in its tooltip) with the mean bits per
// token; the model's own filling as text and as tokens (hovering one highlights it in the attention views);
// and whether the two match.

import { bitsPerToken, fillingMatch, surprisalTint } from '../../src/core/infillViews';
import type { InfillRequest } from '../../src/core/protocol';
import { h } from '../dom';
import type { FillFocus } from './focus';

export interface SpansData {
  request: InfillRequest;
  /** The original span's tokens with document ranges, and their scores under the model. */
  original: { tokens: ReadonlyArray<{ text: string; start: number; end: number }>; probability: ArrayLike<number>; surprisal: ArrayLike<number> };
  filling: { text: string; tokens: readonly string[] };
}

/** The tint of a surprisal (set through the CSSOM: the webview's CSP blocks style attributes). */
const tint = (alpha: number) => `oklch(0.63 0.2 28 / ${alpha.toFixed(3)})`;

const MATCH_TEXT = {
  exact: '✓ The filling is the original span, exactly.',
  whitespace: '≈ The filling is the original span apart from whitespace.',
  different: '≠ The filling differs from the original span.',
};

export class SpansView {
  readonly element: HTMLElement;
  private readonly chips: HTMLElement[];
  private readonly cleanup: Array<() => void> = [];

  constructor(data: SpansData, focus: FillFocus) {
    const { request, original, filling } = data;
    const span = request.span;
    let top = 1;
    for (let i = 0; i < original.surprisal.length; i++) if (Number.isFinite(original.surprisal[i])) top = Math.max(top, original.surprisal[i]);
    const text = h('pre', { class: 'fill-code', 'data-testid': 'fill-original-text' });
    let at = 0;
    original.tokens.forEach((token, i) => {
      const from = token.start - span.startOffset;
      const to = token.end - span.startOffset;
      if (from > at) text.append(span.text.slice(at, from));
      const bits = original.surprisal[i];
      const p = original.probability[i];
      const piece = h('span', { class: 'fill-scored', 'data-index': String(i), title: `“${token.text}”: p = ${p.toPrecision(3)} · ${bits.toFixed(2)} bits` }, to > from ? span.text.slice(from, to) : token.text);
      piece.style.backgroundColor = tint(surprisalTint(bits, top));
      text.append(piece);
      at = Math.max(at, to);
    });
    if (at < span.text.length) text.append(span.text.slice(at));
    const mean = bitsPerToken(original.surprisal);
    const match = fillingMatch(span.text, filling.text);
    this.chips = filling.tokens.map((token, i) => {
      const chip = h('span', { class: 'fill-token', 'data-index': String(i), title: `Filled token ${i}` }, token);
      chip.addEventListener('mouseenter', () => focus.set(i));
      chip.addEventListener('mouseleave', () => focus.set(null));
      return chip;
    });
    const legend = h('span', { class: 'fill-tint-legend muted' }, 'tint: 0 ', h('span', { class: 'fill-tint-bar', 'aria-hidden': 'true' }), ` ${top.toFixed(1)} bits`);
    const bar = legend.querySelector('.fill-tint-bar') as HTMLElement;
    bar.style.background = `linear-gradient(to right, ${tint(0)}, ${tint(1)})`;
    this.element = h(
      'section',
      { class: 'fill-spans', 'aria-label': 'The original span and the filling' },
      h(
        'div',
        { class: 'fill-side', 'data-testid': 'fill-original' },
        h('h2', {}, 'Original span'),
        h('div', { class: 'muted' }, `${original.tokens.length} tokens · `, h('strong', { 'data-testid': 'fill-bits-per-token' }, Number.isFinite(mean) ? `${mean.toFixed(2)} bits per token` : 'no scores'), ' under the model · ', legend),
        text,
      ),
      h(
        'div',
        { class: 'fill-side', 'data-testid': 'fill-generated' },
        h('h2', {}, 'The model’s filling'),
        h('div', { class: `fill-match ${match}`, 'data-testid': 'fill-match', 'data-match': match }, MATCH_TEXT[match]),
        h('pre', { class: 'fill-code', 'data-testid': 'fill-generated-text' }, filling.text || h('span', { class: 'muted' }, '(empty: the model ended the span at once)')),
        h('div', { class: 'fill-tokens', 'aria-label': 'Filled tokens' }, h('span', { class: 'muted' }, `${filling.tokens.length} tokens: `), ...this.chips),
      ),
    );
    this.cleanup.push(
      focus.on(() => {
        this.chips.forEach((chip, i) => chip.classList.toggle('focused', i === focus.row));
      }),
    );
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
  }
}
