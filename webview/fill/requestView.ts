// Why: the Fill page shows what it was asked at once, before any model runs: which file, which span (hidden
// from the model), how much code around it the model reads, and which models can fill it in (only those
// whose manifest declares `infilling`; a clear notice when none is installed).

import type { InfillRequest, ModelDescriptor } from '../../src/core/protocol';
import { h, plural } from '../dom';
import { type ModelPicker, modelPicker } from '../views/status';

/** The installed models that declare infilling, in the host's order. */
export function infillingModels(models: readonly ModelDescriptor[]): ModelDescriptor[] {
  return models.filter((m) => m.manifest.infilling !== undefined);
}

const lines = (text: string) => (text ? text.split('\n').length : 0);

/** The request's file, span and context. */
export function requestView(request: InfillRequest): HTMLElement {
  const { span, before, after } = request;
  const range = `Ln ${span.start.line + 1}, Col ${span.start.character + 1} – Ln ${span.end.line + 1}, Col ${span.end.character + 1}`;
  return h(
    'section',
    { class: 'selection fill-request', 'data-testid': 'fill-request' },
    h('div', { class: 'selection-head' }, h('span', { class: 'file', 'data-testid': 'fill-file' }, request.fileName), h('span', { class: 'muted' }, ` · ${request.languageId}`)),
    h('div', { class: 'muted', 'data-testid': 'fill-span-range' }, `Hidden span ${range} (${plural(span.text.length, 'character')})`),
    h(
      'div',
      { class: 'muted', 'data-testid': 'fill-context' },
      `The model reads ${plural(lines(before.text), 'line')} before and ${plural(lines(after.text), 'line')} after it, with the span replaced by one hole token; `,
      request.beamWidth > 1 ? `beam search with ${request.beamWidth} beams` : 'greedy decoding',
      `, at most ${plural(request.maxNewTokens, 'new token')}.`,
    ),
  );
}

/** The picker over the infilling models, or the notice that there are none. */
export function fillModelPicker(models: readonly ModelDescriptor[], value: string, onChange: (id: string) => void): ModelPicker | HTMLElement {
  const usable = infillingModels(models);
  if (!usable.length) return noInfillingModels();
  return modelPicker(usable, value, onChange);
}

export function noInfillingModels(): HTMLElement {
  return h(
    'div',
    { class: 'notice', 'data-testid': 'fill-no-models', role: 'status' },
    'No installed model can fill in a selection: that takes an encoder–decoder whose manifest declares "infilling" (the source and target sequences and its hole, begin and end tokens). Add one in the Models view.',
  );
}
