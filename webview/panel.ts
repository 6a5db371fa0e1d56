// Entry point of the analysis panel webview. Until the analysis lands it shows what is real today: the
// selected text with its document range and length, and the inference backend it initialised.

import type { BackendInfo, InitialState, SelectionSummary } from '../src/core/protocol';
import { initBackend } from './backend';
import { backendView, h, replace, selectionSummary } from './dom';
import { host, reportError } from './vscodeApi';

const app = document.getElementById('app')!;
const backendSlot = h('div', { class: 'slot' });
const selectionSlot = h('div', { class: 'slot' }, h('p', { class: 'muted' }, 'Waiting for a selection…'));
let backend: BackendInfo | null = null;
let backendRequested: string | undefined;

function showSelection(selection: SelectionSummary): void {
  replace(selectionSlot, selectionSummary(selection, true));
}

async function startBackend(state: InitialState, preference: InitialState['settings']['backend']): Promise<void> {
  if (backendRequested === preference) {
    return;
  }
  backendRequested = preference;
  backend = null;
  replace(backendSlot, backendView('loading'));
  try {
    const info = await initBackend(preference, state.ortBaseUri, state.probeModelUri);
    if (backendRequested !== preference) {
      return; // A newer setting superseded this initialisation.
    }
    backend = info;
    replace(backendSlot, backendView(info));
    host.notify('backendReady', info);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    replace(backendSlot, backendView(error));
    reportError(error, 'backend');
  }
}

async function main(): Promise<void> {
  replace(app, h('header', {}, h('h1', {}, 'Attention Lens')), backendSlot, selectionSlot);
  host.onRequest('showSelection', (selection) => {
    showSelection(selection);
    return { version: selection.version, length: selection.text.length, backend };
  });
  const state = await host.request('ready', { view: 'panel' });
  if (state.selection) {
    showSelection(state.selection);
  }
  host.onNotification('settingsChanged', (settings) => void startBackend(state, settings.backend));
  await startBackend(state, state.settings.backend);
}

main().catch((err) => {
  reportError(err, 'panel');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
