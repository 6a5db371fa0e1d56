// The analysis panel beside the editor: one webview panel, created on first use and revealed afterwards.
// The host waits for the webview's `ready` before posting anything, then asks it to show the selection.

import * as vscode from 'vscode';
import type { BackendInfo, SelectionShown, SelectionSummary } from './core/protocol';
import { LensError } from './core/errors';
import { Disposable } from './dispose';
import type { ModelStore } from './modelStore';
import { log } from './log';
import { ortBaseUri, probeModelUri } from './resources';
import { readSettings } from './settings';
import { HostEndpoint, createHostEndpoint } from './webviewEndpoint';
import { buildWebviewHtml, webviewOptions } from './webviewHtml';

export class AnalysisPanel extends Disposable {
  static readonly viewType = 'attentionLens.panel';
  private static current: AnalysisPanel | undefined;

  private readonly endpoint: HostEndpoint;
  private readonly ready: Promise<void>;
  private rejectReady: (reason: LensError) => void = () => undefined;
  private backend: BackendInfo | undefined;
  private readonly backendWaiters: Array<(info: BackendInfo) => void> = [];
  private readonly onDidDisposeEmitter = this.register(new vscode.EventEmitter<void>());
  readonly onDidDispose = this.onDidDisposeEmitter.event;

  /** Shows the selection in the panel, creating or revealing it; resolves once the webview has rendered it. */
  static async show(extensionUri: vscode.Uri, store: ModelStore, selection: SelectionSummary): Promise<SelectionShown> {
    let panel = AnalysisPanel.current;
    if (panel) {
      panel.webviewPanel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      panel = AnalysisPanel.current = new AnalysisPanel(extensionUri, store);
    }
    return panel.display(selection);
  }

  /** The open panel, if any. */
  static get instance(): AnalysisPanel | undefined {
    return AnalysisPanel.current;
  }

  static disposeCurrent(): void {
    AnalysisPanel.current?.dispose();
  }

  private constructor(extensionUri: vscode.Uri, store: ModelStore) {
    super();
    this.webviewPanel = this.register(
      vscode.window.createWebviewPanel(
        AnalysisPanel.viewType,
        'Attention Lens',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { ...webviewOptions(extensionUri), retainContextWhenHidden: true },
      ),
    );
    this.webviewPanel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activitybar.svg');
    const webview = this.webviewPanel.webview;
    this.endpoint = this.register(createHostEndpoint(webview, 'Panel'));
    this.register(
      this.endpoint.onNotification('backendReady', (info) => {
        this.backend = info;
        log().info(
          `Panel backend: ${info.backend}${info.adapter ? ` (${info.adapter})` : ''}${info.fallbackReason ? `; WebGPU not used: ${info.fallbackReason}` : ''}; ` +
            `onnxruntime-web ${info.ortVersion}, ready in ${Math.round(info.initMs)} ms`,
        );
        this.backendWaiters.splice(0).forEach((resolve) => resolve(info));
      }),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.rejectReady = reject;
      this.register(
        this.endpoint.onRequest('ready', async () => {
          const models = await store.describe(webview);
          resolve();
          return {
            view: 'panel' as const,
            settings: readSettings(),
            ortBaseUri: ortBaseUri(webview, extensionUri),
            probeModelUri: probeModelUri(webview, extensionUri),
            selection: null,
            models,
          };
        }),
      );
    });
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionLens')) {
          this.endpoint.notify('settingsChanged', readSettings());
        }
      }),
    );
    this.register(this.webviewPanel.onDidDispose(() => this.dispose()));
    webview.html = buildWebviewHtml(webview, extensionUri, 'panel', 'Attention Lens');
  }

  private readonly webviewPanel: vscode.WebviewPanel;

  /** Resolves with the backend the webview initialised, once it has. */
  whenBackendReady(): Promise<BackendInfo> {
    return this.backend ? Promise.resolve(this.backend) : new Promise((resolve) => this.backendWaiters.push(resolve));
  }

  private async display(selection: SelectionSummary): Promise<SelectionShown> {
    await this.ready;
    return this.endpoint.request('showSelection', selection);
  }

  override dispose(): void {
    if (this.disposed) {
      return;
    }
    if (AnalysisPanel.current === this) {
      AnalysisPanel.current = undefined;
    }
    this.rejectReady(new LensError('disposed', 'The Attention Lens panel was closed before it finished loading.'));
    this.onDidDisposeEmitter.fire();
    super.dispose();
  }
}
