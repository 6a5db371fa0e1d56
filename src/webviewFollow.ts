// Why: every webview that runs models (the analysis panel, the Fill panel, the Compare sidebar) must hear of
// changed settings and of models added, removed or found invalid while it is open; one function wires both,
// so they cannot drift apart.

import * as vscode from 'vscode';
import type { ModelStore } from './modelStore';
import { readSettings } from './settings';
import type { HostEndpoint } from './webviewEndpoint';

/**
 * Posts `settingsChanged` when an Attention Lens setting changes and `modelsChanged` when the model store does,
 * once `ready` says the webview may be sent messages (a webview closed meanwhile gets nothing). The caller
 * disposes what it returns with the webview.
 */
export function followSettingsAndModels(endpoint: HostEndpoint, webview: vscode.Webview, store: ModelStore, ready: () => Promise<boolean>): vscode.Disposable[] {
  return [
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('attentionLens')) return;
      void ready()
        .then((open) => open && endpoint.notify('settingsChanged', readSettings()))
        .catch(() => undefined);
    }),
    store.onDidChange(() => {
      void ready()
        .then(async (open) => {
          if (!open) return;
          const [models, { invalid }] = await Promise.all([store.describe(webview), store.list()]);
          endpoint.notify('modelsChanged', { models, invalidModels: invalid });
        })
        .catch(() => undefined); // a webview closed meanwhile has nothing to update
    }),
  ];
}
