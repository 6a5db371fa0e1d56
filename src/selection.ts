// Turns an editor selection into the protocol's SelectionSummary (exact document offsets, UTF-16), and
// remembers the selections the host sent a view, so that a selection a view sends back (the Compare view's
// "open in panel") is accepted only when the host gave it, or when it is exactly the current text of an
// open document there: a webview never makes the host read or open another document.

import * as vscode from 'vscode';
import type { SelectionSummary } from './core/protocol';
import { countCodePoints, countLines } from './core/text';

/** Selections a view keeps while it was sent newer ones (its pin holds one). */
const REMEMBERED = 8;

export function summarizeSelection(editor: vscode.TextEditor, selection: vscode.Selection = editor.selection): SelectionSummary {
  return summarizeRange(editor.document, new vscode.Range(selection.start, selection.end));
}

/** The summary of a document range. */
export function summarizeRange(document: vscode.TextDocument, range: vscode.Range): SelectionSummary {
  const text = document.getText(range);
  return {
    uri: document.uri.toString(),
    fileName: vscode.workspace.asRelativePath(document.uri, false),
    languageId: document.languageId,
    version: document.version,
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
    startOffset: document.offsetAt(range.start),
    text,
    length: text.length,
    codePoints: countCodePoints(text),
    lineCount: countLines(text),
  };
}

/** A document's length in UTF-16 units (the largest offset in it). */
export function documentLength(document: vscode.TextDocument): number {
  return document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
}

/** The open text document with this URI (as a string), if any; never opens one. */
export function openDocument(uri: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
}

/** The selections the host sent one view, newest last. */
export class SentSelections {
  private readonly sent: SelectionSummary[] = [];

  /** Records a selection about to be sent; returns it. */
  remember<T extends SelectionSummary | null>(selection: T): T {
    if (selection) {
      this.sent.push(selection);
      if (this.sent.length > REMEMBERED) this.sent.shift();
    }
    return selection;
  }

  /**
   * The host's own summary for a selection a view sent back: one it was sent (same document, version,
   * offsets and text), else the current text of an open document at those offsets; undefined otherwise.
   */
  match(selection: SelectionSummary): SelectionSummary | undefined {
    const same = (s: SelectionSummary) =>
      s.uri === selection.uri && s.version === selection.version && s.startOffset === selection.startOffset && s.length === selection.length && s.text === selection.text;
    const known = this.sent.find(same);
    if (known) return known;
    const document = openDocument(selection.uri);
    const end = selection.startOffset + selection.length;
    if (!document || document.version !== selection.version || end > documentLength(document)) return undefined;
    const range = new vscode.Range(document.positionAt(selection.startOffset), document.positionAt(end));
    if (document.offsetAt(range.start) !== selection.startOffset || document.getText(range) !== selection.text) return undefined;
    return summarizeRange(document, range);
  }
}
