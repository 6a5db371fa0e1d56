// Activation: registers the command, the Compare view and the log channel, and returns a small API
// that the integration tests (and other extensions) use to wait for the webviews without sleeping.

import * as vscode from 'vscode';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, ComparisonDone, InitialState, SelectionShown } from './core/protocol';
import { isBlank } from './core/text';
import type { InfluenceSummary } from './core/influence';
import { InfluenceDecorations } from './decorations';
import { InfluenceHoverProvider } from './hover';
import { InfluenceStore } from './influenceStore';
import { initLog, log } from './log';
import { ModelStore } from './modelStore';
import { AnalysisPanel } from './panel';
import { summarizeSelection } from './selection';
import { registerRevealCommand } from './reveal';
import { CompareViewProvider } from './sidebar';

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
}

export function activate(context: vscode.ExtensionContext): AttentionLensApi {
  initLog(context);
  const store = new ModelStore(context.extensionUri);
  const influence = new InfluenceStore();
  const decorations = new InfluenceDecorations(influence);
  const compare = new CompareViewProvider(context.extensionUri, store);
  context.subscriptions.push(
    compare,
    vscode.window.registerWebviewViewProvider(CompareViewProvider.viewId, compare),
    vscode.commands.registerCommand(VISUALIZE_COMMAND, (modelId?: unknown) =>
      visualizeSelection(context.extensionUri, store, typeof modelId === 'string' ? modelId : undefined),
    ),
    AnalysisPanel.registerSerializer(context.extensionUri, store),
    influence,
    decorations,
    registerRevealCommand(),
    vscode.languages.registerHoverProvider({ scheme: '*' }, new InfluenceHoverProvider(influence)),
    AnalysisPanel.onDidSummarise((summary) => {
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === summary.uri);
      if (!influence.add(summary, document?.version)) {
        log().info(`Ignored an influence summary for ${summary.uri} v${summary.version}: the document has changed since.`);
      }
    }),
    { dispose: () => AnalysisPanel.disposeAll() },
  );
  log().info('Attention Lens activated.');
  return {
    panelBackend: async () => openPanel().whenBackendReady(),
    nextPanelAnalysis: () => AnalysisPanel.nextAnalysis(),
    panelSnapshot: async (includeTensors) => openPanel().snapshot(includeTensors),
    sidebarReady: () => compare.whenReady(),
    nextComparison: () => new Promise((resolve) => {
      const sub = compare.onDidCompare((done) => (sub.dispose(), resolve(done)));
    }),
    // The store's own listener was registered first, so the summary is stored when this resolves.
    nextInfluence: () => new Promise((resolve) => {
      const sub = AnalysisPanel.onDidSummarise((summary) => (sub.dispose(), resolve(summary)));
    }),
    influenceEntries: (uri) => influence.countFor(uri),
    nextDecorationUpdate: () => new Promise((resolve) => {
      const sub = decorations.onDidUpdate(({ count }) => (sub.dispose(), resolve(count)));
    }),
  };
}

function openPanel(): AnalysisPanel {
  const panel = AnalysisPanel.instance;
  if (!panel) {
    throw new Error('No Attention Lens panel is open.');
  }
  return panel;
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

async function visualizeSelection(extensionUri: vscode.Uri, store: ModelStore, modelId?: string): Promise<SelectionShown | undefined> {
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
  try {
    return await AnalysisPanel.show(extensionUri, store, selection, modelId);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log().error(`Visualize attention on selection failed: ${message}`);
    void vscode.window.showErrorMessage(`Attention Lens: ${message}`);
    return undefined;
  }
}
