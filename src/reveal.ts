// Reveals and selects a document range in its editor: for the panel's token clicks and for the command
// links in influence hovers. Why it checks: the panel's webview names the document, so the panel may reveal
// only the document the host sent it (a RevealScope), and the hover's command only one already open; the
// offsets must lie inside the document. No other URI is ever opened.

import * as vscode from 'vscode';
import { LensError } from './core/errors';
import { documentLength, openDocument } from './selection';

export const REVEAL_COMMAND = 'attentionLens.revealRange';

/**
 * Selects [start, end) (UTF-16 offsets) of a document in its editor. `reopen` lets it open the document
 * again when it was closed (only for a URI the host itself sent); otherwise it must be open.
 */
export async function revealRange(uri: string, start: number, end: number, reopen = false): Promise<void> {
  const document = openDocument(uri) ?? (reopen ? await vscode.workspace.openTextDocument(vscode.Uri.parse(uri, true)) : undefined);
  if (!document) throw new LensError('bad-request', '"revealRange": params.uri is not a document open in this window.');
  const length = documentLength(document);
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= length)) {
    throw new LensError('bad-request', `"revealRange": params.start and params.end must lie inside the document (0 to ${length}), got ${start} and ${end}.`);
  }
  const visible = vscode.window.visibleTextEditors.find((e) => e.document === document);
  const editor = await vscode.window.showTextDocument(document, { viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: false });
  const range = new vscode.Range(document.positionAt(start), document.positionAt(end));
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

/**
 * The document one panel may name: the one the host last sent it to analyse; before that, after a window
 * reload, the one it restored (named by its own saved state, so only while that document is open).
 */
export class RevealScope {
  private sent: string | undefined;

  /** `restored`: the document of the selection VS Code restored the panel with. */
  constructor(private restored?: string) {}

  /** Records the document URI of a selection about to be sent to the panel. */
  add(uri: string): void {
    this.sent = uri;
    this.restored = undefined;
  }

  /** Whether the host sent this URI, so that it may be opened again. */
  sentByHost(uri: string): boolean {
    return uri === this.sent;
  }

  allows(uri: string): boolean {
    return this.sentByHost(uri) || (uri === this.restored && openDocument(uri) !== undefined);
  }

  /** Throws "bad-request" naming the method unless the panel may name this document. */
  check(method: string, uri: string): void {
    if (!this.allows(uri)) throw new LensError('bad-request', `"${method}": params.uri is not the document this panel analysed.`);
  }
}

/** The command behind hover links: arguments [uri, start, end], for a document open in this window. */
export function registerRevealCommand(): vscode.Disposable {
  return vscode.commands.registerCommand(REVEAL_COMMAND, (uri: unknown, start: unknown, end: unknown) => {
    if (typeof uri !== 'string' || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
      throw new LensError('bad-request', 'attentionLens.revealRange expects (uri: string, start: integer, end: integer).');
    }
    return revealRange(uri, start as number, end as number);
  });
}
