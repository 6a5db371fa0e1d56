// Activation: registers the command, the Compare view and the log channel, and returns a small API
// that the integration tests (and other extensions) use to wait for the webviews without sleeping.

import * as vscode from 'vscode';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, InitialState, SelectionShown } from './core/protocol';
import { isBlank } from './core/text';
import { initLog, log } from './log';
import { ModelStore } from './modelStore';
import { AnalysisPanel } from './panel';
import { summarizeSelection } from './selection';
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
}

export function activate(context: vscode.ExtensionContext): AttentionLensApi {
  initLog(context);
  const store = new ModelStore(context.extensionUri);
  const compare = new CompareViewProvider(context.extensionUri, store);
  context.subscriptions.push(
    compare,
    vscode.window.registerWebviewViewProvider(CompareViewProvider.viewId, compare),
    vscode.commands.registerCommand(VISUALIZE_COMMAND, (modelId?: unknown) =>
      visualizeSelection(context.extensionUri, store, typeof modelId === 'string' ? modelId : undefined),
    ),
    AnalysisPanel.registerSerializer(context.extensionUri, store),
    { dispose: () => AnalysisPanel.disposeAll() },
  );
  log().info('Attention Lens activated.');
  return {
    panelBackend: async () => openPanel().whenBackendReady(),
    nextPanelAnalysis: () => AnalysisPanel.nextAnalysis(),
    panelSnapshot: async (includeTensors) => openPanel().snapshot(includeTensors),
    sidebarReady: () => compare.whenReady(),
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
