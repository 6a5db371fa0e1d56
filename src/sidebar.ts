// The "Compare architectures" webview view in the Attention Lens activity-bar container. The host side
// follows the active editor's selection (debounced) for it, hands it the analysis panel's run when that
// covers the same text (so no model runs twice), opens a model in the panel when a matrix is clicked,
// and logs each finished comparison. Activation owns the provider; the provider registers itself.
// What the webview sends is checked at the door (webviewEndpoint.ts); a selection it asks to open in the
// panel must moreover be one the host sent it, or the current text of an open document (SentSelections).

import * as vscode from 'vscode';
import { LensError, forLog } from './core/errors';
import type { ComparisonDone, InitialState, SelectionSummary } from './core/protocol';
import { Disposable } from './dispose';
import type { Log } from './log';
import { modelBytesHandler } from './modelBytes';
import type { ModelStore } from './modelStore';
import type { AnalysisPanelHost } from './panel';
import { initialState } from './resources';
import { SentSelections, summarizeSelection } from './selection';
import { type HostEndpoint, type SimulatedAnswer, createHostEndpoint } from './webviewEndpoint';
import { followSettingsAndModels } from './webviewFollow';
import { buildWebviewHtml, webviewOptions } from './webviewHtml';
import type { WebviewFileRoutes } from './fileRoutes';

/** Running three models on every keystroke of a growing selection would be wasted: wait for a pause. */
const SELECTION_DEBOUNCE_MS = 300;
const VIEW_ID = 'attentionLens.compare';

export class CompareViewProvider extends Disposable implements vscode.WebviewViewProvider {
  private view: { endpoint: HostEndpoint; disposables: vscode.Disposable[] } | undefined;
  private readyWaiters: Array<(state: InitialState) => void> = [];
  private lastState: InitialState | undefined;
  /** The last active text editor: its selection stays the one to compare while focus is in a webview. */
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private readonly comparedEmitter = this.register(new vscode.EventEmitter<ComparisonDone>());
  /** Fires when the view has every model's figures for a selection on screen. */
  readonly onDidCompare = this.comparedEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ModelStore,
    private readonly panels: AnalysisPanelHost,
    private readonly files: WebviewFileRoutes,
    private readonly log: Log,
  ) {
    super();
    this.register(vscode.window.registerWebviewViewProvider(VIEW_ID, this));
    this.register(
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) this.lastEditor = editor;
      }),
    );
  }

  async resolveWebviewView(webviewView: vscode.WebviewView): Promise<void> {
    this.disposeView();
    const webview = webviewView.webview;
    webview.options = webviewOptions(this.extensionUri, await this.store.modelRoots());
    const endpoint = createHostEndpoint(webview, 'Compare view', this.log);
    const files = this.files.open(webview);
    const disposables: vscode.Disposable[] = [endpoint, files];
    this.view = { endpoint, disposables };
    let isReady = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sent = new SentSelections();
    const sendSelection = (editor: vscode.TextEditor) => endpoint.notify('selectionChanged', sent.remember(summarizeSelection(editor)));

    disposables.push(
      endpoint.onRequest('ready', async () => {
        const state: InitialState = { ...(await initialState(webview, this.extensionUri, this.store, 'sidebar')), selection: sent.remember(this.currentSelection()) };
        isReady = true;
        this.lastState = state;
        this.readyWaiters.splice(0).forEach((resolve) => resolve(state));
        return state;
      }),
      endpoint.onRequest('openInPanel', async ({ selection, modelId }) => {
        const known = sent.match(selection);
        if (!known) throw new LensError('bad-request', '"openInPanel": params.selection is neither a selection this view was sent nor the current text of an open document.');
        await this.panels.show(known, modelId);
      }),
      endpoint.onRequest('panelRun', async (text) => {
        try {
          return (await this.panels.panel?.compareRun(text)) ?? null;
        } catch (err) {
          // The panel may be closing or busy; the view then runs the model itself.
          this.log.info(`Compare view: the panel's analysis could not be reused (${forLog(err instanceof Error ? err.message : String(err))}).`);
          return null;
        }
      }),
      endpoint.onNotification('comparisonDone', (done) => {
        this.log.info(
          `Compared ${done.tokenCount} tokens${done.truncated ? ' (truncated)' : ''}: ` +
            done.models.map((m) => `${m.modelId} ${m.bitsPerByte.toFixed(3)} bits/byte, ${m.reused ? 'reused from the panel' : `${Math.round(m.runMs)} ms on ${m.backend}`}`).join('; '),
        );
        this.comparedEmitter.fire(done);
      }),
      // A collapsed selection (a click) or focus moving to a webview keeps the last comparison on screen:
      // the view follows what the user selects, not every cursor move.
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (!isReady || e.textEditor.selection.isEmpty) {
          return;
        }
        clearTimeout(timer);
        const editor = e.textEditor;
        timer = setTimeout(() => sendSelection(editor), SELECTION_DEBOUNCE_MS);
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (isReady && editor && !editor.selection.isEmpty) {
          clearTimeout(timer);
          sendSelection(editor);
        }
      }),
      // Changed settings and added or removed models reach the view (the comparison follows).
      ...followSettingsAndModels(endpoint, webview, this.store, async () => isReady),
      endpoint.onRequest('modelBytes', modelBytesHandler(this.store, webview)),
      { dispose: () => clearTimeout(timer) },
      webviewView.onDidDispose(() => this.disposeView()),
    );
    const served = await files.ready;
    if (this.view?.endpoint === endpoint) webview.html = buildWebviewHtml(webview, this.extensionUri, 'sidebar', 'Compare architectures', served);
  }

  /** Delivers a message as if the view's webview had posted it (for tests); rejects when the view is not open. */
  simulate(kind: 'request' | 'notification', method: string, params: unknown): Promise<SimulatedAnswer> {
    if (!this.view) return Promise.reject(new Error('The Compare view is not open.'));
    return this.view.endpoint.simulate(kind, method, params);
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

  /** The active editor's selection, else that of the last active one still visible (focus may be in a webview). */
  private currentSelection(): SelectionSummary | null {
    const last = this.lastEditor;
    const editor = vscode.window.activeTextEditor ?? (last && vscode.window.visibleTextEditors.includes(last) ? last : undefined);
    return editor && !editor.selection.isEmpty ? summarizeSelection(editor) : null;
  }

  override dispose(): void {
    this.disposeView();
    super.dispose();
  }
}


