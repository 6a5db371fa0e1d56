// Why: the small status elements around an analysis (model picker, load progress, timings, truncation
// notice, errors, and the offer of a shorter window when a run would not fit in memory), kept out of
// panel.ts so the entry point reads as the analysis lifecycle only.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { AnalysisDone, ModelDescriptor } from '../../src/core/protocol';
import { retentionGates } from '../../src/core/retention';
import { h } from '../dom';
import { formatCount, formatMs } from '../../src/core/text';

export type ModelPicker = HTMLElement & { value: string };

/** " — gates, state and retention" for a model that declares them (from its roles), else "". */
function recurrentParts(m: ModelDescriptor): string {
  const gates = m.manifest.outputs.find((o) => o.role === 'gates');
  const parts = [gates ? 'gates' : '', m.manifest.outputs.some((o) => o.role === 'state') ? 'state' : '', gates?.gates && retentionGates(gates.gates).ok ? 'retention' : ''].filter(Boolean);
  return parts.length ? ` — ${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0]}` : '';
}

/** The model picker: every model the host offers, in its order, recurrent ones marked by what they declare. */
export function modelPicker(models: ModelDescriptor[], value: string, onChange: (id: string) => void): ModelPicker {
  const picker = h(
    'vscode-single-select',
    { 'data-testid': 'model-picker', 'aria-label': 'Model', title: 'Model that analyses the selection' },
    ...models.map((m) => {
      const label = `${m.manifest.displayName}${recurrentParts(m)}`;
      return h('vscode-option', m.manifest.id === value ? { value: m.manifest.id, selected: '' } : { value: m.manifest.id }, label);
    }),
  ) as ModelPicker;
  picker.addEventListener('change', () => onChange(picker.value));
  return picker;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** Progress while a model loads (bytes when known) or runs. */
export function progressView(text: string, loaded?: number, total?: number): HTMLElement {
  const bar = h('vscode-progress-bar', { 'aria-label': text }) as HTMLElement & { value?: number; max: number };
  if (loaded !== undefined && total) {
    bar.max = total;
    bar.value = Math.min(loaded, total);
  }
  const detail = loaded !== undefined && total ? ` ${mb(loaded)} of ${mb(total)} MB` : '';
  return h('div', { class: 'progress', 'data-testid': 'analysis-progress', role: 'status' }, bar, h('div', { class: 'muted' }, `${text}${detail}`));
}

/** Progress through a count of steps (e.g. occluded tokens), with a determinate bar. */
export function stepProgressView(text: string, done: number, total: number): HTMLElement {
  const bar = h('vscode-progress-bar', { 'aria-label': text }) as HTMLElement & { value?: number; max: number };
  bar.max = Math.max(1, total);
  bar.value = Math.min(done, total);
  return h('div', { class: 'progress', 'data-testid': 'step-progress', role: 'status' }, bar, h('div', { class: 'muted' }, text));
}

/** "Load 812 ms · tokenize 2 ms · run 95 ms · analyse 14 ms · render 31 ms". */
export function timingsView(done: AnalysisDone): HTMLElement {
  const t = done.timings;
  const parts: Array<[string, number, string]> = [
    ['load', t.loadMs, t.loadMs === 0 ? 'model already loaded' : 'fetch, session creation and warm-up'],
    ['tokenize', t.tokenizeMs, 'byte-level BPE with exact document ranges'],
    ['run', t.runMs, `onnxruntime-web on ${done.backend}`],
    ['analyse', t.analyseMs, 'surprisal and top-5 predictions'],
    ['render', t.renderMs, 'views built and first frame painted'],
  ];
  return h(
    'div',
    { class: 'timings muted', 'data-testid': 'timings' },
    `${formatCount(done.tokenCount)} tokens · `,
    ...parts.flatMap(([name, v, title], i) => [i ? ' · ' : '', h('span', { title }, `${name} ${formatMs(v)}`)]),
  );
}

/** The truncation notice, or nothing; `why` names the limit (the setting, or the memory an analysis may take). */
export function truncatedView(truncated: AnalysisDone['truncated'], why = 'attentionLens.maxTokens'): HTMLElement | null {
  if (!truncated) return null;
  const n = formatCount;
  return h('div', { class: 'notice', 'data-testid': 'truncated', role: 'status' }, `Showing the first ${n(truncated.keptTokens)} of ${n(truncated.totalTokens)} tokens (${why}).`);
}

/** Says that the analysis holds some weights in half precision (memoryEstimate.ts halfPrecisionNote). */
export function halfPrecisionView(note: string | undefined): HTMLElement | null {
  return note ? h('div', { class: 'notice', 'data-testid': 'half-precision', role: 'status' }, note) : null;
}

/**
 * A run that was not started because it would not fit in memory: why, with the model's figures, and a
 * button that analyses the first `fit` tokens instead (none when not even one fits).
 */
export function memoryOfferView(message: string, fit: number, analyseFirst: () => void): HTMLElement {
  const offer = h('div', { class: 'notice memory-offer', 'data-testid': 'memory-offer', role: 'alert' }, h('p', {}, message));
  if (fit >= 1) {
    const label = `Analyse the first ${formatCount(fit)} tokens`;
    const button = h('vscode-button', { 'data-testid': 'memory-offer-run', title: `${label}, which fit in the memory an analysis may take` }, label);
    button.addEventListener('click', analyseFirst, { once: true });
    offer.append(button);
  }
  return offer;
}

/** An analysis error, announced to screen readers. */
export function errorView(message: string, code: string): HTMLElement {
  return h('div', { class: 'error analysis-error', 'data-testid': 'analysis-error', 'data-code': code, role: 'alert' }, message);
}
