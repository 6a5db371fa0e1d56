// Why: what a webview receives when it starts, built in one place for the panel and the Compare view:
// its settings, the models (and those that failed validation, with why), and the webview URIs of the
// files it loads at run time (onnxruntime-web's wasm, the probe model). Each view adds its selection.

import * as vscode from 'vscode';
import type { InitialState, ViewKind } from './core/protocol';
import type { ModelStore } from './modelStore';
import { readSettings } from './settings';

/** The webview URIs of onnxruntime-web's binaries folder and of the probe model, as a webview loads them. */
export function ortResources(webview: vscode.Webview, extensionUri: vscode.Uri): { ortBaseUri: string; probeModelUri: string } {
  return {
    ortBaseUri: `${webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'ort')).toString()}/`,
    probeModelUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'probe.onnx')).toString(),
  };
}

/** The answer to a webview's `ready`, but for the selection to show first (read when the answer is sent). */
export async function initialState(webview: vscode.Webview, extensionUri: vscode.Uri, store: ModelStore, view: ViewKind): Promise<Omit<InitialState, 'selection'>> {
  const [models, { invalid }] = await Promise.all([store.describe(webview), store.list()]);
  return {
    view,
    settings: readSettings(),
    ...ortResources(webview, extensionUri),
    models,
    invalidModels: invalid,
  };
}
