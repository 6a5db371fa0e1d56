// Reveals and selects a document range in its editor; used by the panel's token clicks and by the
// command links in influence hovers.

import * as vscode from 'vscode';

export const REVEAL_COMMAND = 'attentionLens.revealRange';

/** Selects [start, end) (UTF-16 offsets) of a document in its editor, opening it if needed. */
export async function revealRange(uri: string, start: number, end: number): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
  const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
  const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
  const range = new vscode.Range(document.positionAt(start), document.positionAt(end));
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/** The command behind hover links: arguments [uri, start, end]. */
export function registerRevealCommand(): vscode.Disposable {
  return vscode.commands.registerCommand(REVEAL_COMMAND, (uri: unknown, start: unknown, end: unknown) => {
    if (typeof uri !== 'string' || typeof start !== 'number' || typeof end !== 'number') {
      throw new Error('attentionLens.revealRange expects (uri: string, start: number, end: number).');
    }
    return revealRange(uri, start, end);
  });
}
