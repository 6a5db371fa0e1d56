// Why: "which model fills this in best, and how does each get there?" Compare runs every installed model
// that declares infilling on the same request, one after another (cancellable: a newer request or Cancel
// stops it), and shows them side by side as they finish: each one's filling, the original span's bits per
// token under it, its cross-attention map, its latency and its size. All maps share ONE colour scale (the
// largest weight over the models), redrawn as each model arrives, so a sharper alignment looks sharper.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { shortName, formatBytes } from '../../src/core/compareSummary';
import { LensError, toErrorPayload } from '../../src/core/errors';
import { bitsPerToken, fillingMatch, sharedMax } from '../../src/core/infillViews';
import type { InfillRequest, ModelDescriptor } from '../../src/core/protocol';
import { h, replace } from '../dom';
import { CrossMap } from './crossMap';
import type { FillData } from './fillData';
import { formatMs } from '../../src/core/text';

/** One model's run for Compare: the prepared result and what it cost. */
export interface CompareOutcome {
  data: FillData;
  loadMs: number;
  runMs: number;
}

/** Runs one model on the request (load with progress, then fill). */
export type RunOne = (model: ModelDescriptor, signal: AbortSignal, onProgress: (loaded: number, total: number) => void) => Promise<CompareOutcome>;

interface Card {
  model: ModelDescriptor;
  element: HTMLElement;
  map?: CrossMap;
  outcome?: CompareOutcome;
}


export class FillCompare {
  readonly element: HTMLElement;
  private readonly status = h('div', { class: 'muted', 'data-testid': 'fill-compare-status', role: 'status' });
  private readonly scaleNote = h('div', { class: 'muted view-note', 'data-testid': 'fill-compare-scale' });
  private readonly grid = h('div', { class: 'fill-compare-grid' });
  private readonly cancelButton = h('vscode-button', { secondary: '', 'data-testid': 'fill-compare-cancel', title: 'Stop running the models' }, 'Cancel') as HTMLElement & { hidden: boolean };
  private cards: Card[] = [];
  private controller: AbortController | null = null;

  constructor(private readonly reveal: (data: FillData, col: number) => void) {
    this.cancelButton.hidden = true;
    this.cancelButton.addEventListener('click', () => this.cancel());
    this.element = h(
      'section',
      { class: 'fill-compare', 'data-testid': 'fill-compare', 'aria-label': 'Infilling models compared' },
      h('h2', {}, 'Infilling models compared'),
      h('div', { class: 'view-toolbar' }, this.status, this.cancelButton),
      this.scaleNote,
      this.grid,
    );
  }

  get running(): boolean {
    return this.controller !== null;
  }

  /** Runs every model in turn on the request; a running comparison is cancelled first. */
  async run(models: readonly ModelDescriptor[], request: InfillRequest, runOne: RunOne): Promise<void> {
    this.cancel();
    const controller = (this.controller = new AbortController());
    this.disposeCards();
    this.cards = models.map((model) => ({ model, element: h('article', { class: 'fill-compare-card', 'data-testid': `fill-compare-${model.manifest.id}`, 'data-state': 'waiting' }) }));
    this.cards.forEach((card) => this.renderCard(card, 'Waiting…'));
    replace(this.grid, ...this.cards.map((c) => c.element));
    this.scaleNote.textContent = '';
    this.cancelButton.hidden = false;
    let done = 0;
    for (const card of this.cards) {
      if (controller.signal.aborted) break;
      this.status.textContent = `Running ${shortName(card.model.manifest)} (${done + 1} of ${this.cards.length}) on ${request.fileName}…`;
      this.renderCard(card, 'Running…', 'running');
      try {
        card.outcome = await runOne(card.model, controller.signal, (loaded, total) => {
          if (!controller.signal.aborted && loaded < total) this.renderCard(card, `Loading ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB…`, 'running');
        });
        this.renderCard(card, '', 'done');
        this.rescale();
      } catch (err) {
        const payload = toErrorPayload(err);
        if (controller.signal.aborted || (err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed'))) {
          this.renderCard(card, 'Cancelled.', 'cancelled');
          break;
        }
        this.renderCard(card, payload.message, 'failed');
      }
      done++;
    }
    if (this.controller !== controller) return;
    this.controller = null;
    this.cancelButton.hidden = true;
    const finished = this.cards.filter((c) => c.outcome).length;
    this.status.textContent = controller.signal.aborted ? `Cancelled after ${finished} of ${this.cards.length} models.` : `${finished} of ${this.cards.length} models filled the span in.`;
    for (const card of this.cards) if (!card.outcome && card.element.getAttribute('data-state') === 'waiting') this.renderCard(card, 'Not run.', 'cancelled');
  }

  cancel(): void {
    this.controller?.abort();
  }

  /** Every finished map on one colour scale: the largest weight over the models. */
  private rescale(): void {
    const shown = this.cards.filter((c) => c.outcome?.data.summary);
    const max = sharedMax(shown.map((c) => c.outcome!.data.summary!.matrix));
    for (const card of shown) {
      const data = card.outcome!.data;
      const m = data.summary!.matrix;
      card.map?.set({ matrix: m, rows: data.result.filling.ids.length, cols: data.source.labels.length, rowLabels: data.result.filling.tokens, colLabels: data.source.labels, special: data.source.special, hole: data.source.hole, max });
    }
    this.scaleNote.textContent = shown.length ? `Every map on one colour scale, 0 … ${max.toFixed(3)} (the largest weight over the ${shown.length} model${shown.length === 1 ? '' : 's'}); rows are filled tokens, columns the source, the dashed line the hole.` : '';
  }

  private renderCard(card: Card, status: string, state = 'waiting'): void {
    const m = card.model.manifest;
    card.element.setAttribute('data-state', state);
    const size = card.model.modelBytes + (card.model.externalDataBytes ?? 0);
    const head = h('div', { class: 'card-head' }, h('strong', {}, shortName(m)), h('span', { class: 'muted' }, ` ${m.displayName}`));
    const outcome = card.outcome;
    if (!outcome) {
      replace(card.element, head, h('div', { class: state === 'failed' ? 'error' : 'muted', role: state === 'failed' ? 'alert' : 'status' }, status));
      return;
    }
    const { result, summary } = outcome.data;
    const bits = bitsPerToken(result.original.surprisal);
    const match = fillingMatch(result.request.span.text, result.filling.text);
    card.map ??= new CrossMap({ testid: `fill-compare-map-${m.id}`, compact: true, reveal: (col) => this.reveal(outcome.data, col) });
    replace(
      card.element,
      head,
      h('pre', { class: 'fill-code', 'data-testid': `fill-compare-filling-${m.id}` }, result.filling.text || h('span', { class: 'muted' }, '(empty)')),
      h('div', { class: `fill-match ${match}`, 'data-match': match }, match === 'exact' ? '✓ the original span' : match === 'whitespace' ? '≈ the original apart from whitespace' : '≠ differs from the original'),
      h('div', { 'data-testid': `fill-compare-bits-${m.id}` }, Number.isFinite(bits) ? `Original span: ${bits.toFixed(2)} bits per token` : 'Original span: no scores'),
      summary ? h('div', { class: 'muted small' }, summary.label) : h('div', { class: 'muted small' }, 'No cross-attention exported.'),
      summary ? card.map.element : null,
      h(
        'div',
        { class: 'muted', 'data-testid': `fill-compare-stats-${m.id}` },
        `run ${formatMs(outcome.runMs)}${outcome.loadMs ? ` (+${formatMs(outcome.loadMs)} load)` : ''} · model ${formatBytes(size)} · ${result.source.length} source tokens`,
      ),
    );
  }

  private disposeCards(): void {
    this.cards.forEach((c) => c.map?.dispose());
    this.cards = [];
  }

  dispose(): void {
    this.cancel();
    this.disposeCards();
  }
}
