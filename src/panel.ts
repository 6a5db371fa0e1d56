// The analysis panel beside the editor: one webview panel, created on first use and revealed afterwards,
// and revived after a window reload. The host waits for the webview's `ready` before posting anything,
// asks it to show and analyse the selection, follows the editor cursor for it, reveals ranges it asks
// for, and saves its exports. Only small summaries come back from the webview, never model outputs; the one
// matrix that does is the W(t, k) of an analysis the Compare view reuses instead of running the model again.
// AnalysisPanelHost owns the panel and the events others follow; activation owns the host.
// What the webview sends is checked at the door (webviewEndpoint.ts); here, in addition, every document it
// names must be the one the host sent this panel (RevealScope): it can neither reveal nor report on another.

import * as vscode from 'vscode';
import type { CompareRun } from './core/compare';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, CompareText, InfluenceAtParams, SelectionShown, SelectionSummary } from './core/protocol';
import { checkInfluenceAt } from './core/protocolSchema';
import { LensError, forLog } from './core/errors';
import { ORT_BINARY_FILES, type OrtBinaryFile } from './core/ortFiles';
import { type InfluenceSummary, type TokenInfluence, unpackInfluence } from './core/influence';
import type { HeldInfluenceSummary } from './influenceStore';
import { Disposable } from './dispose';
import type { Log } from './log';
import { modelBytesHandler } from './modelBytes';
import type { ModelStore } from './modelStore';
import { initialState } from './resources';
import { oneSaveAtATime } from './saveFile';
import { RevealScope, revealRange } from './reveal';
import { type HostEndpoint, type SimulatedAnswer, createHostEndpoint } from './webviewEndpoint';
import { followSettingsAndModels } from './webviewFollow';
import { readSettings } from './settings';
import { type PanelScripts, buildWebviewHtml, readPanelScripts, webviewOptions } from './webviewHtml';
import type { WebviewFileRoutes } from './fileRoutes';

const VIEW_TYPE = 'attentionLens.panel';
const TITLE = 'Attention Lens';

/** What a panel reports to its host. */
interface PanelEvents {
  analysed(done: AnalysisDone): void;
  summarised(summary: InfluenceSummary): void;
  failed(error: LensError): void;
  closed(panel: AnalysisPanel): void;
  /** The page's backend is ready (what it chose when the setting is "auto" is remembered: autoChoseLast). */
  backendReady(info: BackendInfo): void;
  /** The build the "auto" setting chose last on this machine, if it chose one before. */
  autoChoseLast(): 'webgpu' | 'wasm' | undefined;
  /** Whether the page holds a kept copy of onnxruntime's binary `file` (webview/binaryCache.ts). */
  binaryKept(file: OrtBinaryFile, kept: boolean): void;
  /** The binaries the last panel said it holds kept copies of: a new panel's HTML does not preload them. */
  keptBinaries(): OrtBinaryFile[];
}

/** globalState key of the build the "auto" backend setting chose last. */
const AUTO_CHOSE_KEY = 'attentionLens.autoBackendChoseLast';
/** globalState key of the binaries the last panel said it holds kept copies of. */
const KEPT_BINARIES_KEY = 'attentionLens.keptBinaries';

/** Owns the analysis panel (at most one at a time), brings it back after a reload, and fires its events. */
export class AnalysisPanelHost extends Disposable {
  private current: AnalysisPanel | undefined;
  private readonly analysed = this.register(new vscode.EventEmitter<AnalysisDone>());
  /** Fires when the panel has rendered an analysis. */
  readonly onDidAnalyse = this.analysed.event;
  private readonly summarised = this.register(new vscode.EventEmitter<InfluenceSummary>());
  /** Fires with each analysis' influence summary (per-token top-k lists). */
  readonly onDidSummarise = this.summarised.event;
  private readonly failed = this.register(new vscode.EventEmitter<LensError>());
  /** Fires when an analysis failed (the webview shows the error too). */
  readonly onDidFail = this.failed.event;
  private readonly events: PanelEvents = {
    analysed: (done) => this.analysed.fire(done),
    summarised: (summary) => this.summarised.fire(summary),
    failed: (error) => this.failed.fire(error),
    closed: (panel) => {
      if (this.current === panel) this.current = undefined;
    },
    // A new panel's HTML names this build (webviewHtml.ts), whose binary the page reads at once: with "auto", the
    // page only learns which build it runs once it has looked for a WebGPU adapter, and then fetched that binary
    // (0.4 s of a cold command here).
    backendReady: (info) => {
      if (info.requested === 'auto' && this.memory?.get(AUTO_CHOSE_KEY) !== info.backend) void Promise.resolve(this.memory?.update(AUTO_CHOSE_KEY, info.backend)).catch(() => undefined);
    },
    autoChoseLast: () => {
      const build = this.memory?.get<string>(AUTO_CHOSE_KEY);
      return build === 'webgpu' || build === 'wasm' ? build : undefined;
    },
    binaryKept: (file, kept) => {
      const now = new Set(this.keptBinaries());
      if (now.has(file) === kept) return;
      if (kept) now.add(file);
      else now.delete(file);
      void Promise.resolve(this.memory?.update(KEPT_BINARIES_KEY, [...now])).catch(() => undefined);
    },
    keptBinaries: () => this.keptBinaries(),
  };

  /** memory: where the host keeps what it learnt between windows (the extension's globalState). */
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ModelStore,
    private readonly files: WebviewFileRoutes,
    private readonly log: Log,
    private readonly memory?: vscode.Memento,
  ) {
    super();
    this.scripts = readPanelScripts(extensionUri);
    this.register(
      vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, { deserializeWebviewPanel: (webviewPanel, state: unknown) => this.restore(webviewPanel, state) }),
    );
  }

  /**
   * The panel's inline scripts (its starter), read before a panel needs them: a new panel's HTML is then written in
   * the command's own task (read then, while the extension host was busy at once after a file was opened, the HTML
   * came 49–99 ms after the panel). Each panel takes this read and starts the next one: a script rebuilt since (a
   * watching build) reaches the panel after the next.
   */
  private scripts: Promise<PanelScripts>;

  /** The inline scripts read ahead for this panel; the next panel's read starts. */
  private takeScripts(): Promise<PanelScripts> {
    const scripts = this.scripts;
    this.scripts = readPanelScripts(this.extensionUri);
    return scripts;
  }

  /** The binaries the last panel said it holds kept copies of (what globalState holds, checked). */
  private keptBinaries(): OrtBinaryFile[] {
    const kept = this.memory?.get<unknown>(KEPT_BINARIES_KEY);
    return Array.isArray(kept) ? ORT_BINARY_FILES.filter((file) => kept.includes(file)) : [];
  }

  /** The open panel, if any. */
  get panel(): AnalysisPanel | undefined {
    return this.current;
  }

  /**
   * Brings back the panel VS Code restores after a reload (its serializer), unless a command opened one meanwhile
   * (the restored one then closes: there is one panel).
   */
  async restore(webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const restoring = (async () => {
      try {
        webviewPanel.webview.options = webviewOptions(this.extensionUri, await this.store.modelRoots());
      } catch (err) {
        webviewPanel.dispose(); // not left blank: the next command opens a panel
        throw err;
      }
      if (this.current || this.opening || this.disposed) {
        webviewPanel.dispose();
        return;
      }
      // A restored page analyses its saved selection again, with its saved model: that model comes first (its files
      // are named in the HTML, for the starter to fetch early). Without a saved selection, no model is loaded soon.
      const uri = restoredUri(state);
      this.adopt(webviewPanel, uri, uri === undefined ? undefined : firstModel(restoredModelId(state)));
      this.log.info('Restored the Attention Lens panel after a reload.');
    })();
    this.restoring.add(restoring);
    try {
      await restoring;
    } finally {
      this.restoring.delete(restoring);
    }
  }

  /** The restores under way (each reads the model roots first). */
  private readonly restoring = new Set<Promise<void>>();

  /** Shows the selection in the panel, creating or revealing it; resolves once the webview has rendered it. */
  async show(selection: SelectionSummary, modelId?: string): Promise<SelectionShown> {
    // A command right after a reload takes the panel being restored: opening another meanwhile made a second
    // webview, and the restore closed the first (or the other way round).
    if (!this.current && this.restoring.size) await Promise.allSettled([...this.restoring]);
    let panel = this.current;
    if (panel) {
      panel.reveal();
    } else {
      // One panel, even when two commands arrive while the first is still reading the model roots.
      this.opening ??= this.open(modelId).finally(() => (this.opening = undefined));
      panel = await this.opening;
    }
    return panel.display(selection, modelId);
  }

  private opening: Promise<AnalysisPanel> | undefined;

  private async open(modelId: string | undefined): Promise<AnalysisPanel> {
    const roots = await this.store.modelRoots();
    const webviewPanel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      TITLE,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { ...webviewOptions(this.extensionUri, roots), retainContextWhenHidden: true },
    );
    return this.adopt(webviewPanel, undefined, firstModel(modelId));
  }

  /** Resolves with the next analysis the panel renders; rejects with the next failure. */
  nextAnalysis(): Promise<AnalysisDone> {
    return new Promise((resolve, reject) => {
      const subs = [
        this.onDidAnalyse((done) => (subs.forEach((s) => s.dispose()), resolve(done))),
        this.onDidFail((err) => (subs.forEach((s) => s.dispose()), reject(err))),
      ];
    });
  }

  /** first: the model a new panel's first command asks for, or the one a restored panel analyses its saved selection with. */
  private adopt(webviewPanel: vscode.WebviewPanel, restored?: string, first?: { modelId: string | undefined }): AnalysisPanel {
    this.current?.dispose();
    const panel = new AnalysisPanel(webviewPanel, this.extensionUri, this.store, this.files, this.log, this.events, this.takeScripts(), restored, first);
    this.current = panel;
    return panel;
  }

  override dispose(): void {
    this.current?.dispose();
    super.dispose();
  }
}

/** One analysis panel and its webview; created by AnalysisPanelHost. */
export class AnalysisPanel extends Disposable {
  private readonly endpoint: HostEndpoint;
  private readonly ready: Promise<void>;
  private rejectReady: (reason: LensError) => void = () => undefined;
  private backend: BackendInfo | undefined;
  private readonly backendWaiters: Array<(info: BackendInfo) => void> = [];
  private shown: { uri: string; version: number } | undefined;
  /** The document this panel may name (reveal, report analyses of). */
  private readonly scope: RevealScope;

  constructor(
    private readonly webviewPanel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    store: ModelStore,
    fileRoutes: WebviewFileRoutes,
    log: Log,
    private readonly events: PanelEvents,
    scripts: Promise<PanelScripts>,
    restored?: string,
    first?: { modelId: string | undefined },
  ) {
    super();
    const scope = (this.scope = new RevealScope(restored));
    this.register(webviewPanel);
    webviewPanel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activitybar.svg');
    const webview = webviewPanel.webview;
    const endpoint = (this.endpoint = this.register(createHostEndpoint(webview, 'Panel', log)));
    const files = this.register(fileRoutes.open(webview));
    this.register(
      endpoint.onNotification('backendReady', (info) => {
        this.backend = info;
        events.backendReady(info);
        log.info(
          `Panel backend: ${info.backend}${info.adapter ? ` (${forLog(info.adapter)})` : ''}${info.fallbackReason ? `; WebGPU not used: ${forLog(info.fallbackReason)}` : ''}; ` +
            `onnxruntime-web ${forLog(info.ortVersion)}, ready in ${Math.round(info.initMs)} ms`,
        );
        this.backendWaiters.splice(0).forEach((resolve) => resolve(info));
      }),
    );
    // Whether the page keeps a copy of onnxruntime's binary: the next panel's HTML preloads it only when it does not.
    this.register(endpoint.onNotification('binaryKept', ({ file, kept }) => events.binaryKept(file, kept)));
    this.register(
      endpoint.onNotification('analysisDone', (done) => {
        scope.check('analysisDone', done.uri);
        const t = done.timings;
        log.info(
          `Analysed ${done.tokenCount} tokens with ${done.modelId} on ${done.backend}: load ${Math.round(t.loadMs)} ms, tokenize ${Math.round(t.tokenizeMs)} ms, ` +
            `run ${Math.round(t.runMs)} ms, views ${Math.round(t.analyseMs)} ms, render ${Math.round(t.renderMs)} ms${done.truncated ? ` (truncated from ${done.truncated.totalTokens} tokens)` : ''}`,
        );
        this.shown = { uri: done.uri, version: done.version };
        events.analysed(done);
      }),
    );
    this.register(
      endpoint.onNotification('analysisFailed', (failure) => {
        scope.check('analysisFailed', failure.uri);
        log.error(`Analysis with ${failure.modelId || 'no model'} failed: ${failure.code}: ${forLog(failure.message)}`);
        events.failed(new LensError(failure.code, failure.message));
      }),
    );
    this.register(
      endpoint.onNotification('influence', (packed) => {
        scope.check('influence', packed.uri);
        const summary = unpackInfluence(packed);
        // A summary offering rollout on demand carries how to ask this panel for one token's links.
        const first = summary.tokens[0];
        const last = summary.tokens[summary.tokens.length - 1];
        const { uri, version, modelId } = summary;
        const held: HeldInfluenceSummary = summary.onDemand && first
          ? {
              ...summary,
              ask: (offset, timeoutMs) =>
                this.influenceAt({ uri, version, modelId, start: first.start, end: last.end, offset }, summary.tokens.length, timeoutMs).catch((err: unknown) => {
                  log.warn(`The panel did not give the ${summary.onDemand?.metric} links at offset ${offset}: ${forLog(err instanceof Error ? err.message : String(err))}`);
                  throw err;
                }),
            }
          : summary;
        events.summarised(held);
      }),
    );
    this.register(
      endpoint.onRequest('revealRange', async ({ uri, start, end }) => {
        scope.check('revealRange', uri);
        await revealRange(uri, start, end, scope.sentByHost(uri));
      }),
    );
    this.register(endpoint.onRequest('saveFile', oneSaveAtATime(log, 'panel')));
    this.register(endpoint.onRequest('modelBytes', modelBytesHandler(store, webview)));
    // A new panel's page downloads the model its first command will most likely load while it waits for `ready`.
    this.register(endpoint.onRequest('likelyFirstModel', async () => (first && (await store.likelyFirst(webview, first.modelId))) || null));
    this.ready = new Promise<void>((resolve, reject) => {
      this.rejectReady = reject;
      this.register(
        endpoint.onRequest('ready', async () => {
          const state = await initialState(webview, extensionUri, store, 'panel');
          setTimeout(resolve, 0); // only after this reply is posted may the host send requests
          return { ...state, selection: null };
        }),
      );
    });
    this.ready.catch(() => undefined); // a panel closed before loading is not an error by itself
    // Changed settings and added or removed models reach the open page.
    for (const d of followSettingsAndModels(endpoint, webview, store, () => this.ready.then(() => true))) this.register(d);
    this.register(
      vscode.window.onDidChangeTextEditorSelection((e) => {
        const doc = e.textEditor.document;
        if (this.shown && doc.uri.toString() === this.shown.uri) {
          endpoint.notify('cursorMoved', { uri: this.shown.uri, version: doc.version, offset: doc.offsetAt(e.selections[0].active) });
        }
      }),
    );
    this.register(webviewPanel.onDidDispose(() => this.dispose()));
    // The HTML names the likely first model's files, for its starter to fetch early, when the host knows that model
    // by the time the HTML can be written (usually: the models were checked at activation): once the routes and the
    // starter are there, it waits for that model one turn of the event loop at most, never for a check.
    const likely = first ? store.likelyFirst(webview, first.modelId).catch(() => undefined) : undefined;
    const written = Promise.all([files.ready, scripts]);
    const named = likely && written.then(() => Promise.race([likely, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]));
    void Promise.all([written, named]).then(([[served, inline], firstModel]) => {
      if (!this.disposed) webview.html = buildWebviewHtml(webview, extensionUri, 'panel', TITLE, served, { autoChoseLast: events.autoChoseLast(), keptBinaries: events.keptBinaries(), scripts: inline, firstModel });
    });
  }

  /** Resolves with the backend the webview initialised, once it has. */
  whenBackendReady(): Promise<BackendInfo> {
    return this.backend ? Promise.resolve(this.backend) : new Promise((resolve) => this.backendWaiters.push(resolve));
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

  /** One token's links by a summary's on-demand metric, checked against the summary's `tokenCount` tokens. */
  async influenceAt(params: InfluenceAtParams, tokenCount: number, timeoutMs: number): Promise<TokenInfluence | null> {
    await this.ready;
    const checked = checkInfluenceAt(await this.endpoint.request('influenceAt', params, { timeoutMs }), tokenCount);
    if (!checked.ok) throw new LensError('bad-request', checked.message);
    return checked.value;
  }

  reveal(): void {
    this.webviewPanel.reveal(vscode.ViewColumn.Beside, true);
  }

  /** Shows a selection once the webview is ready; resolves when it is rendered. */
  async display(selection: SelectionSummary, modelId?: string): Promise<SelectionShown> {
    await this.ready;
    this.scope.add(selection.uri);
    return this.endpoint.request('showSelection', { ...selection, modelId });
  }

  /** Delivers a message as if this panel's webview had posted it (for tests). */
  simulate(kind: 'request' | 'notification', method: string, params: unknown): Promise<SimulatedAnswer> {
    return this.endpoint.simulate(kind, method, params);
  }

  override dispose(): void {
    if (this.disposed) {
      return;
    }
    this.events.closed(this);
    this.rejectReady(new LensError('disposed', 'The Attention Lens panel was closed before it finished loading.'));
    super.dispose();
  }
}

/** The model a restored panel's saved state names (untrusted: what the page saved), if it is an id at all. */
function restoredModelId(state: unknown): string | undefined {
  const modelId = typeof state === 'object' && state !== null ? (state as { modelId?: unknown }).modelId : undefined;
  return typeof modelId === 'string' && modelId.length > 0 && modelId.length <= 256 ? modelId : undefined;
}

/** A new panel's likely first model: the one asked for, else the default setting's. */
function firstModel(modelId: string | undefined): { modelId: string | undefined } {
  return { modelId: modelId ?? (readSettings().defaultModel || undefined) };
}

/** The document of the selection a restored panel saved (webview state: only a hint, see RevealScope). */
function restoredUri(state: unknown): string | undefined {
  const selection = typeof state === 'object' && state !== null ? (state as { selection?: unknown }).selection : undefined;
  const uri = typeof selection === 'object' && selection !== null ? (selection as { uri?: unknown }).uri : undefined;
  return typeof uri === 'string' && uri.length <= 8192 ? uri : undefined;
}
