// Entry point of the "Compare architectures" sidebar webview: for now it follows the active editor's
// selection and shows its summary; the side-by-side comparison arrives with the models.

import type { SelectionSummary } from '../src/core/protocol';
import { h, replace, selectionSummary } from './dom';
import { host, reportError } from './vscodeApi';

const app = document.getElementById('app')!;
const slot = h('div', { class: 'slot' });

function show(selection: SelectionSummary | null): void {
  if (selection) {
    replace(slot, selectionSummary(selection, false));
  } else {
    replace(slot, h('p', { class: 'muted', 'data-testid': 'no-selection' }, 'Select text or code in an editor to compare how the models read it.'));
  }
}

async function main(): Promise<void> {
  replace(app, h('p', { class: 'muted intro' }, 'The same selection through the Transformer, the LSTM and the GRU.'), slot);
  host.onNotification('selectionChanged', show);
  host.onNotification('settingsChanged', () => undefined);
  const state = await host.request('ready', { view: 'sidebar' });
  show(state.selection);
}

main().catch((err) => {
  reportError(err, 'sidebar');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
