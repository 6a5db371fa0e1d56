// Small DOM helpers shared by the panel and the sidebar: element creation without innerHTML, the one
// dropdown helper, and what both views show: the selection summary, the backend badge, invalid models.

import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { BackendInfo, InvalidModel, SelectionSummary } from '../src/core/protocol';
import { formatCount } from '../src/core/text';

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children (text children are set as text, never parsed). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string>, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Record<string, string>, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    el.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      el.append(child);
    }
  }
  return el;
}

/** A VS Code dropdown: its value is the chosen option's value. */
export type SelectElement = HTMLElement & { value: string; disabled: boolean };

/** A VS Code dropdown with a test id, an accessible name and [value, text] options, `value` chosen. */
export function select(testid: string, label: string, options: Array<[string, string]>, value: string): SelectElement {
  return h(
    'vscode-single-select',
    { 'data-testid': testid, 'aria-label': label, title: label },
    ...options.map(([v, text]) => h('vscode-option', v === value ? { value: v, selected: '' } : { value: v }, text)),
  ) as SelectElement;
}

/** A secondary VS Code button whose title is also its accessible name; `action` runs on click. */
export function toolbarButton(label: string, title: string, action: () => void): HTMLElement {
  const button = h('vscode-button', { secondary: '', title, 'aria-label': title }, label);
  button.addEventListener('click', action);
  return button;
}

/** Replaces the contents of a container. */
export function replace(container: Element, ...children: Child[]): void {
  container.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** "Ln 3, Col 5 – Ln 9, Col 1" in the editor's 1-based convention. */
export function formatRange(s: SelectionSummary): string {
  return `Ln ${s.start.line + 1}, Col ${s.start.character + 1} – Ln ${s.end.line + 1}, Col ${s.end.character + 1}`;
}

export function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/** The selection's origin and size, and (optionally) its text. */
export function selectionSummary(s: SelectionSummary, withText: boolean): HTMLElement {
  return h(
    'section',
    { class: 'selection', 'data-testid': 'selection' },
    h('div', { class: 'selection-head' }, h('span', { class: 'file', 'data-testid': 'selection-file' }, s.fileName), h('span', { class: 'muted' }, ` · ${s.languageId}`)),
    h('div', { class: 'muted', 'data-testid': 'selection-range' }, formatRange(s)),
    h(
      'div',
      { class: 'muted', 'data-testid': 'selection-length' },
      `${plural(s.length, 'character')} (UTF-16) · ${plural(s.codePoints, 'code point')} · ${plural(s.lineCount, 'line')}`,
    ),
    withText ? h('pre', { class: 'selection-text', 'data-testid': 'selection-text' }, s.text) : null,
  );
}

/** The backend badge and its explanation. */
export function backendView(info: BackendInfo | 'loading' | Error): HTMLElement {
  if (info === 'loading') {
    return h('div', { class: 'backend', 'data-testid': 'backend', 'data-state': 'loading' }, h('vscode-progress-ring', { 'aria-label': 'Initialising' }), ' Initialising onnxruntime-web…');
  }
  if (info instanceof Error) {
    return h('div', { class: 'backend error', 'data-testid': 'backend', 'data-state': 'error', role: 'alert' }, `Inference backend unavailable: ${info.message}`);
  }
  const label = info.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly';
  return h(
    'div',
    { class: 'backend', 'data-testid': 'backend', 'data-state': 'ready', 'data-backend': info.backend },
    h('vscode-badge', { variant: 'counter' }, label),
    h('span', {}, ` onnxruntime-web ${info.ortVersion}`),
    info.adapter ? h('div', { class: 'muted', 'data-testid': 'backend-adapter' }, `Adapter: ${info.adapter}`) : null,
    info.fallbackReason ? h('div', { class: 'muted', 'data-testid': 'backend-reason' }, `WebGPU not used: ${info.fallbackReason}.`) : null,
    h('div', { class: 'muted' }, `Ready in ${Math.round(info.initMs)} ms`),
  );
}

/**
 * The models that failed validation (bundled or from attentionLens.modelFolders), each with the folder it
 * was read from and every reason; null when none did.
 */
export function invalidModelsView(invalid: readonly InvalidModel[]): HTMLElement | null {
  if (invalid.length === 0) return null;
  return h(
    'section',
    { class: 'notice', 'data-testid': 'invalid-models', role: 'status' },
    h('div', {}, invalid.length === 1 ? 'A model is invalid and is not offered:' : `${invalid.length} models are invalid and are not offered:`),
    h(
      'ul',
      {},
      ...invalid.map((m) =>
        h(
          'li',
          { 'data-model': m.id },
          m.id ? h('strong', {}, m.id) : null,
          m.id ? ' in ' : 'Folder ',
          h('span', { class: 'file', 'data-testid': 'invalid-model-folder', title: m.folder }, m.folder),
          h('ul', {}, ...m.errors.map((error) => h('li', {}, error))),
        ),
      ),
    ),
  );
}
