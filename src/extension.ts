// Activation: creates and owns everything the extension runs (the log channel, the model store, the
// panel host, the Fill panel host, the Compare view, the Models view and its commands, hovers and
// decorations), registers the commands, warns about invalid bundled models, and returns a small API that the integration tests (and other
// extensions) use to wait for the webviews and the models without sleeping, and to forge a webview's message
// to check that the host rejects it.
// Workspace trust: the only path a workspace provides is .attention-lens/models, which the store reads in
// a trusted workspace only (attentionLens.modelFolders is a machine setting, and restricted in untrusted
// workspaces in package.json); it reads only the editor's text, so it works in virtual workspaces too.

import * as vscode from 'vscode';
import { forLog } from './core/errors';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, ComparisonDone, InfillAttention, InfillDone, InfillSnapshot, InitialState, SelectionShown } from './core/protocol';
import { isBlank } from './core/text';
import type { InfluenceSummary } from './core/influence';
import { InfluenceDecorations } from './decorations';
import { InfluenceHoverProvider } from './hover';
import { InfluenceStore } from './influenceStore';
import { WebviewFileRoutes } from './fileRoutes';
import { FILL_COMMAND, FillPanelHost, fillSelection } from './fillPanel';
import { InfillHoverProvider } from './infillHover';
import { InfillStore } from './infillStore';
import { type Log, createLog } from './log';
import { ModelImporter } from './modelImport';
import { ModelProblemNotifier, ModelStore } from './modelStore';
import { type ModelSummary, type ModelViewItem, ModelsView } from './modelsView';
import { type AnalysisPanel, AnalysisPanelHost } from './panel';
import { documentLength, summarizeSelection } from './selection';
import { registerRevealCommand } from './reveal';
import { readSettings } from './settings';
import { CompareViewProvider } from './sidebar';
import type { SimulatedAnswer } from './webviewEndpoint';

export const VISUALIZE_COMMAND = 'attentionLens.visualizeSelection';

export interface AttentionLensApi {
  /** Resolves with the panel's inference backend once initialised; rejects when no panel is open. */
  panelBackend(): Promise<BackendInfo>;
  /** Resolves with the next analysis the panel renders (rejects if it fails); call it before the command. */
  nextPanelAnalysis(): Promise<AnalysisDone>;
  /** A copy of the panel's current analysis (attention included when includeTensors). */
  panelSnapshot(includeTensors: boolean): Promise<AnalysisSnapshot | null>;
  /** Resolves with the state the Compare view received on `ready`. */
  sidebarReady(): Promise<InitialState>;
  /** Resolves with the next comparison the Compare view puts on screen. */
  nextComparison(): Promise<ComparisonDone>;
  /** Resolves with the next influence summary stored for hovers (call it before the command). */
  nextInfluence(): Promise<InfluenceSummary>;
  /** Number of influence summaries kept for a document. */
  influenceEntries(uri: string): number;
  /** Resolves after the next decoration update, with the number of tokens tinted (0 = cleared). */
  nextDecorationUpdate(): Promise<number>;
  /**
   * Delivers a request or notification to the host as if the panel's (or the Compare view's) webview had
   * posted it, through the same checks and handlers; resolves with the answer, or a notification's
   * rejection ({} when it was accepted). For tests: it can do nothing the webview itself cannot.
   */
  simulateWebviewMessage(view: 'panel' | 'sidebar', kind: 'request' | 'notification', method: string, params: unknown): Promise<SimulatedAnswer>;
  /**
   * Brings a panel back as VS Code's serializer does after a reload (webviewPanel: one of the panel's view type, state:
   * what its page saved). For tests: a window cannot be reloaded under them.
   */
  restorePanel(webviewPanel: vscode.WebviewPanel, state: unknown): Promise<void>;
  /** Every model found now, valid or not, with its origin, folder and what it exposes. */
  models(): Promise<ModelSummary[]>;
  /** Resolves the next time the models may have changed (install, removal, setting, trust, workspace files). */
  nextModelsChange(): Promise<void>;
  /** The Models view's rows as it shows them, children included. */
  modelsView(): Promise<ModelViewItem[]>;
  /** The folder installed models live in (a URI), when VS Code gave the extension storage. */
  installedModelsFolder(): string | undefined;
  /**
   * Runs "Fill in the selection" on the active editor's selection (with modelId, else the setting or the
   * first infilling model); resolves once the request is on screen, with the request sent (undefined when
   * the command refused, having said why).
   */
  fillSelection(modelId?: string): Promise<{ version: number } | undefined>;
  /** Resolves with the next fill the Fill panel puts on screen (rejects if it fails); call it before the command. */
  nextFill(): Promise<InfillDone>;
  /** Resolves with the next hover weights the Fill panel reports, once stored (call it before the command). */
  nextInfillAttention(): Promise<InfillAttention>;
  /** A copy of the Fill panel's current fill (cross-attention when includeTensors); rejects when no Fill panel is open. */
  infillSnapshot(includeTensors: boolean): Promise<InfillSnapshot | null>;
}

export function activate(context: vscode.ExtensionContext): AttentionLensApi {
  const log = createLog();
  context.subscriptions.push(log);
  const store = new ModelStore(context.extensionUri, log, context.globalState, context.globalStorageUri);
  const problems = new ModelProblemNotifier(log);
  const fileRoutes = new WebviewFileRoutes(log, vscode.Uri.joinPath(context.extensionUri, 'out'), context.globalState);
  const panels = new AnalysisPanelHost(context.extensionUri, store, fileRoutes, log, context.globalState);
  const influence = new InfluenceStore();
  const decorations = new InfluenceDecorations(influence);
  const compare = new CompareViewProvider(context.extensionUri, store, panels, fileRoutes, log);
  const modelsView = new ModelsView(store, log, () => panels.panel);
  const command: VisualizeCommand = { panels, store, problems, log };
  const fills = new FillPanelHost(context.extensionUri, store, fileRoutes, log);
  const infills = new InfillStore();
  context.subscriptions.push(
    store,
    fileRoutes,
    modelsView,
    new ModelImporter(store, modelsView, log),
    panels,
    compare,
    vscode.commands.registerCommand(VISUALIZE_COMMAND, (modelId?: unknown) => visualizeSelection(command, typeof modelId === 'string' ? modelId : undefined)),
    influence,
    decorations,
    registerRevealCommand(),
    vscode.languages.registerHoverProvider({ scheme: '*' }, new InfluenceHoverProvider(influence)),
    fills,
    infills,
    vscode.commands.registerCommand(FILL_COMMAND, (modelId?: unknown) => fillSelection({ fills, store, log }, typeof modelId === 'string' ? modelId : undefined)),
    vscode.languages.registerHoverProvider({ scheme: '*' }, new InfillHoverProvider(infills)),
    fills.onDidReportAttention((attention) => {
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === attention.uri);
      if (!infills.add(attention, document?.version, document ? documentLength(document) : 0)) {
        log.info(`Ignored fill weights for ${forLog(attention.uri, 300)} v${attention.version}: the document has changed or closed since.`);
      }
    }),
    panels.onDidSummarise((summary) => {
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === summary.uri);
      if (!influence.add(summary, document?.version, document ? documentLength(document) : 0)) {
        log.info(`Ignored an influence summary for ${forLog(summary.uri, 300)} v${summary.version}: the document has changed or closed since.`);
      }
    }),
  );
  store.list().then(
    ({ invalid }) => problems.warn(invalid, ' (not offered)'),
    (err: unknown) => log.error(`Reading the bundled models failed: ${String(err)}`),
  );
  log.info('Attention Lens activated.');
  const openPanel = (): AnalysisPanel => {
    const panel = panels.panel;
    if (!panel) throw new Error('No Attention Lens panel is open.');
    return panel;
  };
  return {
    panelBackend: async () => openPanel().whenBackendReady(),
    nextPanelAnalysis: () => panels.nextAnalysis(),
    panelSnapshot: async (includeTensors) => openPanel().snapshot(includeTensors),
    sidebarReady: () => compare.whenReady(),
    nextComparison: () => nextEvent(compare.onDidCompare),
    // The store's own listener was registered first, so the summary is stored when this resolves.
    nextInfluence: () => nextEvent(panels.onDidSummarise),
    influenceEntries: (uri) => influence.countFor(uri),
    nextDecorationUpdate: () => nextEvent(decorations.onDidUpdate).then(({ count }) => count),
    simulateWebviewMessage: async (view, kind, method, params) => (view === 'panel' ? openPanel().simulate(kind, method, params) : compare.simulate(kind, method, params)),
    restorePanel: (webviewPanel, state) => panels.restore(webviewPanel, state),
    models: () => modelsView.summaries(),
    nextModelsChange: () => nextEvent(store.onDidChange),
    modelsView: () => modelsView.items(),
    installedModelsFolder: () => store.installedRoot?.toString(),
    fillSelection: (modelId) => fillSelection({ fills, store, log }, modelId),
    nextFill: () => fills.nextFill(),
    // The store's own listener was registered first, so the weights are stored when this resolves.
    nextInfillAttention: () => nextEvent(fills.onDidReportAttention),
    infillSnapshot: async (includeTensors) => {
      const panel = fills.panel;
      if (!panel) throw new Error('No Attention Lens Fill panel is open.');
      return panel.snapshot(includeTensors);
    },
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

/** Resolves with the next value an event fires. */
function nextEvent<T>(event: vscode.Event<T>): Promise<T> {
  return new Promise((resolve) => {
    const sub = event((value) => (sub.dispose(), resolve(value)));
  });
}

/** What the visualize command works with. */
interface VisualizeCommand {
  panels: AnalysisPanelHost;
  store: ModelStore;
  problems: ModelProblemNotifier;
  log: Log;
}

async function visualizeSelection({ panels, store, problems, log }: VisualizeCommand, modelId?: string): Promise<SelectionShown | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage('Attention Lens: open a file and select some text or code first.');
    return undefined;
  }
  if (editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Attention Lens: select some text or code in the editor, then run "Visualize attention on selection" again.');
    return undefined;
  }
  const selection = summarizeSelection(editor);
  if (isBlank(selection.text)) {
    void vscode.window.showInformationMessage('Attention Lens: the selection is only whitespace; select some text or code to analyse.');
    return undefined;
  }
  // Said beside the panel, not before it: the panel opens with another model meanwhile.
  const wanted = modelId ?? readSettings().defaultModel;
  store.list().then(
    ({ invalid }) => problems.warn(invalid.filter((m) => m.id === wanted), modelId ? ' (the panel uses another model)' : ' (it is attentionLens.defaultModel; the panel uses another model)'),
    () => undefined, // activation has logged it
  );
  try {
    return await panels.show(selection, modelId);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`Visualize attention on selection failed: ${forLog(message)}`);
    // The message may come from the webview: one bounded line, and no link syntax for the notification.
    void vscode.window.showErrorMessage(`Attention Lens: ${forLog(message, 500).replace(/\]\(/g, '] (')}`);
    return undefined;
  }
}
