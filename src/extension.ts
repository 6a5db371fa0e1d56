// Activation: registers the command, the Compare view and the log channel, and returns a small API
// that the integration tests (and other extensions) use to wait for the webviews without sleeping.

import * as vscode from 'vscode';
import type { BackendInfo, InitialState, SelectionShown } from './core/protocol';
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
    vscode.commands.registerCommand(VISUALIZE_COMMAND, () => visualizeSelection(context.extensionUri, store)),
    { dispose: () => AnalysisPanel.disposeCurrent() },
  );
  log().info('Attention Lens activated.');
  return {
    panelBackend: () => {
      const panel = AnalysisPanel.instance;
      return panel ? panel.whenBackendReady() : Promise.reject(new Error('No Attention Lens panel is open.'));
    },
    sidebarReady: () => compare.whenReady(),
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

async function visualizeSelection(extensionUri: vscode.Uri, store: ModelStore): Promise<SelectionShown | undefined> {
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
    return await AnalysisPanel.show(extensionUri, store, selection);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log().error(`Visualize attention on selection failed: ${message}`);
    void vscode.window.showErrorMessage(`Attention Lens: ${message}`);
    return undefined;
  }
}
