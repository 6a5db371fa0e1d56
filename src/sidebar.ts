// The "Compare architectures" webview view in the Attention Lens activity-bar container. For now it
// follows the active editor's selection (debounced) and shows its summary; the comparison comes later.

import * as vscode from 'vscode';
import type { InitialState, SelectionSummary } from './core/protocol';
import { Disposable } from './dispose';
import type { ModelStore } from './modelStore';
import { ortBaseUri, probeModelUri } from './resources';
import { summarizeSelection } from './selection';
import { readSettings } from './settings';
import { HostEndpoint, createHostEndpoint } from './webviewEndpoint';
import { buildWebviewHtml, webviewOptions } from './webviewHtml';

const SELECTION_DEBOUNCE_MS = 200;

export class CompareViewProvider extends Disposable implements vscode.WebviewViewProvider {
  static readonly viewId = 'attentionLens.compare';

  private view: { endpoint: HostEndpoint; disposables: vscode.Disposable[] } | undefined;
  private readyWaiters: Array<(state: InitialState) => void> = [];
  private lastState: InitialState | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ModelStore,
  ) {
    super();
  }

  resolveWebviewView(webviewView: vscode.WebviewView): void {
    this.disposeView();
    const webview = webviewView.webview;
    webview.options = webviewOptions(this.extensionUri);
    const endpoint = createHostEndpoint(webview, 'Compare view');
    const disposables: vscode.Disposable[] = [endpoint];
    this.view = { endpoint, disposables };
    let isReady = false;
    let timer: ReturnType<typeof setTimeout> | undefined;

    disposables.push(
      endpoint.onRequest('ready', async () => {
        const models = await this.store.describe(webview);
        isReady = true;
        const state: InitialState = {
          models,
          view: 'sidebar',
          settings: readSettings(),
          ortBaseUri: ortBaseUri(webview, this.extensionUri),
          probeModelUri: probeModelUri(webview, this.extensionUri),
          selection: currentSelection(),
        };
        this.lastState = state;
        this.readyWaiters.splice(0).forEach((resolve) => resolve(state));
        return state;
      }),
      vscode.window.onDidChangeTextEditorSelection(() => {
        if (!isReady) {
          return;
        }
        clearTimeout(timer);
        timer = setTimeout(() => endpoint.notify('selectionChanged', currentSelection()), SELECTION_DEBOUNCE_MS);
      }),
      vscode.window.onDidChangeActiveTextEditor(() => {
        if (isReady) {
          endpoint.notify('selectionChanged', currentSelection());
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (isReady && e.affectsConfiguration('attentionLens')) {
          endpoint.notify('settingsChanged', readSettings());
        }
      }),
      { dispose: () => clearTimeout(timer) },
      webviewView.onDidDispose(() => this.disposeView()),
    );
    webview.html = buildWebviewHtml(webview, this.extensionUri, 'sidebar', 'Compare architectures');
  }

  /** Resolves with the state the sidebar webview received when it next (or last) became ready. */
  whenReady(): Promise<InitialState> {
    return this.lastState ? Promise.resolve(this.lastState) : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private disposeView(): void {
    const view = this.view;
    this.view = undefined;
    this.lastState = undefined;
    view?.disposables.reverse().forEach((d) => d.dispose());
  }

  override dispose(): void {
    this.disposeView();
    super.dispose();
  }
}

function currentSelection(): SelectionSummary | null {
  const editor = vscode.window.activeTextEditor;
  return editor && !editor.selection.isEmpty ? summarizeSelection(editor) : null;
}
