// The analysis panel beside the editor: one webview panel, created on first use and revealed afterwards,
// and revived after a window reload. The host waits for the webview's `ready` before posting anything,
// asks it to show and analyse the selection, follows the editor cursor for it, reveals ranges it asks
// for, and saves its exports. Only small summaries come back from the webview, never model outputs; the one
// matrix that does is the W(t, k) of an analysis the Compare view reuses instead of running the model again.

import * as vscode from 'vscode';
import type { CompareRun } from './core/compare';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, CompareText, SelectionShown, SelectionSummary } from './core/protocol';
import { LensError } from './core/errors';
import type { InfluenceSummary } from './core/influence';
import { Disposable } from './dispose';
import type { ModelStore } from './modelStore';
import { log } from './log';
import { ortBaseUri, probeModelUri } from './resources';
import { saveExport } from './saveFile';
import { revealRange } from './reveal';
import { readSettings } from './settings';
import { HostEndpoint, createHostEndpoint } from './webviewEndpoint';
import { buildWebviewHtml, webviewOptions } from './webviewHtml';

const TITLE = 'Attention Lens';

export class AnalysisPanel extends Disposable {
  static readonly viewType = 'attentionLens.panel';
  private static current: AnalysisPanel | undefined;

  private readonly endpoint: HostEndpoint;
  private readonly ready: Promise<void>;
  private rejectReady: (reason: LensError) => void = () => undefined;
  private backend: BackendInfo | undefined;
  private readonly backendWaiters: Array<(info: BackendInfo) => void> = [];
  private shown: { uri: string; version: number } | undefined;
  private static readonly analysedEmitter = new vscode.EventEmitter<AnalysisDone>();
  /** Fires when a panel has rendered an analysis. */
  static readonly onDidAnalyse = AnalysisPanel.analysedEmitter.event;
  private static readonly summaryEmitter = new vscode.EventEmitter<InfluenceSummary>();
  /** Fires with each analysis' influence summary (per-token top-k lists). */
  static readonly onDidSummarise = AnalysisPanel.summaryEmitter.event;
  private static readonly failedEmitter = new vscode.EventEmitter<LensError>();
  /** Fires when an analysis failed (the webview shows the error too). */
  static readonly onDidFail = AnalysisPanel.failedEmitter.event;

  /** Shows the selection in the panel, creating or revealing it; resolves once the webview has rendered it. */
  static async show(extensionUri: vscode.Uri, store: ModelStore, selection: SelectionSummary, modelId?: string): Promise<SelectionShown> {
    let panel = AnalysisPanel.current;
    if (panel) {
      panel.webviewPanel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      const webviewPanel = vscode.window.createWebviewPanel(
        AnalysisPanel.viewType,
        TITLE,
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { ...webviewOptions(extensionUri), retainContextWhenHidden: true },
      );
      panel = AnalysisPanel.current = new AnalysisPanel(webviewPanel, extensionUri, store);
    }
    return panel.display(selection, modelId);
  }

  /** Registers the serializer that brings the panel back after a window reload. */
  static registerSerializer(extensionUri: vscode.Uri, store: ModelStore): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(AnalysisPanel.viewType, {
      deserializeWebviewPanel: async (webviewPanel) => {
        webviewPanel.webview.options = webviewOptions(extensionUri);
        AnalysisPanel.current?.dispose();
        AnalysisPanel.current = new AnalysisPanel(webviewPanel, extensionUri, store);
        log().info('Restored the Attention Lens panel after a reload.');
      },
    });
  }

  /** The open panel, if any. */
  static get instance(): AnalysisPanel | undefined {
    return AnalysisPanel.current;
  }

  /** Closes the panel and releases the class-wide events (on deactivation). */
  static disposeAll(): void {
    AnalysisPanel.current?.dispose();
    AnalysisPanel.analysedEmitter.dispose();
    AnalysisPanel.failedEmitter.dispose();
    AnalysisPanel.summaryEmitter.dispose();
  }

  private constructor(
    private readonly webviewPanel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    store: ModelStore,
  ) {
    super();
    this.register(webviewPanel);
    webviewPanel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activitybar.svg');
    const webview = webviewPanel.webview;
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
    this.register(
      this.endpoint.onNotification('analysisDone', (done) => {
        const t = done.timings;
        log().info(
          `Analysed ${done.tokenCount} tokens with ${done.modelId} on ${done.backend}: load ${Math.round(t.loadMs)} ms, tokenize ${Math.round(t.tokenizeMs)} ms, ` +
            `run ${Math.round(t.runMs)} ms, views ${Math.round(t.analyseMs)} ms, render ${Math.round(t.renderMs)} ms${done.truncated ? ` (truncated from ${done.truncated.totalTokens} tokens)` : ''}`,
        );
        this.shown = { uri: done.uri, version: done.version };
        AnalysisPanel.analysedEmitter.fire(done);
      }),
    );
    this.register(
      this.endpoint.onNotification('analysisFailed', (failure) => {
        log().error(`Analysis with ${failure.modelId} failed: ${failure.code}: ${failure.message}`);
        AnalysisPanel.failedEmitter.fire(new LensError(failure.code, failure.message));
      }),
    );
    this.register(this.endpoint.onNotification('influence', (summary) => AnalysisPanel.summaryEmitter.fire(summary)));
    this.register(this.endpoint.onRequest('revealRange', (params) => revealRange(params.uri, params.start, params.end)));
    this.register(this.endpoint.onRequest('saveFile', (params) => saveExport(params)));
    this.ready = new Promise<void>((resolve, reject) => {
      this.rejectReady = reject;
      this.register(
        this.endpoint.onRequest('ready', async () => {
          const models = await store.describe(webview);
          setTimeout(resolve, 0); // only after this reply is posted may the host send requests
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
    this.ready.catch(() => undefined); // a panel closed before loading is not an error by itself
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionLens')) {
          this.endpoint.notify('settingsChanged', readSettings());
        }
      }),
    );
    this.register(
      vscode.window.onDidChangeTextEditorSelection((e) => {
        const doc = e.textEditor.document;
        if (this.shown && doc.uri.toString() === this.shown.uri) {
          this.endpoint.notify('cursorMoved', { uri: this.shown.uri, version: doc.version, offset: doc.offsetAt(e.selections[0].active) });
        }
      }),
    );
    this.register(webviewPanel.onDidDispose(() => this.dispose()));
    webview.html = buildWebviewHtml(webview, extensionUri, 'panel', TITLE);
  }

  /** Resolves with the backend the webview initialised, once it has. */
  whenBackendReady(): Promise<BackendInfo> {
    return this.backend ? Promise.resolve(this.backend) : new Promise((resolve) => this.backendWaiters.push(resolve));
  }

  /** Resolves with the next analysis any panel renders; rejects with the next failure. */
  static nextAnalysis(): Promise<AnalysisDone> {
    return new Promise((resolve, reject) => {
      const subs = [
        AnalysisPanel.onDidAnalyse((done) => (subs.forEach((s) => s.dispose()), resolve(done))),
        AnalysisPanel.onDidFail((err) => (subs.forEach((s) => s.dispose()), reject(err))),
      ];
    });
  }

  /** A copy of the current analysis from the webview. */
  snapshot(includeTensors: boolean): Promise<AnalysisSnapshot | null> {
    return this.endpoint.request('analysisSnapshot', { includeTensors }, { timeoutMs: 60_000 });
  }

  /** The panel's current analysis as comparison figures, if it covers exactly this text; null otherwise. */
  async compareRun(text: CompareText): Promise<CompareRun | null> {
    if (!this.shown) return null; // nothing analysed yet: no need to wait for the webview
    await this.ready;
    return this.endpoint.request('compareRun', text, { timeoutMs: 30_000 });
  }

  private async display(selection: SelectionSummary, modelId?: string): Promise<SelectionShown> {
    await this.ready;
    return this.endpoint.request('showSelection', { ...selection, modelId });
  }

  override dispose(): void {
    if (this.disposed) {
      return;
    }
    if (AnalysisPanel.current === this) {
      AnalysisPanel.current = undefined;
    }
    this.rejectReady(new LensError('disposed', 'The Attention Lens panel was closed before it finished loading.'));
    super.dispose();
  }
}
