// Why: a masked language model's logits at a token, read from the unmasked input, nearly copy that token.
// What the model knows about a token is what it predicts with that token hidden, so this tab masks each
// ordinary token in turn through the model's probes (one run per token, queued and cancellable like
// occlusion), with a progress bar and Cancel; computed on a click, or as soon as the tab opens for short
// selections. It then shows the tokens tinted by pseudo-surprisal and, for the token under the pointer or
// pinned, the top masked predictions with the actual token's probability and rank (text from
// src/core/maskedReadout.ts). Clicking a token reveals it in the editor.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { MaskedPredictions } from '../../src/core/maskedPredictions';
import { computesAutomatically, maskedCard, surprisalScaleMax, tintFraction, tokenLabel, totalsLine } from '../../src/core/maskedReadout';
import { h } from '../dom';
import type { ModelProbes } from '../probes';
import { viridisCss } from './colors';
import { failure } from './feeds';
import type { Lens } from './lens';
import { formatCount } from '../../src/core/text';

type Status = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
type Progress = HTMLElement & { value?: number; max: number };
type Button = HTMLElement & { disabled: boolean };

export class MaskedView {
  readonly element: HTMLElement;
  private readonly runButton: Button;
  private readonly cancelButton: Button;
  private readonly progressWrap: HTMLElement;
  private readonly progress: Progress;
  private readonly progressText: HTMLElement;
  private readonly note: HTMLElement;
  private readonly strip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly card: HTMLElement;
  private spans: HTMLElement[] = [];
  private status: Status = 'idle';
  private result: MaskedPredictions | null = null;
  private controller: AbortController | null = null;
  private started = 0;
  private ms = 0;
  private error = '';
  private opened = false;
  private focusIndex = 0;
  /** Ordinary tokens: what one computation masks. */
  private readonly ordinary: number;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly probes: ModelProbes | undefined,
    private readonly reveal: (start: number, end: number) => void,
  ) {
    this.ordinary = lens.tokens.filter((t) => !t.special).length;
    const n = formatCount(this.ordinary);
    this.runButton = h('vscode-button', { 'data-testid': 'masked-run', title: `Mask each of the ${n} tokens in turn and run the model on each copy` }, 'Compute masked predictions') as Button;
    this.runButton.addEventListener('click', () => this.run());
    this.cancelButton = h('vscode-button', { secondary: '', 'data-testid': 'masked-cancel', hidden: '' }, 'Cancel') as Button;
    this.cancelButton.addEventListener('click', () => this.cancel());
    this.progress = h('vscode-progress-bar', { 'aria-label': 'Masked predictions progress' }) as Progress;
    this.progressText = h('span', { class: 'muted' });
    this.progressWrap = h('div', { class: 'occlusion-progress', 'data-testid': 'masked-progress', role: 'status', hidden: '' }, this.progress, this.progressText);
    this.note = h('p', { class: 'muted view-note', 'data-testid': 'masked-note', role: 'status' });
    this.legend = h('div', { class: 'strip-legend muted', hidden: '' });
    this.strip = h('div', { class: 'token-strip masked-strip', role: 'listbox', 'aria-label': 'Tokens by pseudo-surprisal. Arrow keys move, Enter reveals the token in the editor.', hidden: '' });
    this.card = h('div', { class: 'masked-card', 'data-testid': 'masked-top5', 'aria-live': 'polite', hidden: '' });
    this.element = h(
      'div',
      { class: 'masked-view', 'data-testid': 'masked-view' },
      h(
        'p',
        { class: 'muted view-note' },
        'This model scores the token at each position, so reading it on the unmasked text mostly copies the token. Here each token is hidden in turn (replaced by the mask token) and the model predicts it from all the others: −log₂ p(token | the rest) is its pseudo-surprisal.',
      ),
      h('div', { class: 'view-toolbar' }, this.runButton, this.cancelButton),
      this.progressWrap,
      this.note,
      this.legend,
      this.strip,
      this.card,
    );
    this.listen();
    this.cleanup.push(
      lens.on('hover', () => this.follow()),
      lens.on('select', () => this.follow()),
    );
    this.update();
  }

  /** The tab became visible: a short selection is computed without a click, once. */
  activate(): void {
    if (this.opened) return;
    this.opened = true;
    if (this.status === 'idle' && computesAutomatically(this.ordinary)) this.run();
  }

  dispose(): void {
    this.controller?.abort();
    this.controller = null;
    this.cleanup.forEach((f) => f());
  }

  private run(): void {
    if (this.status === 'running' || this.status === 'done' || !this.probes) return;
    const controller = (this.controller = new AbortController());
    this.started = performance.now();
    this.status = 'running';
    this.setProgress(0, this.ordinary);
    this.update();
    this.probes
      .maskedPredictions(this.lens.analysis, (done, total) => controller === this.controller && this.setProgress(done, total), controller.signal)
      .then(
        (result) => {
          if (controller !== this.controller) return;
          this.controller = null;
          this.result = result;
          this.ms = performance.now() - this.started;
          this.status = 'done';
          this.showResult(result);
          this.update();
        },
        (err: unknown) => {
          if (controller !== this.controller) return;
          this.controller = null;
          const message = failure(err);
          this.status = message === null ? 'cancelled' : 'failed';
          this.error = message ?? '';
          this.update();
        },
      );
  }

  /** Cancels at once (the engine stops after its current batch). */
  private cancel(): void {
    if (this.status !== 'running') return;
    this.controller?.abort();
    this.controller = null;
    this.status = 'cancelled';
    this.update();
  }

  private setProgress(done: number, total: number): void {
    this.progress.max = Math.max(1, total);
    this.progress.value = done;
    this.progressText.textContent = `${formatCount(done)} of ${formatCount(total)} tokens masked`;
  }

  private update(): void {
    const running = this.status === 'running';
    this.progressWrap.hidden = !running;
    this.cancelButton.hidden = !running;
    this.runButton.hidden = this.status === 'done' || !this.probes;
    this.runButton.disabled = running;
    this.runButton.textContent = this.status === 'cancelled' || this.status === 'failed' ? 'Compute again' : 'Compute masked predictions';
    this.note.classList.toggle('error', this.status === 'failed');
    const n = formatCount(this.ordinary);
    const text: Record<Status, string> = {
      idle: this.probes ? `Masking runs the model ${n} more times, once per token: press Compute masked predictions.` : 'Masked predictions need the panel’s model engine.',
      running: `Masking ${n} tokens, one model run each…`,
      done: this.result ? `${totalsLine(this.result)} Took ${(this.ms / 1000).toFixed(1)} s. Hover or click a token for its masked predictions.` : '',
      failed: `Masked predictions failed: ${this.error}`,
      cancelled: 'Masked predictions were cancelled.',
    };
    this.note.textContent = text[this.status];
    this.note.dataset.state = this.status; // for tests: idle, running, done, failed or cancelled
  }

  /** Builds the tinted strip and its legend from a finished result. */
  private showResult(result: MaskedPredictions): void {
    const max = surprisalScaleMax(result);
    const swatches = h('span', { class: 'surprisal-scale', 'aria-hidden': 'true' });
    for (let i = 0; i <= 8; i++) {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.background = viridisCss(i / 8);
      swatches.append(swatch);
    }
    this.legend.replaceChildren(h('span', { title: '−log₂ p(token | every other token), with the token masked' }, 'Pseudo-surprisal: 0'), swatches, h('span', {}, `${max} bits · dotted: special token, not masked`));
    this.spans = this.lens.tokens.map((token, i) => {
      const masked = result.tokens[i] ?? null;
      const span = h('span', { class: 'token masked-token', 'data-testid': 'masked-token', 'data-index': String(i), role: 'option', tabindex: i === 0 ? '0' : '-1', 'aria-selected': 'false' });
      for (const piece of token.text.split(/(?<=↵)/)) {
        if (!piece) continue;
        span.append(piece);
        if (piece.endsWith('↵')) span.append(h('br'));
      }
      if (masked) {
        const colour = viridisCss(tintFraction(masked.bits, max));
        span.style.borderBottomColor = colour;
        span.style.setProperty('--masked-tint', colour);
      } else {
        span.classList.add('no-surprisal', 'special');
      }
      span.setAttribute('aria-label', tokenLabel(masked, token.text));
      span.title = tokenLabel(masked, token.text);
      return span;
    });
    this.focusIndex = 0;
    this.strip.replaceChildren(...this.spans);
    this.strip.hidden = false;
    this.legend.hidden = false;
    this.card.hidden = false;
    this.follow();
  }

  private indexOf(target: EventTarget | null): number | null {
    const el = (target as Element | null)?.closest?.('[data-index]');
    return el && this.strip.contains(el) ? Number(el.getAttribute('data-index')) : null;
  }

  private listen(): void {
    const enter = (e: Event) => {
      const i = this.indexOf(e.target);
      if (i !== null) this.lens.setHover(i);
    };
    this.strip.addEventListener('mouseover', enter);
    this.strip.addEventListener('focusin', enter);
    this.strip.addEventListener('mouseleave', () => this.lens.setHover(null));
    this.strip.addEventListener('click', (e) => {
      const i = this.indexOf(e.target);
      if (i !== null) this.pick(i);
    });
    this.strip.addEventListener('keydown', (e) => {
      const i = this.focusIndex;
      const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? this.spans.length - 1 : null;
      if (e.key === 'Enter' || e.key === ' ') this.pick(i);
      else if (next === null) return;
      else this.focus(Math.max(0, Math.min(this.spans.length - 1, next)));
      e.preventDefault();
    });
  }

  /** Pins a token and reveals its range in the editor (a special token stands for no text). */
  private pick(i: number): void {
    this.focus(i, false);
    this.lens.select(i);
    const token = this.lens.tokens[i];
    if (token && !token.special) this.reveal(token.start, token.end);
  }

  private focus(i: number, move = true): void {
    this.spans[this.focusIndex]?.setAttribute('tabindex', '-1');
    this.focusIndex = i;
    const span = this.spans[i];
    span?.setAttribute('tabindex', '0');
    if (move) span?.focus({ preventScroll: true });
    span?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  /** Marks the hovered and pinned tokens and shows the card of the active one. */
  private follow(): void {
    if (!this.result) return;
    const { hover, selected } = this.lens;
    this.spans.forEach((span, i) => {
      span.classList.toggle('hovered', hover.query === i);
      span.classList.toggle('selected', selected === i);
      span.setAttribute('aria-selected', String(selected === i));
    });
    const i = this.lens.active;
    if (i === null || !this.lens.tokens[i]) {
      this.card.replaceChildren(h('div', { class: 'muted' }, 'Hover or click a token for its top masked predictions.'));
      return;
    }
    const card = maskedCard(this.result.tokens[i] ?? null, this.lens.tokens[i].text, this.result.vocab, i);
    const list = h('ol', { class: 'prediction-list' });
    for (const row of card.rows) {
      const bar = h('span', { class: 'bar-fill' });
      bar.style.width = `${(row.probability * 100).toFixed(1)}%`;
      list.append(
        h(
          'li',
          { class: row.actual ? 'actual' : '' },
          h('span', { class: 'pred-text' }, `“${row.text}”`),
          h('span', { class: 'bar' }, bar),
          h('span', { class: 'pred-p' }, row.label),
          row.actual ? h('span', { class: 'muted' }, ' ← actual') : null,
        ),
      );
    }
    const parts: HTMLElement[] = [h('div', { class: 'pred-head' }, card.heading), h('div', { class: 'muted' }, card.actual)];
    if (card.rows.length) parts.push(h('div', { class: 'pred-title' }, `Top-${card.rows.length} predictions with this token masked`), list);
    if (card.missing) parts.push(h('div', { class: 'muted' }, card.missing));
    this.card.replaceChildren(...parts);
  }
}
