// The "Attention Lens: Fill" panel: one webview panel per window (created on first use, revealed and reused
// afterwards), separate from the analysis panel, whose page (webview/fill.ts) runs an infilling model on the
// code around a hidden selection. The host waits for the page's `ready`, sends it the request, and hears
// back small reports only: the scores and the filling (infillDone), the weights for editor hovers
// (infillAttention), or a failure. What the page sends is checked at the door (webviewEndpoint.ts); here,
// in addition, every document it names must be the one the host sent it (RevealScope).

import * as vscode from 'vscode';
import { LensError, forLog } from './core/errors';
import { chooseInfillingModel } from './core/infillManifest';
import type { InfillAttention, InfillDone, InfillRequest, InfillSnapshot } from './core/protocol';
import { isBlank } from './core/text';
import { Disposable } from './dispose';
import type { Log } from './log';
import { modelBytesHandler } from './modelBytes';
import type { ModelStore } from './modelStore';
import { initialState } from './resources';
import { RevealScope, revealRange } from './reveal';
import { oneSaveAtATime } from './saveFile';
import { readFillSettings } from './settings';
import { type HostEndpoint, type SimulatedAnswer, createHostEndpoint } from './webviewEndpoint';
import { followSettingsAndModels } from './webviewFollow';
import { buildWebviewHtml, webviewOptions } from './webviewHtml';
import type { WebviewFileRoutes } from './fileRoutes';

export const FILL_COMMAND = 'attentionLens.fillSelection';
const VIEW_TYPE = 'attentionLens.fill';
const TITLE = 'Attention Lens: Fill';

/** A failed fill, with the document and model it was for. */
export class FillFailure extends LensError {
  constructor(
    failure: { code: LensError['code']; message: string },
    readonly uri: string,
    readonly modelId: string,
  ) {
    super(failure.code, failure.message);
  }
}

/** Owns the Fill panel (at most one at a time) and fires its reports. */
export class FillPanelHost extends Disposable {
  private current: FillPanel | undefined;
  private opening: Promise<FillPanel> | undefined;
  private readonly filled = this.register(new vscode.EventEmitter<InfillDone>());
  /** Fires when the panel has the scores and the filling on screen. */
  readonly onDidFill = this.filled.event;
  private readonly attended = this.register(new vscode.EventEmitter<InfillAttention>());
  /** Fires with the weights of each fill for editor hovers. */
  readonly onDidReportAttention = this.attended.event;
  private readonly failed = this.register(new vscode.EventEmitter<FillFailure>());
  /** Fires when a fill failed (the panel shows the error too). */
  readonly onDidFail = this.failed.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: ModelStore,
    private readonly files: WebviewFileRoutes,
    private readonly log: Log,
  ) {
    super();
  }

  /** The open panel, if any. */
  get panel(): FillPanel | undefined {
    return this.current;
  }

  /** Shows a fill request in the panel, creating or revealing it; resolves once the request is on screen (the run goes on). */
  async show(request: InfillRequest): Promise<{ version: number }> {
    let panel = this.current;
    if (panel) panel.reveal();
    else {
      // One panel, even when two commands arrive while the first is still reading the model roots.
      this.opening ??= this.open().finally(() => (this.opening = undefined));
      panel = await this.opening;
    }
    return panel.display(request);
  }

  /** Resolves with the next fill the panel puts on screen; rejects with the next failure. */
  nextFill(): Promise<InfillDone> {
    return new Promise((resolve, reject) => {
      const subs = [this.onDidFill((done) => (subs.forEach((s) => s.dispose()), resolve(done))), this.onDidFail((err) => (subs.forEach((s) => s.dispose()), reject(err)))];
    });
  }

  private async open(): Promise<FillPanel> {
    const roots = await this.store.modelRoots();
    const webviewPanel = vscode.window.createWebviewPanel(VIEW_TYPE, TITLE, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { ...webviewOptions(this.extensionUri, roots), retainContextWhenHidden: true });
    this.current?.dispose();
    const panel = new FillPanel(webviewPanel, this.extensionUri, this.store, this.files, this.log, {
      filled: (done) => this.filled.fire(done),
      attended: (attention) => this.attended.fire(attention),
      failed: (failure) => this.failed.fire(failure),
      closed: (closed) => this.current === closed && (this.current = undefined),
    });
    this.current = panel;
    return panel;
  }

  override dispose(): void {
    this.current?.dispose();
    super.dispose();
  }
}

interface FillPanelEvents {
  filled(done: InfillDone): void;
  attended(attention: InfillAttention): void;
  failed(failure: FillFailure): void;
  closed(panel: FillPanel): void;
}

/** One Fill panel and its webview; created by FillPanelHost. */
export class FillPanel extends Disposable {
  private readonly endpoint: HostEndpoint;
  private readonly ready: Promise<void>;
  private rejectReady: (reason: LensError) => void = () => undefined;
  /** The document this panel may name (reveal, report fills of). */
  private readonly scope = new RevealScope();

  constructor(
    private readonly webviewPanel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    store: ModelStore,
    fileRoutes: WebviewFileRoutes,
    log: Log,
    private readonly events: FillPanelEvents,
  ) {
    super();
    const files = this.register(fileRoutes.open(webviewPanel.webview));
    const scope = this.scope;
    this.register(webviewPanel);
    webviewPanel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'activitybar.svg');
    const webview = webviewPanel.webview;
    const endpoint = (this.endpoint = this.register(createHostEndpoint(webview, 'Fill', log)));
    this.register(
      endpoint.onNotification('backendReady', (info) => {
        log.info(`Fill backend: ${info.backend}${info.fallbackReason ? `; WebGPU not used: ${forLog(info.fallbackReason)}` : ''}; ready in ${Math.round(info.initMs)} ms`);
      }),
    );
    this.register(
      endpoint.onNotification('infillDone', (done) => {
        scope.check('infillDone', done.uri);
        const t = done.timings;
        log.info(
          `Filled a span of ${done.original.tokens.length} tokens with ${done.modelId} on ${done.backend} (${done.sourceTokenCount} source tokens): ` +
            `${done.filling.tokenCount} tokens written${done.filling.matchesOriginal ? ', the original' : ''}; load ${Math.round(t.loadMs)} ms, score ${Math.round(t.scoreMs)} ms, generate ${Math.round(t.generateMs)} ms, render ${Math.round(t.renderMs)} ms`,
        );
        events.filled(done);
      }),
    );
    this.register(
      endpoint.onNotification('infillAttention', (attention) => {
        scope.check('infillAttention', attention.uri);
        events.attended(attention);
      }),
    );
    this.register(
      endpoint.onNotification('infillFailed', (failure) => {
        scope.check('infillFailed', failure.uri);
        log.error(`Fill with ${failure.modelId || 'no model'} failed: ${failure.code}: ${forLog(failure.message)}`);
        events.failed(new FillFailure(failure, failure.uri, failure.modelId));
      }),
    );
    this.register(
      endpoint.onRequest('revealRange', async ({ uri, start, end }) => {
        scope.check('revealRange', uri);
        await revealRange(uri, start, end, scope.sentByHost(uri));
      }),
    );
    this.register(endpoint.onRequest('saveFile', oneSaveAtATime(log, 'Fill panel')));
    this.register(endpoint.onRequest('modelBytes', modelBytesHandler(store, webview)));
    this.ready = new Promise<void>((resolve, reject) => {
      this.rejectReady = reject;
      this.register(
        endpoint.onRequest('ready', async ({ view }) => {
          if (view !== 'fill') throw new LensError('bad-request', `"ready": params.view must be "fill" in the Fill panel, got "${view}".`);
          const state = await initialState(webview, extensionUri, store, 'fill');
          setTimeout(resolve, 0); // only after this reply is posted may the host send requests
          return { ...state, selection: null };
        }),
      );
    });
    this.ready.catch(() => undefined); // a panel closed before loading is not an error by itself
    // Changed settings and added or removed models reach the open page.
    for (const d of followSettingsAndModels(endpoint, webview, store, () => this.ready.then(() => true))) this.register(d);
    this.register(webviewPanel.onDidDispose(() => this.dispose()));
    void files.ready.then((served) => {
      if (!this.disposed) webview.html = buildWebviewHtml(webview, extensionUri, 'fill', TITLE, served);
    });
  }

  reveal(): void {
    this.webviewPanel.reveal(vscode.ViewColumn.Beside, true);
  }

  /** Sends a request once the page is ready; resolves when it is on screen. */
  async display(request: InfillRequest): Promise<{ version: number }> {
    await this.ready;
    this.scope.add(request.uri);
    return this.endpoint.request('showInfill', request);
  }

  /** A copy of the panel's current fill (cross-attention when includeTensors), or null. */
  async snapshot(includeTensors: boolean): Promise<InfillSnapshot | null> {
    await this.ready;
    return this.endpoint.request('infillSnapshot', { includeTensors }, { timeoutMs: 60_000 });
  }

  /** Delivers a message as if this panel's webview had posted it (for tests). */
  simulate(kind: 'request' | 'notification', method: string, params: unknown): Promise<SimulatedAnswer> {
    return this.endpoint.simulate(kind, method, params);
  }

  override dispose(): void {
    if (this.disposed) return;
    this.events.closed(this);
    this.rejectReady(new LensError('disposed', 'The Attention Lens Fill panel was closed before it finished loading.'));
    super.dispose();
  }
}

/**
 * The fill request for an editor's selection: the span, the code from the start of the line `linesBefore`
 * lines above it, and to the end of the line `linesAfter` lines below it.
 */
export function infillRequestOf(editor: vscode.TextEditor, modelId: string): InfillRequest {
  const { document, selection } = editor;
  const settings = readFillSettings();
  const firstLine = Math.max(0, selection.start.line - settings.linesBefore);
  const lastLine = Math.min(document.lineCount - 1, selection.end.line + settings.linesAfter);
  const contextStart = new vscode.Position(firstLine, 0);
  const contextEnd = document.lineAt(lastLine).rangeIncludingLineBreak.end;
  const position = (p: vscode.Position) => ({ line: p.line, character: p.character });
  return {
    uri: document.uri.toString(),
    fileName: vscode.workspace.asRelativePath(document.uri, false),
    languageId: document.languageId,
    version: document.version,
    span: { startOffset: document.offsetAt(selection.start), text: document.getText(selection), start: position(selection.start), end: position(selection.end) },
    before: { startOffset: document.offsetAt(contextStart), text: document.getText(new vscode.Range(contextStart, selection.start)) },
    after: { startOffset: document.offsetAt(selection.end), text: document.getText(new vscode.Range(selection.end, contextEnd)) },
    modelId,
    beamWidth: settings.beamWidth,
    maxNewTokens: settings.maxNewTokens,
  };
}

/** What the fill command works with. */
export interface FillCommand {
  fills: FillPanelHost;
  store: ModelStore;
  log: Log;
}

/**
 * "Fill in the selection": refuses, saying why, without an editor, a selection, or a model that declares
 * infilling; otherwise shows the request in the Fill panel and resolves once it is on screen.
 */
export async function fillSelection({ fills, store, log }: FillCommand, modelId?: string): Promise<{ version: number } | undefined> {
  const editor = vscode.window.activeTextEditor;
  const chosen = await (async (): Promise<{ modelId: string } | { message: string }> => {
    if (!editor) return { message: 'open a file and select the code to hide from the model first.' };
    if (editor.selection.isEmpty || isBlank(editor.document.getText(editor.selection))) {
      return { message: 'select the code to hide (an expression, a line…), then run "Fill in the selection" again: the model sees the code around it and writes what it expects there.' };
    }
    const { models } = await store.list();
    return chooseInfillingModel(
      models.map((m) => m.manifest),
      modelId,
      readFillSettings().model,
    );
  })();
  if (!editor || 'message' in chosen) {
    void vscode.window.showInformationMessage(`Attention Lens: ${'message' in chosen ? chosen.message : ''}`);
    return undefined;
  }
  try {
    return await fills.show(infillRequestOf(editor, chosen.modelId));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`Fill in the selection failed: ${forLog(message)}`);
    // The message may come from the webview: one bounded line, and no link syntax for the notification.
    void vscode.window.showErrorMessage(`Attention Lens: ${forLog(message, 500).replace(/\]\(/g, '] (')}`);
    return undefined;
  }
}
